//! `bmtool util cell ...` declarations: which cell (`--config`, `--hoc-folder`, `--hoc`, or an
//! Allen `--swc`/`--fit-json` pair, and the mechanisms in `--mod-folder`), `--template`, run
//! conditions, and the subcommands `list`, `info` and `mechanisms`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `bmtool util ...`
#[derive(Debug, Args)]
pub struct UtilArgs {
    #[command(subcommand)]
    pub command: UtilCommand,
}

#[derive(Debug, Subcommand)]
pub enum UtilCommand {
    /// Single cells from HOC templates: list the templates, describe one.
    Cell(CellArgs),
}

/// Where the cell comes from and how to set it up; shared by every `cell` subcommand.
#[derive(Debug, Args)]
pub struct CellArgs {
    #[command(flatten)]
    pub source: CellSourceArgs,

    /// Template to load (asked interactively on a terminal when several are found).
    #[arg(long, global = true)]
    pub template: Option<String>,

    /// Temperature (degC) set before the template runs (NEURON's default is 6.3; a template
    /// that sets celsius itself wins, as in NEURON).
    #[arg(long, global = true)]
    pub celsius: Option<f64>,

    /// Initial membrane potential (mV) for finitialize (default -65).
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub v_init: Option<f64>,

    #[command(subcommand)]
    pub command: CellCommand,
}

/// Cell files: at most one of `--config`, `--hoc-folder`, `--hoc`, `--swc` (default: HOC files
/// in ./).
#[derive(Debug, Args)]
pub struct CellSourceArgs {
    /// A BMTK simulation_config.json: templates from components.templates_dir, mechanisms from
    /// components.mechanisms_dir (its modfiles/ folder when there is one).
    #[arg(long, short = 'c', global = true)]
    pub config: Option<PathBuf>,

    /// A folder whose *.hoc files define the templates.
    #[arg(long, global = true)]
    pub hoc_folder: Option<PathBuf>,

    /// One HOC file defining the templates.
    #[arg(long, global = true)]
    pub hoc: Option<PathBuf>,

    /// Folder of .mod files for the mechanisms the templates insert (default: the modfiles/
    /// folder beside the HOC files, if any).
    #[arg(long, global = true)]
    pub mod_folder: Option<PathBuf>,

    /// An Allen Cell Types morphology (.swc), built as bmtk's aibs_perisomatic processing does;
    /// needs --fit-json.
    #[arg(long, global = true, requires = "fit_json")]
    pub swc: Option<PathBuf>,

    /// The Allen model's parameter file (*_fit.json) for --swc.
    #[arg(long, global = true, requires = "swc")]
    pub fit_json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CellCommand {
    /// The templates found, with their sections and compartments.
    List(ListArgs),
    /// One cell's sections, segments and mechanism parameters.
    Info(InfoArgs),
    /// The mechanisms of a mod folder: kind, ions, RANGE and GLOBAL parameters with defaults.
    Mechanisms(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CellFormat::Table)]
    pub format: CellFormat,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CellFormat::Table)]
    pub format: CellFormat,
}

/// How cell descriptions are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CellFormat {
    /// Aligned text for reading.
    Table,
    /// JSON with every value at full precision (field names as NEURON's cell_info.json).
    Json,
}
