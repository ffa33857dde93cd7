//! The summary behind `bmtool util cell mechanisms --mod-folder DIR [--format table|json]`.
//!
//! Owns turning a [`Catalogue`] into serialisable rows (name, kind, ions read/written, RANGE and
//! GLOBAL parameters with defaults and units, whether it compiles) and rendering them as a text
//! table or JSON. The CLI only calls [`summarise`] and one renderer.

use super::ast::MechKind;
use super::catalogue::Catalogue;
use super::ir::{IonField, Mechanism, Role, Storage};
use super::kernel::CompiledMechanism;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ParamSummary {
    /// NEURON's name (`gbar_hh` for density mechanisms).
    pub name: String,
    pub default: f64,
    pub units: Option<String>,
    pub limits: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IonSummary {
    pub ion: String,
    pub read: Vec<String>,
    pub write: Vec<String>,
    pub valence: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MechanismSummary {
    pub name: String,
    pub file: String,
    /// "density", "point_process" or "artificial_cell".
    pub kind: String,
    pub ions: Vec<IonSummary>,
    pub nonspecific_currents: Vec<String>,
    pub electrode_currents: Vec<String>,
    pub range_parameters: Vec<ParamSummary>,
    pub global_parameters: Vec<ParamSummary>,
    /// RANGE variables that are not parameters (ASSIGNED and STATE), NEURON names.
    pub range_variables: Vec<String>,
    pub states: Vec<String>,
    /// Has a NET_RECEIVE block bmtool can run (events on synapses).
    pub net_receive: bool,
    /// Blocks that parse but cannot run.
    pub parse_only: Vec<String>,
    /// `None` when the mechanism compiles, else the reason.
    pub unsupported: Option<String>,
    /// How each SOLVE runs (method actually used, e.g. a cnexp fallback to derivimplicit).
    pub solves: Vec<super::kernel::SolveInfo>,
    /// Compiler warnings (STATE without derivative, cnexp fallback...).
    pub warnings: Vec<String>,
}

/// Loads `dir` as a catalogue and summarises it: the whole of `bmtool util cell mechanisms`
/// except the rendering. Errors (syntax, duplicate names...) are one line each.
pub fn list_mod_folder(
    dir: impl AsRef<std::path::Path>,
) -> Result<Vec<MechanismSummary>, super::NmodlError> {
    Ok(summarise(&Catalogue::load_dir(dir)?))
}

/// One summary per mechanism of the folder, in file order.
pub fn summarise(cat: &Catalogue) -> Vec<MechanismSummary> {
    cat.entries.iter().map(|e| summary(&e.mechanism)).collect()
}

fn field_name(ion: &str, f: IonField) -> String {
    match f {
        IonField::E => format!("e{ion}"),
        IonField::I => format!("i{ion}"),
        IonField::Ci => format!("{ion}i"),
        IonField::Co => format!("{ion}o"),
    }
}

/// The summary of one mechanism.
pub fn summary(m: &Mechanism) -> MechanismSummary {
    let kind = match m.kind {
        MechKind::Density => "density",
        MechKind::PointProcess => "point_process",
        MechKind::ArtificialCell => "artificial_cell",
    };
    let param = |id: usize| {
        let v = &m.vars[id];
        ParamSummary {
            name: m.neuron_name(id),
            default: v.default,
            units: v.units.clone(),
            limits: v.limits,
        }
    };
    let ids = || m.vars.iter().enumerate();
    let compiled = CompiledMechanism::compile(m);
    MechanismSummary {
        name: m.name.clone(),
        file: m.file.clone(),
        kind: kind.into(),
        ions: m
            .ions
            .iter()
            .map(|i| IonSummary {
                ion: i.name.clone(),
                read: i.read.iter().map(|f| field_name(&i.name, *f)).collect(),
                write: i.write.iter().map(|f| field_name(&i.name, *f)).collect(),
                valence: i.valence,
            })
            .collect(),
        nonspecific_currents: m
            .nonspecific
            .iter()
            .map(|&v| m.vars[v].name.clone())
            .collect(),
        electrode_currents: m
            .electrode
            .iter()
            .map(|&v| m.vars[v].name.clone())
            .collect(),
        range_parameters: ids()
            .filter(|(_, v)| v.role == Role::Parameter && v.storage == Storage::Instance)
            .map(|(id, _)| param(id))
            .collect(),
        global_parameters: ids()
            .filter(|(_, v)| v.role == Role::Parameter && v.storage == Storage::Global)
            .map(|(id, _)| param(id))
            .collect(),
        range_variables: ids()
            .filter(|(_, v)| v.range && matches!(v.role, Role::Assigned | Role::State))
            .map(|(id, _)| m.neuron_name(id))
            .collect(),
        states: ids()
            .filter(|(_, v)| v.is_state)
            .map(|(_, v)| v.name.clone())
            .collect(),
        net_receive: m.net_receive.is_some(),
        parse_only: m
            .parse_only
            .iter()
            .map(|(w, line)| format!("{w} (line {line})"))
            .collect(),
        unsupported: compiled.as_ref().err().map(|e| e.to_string()),
        solves: compiled
            .as_ref()
            .map(|c| c.solves().to_vec())
            .unwrap_or_default(),
        warnings: compiled
            .as_ref()
            .map(|c| c.warnings.clone())
            .unwrap_or_default(),
    }
}

/// Pretty JSON array of the summaries.
pub fn render_json(rows: &[MechanismSummary]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn fmt_params(ps: &[ParamSummary]) -> String {
    ps.iter()
        .map(|p| match &p.units {
            Some(u) => format!("{}={} ({u})", p.name, p.default),
            None => format!("{}={}", p.name, p.default),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A human-readable table: one block of lines per mechanism.
pub fn render_table(rows: &[MechanismSummary]) -> String {
    let mut out = String::new();
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    out.push_str(&format!(
        "{:w$}  {:15}  {:30}  {}\n",
        "name", "kind", "ions (read -> write)", "status"
    ));
    for r in rows {
        let ions = r
            .ions
            .iter()
            .map(|i| format!("{}: {} -> {}", i.ion, i.read.join(","), i.write.join(",")))
            .chain(
                r.nonspecific_currents
                    .iter()
                    .map(|c| format!("nonspecific {c}")),
            )
            .chain(
                r.electrode_currents
                    .iter()
                    .map(|c| format!("electrode {c}")),
            )
            .collect::<Vec<_>>()
            .join("; ");
        let status = match &r.unsupported {
            None => "ok".to_string(),
            Some(e) => format!("parse-only: {e}"),
        };
        out.push_str(&format!(
            "{:w$}  {:15}  {:30}  {}\n",
            r.name, r.kind, ions, status
        ));
        if !r.range_parameters.is_empty() {
            out.push_str(&format!(
                "{:w$}    RANGE  {}\n",
                "",
                fmt_params(&r.range_parameters)
            ));
        }
        if !r.global_parameters.is_empty() {
            out.push_str(&format!(
                "{:w$}    GLOBAL {}\n",
                "",
                fmt_params(&r.global_parameters)
            ));
        }
    }
    out
}
