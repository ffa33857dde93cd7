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

    /// Evaluate exp() in the mechanisms with the C library's function, the one NEURON's compiled
    /// mechanisms call, instead of bmtool's vectorised exp (within 2 ulp of it, about twice as
    /// fast on channel-heavy cells). Results then differ from the default in the last bits only.
    #[arg(long, global = true)]
    pub libm_exp: bool,

    /// Run the mechanisms in bmtool's bytecode interpreter instead of translating them to machine
    /// code (x86-64 with AVX2), each step's values moved between the cell and the mechanisms by
    /// separate passes. Results are bit-identical; only slower. For comparisons.
    #[arg(long, global = true)]
    pub no_jit: bool,

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
    /// Passive properties from a hyperpolarising step: V_rest, R_in, tau, sag.
    Passive(PassiveArgs),
    /// A current step: spike count and spike times.
    Iclamp(IclampArgs),
    /// Spike counts over a sweep of current steps (trials run in parallel).
    Fi(FiArgs),
    /// Impedance amplitude profile from a chirp current.
    Zap(ZapArgs),
}

/// Where and how every protocol runs, and what it writes.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Time step (ms).
    #[arg(long, default_value_t = 0.025, allow_hyphen_values = true)]
    pub dt: f64,
    /// Section to inject into and record from (NEURON's name, e.g. soma or dend[2]).
    #[arg(long, default_value = "soma")]
    pub section: String,
    /// Position along that section.
    #[arg(long, default_value_t = 0.5)]
    pub x: f64,
    /// How to print the numbers.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::report::OutputFormat,
    /// Save the picture to this file (.png or .svg).
    #[arg(long)]
    pub save_file: Option<PathBuf>,
    /// Write v(t) to this CSV file (t_ms,v_mV).
    #[arg(long)]
    pub trace_csv: Option<PathBuf>,
    /// Replace --save-file / --trace-csv if they exist.
    #[arg(long)]
    pub force: bool,
    /// Cores one simulation may use: with 2, a cell whose mechanisms all sit on the same
    /// compartments is split in two halves stepped side by side, with results identical to
    /// one core's (other cells run on one). An FI sweep runs its trials one per core instead.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=2))]
    pub threads: u32,
}

#[derive(Debug, Args)]
pub struct PassiveArgs {
    /// Injection amplitude (pA).
    #[arg(long, default_value_t = -100.0, allow_hyphen_values = true)]
    pub inj_amp: f64,
    /// Injection delay (ms).
    #[arg(long, default_value_t = 200.0)]
    pub inj_delay: f64,
    /// Injection duration (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub inj_dur: f64,
    /// Simulation length (ms).
    #[arg(long, default_value_t = 1200.0)]
    pub tstop: f64,
    /// How tau is estimated: time to 63.2 %, a single or a double exponential fit.
    #[arg(long, value_enum, default_value = "simple")]
    pub method: TauArg,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TauArg {
    Simple,
    Exp,
    Exp2,
}

#[derive(Debug, Args)]
pub struct IclampArgs {
    /// Injection amplitude (pA).
    #[arg(long, default_value_t = 100.0, allow_hyphen_values = true)]
    pub inj_amp: f64,
    /// Injection delay (ms).
    #[arg(long, default_value_t = 100.0)]
    pub inj_delay: f64,
    /// Injection duration (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub inj_dur: f64,
    /// Simulation length (ms).
    #[arg(long, default_value_t = 1100.0)]
    pub tstop: f64,
    /// Spike threshold (mV): upward crossings of v at the recording site.
    #[arg(long, default_value_t = -15.0, allow_hyphen_values = true)]
    pub threshold: f64,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct FiArgs {
    /// First amplitude (pA).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub i_start: f64,
    /// Last amplitude (pA); bmtool's trial count leaves it out when the float division falls
    /// short (0..1000 by 50 runs 0..950): add --inclusive to always include it.
    #[arg(long, default_value_t = 1000.0)]
    pub i_stop: f64,
    /// Amplitude step (pA).
    #[arg(long, default_value_t = 100.0)]
    pub i_increment: f64,
    /// Injection start (ms).
    #[arg(long, default_value_t = 150.0)]
    pub tstart: f64,
    /// Injection duration (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub tdur: f64,
    /// Spike threshold (mV).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub threshold: f64,
    /// Include --i-stop even where bmtool's trial count would leave it out.
    #[arg(long)]
    pub inclusive: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ZapArgs {
    /// Chirp amplitude (pA).
    #[arg(long, default_value_t = 100.0)]
    pub inj_amp: f64,
    /// Injection delay (ms).
    #[arg(long, default_value_t = 200.0)]
    pub inj_delay: f64,
    /// Chirp duration (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub inj_dur: f64,
    /// Simulation length (ms).
    #[arg(long, default_value_t = 1200.0)]
    pub tstop: f64,
    /// Start frequency (Hz).
    #[arg(long, default_value_t = 0.0)]
    pub fstart: f64,
    /// End frequency (Hz).
    #[arg(long, default_value_t = 100.0)]
    pub fend: f64,
    /// How the frequency rises.
    #[arg(long, value_enum, default_value = "linear")]
    pub chirp: ChirpArg,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChirpArg {
    Linear,
    Exponential,
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
