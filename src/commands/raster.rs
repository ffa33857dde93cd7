//! `bmtool plot raster`: read the spikes the config names, count per group, print, draw.

use crate::cli::plot::{PlotArgs, RasterArgs};
use crate::network::firing::{self, Raster, RasterOptions};
use crate::plot::raster::RasterFigure;
use crate::report::{Cell, Table};
use crate::sonata::{read_spikes, Circuit};

use super::{finish, AppError};

pub fn run(plot_args: &PlotArgs, args: &RasterArgs, verbose: bool) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    super::check_save_file(&args.output)?;
    let circuit = Circuit::load(&plot_args.config)?;
    let path = match &args.spikes_file {
        Some(p) => p.clone(),
        None => circuit.config.output_file("spikes_file").ok_or_else(|| {
            AppError::Usage(format!(
                "{}: no output.spikes_file in the config (pass --spikes-file)",
                plot_args.config.display()
            ))
        })?,
    };
    let trains = read_spikes(&path)?;
    let opts = RasterOptions {
        population: args.population.clone(),
        group_by: args.group_by.clone(),
        tstart_ms: args.tstart,
        tstop_ms: args.tstop,
    };
    let raster = firing::raster(&circuit, trains, &path, &opts)?;
    if verbose {
        eprintln!(
            "{} spikes read and counted in {:.3} s",
            raster.time_ms.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let title = args
        .output
        .title
        .clone()
        .unwrap_or_else(|| "Raster Plot".into());
    finish(
        &raster.warnings,
        &[rates_table(&raster)],
        &args.output,
        &RasterFigure {
            raster: &raster,
            title,
        },
    )
}

/// The per-group counts and both mean rates, saying which is which.
pub fn rates_table(r: &Raster) -> Table {
    let mut t = Table::new(
        format!(
            "Spikes per group, {} to {} ms (rate_all_cells_hz: spikes / cells / window; \
             rate_firing_cells_hz: spikes / cells that fired / window, as bmtool averages)",
            r.tstart_ms, r.tstop_ms
        ),
        &[
            "population",
            "group",
            "cells",
            "cells_fired",
            "spikes",
            "rate_all_cells_hz",
            "rate_firing_cells_hz",
        ],
    );
    for g in &r.groups {
        t.push(vec![
            Cell::text(&g.population),
            Cell::text(&g.group),
            Cell::count(g.cells),
            Cell::count(g.cells_fired),
            Cell::count(g.spikes),
            Cell::Float(g.rate_all_cells_hz, 3),
            Cell::Float(g.rate_firing_cells_hz, 3),
        ]);
    }
    t
}
