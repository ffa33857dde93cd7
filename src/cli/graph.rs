//! `bmtool graph ...` declarations: the directed cell graph of a model.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::report::OutputFormat;

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The model's configuration file.
    #[arg(
        long,
        short = 'c',
        default_value = "simulation_config.json",
        global = true
    )]
    pub config: PathBuf,

    /// Source node populations, comma-separated, or "all".
    #[arg(long, default_value = "all", global = true)]
    pub sources: String,

    /// Target node populations, comma-separated, or "all".
    #[arg(long, default_value = "all", global = true)]
    pub targets: String,

    /// Node attribute that labels cells (bmtool uses pop_name).
    #[arg(long, default_value = "pop_name", global = true)]
    pub label: String,

    /// How to print the numbers.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub format: OutputFormat,

    /// Replace an existing output file.
    #[arg(long, global = true)]
    pub force: bool,

    #[command(subcommand)]
    pub command: GraphCommand,
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Node and edge counts (edges are connected cell pairs).
    Stats,
    /// Per cell: its label and the number of cells of each label connecting to it (CSV).
    ExportCsv {
        /// The CSV file to write.
        out: PathBuf,
    },
    /// Draw the cells at their positions, coloured by incoming connections (.png or .svg).
    Plot {
        /// The picture file to write.
        out: PathBuf,
        /// Title of the picture.
        #[arg(long)]
        title: Option<String>,
        /// Draw the edges too (when there are at most this many).
        #[arg(long, default_value_t = 20_000)]
        max_edges: usize,
    },
}
