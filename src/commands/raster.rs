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
    let (path, trains) = if args.spikes_file.is_none() && !path.exists() {
        input_spikes(&circuit, path)?
    } else {
        let trains = read_spikes(&path)?;
        (path, trains)
    };
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

/// A model that has not been simulated yet (e.g. fresh from `connectors build`) has no output
/// spikes: show the spike trains its `inputs` feed in instead, and say so.
fn input_spikes(
    circuit: &Circuit,
    missing: std::path::PathBuf,
) -> Result<(std::path::PathBuf, Vec<crate::sonata::SpikeTrains>), AppError> {
    let inputs = circuit
        .config
        .json
        .get("inputs")
        .and_then(|v| v.as_object())
        .map(|m| {
            m.values()
                .filter(|i| i.get("input_type").and_then(|t| t.as_str()) == Some("spikes"))
                .filter_map(|i| i.get("input_file").and_then(|f| f.as_str()))
                .map(std::path::PathBuf::from)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if inputs.is_empty() {
        // Nothing else to show: report the missing output file.
        return Ok((missing.clone(), read_spikes(&missing)?));
    }
    eprintln!(
        "note: no simulation output ({} not found); showing the input spike trains of the config's inputs",
        missing.display()
    );
    let mut trains = Vec::new();
    for file in &inputs {
        trains.extend(read_spikes(file)?);
    }
    Ok((inputs[0].clone(), trains))
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
