//! What each command does: turns parsed arguments into library calls and prints or saves the
//! result. The one place that knows both the CLI and the library.

mod cell;
mod connection;

use crate::cli::cell::UtilCommand;
use crate::cli::plot::PlotCommand;
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
        },
        Command::Util(util) => match &util.command {
            UtilCommand::Cell(args) => cell::run(args, cli.verbose),
        },
    }
}
