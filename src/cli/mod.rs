//! Command-line declarations only (clap derive). The tree and option names mirror the Python
//! bmtool so existing scripts keep working: `bmtool [--verbose] plot [--config C] connection
//! [...] total|percent|...`, `plot raster`, `plot cell rotation`, ...; plus `bmtool graph` and
//! `bmtool util cell [--hoc F] list|info`. What each command does lives in `commands`.

pub mod cell;
pub mod connectors;
pub mod graph;
pub mod plot;

use clap::{Parser, Subcommand};

/// One fast binary for BMTK/SONATA models: connection reports and plots of a model directory,
/// without Python or NEURON.
#[derive(Debug, Parser)]
#[command(name = "bmtool", version, about, long_about = None)]
pub struct Cli {
    /// Print what is being read and how long each step takes (to stderr).
    #[arg(long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report on a BMTK model directory: connection matrices and views, spike rasters, reports,
    /// positions, rotations and summaries, as tables and pictures.
    Plot(plot::PlotArgs),
    /// Utilities; `util cell` loads single cells from HOC templates.
    Util(cell::UtilArgs),
    /// The directed cell graph: counts, a per-cell connection table, a picture.
    Graph(graph::GraphArgs),
    /// Build SONATA networks with bmtool's connectors from a spec file.
    Connectors(connectors::ConnectorsArgs),
}
