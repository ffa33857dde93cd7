//! The network description `bmtool connectors build` reads (TOML or JSON, the same fields):
//! node populations by pop_name with their cell count, model and placement, connection blocks
//! (source and target selections, a connector and its parameters, the edge-type properties BMTK
//! stores in the edge-types CSV) and Poisson inputs for virtual populations. Unknown fields are
//! errors, so a misspelt parameter is never silently ignored; syntax errors name the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::prob::ProbabilitySpec;

/// A spec problem, naming the file and (for syntax errors) the line.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: {message}", file.display())]
    Read { file: PathBuf, message: String },
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {place}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        place: String,
        message: String,
    },
}

/// The whole spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Build seed (overridden by `--seed`).
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub run: RunSpec,
    #[serde(default)]
    pub conditions: ConditionsSpec,
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub edges: Vec<EdgeSpec>,
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    /// The `components` section of circuit_config.json, written as given (e.g.
    /// `synaptic_models_dir = "$BASE_DIR/components/synaptic_models"`; `$BASE_DIR` is the model
    /// directory). BMTK needs it to run a simulation; the network files do not.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

/// The `run` section of simulation_config.json (defaults as in bmtk's examples; bionet needs
/// `nsteps_block` and `spike_threshold`).
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(default)]
    pub tstart: f64,
    #[serde(default = "default_tstop")]
    pub tstop: f64,
    #[serde(default = "default_dt")]
    pub dt: f64,
    #[serde(default = "default_dl", rename = "dL")]
    pub dl: f64,
    #[serde(default = "default_spike_threshold")]
    pub spike_threshold: f64,
    #[serde(default = "default_nsteps_block")]
    pub nsteps_block: u64,
}

fn default_dl() -> f64 {
    20.0
}

fn default_spike_threshold() -> f64 {
    -15.0
}

fn default_nsteps_block() -> u64 {
    5000
}

fn default_tstop() -> f64 {
    1000.0
}

fn default_dt() -> f64 {
    0.1
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            tstart: 0.0,
            tstop: default_tstop(),
            dt: default_dt(),
            dl: default_dl(),
            spike_threshold: default_spike_threshold(),
            nsteps_block: default_nsteps_block(),
        }
    }
}

/// The `conditions` section of simulation_config.json (NEURON's `celsius` and `v_init`).
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsSpec {
    #[serde(default = "default_celsius")]
    pub celsius: f64,
    #[serde(default = "default_v_init")]
    pub v_init: f64,
}

fn default_celsius() -> f64 {
    34.0
}

fn default_v_init() -> f64 {
    -80.0
}

impl Default for ConditionsSpec {
    fn default() -> Self {
        ConditionsSpec {
            celsius: default_celsius(),
            v_init: default_v_init(),
        }
    }
}

/// A scalar property value for a types CSV.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// One node type: `N` cells of one pop_name in a node population (`network`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub network: String,
    pub pop_name: String,
    #[serde(rename = "N")]
    pub n: usize,
    pub model_type: String,
    pub model_template: Option<String>,
    pub morphology: Option<String>,
    pub dynamics_params: Option<String>,
    pub positions: Option<Placement>,
    pub rotation: Option<RotationSpec>,
    /// Further node-type columns (e.g. `ei = "e"`).
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

/// Where cells go: uniformly at random inside a shape (µm).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum Placement {
    Box {
        min: [f64; 3],
        max: [f64; 3],
    },
    /// Axis along z, from center.z − height/2 to center.z + height/2.
    Cylinder {
        #[serde(default)]
        center: [f64; 3],
        radius: f64,
        height: f64,
    },
    Sphere {
        #[serde(default)]
        center: [f64; 3],
        radius: f64,
    },
}

/// A rotation angle (radians): a constant or uniform in `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Angle {
    Constant(f64),
    Uniform([f64; 2]),
}

