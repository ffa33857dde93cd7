//! `bmtool plot connection ...`: load the circuit, compute the matrix, print it, draw it.

use std::io::Write;
use std::time::Instant;

use crate::cli::plot::{
    ConnectionArgs, CountArg, GapArg, MeasureCommand, PercentArg, PlotArgs, StatArg,
};
use crate::network::{self, CountMode, GapMethod, MatrixOptions, Measure, PercentMethod, Stat};
use crate::plot::{self, heatmap::Heatmap};
use crate::report;
use crate::sonata::Circuit;

use super::AppError;

pub fn run(plot_args: &PlotArgs, args: &ConnectionArgs, verbose: bool) -> Result<(), AppError> {
    let Some(measure) = measure(&args.measure) else {
        return super::connection_views::run(plot_args, args);
    };
    let started = Instant::now();
    if let Some(path) = &args.save_file {
        // Fail before any work on a destination we could not write.
        plot::Format::of(path)?;
        crate::output::check_destination(path, args.force)?;
    }
    let circuit = Circuit::load(&plot_args.config)?;
    if verbose {
        eprintln!(
            "loaded {} node and {} edge populations from {} in {:.3} s",
            circuit.nodes.len(),
            circuit.edges.len(),
            plot_args.config.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let opts = options(args);
    let matrix = network::connection_matrix(&circuit, measure, &opts)?;
    if verbose {
        eprintln!("computed in {:.3} s", started.elapsed().as_secs_f64());
    }
    for w in &matrix.warnings {
        eprintln!("note: {w}");
    }
    if matrix.row_labels.is_empty() || matrix.col_labels.is_empty() {
        eprintln!("note: no edges connect the selected populations");
    }
    let text = report::matrix(&matrix, args.format);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if let Some(path) = &args.save_file {
        let title = args.title.clone().unwrap_or_else(|| matrix.title.clone());
        plot::save(
            path,
            &Heatmap {
                matrix: &matrix,
                title,
            },
            args.force,
        )?;
        eprintln!("saved {}", path.display());
    }
    Ok(())
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn options(args: &ConnectionArgs) -> MatrixOptions {
    MatrixOptions {
        sources: split(&args.sources),
        targets: split(&args.targets),
        sids: args.sids.as_deref().map(split).unwrap_or_default(),
        tids: args.tids.as_deref().map(split).unwrap_or_default(),
        prepend_pop: !args.no_prepend_pop,
        count: match args.count {
            CountArg::Rows => CountMode::Rows,
            CountArg::Pairs => CountMode::Pairs,
            CountArg::Synapses => CountMode::Synapses,
        },
        include_gap: args.include_gap,
        include_unconnected: args.include_unconnected,
    }
}

fn stat(s: StatArg) -> Stat {
    match s {
        StatArg::Mean => Stat::Mean,
        StatArg::Std => Stat::Std,
        StatArg::Min => Stat::Min,
        StatArg::Max => Stat::Max,
        StatArg::MeanStd => Stat::MeanStd,
    }
}

/// The matrix measure, or None for the views `connection_views` draws.
fn measure(m: &MeasureCommand) -> Option<Measure> {
    Some(match m {
        MeasureCommand::Prob { .. }
        | MeasureCommand::Histogram { .. }
        | MeasureCommand::PropertyHistogramMatrix { .. }
        | MeasureCommand::NetworkGraph { .. } => return None,
        MeasureCommand::Total { synfo } => Measure::Total { synfo: *synfo },
        MeasureCommand::Percent { method } => Measure::Percent(match method {
            PercentArg::Total => PercentMethod::Total,
            PercentArg::Uni => PercentMethod::Uni,
            PercentArg::Bi => PercentMethod::Bi,
            PercentArg::Innervation => PercentMethod::Innervation,
        }),
        MeasureCommand::Convergence { method } => Measure::Convergence(stat(*method)),
        MeasureCommand::Divergence { method } => Measure::Divergence(stat(*method)),
        MeasureCommand::Gap { method } => Measure::Gap(match method {
            GapArg::Convergence => GapMethod::Convergence,
            GapArg::Percent => GapMethod::Percent,
        }),
    })
}
