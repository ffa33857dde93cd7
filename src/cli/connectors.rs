//! `bmtool connectors ...` declarations.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::report::OutputFormat;

#[derive(Debug, Args)]
pub struct ConnectorsArgs {
    #[command(subcommand)]
    pub command: ConnectorsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Build a SONATA model directory (nodes, edges, types CSVs, configs, Poisson inputs) from a
    /// network spec, with bmtool's connectors, and print a connection report per block.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The network spec (.toml or .json); see "Building networks" in the README.
    pub spec: PathBuf,

    /// The model directory to create.
    #[arg(long, short = 'o')]
    pub output: PathBuf,

    /// Random seed (overrides the spec's `seed`; default 0). The same spec and seed give
    /// byte-identical files.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Replace the output directory if it exists.
    #[arg(long)]
    pub force: bool,

    /// How to print the connection report.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}