/// Rotation angles about the x, y and z axes (`rotation_angle_{x,y,z}axis`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationSpec {
    pub x: Option<Angle>,
    pub y: Option<Angle>,
    pub z: Option<Angle>,
}

/// Text values to match: one or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Scalar),
    Many(Vec<Scalar>),
}

/// Cells of one node population whose node-type properties match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    pub network: String,
    pub pop_name: Option<OneOrMany>,
    /// Other node-type properties to match (`model_type`, `ei`, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, OneOrMany>,
}

/// Edge-type properties, as BMTK stores them in the edge-types CSV.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeProps {
    pub syn_weight: Option<f64>,
    pub delay: Option<f64>,
    pub dynamics_params: Option<String>,
    pub model_template: Option<String>,
    pub target_sections: Option<Vec<String>>,
    pub distance_range: Option<[f64; 2]>,
    pub is_gap_junction: Option<bool>,
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

/// One connection block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// A label for the report (default `source -> target`); correlated gap junctions refer to
    /// blocks by it.
    pub name: Option<String>,
    pub source: Selection,
    pub target: Selection,
    pub connector: ConnectorSpec,
    pub syn_weight: Option<f64>,
    pub delay: Option<f64>,
    pub dynamics_params: Option<String>,
    pub model_template: Option<String>,
    pub target_sections: Option<Vec<String>>,
    pub distance_range: Option<[f64; 2]>,
    pub is_gap_junction: Option<bool>,
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
    /// Edge-type properties of the target → source connections of a reciprocal block between
    /// two populations (default: the same as forward).
    pub backward: Option<EdgeProps>,
}

impl EdgeSpec {
    /// The forward edge-type properties.
    pub fn forward_props(&self) -> EdgeProps {
        EdgeProps {
            syn_weight: self.syn_weight,
            delay: self.delay,
            dynamics_params: self.dynamics_params.clone(),
            model_template: self.model_template.clone(),
            target_sections: self.target_sections.clone(),
            distance_range: self.distance_range,
            is_gap_junction: self.is_gap_junction,
            properties: self.properties.clone(),
        }
    }
}

fn one_u32() -> u32 {
    1
}

fn default_true() -> bool {
    true
}

fn p_one() -> ProbabilitySpec {
    ProbabilitySpec::Constant(1.0)
}

/// A connector and its parameters (`type = "..."`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectorSpec {
    Unidirection {
        #[serde(default = "p_one")]
        p: ProbabilitySpec,
        #[serde(default = "one_u32", alias = "nsyns")]
        n_syn: u32,
        #[serde(default)]
        autapses: bool,
    },
    Reciprocal {
        #[serde(default = "p_one")]
        p0: ProbabilitySpec,
        p1: Option<ProbabilitySpec>,
        #[serde(default)]
        symmetric_p1: bool,
        #[serde(default)]
        pr: f64,
        #[serde(default = "default_true")]
        estimate_rho: bool,
        rho: Option<f64>,
        #[serde(default = "one_u32")]
        n_syn0: u32,
        #[serde(default = "one_u32")]
        n_syn1: u32,
        #[serde(default)]
        autapses: bool,
    },
    GapJunction {
        #[serde(default = "p_one")]
        p: ProbabilitySpec,
    },
    CorrelatedGapJunction {
        #[serde(default = "p_one")]
        p_non: ProbabilitySpec,
        #[serde(default = "p_one")]
        p_uni: ProbabilitySpec,
        #[serde(default = "p_one")]
        p_rec: ProbabilitySpec,
        /// The `name` of the earlier block whose chemical connections set the probability.
        connector: String,
    },
    OneToOneSequential {
        #[serde(default = "one_u32", alias = "nsyns")]
        n_syn: u32,
        #[serde(default)]
        partition_source: bool,
    },
}

