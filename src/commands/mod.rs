//! What each command does: turns parsed arguments into library calls and prints or saves the
//! result. The one place that knows both the CLI and the library.

mod cell;
mod connection;
mod connection_views;
mod graph;
mod positions;
mod protocol;
mod raster;
mod report;
mod summary;

use std::io::Write;

use crate::cli::cell::UtilCommand;
use crate::cli::plot::{CellCommand, OutputArgs, PlotCommand};
mod connectors;

use crate::cli::connectors::ConnectorsCommand;
use crate::cli::{Cli, Command};

/// A failure a user can fix (exit code 2), or an internal one (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Sonata(#[from] crate::sonata::SonataError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    Hoc(#[from] crate::cell::hoc::HocError),
    #[error(transparent)]
    CellInfo(#[from] crate::cell::info::InfoError),
    #[error(transparent)]
    Nmodl(#[from] crate::cell::nmodl::NmodlError),
    #[error(transparent)]
    Allen(#[from] crate::cell::allen::AllenError),
    #[error(transparent)]
    Protocol(#[from] crate::cell::protocols::ProtocolError),
    #[error("{0}")]
    Usage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Internal(_) => 1,
            _ => 2,
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Plot(plot) => match &plot.command {
            PlotCommand::Connection(args) => connection::run(&plot, args, cli.verbose),
            PlotCommand::Raster(args) => raster::run(&plot, args, cli.verbose),
            PlotCommand::Summary(args) => summary::run(&plot, args),
            PlotCommand::Report(args) => report::run(&plot, args),
            PlotCommand::Positions(args) => positions::run_positions(&plot, args),
            PlotCommand::Cell(cell) => match &cell.command {
                CellCommand::Rotation(args) => positions::run_rotation(&plot, args),
            },
        },
        Command::Util(util) => match &util.command {
            UtilCommand::Cell(args) => cell::run(args, cli.verbose),
        },
        Command::Graph(args) => graph::run(&args),
        Command::Connectors(c) => match &c.command {
            ConnectorsCommand::Build(args) => connectors::build(args, cli.verbose),
        },
    }
}

/// Fail before any work when `--save-file` could not be written.
pub(crate) fn check_save_file(out: &OutputArgs) -> Result<(), AppError> {
    if let Some(path) = &out.save_file {
        crate::plot::Format::of(path)?;
        crate::output::check_destination(path, out.force)?;
    }
    Ok(())
}

/// Print notes (stderr) and tables (stdout), then save the figure when asked.
pub(crate) fn finish(
    warnings: &[String],
    tables: &[crate::report::Table],
    out: &OutputArgs,
    figure: &impl crate::plot::Figure,
) -> Result<(), AppError> {
    for w in warnings {
        eprintln!("note: {w}");
    }
    print(&crate::report::table::render_all(tables, out.format));
    if let Some(path) = &out.save_file {
        crate::plot::save(path, figure, out.force)?;
        eprintln!("saved {}", path.display());
    }
    Ok(())
}

/// Write to stdout; a closed pipe (e.g. `| head`) is not an error worth reporting.
pub(crate) fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
