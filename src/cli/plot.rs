//! `bmtool plot ...` declarations.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::report::OutputFormat;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The model's configuration file (simulation_config.json, circuit_config.json or config.json).
    #[arg(
        long,
        short = 'c',
        default_value = "simulation_config.json",
        global = true
    )]
    pub config: PathBuf,

    /// Accepted for compatibility with the Python bmtool; this tool never opens windows.
    #[arg(long, global = true)]
    pub no_display: bool,

    #[command(subcommand)]
    pub command: PlotCommand,
}

#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// Connection matrices between node groups (rows: sources, columns: targets).
    Connection(ConnectionArgs),
    /// Spike raster of the simulation output, with spike counts and firing rates per group.
    Raster(RasterArgs),
    /// Node types per population (virtual included) with counts, and edge populations with rows.
    #[command(alias = "cells")]
    Summary(SummaryArgs),
    /// Traces of a report the config names (membrane voltage, calcium, ...), one line per node.
    Report(ReportArgs),
    /// 3-D scatter of cell positions, one colour per group, several populations in one plot.
    Positions(PositionsArgs),
    /// Single-cell views of the network.
    Cell(CellArgs),
}

#[derive(Debug, Args)]
pub struct PositionsArgs {
    /// Node populations, comma-separated, or "all".
    #[arg(long, default_value = "all")]
    pub populations: String,

    /// Node attribute whose values colour the cells.
    #[arg(long, default_value = "node_type_id")]
    pub group_by: String,

    /// Draw every N-th cell of each group.
    #[arg(long, default_value_t = 1)]
    pub subset: usize,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CellArgs {
    #[command(subcommand)]
    pub command: CellCommand,
}

#[derive(Debug, Subcommand)]
pub enum CellCommand {
    /// One arrow per cell: R·v with R = Rz·Ry·Rx from rotation_angle_{x,y,z}axis (radians).
    Rotation(RotationArgs),
}

#[derive(Debug, Args)]
pub struct RotationArgs {
    /// Node populations, comma-separated, or "all".
    #[arg(long, default_value = "all")]
    pub populations: String,

    /// Node attribute whose values colour the cells.
    #[arg(long, default_value = "node_type_id")]
    pub group_by: String,

    /// Only the group with this value.
    #[arg(long)]
    pub group: Option<String>,

    /// At most this many cells in all.
    #[arg(long, default_value_t = 999_999_999)]
    pub max_cells: usize,

    /// Arrow length in µm.
    #[arg(long, default_value_t = 10.0)]
    pub quiver_length: f64,

    /// Arrow head length as a share of the arrow.
    #[arg(long, default_value_t = 0.2)]
    pub arrow_length_ratio: f64,

    /// The vector every cell's rotation is applied to, "x,y,z".
    #[arg(long, default_value = "1,0,0")]
    pub init_vector: String,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Name of the report in the config's "reports" (default: the first membrane report).
    #[arg(long, alias = "report-name")]
    pub report: Option<String>,

    /// Population inside the report file (default: the first one).
    #[arg(long)]
    pub population: Option<String>,

    /// Node ids to show, comma-separated (default: every recorded node).
    #[arg(long, alias = "gids")]
    pub node_ids: Option<String>,

    /// Start of the window in ms.
    #[arg(long)]
    pub tstart: Option<f64>,

    /// End of the window in ms.
    #[arg(long)]
    pub tstop: Option<f64>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the numbers and the picture go (shared by every plot command).
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Title of the picture (each command has its own default).
    #[arg(long)]
    pub title: Option<String>,

    /// Save the picture to this file (.png or .svg).
    #[arg(long)]
    pub save_file: Option<PathBuf>,

    /// Replace --save-file if it already exists.
    #[arg(long)]
    pub force: bool,

    /// How to print the numbers.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RasterArgs {
    /// Only this node population (default: every population in the spikes file).
    #[arg(long)]
    pub population: Option<String>,

    /// Node attribute whose values colour the spikes (bmtool: --group-key).
    #[arg(long, alias = "group-key", default_value = "pop_name")]
    pub group_by: String,

    /// Start of the window in ms (default: the config's run.tstart, or 0).
    #[arg(long)]
    pub tstart: Option<f64>,

    /// End of the window in ms (default: the config's run.tstop, or the last spike).
    #[arg(long)]
    pub tstop: Option<f64>,