impl ConnectorSpec {
    pub fn name(&self) -> &'static str {
        match self {
            ConnectorSpec::Unidirection { .. } => "unidirection",
            ConnectorSpec::Reciprocal { .. } => "reciprocal",
            ConnectorSpec::GapJunction { .. } => "gap_junction",
            ConnectorSpec::CorrelatedGapJunction { .. } => "correlated_gap_junction",
            ConnectorSpec::OneToOneSequential { .. } => "one_to_one_sequential",
        }
    }
}

/// Poisson spike trains for (part of) a virtual population.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The cells that fire (usually a whole virtual population).
    pub source: Selection,
    /// Firing rate per cell (Hz).
    pub rate: f64,
    #[serde(default)]
    pub tstart: f64,
    pub tstop: Option<f64>,
    /// Seed of these trains (default: derived from the build seed).
    pub seed: Option<u64>,
}

impl Spec {
    /// Read a spec from a `.toml` or `.json` file.
    pub fn read(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "toml" => Self::from_toml(text, path),
            "json" => Self::from_json(text, path),
            _ => Err(SpecError::Read {
                file: path.to_path_buf(),
                message: "a spec must be a .toml or .json file".into(),
            }),
        }
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Spec, SpecError> {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let line = text[..offset.min(text.len())].matches('\n').count() + 1;
            let message = e.message().trim().replace('\n', " ");
            SpecError::Syntax {
                file: path.to_path_buf(),
                line: unknown_field_line(text, line, &message).unwrap_or(line),
                message,
            }
        })
    }

    pub fn from_json(text: &str, path: &Path) -> Result<Spec, SpecError> {
        serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(k) => message[..k].to_string(),
                None => message,
            };
            SpecError::Syntax {
                file: path.to_path_buf(),
                line: e.line(),
                message,
            }
        })
    }
}

/// For "unknown field `x`" inside a table, toml points at the table; the line that sets `x`
/// (at or after that point) is more useful.
fn unknown_field_line(text: &str, from_line: usize, message: &str) -> Option<usize> {
    let name = message.strip_prefix("unknown field `")?.split('`').next()?;
    text.lines()
        .enumerate()
        .skip(from_line - 1)
        .find(|(_, l)| {
            l.split(['{', ',', '[']).any(|part| {
                part.trim_start()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
        })
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
seed = 3
[[nodes]]
network = "cortex"
pop_name = "PN"
N = 10
model_type = "point_neuron"
positions = { shape = "box", min = [0, 0, 0], max = [100, 100, 100] }

[[edges]]
source = { network = "cortex", pop_name = "PN" }
target = { network = "cortex", pop_name = "PN" }
connector = { type = "reciprocal", p0 = 0.1, pr = 0.02 }
syn_weight = 0.5
"#;

    #[test]
    fn a_good_spec_reads() {
        let s = Spec::from_toml(GOOD, Path::new("s.toml")).unwrap();
        assert_eq!(s.seed, Some(3));
        assert_eq!(s.nodes[0].n, 10);
        assert!(matches!(s.edges[0].connector, ConnectorSpec::Reciprocal { pr, .. } if pr == 0.02));
    }

    #[test]
    fn unknown_parameters_and_connectors_name_the_line() {
        let bad = GOOD.replace("pr = 0.02", "pr = 0.02, p2 = 0.3");
        let e = Spec::from_toml(&bad, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:13: "), "{e}");
        assert!(e.contains("p2"), "{e}");
        let bad = GOOD.replace("\"reciprocal\"", "\"reciprocol\"");
        let e = Spec::from_toml(&bad, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reciprocol") && e.starts_with("s.toml:13: "),
            "{e}"
        );
        let bad = GOOD.replace("N = 10", "N = 10\ncolour = 1");
        let e = Spec::from_toml(&bad, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour") && e.starts_with("s.toml:7: "), "{e}");
    }

    #[test]
    fn json_errors_name_the_line() {
        let e = Spec::from_json("{\n \"nodes\": [\n}", Path::new("s.json"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.json:3: "), "{e}");
    }
}
