//! `bmtool connectors build`: read the spec, check the destination, build the network, write
//! the model directory, print the connection report.

use std::io::Write;
use std::time::Instant;

use crate::cli::connectors::BuildArgs;
use crate::network::connectors::model_dir::{check_model_destination, write_model_dir};
use crate::network::connectors::{build_network, Spec};
use crate::report;

use super::AppError;

pub fn build(args: &BuildArgs, verbose: bool) -> Result<(), AppError> {
    let started = Instant::now();
    let spec = Spec::read(&args.spec).map_err(|e| AppError::Usage(e.to_string()))?;
    // Fail before any work on a destination we could not write.
    check_model_destination(&args.output, args.force)
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let seed = args.seed.or(spec.seed).unwrap_or(0);
    let built = build_network(&spec, seed).map_err(|e| {
        AppError::Usage(format!(
            "{}: {}: {}",
            args.spec.display(),
            e.place,
            e.message
        ))
    })?;
    if verbose {
        eprintln!(
            "built in {:.3} s (seed {seed})",
            started.elapsed().as_secs_f64()
        );
    }
    let reports = built.reports.clone();
    let notes = write_model_dir(built, &args.output, args.force).map_err(|e| match e {
        crate::network::connectors::model_dir::ModelDirError::Destination { .. } => {
            AppError::Usage(e.to_string())
        }
        other => AppError::Internal(other.to_string()),
    })?;
    if verbose {
        eprintln!(
            "wrote {} in {:.3} s",
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    for r in &reports {
        for w in &r.warnings {
            eprintln!("note: {}: {w}", r.name);
        }
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    let text = report::connectors::block_reports(&reports, args.format);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .map_err(|e| AppError::Internal(format!("cannot print the report: {e}")))
}
