//! The tree-walking HOC interpreter: runs a parsed file's top level (defining templates and
//! procedures, loading sibling files), instantiates a template and builds the sections,
//! geometry, mechanisms and point processes NEURON would, into one [`CellModel`]. Owns HOC's
//! run-time semantics (scoping, templates, section stack, objects); it neither parses text nor
//! simulates. Every error names the file and line. Runaway code stops with an error after
//! [`MAX_STEPS`] statements or [`MAX_CALL_DEPTH`] nested calls. This file holds the state and
//! entry points; `exec` runs statements, `scope` resolves names, `eval` expressions and calls,
//! `builtins` the built-in functions, `objects` `new`, members and methods.
//!
//! Semantics reproduced (../shared/docs/cells.md section 2.2): template-body statements run
//! once at definition, and instance variables start at 0 (the section array sizes are fixed
//! then); `forall` inside a template covers only that object's sections; a range variable
//! assigned without `(x)` sets the whole section even inside `for (x, 0)`, `name(x) = v` one
//! segment; undeclared names assigned in a procedure become per-object variables; built-in
//! globals (`celsius`, `v_init`, mechanism GLOBALs) are shared by all objects; class names
//! after `new` resolve when the statement runs, so procedures that never run may name
//! mechanisms that are not loaded.

mod builtins;
mod eval;
mod exec;
mod objects;
mod scope;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::ast::{Expr, ProcDef, ProcKind, SectionRef, Stmt, StmtKind, TemplateDef};
use super::error::HocError;
use super::names::{IonField, MechanismNames};
use super::parser::parse_file;
use super::regex::Pattern;
use crate::cell::morphology::section::segment_index;
use crate::cell::morphology::{CellModel, Discretization, PointProcessId, Pt3d, SectionId};

/// Statements run before a load is stopped as a runaway loop.
pub const MAX_STEPS: u64 = 20_000_000;
/// Nested procedure calls (and file loads) before a load is stopped as runaway recursion.
pub const MAX_CALL_DEPTH: usize = 100;
/// Largest `nseg` NEURON accepts.
const MAX_NSEG: f64 = 32767.0;
/// Largest section array accepted by `create`.
const MAX_SECTIONS: f64 = 100_000.0;
/// HOC's `float_epsilon` for comparisons.
const EPSILON: f64 = 1e-9;
/// Files NEURON ships; loading them does nothing here.
const LIBRARY_FILES: [&str; 5] = [
    "stdrun.hoc",
    "nrngui.hoc",
    "import3d.hoc",
    "noload.hoc",
    "stdlib.hoc",
];

pub(crate) type ObjId = usize;
/// The object holding top-level variables and sections.
const TOP: ObjId = 0;

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Num(f64),
    Str(Rc<str>),
    Obj(Option<ObjId>),
    /// `&v(x)`: a location.
    Pointer(SectionId, f64),
}

#[derive(Debug, Clone)]
enum Slot {
    Scalar(Value),
    Array(Vec<Value>),
}

#[derive(Debug, Default)]
struct SectionArray {
    is_array: bool,
    ids: Vec<SectionId>,
}

#[derive(Debug)]
struct Instance {
    template: Option<usize>,
    index: usize,
    vars: HashMap<String, Slot>,
    sections: HashMap<String, SectionArray>,
}

/// A `NetCon` watching a location's voltage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NetConData {
    pub source: Option<(SectionId, f64)>,
    pub threshold: f64,
    pub delay: f64,
    pub weight: f64,
}

#[derive(Debug)]
enum Object {
    Instance(Instance),
    SectionList(Vec<SectionId>),
    List(Vec<Option<ObjId>>),
    Vector(Vec<f64>),
    Random,
    Point(PointProcessId),
    NetCon(NetConData),
}

#[derive(Debug, Default)]
struct Template {
    name: String,
    procs: HashMap<String, Rc<ProcDef>>,
    public: HashSet<String>,
    sections: Vec<(String, Option<usize>)>,
    objrefs: Vec<(String, Option<usize>)>,
    strdefs: Vec<String>,
    scalars: Vec<String>,
    count: usize,
}

struct Frame {
    obj: ObjId,
    args: Vec<Value>,
    locals: HashMap<String, Value>,
    file: Rc<str>,
    defining: Option<usize>,
}

enum Flow {
    Normal,
    Break,
    Continue,
    Return(Value),
}

/// A section property or range variable name.
enum RangeName {
    Length,
    Diam,
    Nseg,
    Ra,
    Cm,
    V,
    Mechanism(String, String),
    Ion(String, IonField),
}

type R<T> = Result<T, HocError>;

/// Interpreter state for one load: all sections created so far, objects, templates, globals.
pub(crate) struct Interpreter<'m> {
    names: &'m MechanismNames<'m>,
    pub model: CellModel,
    owner: Vec<ObjId>,
    objects: Vec<Object>,
    templates: Vec<Template>,
    template_index: HashMap<String, usize>,
    top_procs: HashMap<String, Rc<ProcDef>>,
    builtins: HashMap<&'static str, f64>,
    pub mechanism_globals: HashMap<String, f64>,
    stack: Vec<SectionId>,
    accessed: Option<SectionId>,
    distance_origin: Option<(SectionId, f64)>,
    loaded: HashSet<PathBuf>,
    steps: u64,
    depth: usize,
}