    /// Spikes file to read instead of the config's output_dir/spikes_file (.h5 or .csv).
    #[arg(long)]
    pub spikes_file: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Title of the heat map (defaults to the measure's name).
    #[arg(long, global = true)]
    pub title: Option<String>,

    /// Save a heat map to this file (.png or .svg).
    #[arg(long, global = true)]
    pub save_file: Option<PathBuf>,

    /// Replace --save-file if it already exists.
    #[arg(long, global = true)]
    pub force: bool,

    /// Source node populations, comma-separated, or "all".
    #[arg(long, default_value = "all", global = true)]
    pub sources: String,

    /// Target node populations, comma-separated, or "all".
    #[arg(long, default_value = "all", global = true)]
    pub targets: String,

    /// Node attribute that splits source populations into groups (e.g. pop_name); one value for
    /// all populations or one per population in --sources order. Default: node_type_id.
    #[arg(long, global = true)]
    pub sids: Option<String>,

    /// Node attribute that splits target populations into groups; as --sids.
    #[arg(long, global = true)]
    pub tids: Option<String>,

    /// Label groups by value only, without the "<population>_" prefix.
    #[arg(long, global = true)]
    pub no_prepend_pop: bool,

    /// What one connection is: an edge row (as bmtool counts), a connected cell pair, or a
    /// synapse (sum of nsyns).
    #[arg(long, value_enum, default_value = "rows", global = true)]
    pub count: CountArg,

    /// Keep gap-junction edges in chemical-synapse matrices.
    #[arg(long, global = true)]
    pub include_gap: bool,

    /// Include cells with no connection in convergence/divergence statistics.
    #[arg(long, global = true)]
    pub include_unconnected: bool,

    /// How to print the numbers.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub format: OutputFormat,

    #[command(subcommand)]
    pub measure: MeasureCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CountArg {
    Rows,
    Pairs,
    Synapses,
}

#[derive(Debug, Subcommand)]
pub enum MeasureCommand {
    /// Number of connections between each pair of groups.
    Total {
        /// Extra text per cell: 0 none, 1 mean ± std of connections per target cell,
        /// 2 synapse models used (model_template), 3 synapse parameter files (dynamics_params).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
        synfo: u8,
    },
    /// Percentage of possible cell pairs that are connected.
    Percent {
        /// total: any direction; uni: one direction only; bi: both directions;
        /// innervation: share of target cells reached.
        #[arg(long, value_enum, default_value = "total")]
        method: PercentArg,
    },
    /// Connections received per target cell (over target cells with at least one).
    Convergence {
        #[arg(long, value_enum, default_value = "mean")]
        method: StatArg,
    },
    /// Connections sent per source cell (over source cells with at least one).
    Divergence {
        #[arg(long, value_enum, default_value = "mean")]
        method: StatArg,
    },
    /// Gap junctions only (edge types with is_gap_junction true).
    Gap {
        #[arg(long, value_enum, default_value = "convergence")]
        method: GapArg,
    },
    /// Connection probability against distance per group pair (connections / possible pairs,
    /// with shared bin edges).
    Prob {
        /// Axes the distance is measured along, e.g. "x,y,z" or "x,y".
        #[arg(long, default_value = "x,y,z")]
        axis: String,
        /// Number of equal-width distance bins.
        #[arg(long, default_value_t = 8)]
        bins: usize,
        /// Draw lines instead of bars.
        #[arg(long)]
        line: bool,
    },
    /// Histogram of connections received per target cell for one group pair.
    Histogram {
        /// Source group label, e.g. cortex_PN (see the row labels of `total`).
        #[arg(long)]
        source_group: String,
        /// Target group label.
        #[arg(long)]
        target_group: String,
    },
    /// One histogram of an edge property (e.g. syn_weight) per group pair.
    PropertyHistogramMatrix {
        /// Edge property (an h5 edge-group dataset or an edge-types CSV column).
        #[arg(long, default_value = "syn_weight")]
        edge_property: String,
        /// Bins per histogram.
        #[arg(long, default_value_t = 10)]
        bins: usize,
    },
    /// Graph of the groups: one arrow per distinct edge-property value between two groups.
    /// Prints Graphviz DOT (or the table with --format csv|json).
    NetworkGraph {
        /// Edge property whose distinct values label the arrows.
        #[arg(long, default_value = "model_template")]
        edge_property: String,
        /// Also write the DOT text to this file.
        #[arg(long)]
        dot: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PercentArg {
    Total,
    Uni,
    Bi,
    Innervation,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatArg {
    Mean,
    Std,
    Min,
    Max,
    #[value(name = "mean+std")]
    MeanStd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GapArg {
    Convergence,
    Percent,
}
