//! HOC front-end: read users' NEURON HOC template files and build the solver's [`CellModel`]
//! with the sections, segments and parameter values NEURON would produce.
//!
//! Pipeline (naga-style front-end): [`lexer`] -> [`parser`] ([`ast`]) -> [`interp`] (a
//! tree-walking interpreter of the HOC subset real templates use, ../shared/docs/cells.md
//! section 2) -> a plain-data [`LoadedCell`]. Mechanism names (`insert nap`, `gbar_nap`,
//! `ehd_hd`, `ena`) are resolved against the solver's mechanism registry through [`names`].
//! Nothing downstream sees tokens; this module never simulates.
//!
//! Every load runs in a fresh interpreter (NEURON's `celsius` is global and templates may set
//! it), on a thread with a large stack so deeply nested input ends in an error, never a crash.
pub mod ast;
pub mod error;
mod interp;
pub mod lexer;
pub mod names;
pub mod parser;
pub mod regex;

use std::path::PathBuf;

pub use error::HocError;
pub use names::MechanismNames;

use crate::cell::mechanism::folder::CellMechanisms;
use crate::cell::morphology::{CellModel, Connection, SectionId};
use interp::Interpreter;

/// Stack for the interpreter thread (recursion is bounded, this only sets the headroom).
const STACK_BYTES: usize = 256 << 20;

/// Globals to set before a template runs; a template that sets them itself wins, as in NEURON.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadOptions {
    /// `celsius` (degC); NEURON's default 6.3 if `None`.
    pub celsius_degc: Option<f64>,
    /// `v_init` (mV); NEURON's default -65 if `None`.
    pub v_init_mv: Option<f64>,
}

/// A spike detector a template made with `new NetCon(&v(x), target)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikeSource {
    /// Section watched (in [`LoadedCell::model`]).
    pub section: SectionId,
    /// Position along it.
    pub x: f64,
    /// Threshold (mV).
    pub threshold_mv: f64,
}

/// One instantiated template.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCell {
    /// Template name.
    pub template: String,
    /// The cell: its sections (named as NEURON prints them, `Cell_Cf[0].soma[0]`), point
    /// processes the template placed, celsius, v_init and mechanism GLOBALs it set.
    pub model: CellModel,
    /// NetCons the template created on its own sections.
    pub spike_sources: Vec<SpikeSource>,
}

impl LoadedCell {
    /// The section NEURON calls `<Template>[0].<name>`, e.g. `soma[0]`.
    pub fn section(&self, name: &str) -> Option<SectionId> {
        self.model
            .find_section(&format!("{}[0].{name}", self.template))
    }
}

/// The HOC files and mechanisms a cell is loaded from.
#[derive(Debug, Clone, Copy)]
pub struct HocSource<'a> {
    /// Files run in order (each may `load_file` siblings).
    pub files: &'a [PathBuf],
    /// Mechanisms available to `insert` and `new` (built-ins plus compiled mod files; the
    /// folder is named in "unknown mechanism" errors).
    pub mechanisms: &'a CellMechanisms,
}

/// Template names defined by the files, in definition order (runs every file's top level once,
/// as NEURON's `load_file` does).
pub fn template_names(source: HocSource) -> Result<Vec<String>, HocError> {
    on_big_stack(|| {
        let names = MechanismNames::new(source.mechanisms);
        let mut interp = Interpreter::new(&names);
        for file in source.files {
            interp.load_file_once(file)?;
        }
        Ok(interp.template_names())
    })
}

/// Run the files and instantiate `template` (as `h.<template>()`), returning its cell.
pub fn load_cell(
    source: HocSource,
    template: &str,
    options: LoadOptions,
) -> Result<LoadedCell, HocError> {
    on_big_stack(|| {
        let names = MechanismNames::new(source.mechanisms);
        let mut interp = Interpreter::new(&names);
        if let Some(celsius) = options.celsius_degc {
            interp.set_builtin("celsius", celsius);
        }
        if let Some(v_init) = options.v_init_mv {
            interp.set_builtin("v_init", v_init);
        }
        for file in source.files {
            interp.load_file_once(file)?;
        }
        let found = interp.template_names();
        if !found.iter().any(|name| name == template) {
            return Err(HocError::UnknownTemplate {
                name: template.to_string(),
                where_: describe_files(source.files),
                found,
            });
        }
        let last_file = source
            .files
            .last()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let obj = interp.instantiate_by_name(template, &last_file)?;
        extract(&interp, obj, template)
    })
}

fn describe_files(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copy the instance's sections (re-indexed from 0), its point processes and detectors, and
/// the globals into a stand-alone [`LoadedCell`].
fn extract(interp: &Interpreter, obj: usize, template: &str) -> Result<LoadedCell, HocError> {
    let owned = interp.sections_of(obj);
    let new_id = |old: SectionId| owned.iter().position(|s| *s == old).map(SectionId);
    let mut model = CellModel::new();
    for &old in &owned {
        let mut section = interp.model.sections[old.0].clone();
        if let Some(connection) = section.parent {
            let parent = new_id(connection.parent).ok_or_else(|| HocError::Cell {
                template: template.to_string(),
                message: format!(
                    "section {} connects to a section outside the cell",
                    section.name
                ),
            })?;
            section.parent = Some(Connection {
                parent,
                parent_x: connection.parent_x,
            });
        }
        model.sections.push(section);
    }
    for point in &interp.model.point_processes {
        if let Some(section) = new_id(point.section) {
            let mut point = point.clone();
            point.section = section;
            model.point_processes.push(point);
        }
    }
    model.celsius_degc = interp.builtin("celsius");
    model.v_init_mv = interp.builtin("v_init");
    for (name, value) in &interp.mechanism_globals {
        model.set_global(name, *value);
    }
    let spike_sources = interp
        .netcons()
        .iter()
        .filter_map(|netcon| {
            let (section, x) = netcon.source?;
            Some(SpikeSource {
                section: new_id(section)?,
                x,
                threshold_mv: netcon.threshold,
            })
        })
        .collect();
    model.validate().map_err(|e| HocError::Cell {
        template: template.to_string(),
        message: e.to_string(),
    })?;
    Ok(LoadedCell {
        template: template.to_string(),
        model,
        spike_sources,
    })
}

/// Run `work` on a thread with a [`STACK_BYTES`] stack.
fn on_big_stack<T: Send>(work: impl FnOnce() -> Result<T, HocError> + Send) -> Result<T, HocError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("hoc".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, work);
        match handle {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(HocError::Io {
                    path: PathBuf::from("<hoc>"),
                    message: "internal error: the HOC interpreter panicked".into(),
                })
            }),
            Err(e) => Err(HocError::Io {
                path: PathBuf::from("<hoc>"),
                message: format!("cannot start the HOC interpreter thread: {e}"),
            }),
        }
    })
}