fn truthy(value: f64) -> bool {
    value != 0.0
}

impl<'m> Interpreter<'m> {
    /// A fresh interpreter: NEURON's built-in globals, no sections.
    pub fn new(names: &'m MechanismNames<'m>) -> Self {
        let builtins = HashMap::from([
            ("celsius", 6.3),
            ("v_init", -65.0),
            ("dt", 0.025),
            ("t", 0.0),
            ("tstop", 5.0),
            ("steps_per_ms", 40.0),
            ("secondorder", 0.0),
            ("PI", std::f64::consts::PI),
            ("E", std::f64::consts::E),
            ("DEG", 180.0 / std::f64::consts::PI),
            ("FARADAY", 96485.33212331001),
            ("R", 8.313342157210552),
            ("GAMMA", 0.5772156649015329),
            ("PHI", 1.618033988749895),
            ("float_epsilon", EPSILON),
            ("hoc_ac_", 0.0),
        ]);
        Self {
            names,
            model: CellModel::new(),
            owner: Vec::new(),
            objects: vec![Object::Instance(Instance {
                template: None,
                index: 0,
                vars: HashMap::new(),
                sections: HashMap::new(),
            })],
            templates: Vec::new(),
            template_index: HashMap::new(),
            top_procs: HashMap::new(),
            builtins,
            mechanism_globals: HashMap::new(),
            stack: Vec::new(),
            accessed: None,
            distance_origin: None,
            loaded: HashSet::new(),
            steps: 0,
            depth: 0,
        }
    }

    /// Set a built-in global (`celsius`, `v_init`) before anything runs.
    pub fn set_builtin(&mut self, name: &'static str, value: f64) {
        self.builtins.insert(name, value);
    }

    /// A built-in global's value.
    pub fn builtin(&self, name: &str) -> f64 {
        self.builtins.get(name).copied().unwrap_or(f64::NAN)
    }

    /// Template names in definition order.
    pub fn template_names(&self) -> Vec<String> {
        self.templates.iter().map(|t| t.name.clone()).collect()
    }

    /// `load_file(path)`: run a file at top level unless it already ran (a folder's files may
    /// load each other).
    pub fn load_file_once(&mut self, path: &Path) -> R<()> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.loaded.contains(&canonical) {
            return Ok(());
        }
        self.run_file(path)
    }

    /// Run a whole file at top level (its path names it in errors).
    pub fn run_file(&mut self, path: &Path) -> R<()> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.loaded.insert(canonical);
        let source = std::fs::read_to_string(path).map_err(|e| HocError::io(path, &e))?;
        let file: Rc<str> = Rc::from(path.display().to_string());
        let source = source.strip_prefix('\u{feff}').unwrap_or(&source);
        let statements = parse_file(&file, source)?;
        let mut frame = Frame {
            obj: TOP,
            args: Vec::new(),
            locals: HashMap::new(),
            file,
            defining: None,
        };
        for statement in &statements {
            match self.exec(&mut frame, statement)? {
                Flow::Normal => {}
                _ => {
                    return Err(HocError::at(
                        &frame.file,
                        statement.line,
                        "return, break or continue outside a procedure or loop",
                    ))
                }
            }
        }
        Ok(())
    }

    /// `new Template()`: the object id of the new instance.
    pub fn instantiate_by_name(&mut self, name: &str, file: &str) -> R<ObjId> {
        let index = self.template_index[name];
        let mut frame = Frame {
            obj: TOP,
            args: Vec::new(),
            locals: HashMap::new(),
            file: Rc::from(file),
            defining: None,
        };
        match self.instantiate(&mut frame, index, Vec::new(), 0)? {
            Value::Obj(Some(id)) => Ok(id),
            _ => Err(HocError::Cell {
                template: name.to_string(),
                message: "instantiation did not produce an object".into(),
            }),
        }
    }

    /// Sections owned by object `obj`, in creation order.
    pub fn sections_of(&self, obj: ObjId) -> Vec<SectionId> {
        (0..self.model.sections.len())
            .filter(|&i| self.owner[i] == obj)
            .map(SectionId)
            .collect()
    }

    /// NetCons whose source lies in one of `sections`.
    pub fn netcons(&self) -> Vec<NetConData> {
        self.objects
            .iter()
            .filter_map(|o| match o {
                Object::NetCon(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    // ----- errors ---------------------------------------------------------------------------

    fn err(&self, f: &Frame, line: usize, message: impl Into<String>) -> HocError {
        HocError::at(&f.file, line, message)
    }

    fn model_err(&self, f: &Frame, line: usize, error: impl std::fmt::Display) -> HocError {
        self.err(f, line, error.to_string())
    }
}

fn ion_hoc_name(ion: &str, field: IonField) -> String {
    match field {
        IonField::Reversal => format!("e{ion}"),
        IonField::Inside => format!("{ion}i"),
        IonField::Outside => format!("{ion}o"),
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
