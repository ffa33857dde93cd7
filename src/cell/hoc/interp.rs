//! The tree-walking HOC interpreter: runs a parsed file's top level (defining templates and
//! procedures, loading sibling files), instantiates a template and builds the sections,
//! geometry, mechanisms and point processes NEURON would, into one [`CellModel`]. Owns HOC's
//! run-time semantics (scoping, templates, section stack, objects); it neither parses text nor
//! simulates. Every error names the file and line. Runaway code stops with an error after
//! [`MAX_STEPS`] statements or [`MAX_CALL_DEPTH`] nested calls.
//!
//! Semantics reproduced (../shared/docs/cells.md section 2.2): template-body statements run
//! once at definition, and instance variables start at 0 (the section array sizes are fixed
//! then); `forall` inside a template covers only that object's sections; a range variable
//! assigned without `(x)` sets the whole section even inside `for (x, 0)`, `name(x) = v` one
//! segment; undeclared names assigned in a procedure become per-object variables; built-in
//! globals (`celsius`, `v_init`, mechanism GLOBALs) are shared by all objects; class names
//! after `new` resolve when the statement runs, so procedures that never run may name
//! mechanisms that are not loaded.

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
        let statements = parse_file(&file, &source)?;
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
            _ => Err(HocError::at(file, 0, "template instantiation failed")),
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

    // ----- statements -----------------------------------------------------------------------

    fn exec_block(&mut self, f: &mut Frame, statements: &[Stmt]) -> R<Flow> {
        for statement in statements {
            match self.exec(f, statement)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn exec(&mut self, f: &mut Frame, s: &Stmt) -> R<Flow> {
        self.steps += 1;
        let line = s.line;
        if self.steps > MAX_STEPS {
            return Err(self.err(
                f,
                line,
                format!("stopped after {MAX_STEPS} statements: endless loop?"),
            ));
        }
        match &s.kind {
            StmtKind::Expr(e) => {
                self.eval(f, e, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Block(body) => self.exec_block(f, body),
            StmtKind::If(cond, then, otherwise) => {
                if truthy(self.eval_num(f, cond, line)?) {
                    self.exec(f, then)
                } else if let Some(otherwise) = otherwise {
                    self.exec(f, otherwise)
                } else {
                    Ok(Flow::Normal)
                }
            }
            StmtKind::While(cond, body) => {
                while truthy(self.eval_num(f, cond, line)?) {
                    match self.exec(f, body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => self.count_step(f, line)?,
                    }
                }
                Ok(Flow::Normal)
            }
            StmtKind::ForRange(var, from, to, body) => self.for_range(f, var, from, to, body, line),
            StmtKind::ForC(init, cond, step, body) => {
                self.exec(f, init)?;
                while truthy(self.eval_num(f, cond, line)?) {
                    match self.exec(f, body)? {
                        Flow::Break => break,
                        Flow::Return(v) => return Ok(Flow::Return(v)),
                        _ => {}
                    }
                    self.exec(f, step)?;
                }
                Ok(Flow::Normal)
            }
            StmtKind::ForSegments(var, ends, body) => self.for_segments(f, var, *ends, body, line),
            StmtKind::Forall(body) => {
                let sections = self.sections_in_scope(f.obj);
                self.over_sections(f, &sections, body)
            }
            StmtKind::Forsec(list, body) => {
                let sections = self.forsec_sections(f, list, line)?;
                self.over_sections(f, &sections, body)
            }
            StmtKind::InSection(section, body) => {
                let id = self.resolve_section(f, section, line)?;
                self.stack.push(id);
                let flow = self.exec(f, body);
                self.stack.pop();
                flow
            }
            StmtKind::Create(items) => {
                self.create(f, items, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Objref(items) => {
                self.declare_objrefs(f, items, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Strdef(names) => {
                for name in names {
                    if let Some(t) = f.defining {
                        self.templates[t].strdefs.push(name.clone());
                    }
                    self.instance_mut(f.obj)
                        .vars
                        .insert(name.clone(), Slot::Scalar(Value::Str(Rc::from(""))));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Public(names) => {
                let Some(t) = f.defining else {
                    return Err(self.err(f, line, "public outside a template"));
                };
                self.templates[t].public.extend(names.iter().cloned());
                Ok(Flow::Normal)
            }
            StmtKind::External(_) => {
                if f.defining.is_none() {
                    return Err(self.err(f, line, "external outside a template"));
                }
                Ok(Flow::Normal)
            }
            StmtKind::LocalObj(names) => {
                for name in names {
                    f.locals.insert(name.clone(), Value::Obj(None));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Local(names) => {
                for name in names {
                    f.locals.insert(name.clone(), Value::Num(0.0));
                }
                Ok(Flow::Normal)
            }
            StmtKind::Connect {
                child,
                child_x,
                parent,
                parent_x,
            } => {
                self.connect(f, child, child_x.as_ref(), parent, parent_x, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Access(section) => {
                self.accessed = Some(self.resolve_section(f, section, line)?);
                Ok(Flow::Normal)
            }
            StmtKind::Insert(name) => {
                self.insert(f, name, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Uninsert(name) => {
                let id = self.current_section(f, line)?;
                self.model.sections[id.0]
                    .mechanisms
                    .retain(|m| &m.name != name);
                Ok(Flow::Normal)
            }
            StmtKind::Return(value) => {
                let value = match value {
                    Some(e) => self.eval(f, e, line)?,
                    None => Value::Num(0.0),
                };
                Ok(Flow::Return(value))
            }
            StmtKind::Break => Ok(Flow::Break),
            StmtKind::Continue => Ok(Flow::Continue),
            StmtKind::Proc(def) => {
                self.define_proc(f, def, line)?;
                Ok(Flow::Normal)
            }
            StmtKind::Template(def) => {
                if f.obj != TOP || f.defining.is_some() {
                    return Err(self.err(f, line, "begintemplate inside a procedure"));
                }
                self.define_template(def)?;
                Ok(Flow::Normal)
            }
            StmtKind::Empty => Ok(Flow::Normal),
        }
    }

    fn count_step(&mut self, f: &Frame, line: usize) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.err(
                f,
                line,
                format!("stopped after {MAX_STEPS} statements: endless loop?"),
            ));
        }
        Ok(())
    }

    fn for_range(
        &mut self,
        f: &mut Frame,
        var: &str,
        from: &Expr,
        to: &Expr,
        body: &Stmt,
        line: usize,
    ) -> R<Flow> {
        let mut i = self.eval_num(f, from, line)?;
        let end = self.eval_num(f, to, line)?;
        while i <= end + EPSILON {
            self.assign_name(f, var, Value::Num(i), line)?;
            match self.exec(f, body)? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => self.count_step(f, line)?,
            }
            i = self.num(f, self.read_name(f, var, line)?, line)? + 1.0;
        }
        Ok(Flow::Normal)
    }

    fn for_segments(
        &mut self,
        f: &mut Frame,
        var: &str,
        ends: bool,
        body: &Stmt,
        line: usize,
    ) -> R<Flow> {
        let id = self.current_section(f, line)?;
        let nseg = self.model.sections[id.0].nseg;
        let mut positions: Vec<f64> = (0..nseg).map(|i| (i as f64 + 0.5) / nseg as f64).collect();
        if ends {
            positions.insert(0, 0.0);
            positions.push(1.0);
        }
        for x in positions {
            self.assign_name(f, var, Value::Num(x), line)?;
            match self.exec(f, body)? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => {}
            }
        }
        Ok(Flow::Normal)
    }

    fn over_sections(&mut self, f: &mut Frame, sections: &[SectionId], body: &Stmt) -> R<Flow> {
        for &id in sections {
            self.stack.push(id);
            let flow = self.exec(f, body);
            self.stack.pop();
            match flow? {
                Flow::Break => break,
                Flow::Return(v) => return Ok(Flow::Return(v)),
                _ => {}
            }
        }
        Ok(Flow::Normal)
    }

    /// `forall` scope: every section at top level, the object's own inside a template.
    fn sections_in_scope(&self, obj: ObjId) -> Vec<SectionId> {
        if obj == TOP {
            (0..self.model.sections.len()).map(SectionId).collect()
        } else {
            self.sections_of(obj)
        }
    }

    fn forsec_sections(&mut self, f: &mut Frame, list: &Expr, line: usize) -> R<Vec<SectionId>> {
        match self.eval(f, list, line)? {
            Value::Str(pattern) => {
                let pattern = Pattern::new(&pattern)
                    .ok_or_else(|| self.err(f, line, format!("bad pattern \"{pattern}\"")))?;
                Ok(self
                    .sections_in_scope(f.obj)
                    .into_iter()
                    .filter(|id| pattern.is_match(&self.model.sections[id.0].name))
                    .collect())
            }
            Value::Obj(Some(id)) => match &self.objects[id] {
                Object::SectionList(sections) => Ok(sections.clone()),
                _ => Err(self.err(f, line, "forsec needs a SectionList or a pattern string")),
            },
            _ => Err(self.err(f, line, "forsec needs a SectionList or a pattern string")),
        }
    }

    fn define_proc(&mut self, f: &Frame, def: &Rc<ProcDef>, line: usize) -> R<()> {
        if let Some(t) = f.defining {
            self.templates[t]
                .procs
                .insert(def.name.clone(), def.clone());
        } else if f.obj == TOP && f.locals.is_empty() && f.args.is_empty() {
            self.top_procs.insert(def.name.clone(), def.clone());
        } else {
            return Err(self.err(f, line, "proc, func or obfunc inside a procedure"));
        }
        Ok(())
    }

    /// Run a template's body once (NEURON semantics 1): record sections, objrefs, strdefs,
    /// public names and procedures; scalars set here exist in every instance, starting at 0.
    fn define_template(&mut self, def: &Rc<TemplateDef>) -> R<()> {
        if self.template_index.contains_key(&def.name) || self.top_procs.contains_key(&def.name) {
            return Err(HocError::at(
                &def.file,
                def.line,
                format!("template {} is already defined", def.name),
            ));
        }
        let index = self.templates.len();
        self.templates.push(Template {
            name: def.name.clone(),
            ..Template::default()
        });
        self.template_index.insert(def.name.clone(), index);
        let prototype = self.objects.len();
        self.objects.push(Object::Instance(Instance {
            template: Some(index),
            index: usize::MAX,
            vars: HashMap::new(),
            sections: HashMap::new(),
        }));
        let mut frame = Frame {
            obj: prototype,
            args: Vec::new(),
            locals: HashMap::new(),
            file: def.file.clone(),
            defining: Some(index),
        };
        for statement in &def.body {
            if !matches!(self.exec(&mut frame, statement)?, Flow::Normal) {
                return Err(self.err(&frame, statement.line, "return outside a procedure"));
            }
        }
        let declared: HashSet<&String> = {
            let t = &self.templates[index];
            t.objrefs.iter().map(|(n, _)| n).chain(&t.strdefs).collect()
        };
        let scalars: Vec<String> = self
            .instance(prototype)
            .vars
            .keys()
            .filter(|name| !declared.contains(name))
            .cloned()
            .collect();
        self.templates[index].scalars = scalars;
        Ok(())
    }

    fn instantiate(&mut self, f: &mut Frame, t: usize, args: Vec<Value>, line: usize) -> R<Value> {
        let index = self.templates[t].count;
        self.templates[t].count += 1;
        let mut vars = HashMap::new();
        let template = &self.templates[t];
        for name in &template.scalars {
            vars.insert(name.clone(), Slot::Scalar(Value::Num(0.0)));
        }
        for name in &template.strdefs {
            vars.insert(name.clone(), Slot::Scalar(Value::Str(Rc::from(""))));
        }
        for (name, size) in &template.objrefs {
            let slot = match size {
                Some(n) => Slot::Array(vec![Value::Obj(None); *n]),
                None => Slot::Scalar(Value::Obj(None)),
            };
            vars.insert(name.clone(), slot);
        }
        let sections = template.sections.clone();
        let init = template.procs.get("init").cloned();
        let obj = self.objects.len();
        self.objects.push(Object::Instance(Instance {
            template: Some(t),
            index,
            vars,
            sections: HashMap::new(),
        }));
        for (name, size) in sections {
            self.create_sections(obj, &name, size);
        }
        if let Some(init) = init {
            self.call_proc(f, obj, &init, args, line)?;
        }
        Ok(Value::Obj(Some(obj)))
    }

    fn create(&mut self, f: &mut Frame, items: &[(String, Option<Expr>)], line: usize) -> R<()> {
        for (name, size) in items {
            let size = match size {
                Some(e) => Some(self.count_arg(f, e, line, "section array size", MAX_SECTIONS)?),
                None => None,
            };
            if let Some(t) = f.defining {
                self.templates[t].sections.push((name.clone(), size));
            } else if self.instance(f.obj).sections.contains_key(name) {
                return Err(self.err(
                    f,
                    line,
                    format!("sections {name} already exist; re-creating them is not supported"),
                ));
            } else {
                self.create_sections(f.obj, name, size);
            }
        }
        Ok(())
    }

    /// A non-negative integer argument (array sizes), at most `max`.
    fn count_arg(
        &mut self,
        f: &mut Frame,
        e: &Expr,
        line: usize,
        what: &str,
        max: f64,
    ) -> R<usize> {
        let value = self.eval_num(f, e, line)?;
        if !(0.0..=max).contains(&value) {
            return Err(self.err(f, line, format!("{what} must be 0..{max}, got {value}")));
        }
        Ok(value as usize)
    }

    fn create_sections(&mut self, obj: ObjId, name: &str, size: Option<usize>) {
        let prefix = match &self.objects[obj] {
            Object::Instance(Instance {
                template: Some(t),
                index,
                ..
            }) => format!("{}[{index}].", self.templates[*t].name),
            _ => String::new(),
        };
        let mut array = SectionArray {
            is_array: size.is_some(),
            ids: Vec::new(),
        };
        match size {
            Some(n) => {
                for i in 0..n {
                    array
                        .ids
                        .push(self.model.add_section(&format!("{prefix}{name}[{i}]")));
                    self.owner.push(obj);
                }
            }
            None => {
                array
                    .ids
                    .push(self.model.add_section(&format!("{prefix}{name}")));
                self.owner.push(obj);
            }
        }
        self.instance_mut(obj)
            .sections
            .insert(name.to_string(), array);
    }

    fn declare_objrefs(
        &mut self,
        f: &mut Frame,
        items: &[(String, Option<Expr>)],
        line: usize,
    ) -> R<()> {
        for (name, size) in items {
            let size = match size {
                Some(e) => Some(self.count_arg(f, e, line, "objref array size", MAX_SECTIONS)?),
                None => None,
            };
            if let Some(t) = f.defining {
                self.templates[t].objrefs.push((name.clone(), size));
            }
            let slot = match size {
                Some(n) => Slot::Array(vec![Value::Obj(None); n]),
                None => Slot::Scalar(Value::Obj(None)),
            };
            self.instance_mut(f.obj).vars.insert(name.clone(), slot);
        }
        Ok(())
    }

    fn connect(
        &mut self,
        f: &mut Frame,
        child: &SectionRef,
        child_x: Option<&Expr>,
        parent: &SectionRef,
        parent_x: &Expr,
        line: usize,
    ) -> R<()> {
        let child_id = self.resolve_section(f, child, line)?;
        let parent_id = self.resolve_section(f, parent, line)?;
        if let Some(x) = child_x {
            let x = self.eval_num(f, x, line)?;
            if x != 0.0 {
                return Err(self.err(
                    f,
                    line,
                    format!("connect: only the 0 end of a child section may attach, got ({x})"),
                ));
            }
        }
        let x = self.eval_num(f, parent_x, line)?;
        self.model
            .connect(child_id, parent_id, x)
            .map_err(|e| self.model_err(f, line, e))
    }

    fn insert(&mut self, f: &Frame, name: &str, line: usize) -> R<()> {
        let id = self.current_section(f, line)?;
        if self.names.density(name).is_some() {
            return self
                .model
                .insert(id, name)
                .map_err(|e| self.model_err(f, line, e));
        }
        if self.names.is_ion_mechanism(name) {
            return Ok(());
        }
        if self.names.point_process(name).is_some() {
            return Err(self.err(
                f,
                line,
                format!("{name} is a point process; place it with new {name}(x)"),
            ));
        }
        Err(self.err(
            f,
            line,
            format!("unknown mechanism {name}: {}", self.names.missing(name)),
        ))
    }

    // ----- sections -------------------------------------------------------------------------

    fn instance(&self, obj: ObjId) -> &Instance {
        match &self.objects[obj] {
            Object::Instance(instance) => instance,
            // Frames and section scopes only ever refer to instances (or the top object).
            _ => unreachable!("frame object {obj} is not a template instance"),
        }
    }

    fn instance_mut(&mut self, obj: ObjId) -> &mut Instance {
        match &mut self.objects[obj] {
            Object::Instance(instance) => instance,
            _ => unreachable!("frame object {obj} is not a template instance"),
        }
    }

    fn resolve_section(
        &mut self,
        f: &mut Frame,
        section: &SectionRef,
        line: usize,
    ) -> R<SectionId> {
        let index = match &section.index {
            Some(e) => Some(self.eval_num(f, e, line)?),
            None => None,
        };
        let Some(array) = self.instance(f.obj).sections.get(&section.name) else {
            return Err(self.err(f, line, format!("no section named {}", section.name)));
        };
        let position = match index {
            Some(i) if !array.is_array => {
                return Err(self.err(
                    f,
                    line,
                    format!(
                        "{} is not an array; {}[{i}] does not exist",
                        section.name, section.name
                    ),
                ))
            }
            Some(i) => i,
            None => 0.0,
        };
        if position < 0.0 || position as usize >= array.ids.len() {
            return Err(self.err(
                f,
                line,
                format!(
                    "{}[{position}] does not exist ({} has {} sections)",
                    section.name,
                    section.name,
                    array.ids.len()
                ),
            ));
        }
        Ok(array.ids[position as usize])
    }

    fn current_section(&self, f: &Frame, line: usize) -> R<SectionId> {
        self.stack.last().copied().or(self.accessed).ok_or_else(|| {
            self.err(
                f,
                line,
                "no section is selected here (use soma { ... }, soma stmt or access soma)",
            )
        })
    }

    // ----- names ----------------------------------------------------------------------------

    fn range_name(&self, name: &str) -> Option<RangeName> {
        Some(match name {
            "L" => RangeName::Length,
            "diam" => RangeName::Diam,
            "nseg" => RangeName::Nseg,
            "Ra" => RangeName::Ra,
            "cm" => RangeName::Cm,
            "v" => RangeName::V,
            _ => {
                if let Some((mechanism, variable)) = self.names.range(name) {
                    RangeName::Mechanism(mechanism, variable)
                } else {
                    let (ion, field) = self.names.ion_variable(name)?;
                    RangeName::Ion(ion, field)
                }
            }
        })
    }

    fn read_name(&self, f: &Frame, name: &str, line: usize) -> R<Value> {
        if let Some(value) = f.locals.get(name) {
            return Ok(value.clone());
        }
        let instance = self.instance(f.obj);
        match instance.vars.get(name) {
            Some(Slot::Scalar(value)) => return Ok(value.clone()),
            Some(Slot::Array(_)) => {
                return Err(self.err(f, line, format!("{name} is an array; use {name}[i]")))
            }
            None => {}
        }
        if instance.sections.contains_key(name) {
            return Err(self.err(f, line, format!("section {name} used as a value")));
        }
        if let Some(value) = self.builtins.get(name) {
            return Ok(Value::Num(*value));
        }
        if let Some(default) = self.names.global_default(name) {
            let value = self.mechanism_globals.get(name).copied().unwrap_or(default);
            return Ok(Value::Num(value));
        }
        if let Some(range) = self.range_name(name) {
            return self.read_range(f, &range, None, line).map(Value::Num);
        }
        Err(self.err(f, line, format!("undefined variable {name}")))
    }

    fn assign_name(&mut self, f: &mut Frame, name: &str, value: Value, line: usize) -> R<()> {
        if let Some(slot) = f.locals.get_mut(name) {
            *slot = value;
            return Ok(());
        }
        if let Some(slot) = self.instance_mut(f.obj).vars.get_mut(name) {
            return match slot {
                Slot::Scalar(old) => {
                    *old = value;
                    Ok(())
                }
                Slot::Array(_) => Err(HocError::at(
                    &f.file,
                    line,
                    format!("{name} is an array; use {name}[i]"),
                )),
            };
        }
        if self.builtins.contains_key(name) {
            let number = self.num(f, value, line)?;
            if let Some(old) = self.builtins.get_mut(name) {
                *old = number;
            }
            return Ok(());
        }
        if self.names.global_default(name).is_some() {
            let number = self.num(f, value, line)?;
            self.mechanism_globals.insert(name.to_string(), number);
            return Ok(());
        }
        if let Some(range) = self.range_name(name) {
            let number = self.num(f, value, line)?;
            return self.write_range(f, &range, name, None, number, line);
        }
        if self.instance(f.obj).sections.contains_key(name) {
            return Err(self.err(f, line, format!("cannot assign to section {name}")));
        }
        self.instance_mut(f.obj)
            .vars
            .insert(name.to_string(), Slot::Scalar(value));
        Ok(())
    }

    fn read_range(&self, f: &Frame, range: &RangeName, x: Option<f64>, line: usize) -> R<f64> {
        let id = self.current_section(f, line)?;
        let section = &self.model.sections[id.0];
        let x = x.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("position {x} is outside 0..1")));
        }
        let segment = segment_index(x, section.nseg);
        Ok(match range {
            RangeName::Length => section.length(),
            RangeName::Diam if section.has_pt3d_geometry() => {
                let disc =
                    Discretization::new(&self.model).map_err(|e| self.model_err(f, line, e))?;
                disc.segments[id.0][segment].diam_um
            }
            RangeName::Diam => section.diam_um,
            RangeName::Nseg => section.nseg as f64,
            RangeName::Ra => section.ra_ohm_cm,
            RangeName::Cm => section.cm_uf_cm2.at(segment),
            RangeName::V => self.builtin("v_init"),
            RangeName::Mechanism(mechanism, variable) => {
                let Some(inserted) = section.mechanism(mechanism) else {
                    return Err(self.not_inserted(f, mechanism, &section.name, line));
                };
                match inserted.value(variable) {
                    Some(value) => value.at(segment),
                    None => self.mechanism_default(mechanism, variable),
                }
            }
            RangeName::Ion(ion, field) => {
                let hoc = ion_hoc_name(ion, *field);
                match section.ion_values.iter().find(|(n, _)| *n == hoc) {
                    Some((_, value)) => value.at(segment),
                    None => self.names.ion_default(ion, *field),
                }
            }
        })
    }

    fn mechanism_default(&self, mechanism: &str, variable: &str) -> f64 {
        self.names
            .mechanism(mechanism)
            .and_then(|info| {
                info.variable_index(variable)
                    .map(|i| info.variables[i].default)
            })
            .unwrap_or(0.0)
    }

    fn not_inserted(&self, f: &Frame, mechanism: &str, section: &str, line: usize) -> HocError {
        self.err(
            f,
            line,
            format!("mechanism {mechanism} is not inserted in section {section}"),
        )
    }

    fn write_range(
        &mut self,
        f: &Frame,
        range: &RangeName,
        hoc_name: &str,
        x: Option<f64>,
        value: f64,
        line: usize,
    ) -> R<()> {
        let id = self.current_section(f, line)?;
        let section_name = self.model.sections[id.0].name.clone();
        let whole_section_only = |what: &str| {
            HocError::at(
                &f.file,
                line,
                format!("{what}(x) = ... is not supported; {what} belongs to the whole section"),
            )
        };
        let result = match range {
            RangeName::Length => {
                if x.is_some() {
                    return Err(whole_section_only("L"));
                }
                if !self.model.sections[id.0].pt3d.is_empty() {
                    return Err(self.err(
                        f,
                        line,
                        format!("section {section_name}: setting L of a section with 3-D points is not supported"),
                    ));
                }
                self.model.set_length(id, value)
            }
            RangeName::Diam => {
                if x.is_some() {
                    return Err(whole_section_only("diam"));
                }
                self.set_diam(id, value)
            }
            RangeName::Nseg => {
                if x.is_some() {
                    return Err(whole_section_only("nseg"));
                }
                if !(1.0..=MAX_NSEG).contains(&value) {
                    return Err(self.err(
                        f,
                        line,
                        format!("section {section_name}: nseg must be 1..32767, got {value}"),
                    ));
                }
                self.model.set_nseg(id, value as usize)
            }
            RangeName::Ra => {
                if x.is_some() {
                    return Err(whole_section_only("Ra"));
                }
                self.model.set_ra(id, value)
            }
            RangeName::V => Ok(()),
            RangeName::Mechanism(mechanism, _) => {
                if self.model.sections[id.0].mechanism(mechanism).is_none() {
                    return Err(self.not_inserted(f, mechanism, &section_name, line));
                }
                self.set_value(id, hoc_name, x, value)
            }
            RangeName::Cm | RangeName::Ion(..) => self.set_value(id, hoc_name, x, value),
        };
        result.map_err(|e| self.model_err(f, line, e))
    }

    fn set_value(
        &mut self,
        id: SectionId,
        hoc_name: &str,
        x: Option<f64>,
        value: f64,
    ) -> Result<(), crate::cell::morphology::ModelError> {
        match x {
            Some(x) => self.model.set_range_at(id, x, hoc_name, value),
            None => self.model.set_range(id, hoc_name, value),
        }
    }

    /// `diam = d`: the cylinder diameter, or every 3-D point's diameter when points exist.
    fn set_diam(
        &mut self,
        id: SectionId,
        diam_um: f64,
    ) -> Result<(), crate::cell::morphology::ModelError> {
        if self.model.sections[id.0].pt3d.is_empty() {
            return self.model.set_diam(id, diam_um);
        }
        if !(diam_um > 0.0 && diam_um.is_finite()) {
            return Err(crate::cell::morphology::ModelError::InvalidDiameter {
                section: self.model.sections[id.0].name.clone(),
                diam_um,
            });
        }
        for point in &mut self.model.sections[id.0].pt3d {
            *point = Pt3d::new(point.x_um, point.y_um, point.z_um, diam_um);
        }
        Ok(())
    }

    // ----- expressions ----------------------------------------------------------------------

    fn num_of(&self, value: &Value) -> Option<f64> {
        match value {
            Value::Num(v) => Some(*v),
            _ => None,
        }
    }

    fn num(&self, f: &Frame, value: Value, line: usize) -> R<f64> {
        match value {
            Value::Num(v) => Ok(v),
            Value::Str(_) => Err(self.err(f, line, "a string where a number is needed")),
            Value::Obj(_) => Err(self.err(f, line, "an object where a number is needed")),
            Value::Pointer(..) => Err(self.err(f, line, "a pointer where a number is needed")),
        }
    }

    fn eval_num(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<f64> {
        let value = self.eval(f, e, line)?;
        self.num(f, value, line)
    }

    fn eval_args(&mut self, f: &mut Frame, args: &[Expr], line: usize) -> R<Vec<Value>> {
        args.iter().map(|a| self.eval(f, a, line)).collect()
    }

    fn eval(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<Value> {
        match e {
            Expr::Num(v) => Ok(Value::Num(*v)),
            Expr::Str(s) => Ok(Value::Str(Rc::from(s.as_str()))),
            Expr::Arg(kind, n) => self.argument(f, *kind, *n, line),
            Expr::Name(name) => self.read_name(f, name, line),
            Expr::Index(name, index) => {
                let i = self.eval_num(f, index, line)?;
                self.read_element(f, name, i, line)
            }
            Expr::Call(name, args) => self.call_name(f, name, args, line),
            Expr::Member(obj, member) => {
                let obj = self.eval_object(f, obj, line)?;
                self.read_member(f, obj, member, None, line)
            }
            Expr::MemberIndex(obj, member, index) => {
                let obj = self.eval_object(f, obj, line)?;
                let i = self.eval_num(f, index, line)?;
                self.read_member(f, obj, member, Some(i), line)
            }
            Expr::Method(obj, method, args) => {
                let obj = self.eval_object(f, obj, line)?;
                let args = self.eval_args(f, args, line)?;
                self.call_method(f, obj, method, args, line)
            }
            Expr::New(class, args) => {
                let args = self.eval_args(f, args, line)?;
                self.new_object(f, class, args, line)
            }
            Expr::Pointer(target) => self.pointer(f, target, line),
            Expr::Unary(op, operand) => {
                let value = self.eval_num(f, operand, line)?;
                Ok(Value::Num(if *op == "-" {
                    -value
                } else {
                    f64::from(u8::from(!truthy(value)))
                }))
            }
            Expr::Binary(op, left, right) => self.binary(f, op, left, right, line),
            Expr::Assign(op, target, value) => {
                let mut value = self.eval(f, value, line)?;
                if *op != "=" {
                    let old = self.eval_num(f, target, line)?;
                    let operand = self.num(f, value, line)?;
                    value = Value::Num(match *op {
                        "+=" => old + operand,
                        "-=" => old - operand,
                        "*=" => old * operand,
                        _ => self.divide(f, old, operand, line)?,
                    });
                }
                self.assign(f, target, value.clone(), line)?;
                Ok(value)
            }
        }
    }

    fn divide(&self, f: &Frame, a: f64, b: f64, line: usize) -> R<f64> {
        if b == 0.0 {
            return Err(self.err(f, line, "division by zero"));
        }
        Ok(a / b)
    }

    fn binary(
        &mut self,
        f: &mut Frame,
        op: &str,
        left: &Expr,
        right: &Expr,
        line: usize,
    ) -> R<Value> {
        if op == "&&" || op == "||" {
            let a = truthy(self.eval_num(f, left, line)?);
            let result = match op {
                "&&" => a && truthy(self.eval_num(f, right, line)?),
                _ => a || truthy(self.eval_num(f, right, line)?),
            };
            return Ok(Value::Num(f64::from(u8::from(result))));
        }
        let a = self.eval(f, left, line)?;
        let b = self.eval(f, right, line)?;
        if let (Value::Obj(x), Value::Obj(y)) = (&a, &b) {
            return match op {
                "==" => Ok(Value::Num(f64::from(u8::from(x == y)))),
                "!=" => Ok(Value::Num(f64::from(u8::from(x != y)))),
                _ => Err(self.err(f, line, format!("'{op}' between objects"))),
            };
        }
        let a = self.num(f, a, line)?;
        let b = self.num(f, b, line)?;
        let flag = |c: bool| Value::Num(f64::from(u8::from(c)));
        Ok(match op {
            "+" => Value::Num(a + b),
            "-" => Value::Num(a - b),
            "*" => Value::Num(a * b),
            "/" => Value::Num(self.divide(f, a, b, line)?),
            "%" => Value::Num(a % b),
            "^" => Value::Num(a.powf(b)),
            "==" => flag((a - b).abs() <= EPSILON),
            "!=" => flag((a - b).abs() > EPSILON),
            "<" => flag(a < b - EPSILON),
            "<=" => flag(a <= b + EPSILON),
            ">" => flag(a > b + EPSILON),
            ">=" => flag(a >= b - EPSILON),
            _ => return Err(self.err(f, line, format!("unknown operator {op}"))),
        })
    }

    fn argument(&self, f: &Frame, kind: char, n: usize, line: usize) -> R<Value> {
        let shown = format!("${}{n}", kind.to_string().trim());
        let value = f.args.get(n - 1).cloned().ok_or_else(|| {
            self.err(
                f,
                line,
                format!(
                    "{shown} used but only {} arguments were given",
                    f.args.len()
                ),
            )
        })?;
        let matches = matches!(
            (kind, &value),
            (' ', Value::Num(_))
                | ('o', Value::Obj(_))
                | ('s', Value::Str(_))
                | ('o', Value::Pointer(..))
        );
        if !matches {
            return Err(self.err(f, line, format!("argument {shown} has the wrong type")));
        }
        Ok(value)
    }

    fn eval_object(&mut self, f: &mut Frame, e: &Expr, line: usize) -> R<ObjId> {
        match self.eval(f, e, line)? {
            Value::Obj(Some(id)) => Ok(id),
            Value::Obj(None) => Err(self.err(f, line, "object reference is not set (nil)")),
            _ => Err(self.err(f, line, "not an object")),
        }
    }

    fn read_element(&self, f: &Frame, name: &str, i: f64, line: usize) -> R<Value> {
        match self.instance(f.obj).vars.get(name) {
            Some(Slot::Array(values)) => values
                .get(i as usize)
                .filter(|_| i >= 0.0)
                .cloned()
                .ok_or_else(|| {
                    self.err(
                        f,
                        line,
                        format!("index {i} outside {name}[{}]", values.len()),
                    )
                }),
            _ => Err(self.err(f, line, format!("{name} is not an array"))),
        }
    }

    fn assign(&mut self, f: &mut Frame, target: &Expr, value: Value, line: usize) -> R<()> {
        match target {
            Expr::Name(name) => self.assign_name(f, name, value, line),
            Expr::Index(name, index) => {
                let i = self.eval_num(f, index, line)?;
                let file = f.file.clone();
                match self.instance_mut(f.obj).vars.get_mut(name) {
                    Some(Slot::Array(values)) if i >= 0.0 && (i as usize) < values.len() => {
                        values[i as usize] = value;
                        Ok(())
                    }
                    Some(Slot::Array(values)) => Err(HocError::at(
                        &file,
                        line,
                        format!("index {i} outside {name}[{}]", values.len()),
                    )),
                    _ => Err(HocError::at(&file, line, format!("{name} is not an array"))),
                }
            }
            Expr::Call(name, args) => {
                if args.len() != 1 || self.find_proc(f.obj, name).is_some() {
                    return Err(self.err(f, line, format!("cannot assign to {name}(...)")));
                }
                let x = self.eval_num(f, &args[0], line)?;
                let range = self
                    .range_name(name)
                    .ok_or_else(|| self.err(f, line, format!("{name} is not a range variable")))?;
                let number = self.num(f, value, line)?;
                self.write_range(f, &range, name, Some(x), number, line)
            }
            Expr::Member(obj, member) => {
                let obj = self.eval_object(f, obj, line)?;
                self.write_member(f, obj, member, None, value, line)
            }
            Expr::MemberIndex(obj, member, index) => {
                let obj = self.eval_object(f, obj, line)?;
                let i = self.eval_num(f, index, line)?;
                self.write_member(f, obj, member, Some(i), value, line)
            }
            Expr::Arg(_, n) => match f.args.get_mut(n - 1) {
                Some(slot) => {
                    *slot = value;
                    Ok(())
                }
                None => Err(self.err(f, line, format!("argument {n} was not given"))),
            },
            _ => Err(self.err(f, line, "cannot assign to this expression")),
        }
    }

    fn pointer(&mut self, f: &mut Frame, target: &Expr, line: usize) -> R<Value> {
        let (name, x) = match target {
            Expr::Call(name, args) if args.len() == 1 => (name, self.eval_num(f, &args[0], line)?),
            Expr::Name(name) => (name, 0.5),
            _ => return Err(self.err(f, line, "& needs a range variable such as &v(0.5)")),
        };
        if self.range_name(name).is_none() {
            return Err(self.err(f, line, format!("&{name}: not a range variable")));
        }
        let id = self.current_section(f, line)?;
        Ok(Value::Pointer(id, x))
    }

    // ----- calls ----------------------------------------------------------------------------

    fn find_proc(&self, obj: ObjId, name: &str) -> Option<Rc<ProcDef>> {
        match self.instance(obj).template {
            Some(t) => self.templates[t].procs.get(name).cloned(),
            None => self.top_procs.get(name).cloned(),
        }
    }

    fn call_name(&mut self, f: &mut Frame, name: &str, args: &[Expr], line: usize) -> R<Value> {
        if let Some(def) = self.find_proc(f.obj, name) {
            let args = self.eval_args(f, args, line)?;
            return self.call_proc(f, f.obj, &def, args, line);
        }
        let values = self.eval_args(f, args, line)?;
        if let Some(result) = self.call_builtin(f, name, &values, line) {
            return result;
        }
        if let (Some(range), [x]) = (self.range_name(name), values.as_slice()) {
            let x = self.num(f, x.clone(), line)?;
            return self.read_range(f, &range, Some(x), line).map(Value::Num);
        }
        Err(self.err(f, line, format!("undefined function {name}()")))
    }

    fn call_proc(
        &mut self,
        caller: &Frame,
        obj: ObjId,
        def: &Rc<ProcDef>,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth -= 1;
            return Err(self.err(
                caller,
                line,
                format!(
                    "calls nested deeper than {MAX_CALL_DEPTH} (endless recursion in {}?)",
                    def.name
                ),
            ));
        }
        let mut frame = Frame {
            obj,
            args,
            locals: HashMap::new(),
            file: def.file.clone(),
            defining: None,
        };
        let flow = self.exec_block(&mut frame, &def.body);
        self.depth -= 1;
        let default = match def.kind {
            ProcKind::Obfunc => Value::Obj(None),
            _ => Value::Num(0.0),
        };
        Ok(match flow? {
            Flow::Return(value) => value,
            _ => default,
        })
    }

    fn call_builtin(
        &mut self,
        f: &mut Frame,
        name: &str,
        args: &[Value],
        line: usize,
    ) -> Option<R<Value>> {
        let math: Option<fn(f64) -> f64> = match name {
            "exp" => Some(f64::exp),
            "log" => Some(f64::ln),
            "log10" => Some(f64::log10),
            "sqrt" => Some(f64::sqrt),
            "sin" => Some(f64::sin),
            "cos" => Some(f64::cos),
            "tan" => Some(f64::tan),
            "atan" => Some(f64::atan),
            "tanh" => Some(f64::tanh),
            "fabs" | "abs" => Some(f64::abs),
            "int" => Some(f64::trunc),
            "floor" => Some(f64::floor),
            "ceil" => Some(f64::ceil),
            _ => None,
        };
        if let Some(function) = math {
            return Some(
                self.numbers(f, name, args, 1, line)
                    .map(|v| Value::Num(function(v[0]))),
            );
        }
        Some(match name {
            "pow" => self.numbers(f, name, args, 2, line).map(|v| Value::Num(v[0].powf(v[1]))),
            "atan2" => self.numbers(f, name, args, 2, line).map(|v| Value::Num(v[0].atan2(v[1]))),
            "numarg" => Ok(Value::Num(f.args.len() as f64)),
            "load_file" => self.load_file(f, args, line),
            "define_shape" => Ok(Value::Num(0.0)),
            "pt3dadd" => self.pt3dadd(f, args, line),
            "pt3dclear" => self.current_section(f, line).map(|id| {
                self.model.sections[id.0].pt3d.clear();
                Value::Num(0.0)
            }),
            "n3d" => self
                .current_section(f, line)
                .map(|id| Value::Num(self.model.sections[id.0].pt3d.len() as f64)),
            "distance" => self.distance(f, args, line),
            "issection" => self.issection(f, args, line),
            "ismembrane" => self.ismembrane(f, args, line),
            "secname" => self
                .current_section(f, line)
                .map(|id| Value::Str(Rc::from(self.model.sections[id.0].name.as_str()))),
            "area" | "ri" => self.segment_geometry(f, name, args, line),
            "strcmp" => match args {
                [Value::Str(a), Value::Str(b)] => Ok(Value::Num(match a.cmp(b) {
                    std::cmp::Ordering::Less => -1.0,
                    std::cmp::Ordering::Equal => 0.0,
                    std::cmp::Ordering::Greater => 1.0,
                })),
                _ => Err(self.err(f, line, "strcmp needs two strings")),
            },
            "finitialize" | "run" | "continuerun" | "fadvance" | "init" | "stdinit" => Err(self.err(
                f,
                line,
                format!("{name}(): running simulations from HOC is not supported; use bmtool's protocols"),
            )),
            "execute" | "execute1" | "xopen" | "nrn_load_dll" | "sprintf" => Err(self.err(
                f,
                line,
                format!("{name}() is not supported by the built-in HOC loader"),
            )),
            _ => return None,
        })
    }

    fn numbers(
        &self,
        f: &Frame,
        name: &str,
        args: &[Value],
        count: usize,
        line: usize,
    ) -> R<Vec<f64>> {
        if args.len() != count {
            return Err(self.err(
                f,
                line,
                format!("{name}() takes {count} arguments, got {}", args.len()),
            ));
        }
        args.iter().map(|a| self.num(f, a.clone(), line)).collect()
    }

    fn string_arg<'v>(&self, f: &Frame, name: &str, args: &'v [Value], line: usize) -> R<&'v str> {
        match args.last() {
            Some(Value::Str(s)) => Ok(s),
            _ => Err(self.err(f, line, format!("{name}() needs a string argument"))),
        }
    }

    fn load_file(&mut self, f: &mut Frame, args: &[Value], line: usize) -> R<Value> {
        let name = self.string_arg(f, "load_file", args, line)?.to_string();
        let base = Path::new(&*f.file).parent().unwrap_or(Path::new("."));
        let path = base.join(&name);
        let is_library = LIBRARY_FILES.contains(&name.as_str());
        if !path.exists() {
            if is_library {
                return Ok(Value::Num(1.0));
            }
            return Err(self.err(
                f,
                line,
                format!("load_file: {name} not found in {}", base.display()),
            ));
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if is_library || self.loaded.contains(&canonical) {
            return Ok(Value::Num(1.0));
        }
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth -= 1;
            return Err(self.err(f, line, "load_file nested too deeply"));
        }
        let stack = std::mem::take(&mut self.stack);
        let result = self.run_file(&path);
        self.stack = stack;
        self.depth -= 1;
        result.map(|_| Value::Num(1.0))
    }

    fn pt3dadd(&mut self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let v = self.numbers(f, "pt3dadd", args, 4, line)?;
        let id = self.current_section(f, line)?;
        self.model
            .add_pt3d(id, Pt3d::new(v[0], v[1], v[2], v[3]))
            .map_err(|e| self.model_err(f, line, e))?;
        Ok(Value::Num(1.0))
    }

    /// `distance()` / `distance(0, x)` set the origin; `distance(x)` / `distance(1, x)` measure
    /// the path length (um) from it to the current section at x.
    fn distance(&mut self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let v: Vec<f64> = args
            .iter()
            .map(|a| self.num(f, a.clone(), line))
            .collect::<R<_>>()?;
        let id = self.current_section(f, line)?;
        let (set_origin, x) = match v.as_slice() {
            [] => (true, 0.0),
            [x] => (false, *x),
            [mode, x] => (*mode == 0.0, *x),
            _ => return Err(self.err(f, line, "distance() takes at most 2 arguments")),
        };
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("distance: position {x} is outside 0..1")));
        }
        if set_origin {
            self.distance_origin = Some((id, x));
            return Ok(Value::Num(0.0));
        }
        let origin = self
            .distance_origin
            .ok_or_else(|| self.err(f, line, "distance(x) before distance(0, x) set an origin"))?;
        self.path_distance(origin, (id, x))
            .map(Value::Num)
            .ok_or_else(|| self.err(f, line, "distance: the sections are not in the same tree"))
    }

    /// The positions passed walking from (section, x) to the root: the point itself, then each
    /// parent connection point.
    fn chain(&self, start: (SectionId, f64)) -> Vec<(SectionId, f64)> {
        let mut chain = vec![start];
        let mut current = start.0;
        while let Some(connection) = self.model.sections[current.0].parent {
            if chain.len() > self.model.sections.len() {
                break;
            }
            chain.push((connection.parent, connection.parent_x));
            current = connection.parent;
        }
        chain
    }

    fn path_distance(&self, a: (SectionId, f64), b: (SectionId, f64)) -> Option<f64> {
        let chain_a = self.chain(a);
        let chain_b = self.chain(b);
        let length = |id: SectionId| self.model.sections[id.0].length();
        for (i, &(section, xa)) in chain_a.iter().enumerate() {
            if let Some(j) = chain_b.iter().position(|(s, _)| *s == section) {
                let up = |chain: &[(SectionId, f64)], k: usize| -> f64 {
                    chain[..k].iter().map(|(s, x)| x * length(*s)).sum()
                };
                let xb = chain_b[j].1;
                return Some(up(&chain_a, i) + up(&chain_b, j) + (xa - xb).abs() * length(section));
            }
        }
        None
    }

    fn issection(&self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let pattern_text = self.string_arg(f, "issection", args, line)?;
        let pattern = Pattern::new(pattern_text)
            .ok_or_else(|| self.err(f, line, format!("bad pattern \"{pattern_text}\"")))?;
        let id = self.current_section(f, line)?;
        Ok(Value::Num(f64::from(u8::from(
            pattern.is_match(&self.model.sections[id.0].name),
        ))))
    }

    fn ismembrane(&self, f: &Frame, args: &[Value], line: usize) -> R<Value> {
        let name = self.string_arg(f, "ismembrane", args, line)?;
        let id = self.current_section(f, line)?;
        let section = &self.model.sections[id.0];
        let present = section.mechanism(name).is_some()
            || name.strip_suffix("_ion").is_some_and(|ion| {
                section.mechanisms.iter().any(|m| {
                    self.names
                        .mechanism(&m.name)
                        .is_some_and(|info| info.ions.iter().any(|u| u.ion == ion))
                })
            });
        Ok(Value::Num(f64::from(u8::from(present))))
    }

    fn segment_geometry(&self, f: &Frame, name: &str, args: &[Value], line: usize) -> R<Value> {
        let x = self.numbers(f, name, args, 1, line)?[0];
        let id = self.current_section(f, line)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(f, line, format!("{name}: position {x} is outside 0..1")));
        }
        let disc = Discretization::new(&self.model).map_err(|e| self.model_err(f, line, e))?;
        let segment = segment_index(x, self.model.sections[id.0].nseg);
        let geometry = disc.segments[id.0][segment];
        Ok(Value::Num(if name == "area" {
            geometry.area_um2
        } else {
            geometry.ri_mohm
        }))
    }

    // ----- objects --------------------------------------------------------------------------

    fn new_object(
        &mut self,
        f: &mut Frame,
        class: &str,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        if let Some(&t) = self.template_index.get(class) {
            return self.instantiate(f, t, args, line);
        }
        let object = match class {
            "SectionList" => Object::SectionList(Vec::new()),
            "List" => Object::List(Vec::new()),
            "Vector" => {
                let size = match args.first() {
                    Some(v) => self.num(f, v.clone(), line)?.max(0.0) as usize,
                    None => 0,
                };
                Object::Vector(vec![0.0; size.min(10_000_000)])
            }
            "Random" => Object::Random,
            "NetCon" => Object::NetCon(self.netcon(f, &args, line)?),
            _ if self.names.point_process(class).is_some() => {
                let x = match args.first() {
                    Some(v) => self.num(f, v.clone(), line)?,
                    None => 0.5,
                };
                let id = self.current_section(f, line)?;
                let point = self
                    .model
                    .add_point_process(class, id, x)
                    .map_err(|e| self.model_err(f, line, e))?;
                Object::Point(point)
            }
            _ if self.names.density(class).is_some() => {
                return Err(self.err(
                    f,
                    line,
                    format!("{class} is a density mechanism; use insert {class}"),
                ))
            }
            _ => {
                return Err(self.err(
                    f,
                    line,
                    format!(
                    "{class} is not a template or mechanism (templates defined: {}; mechanism: {})",
                    list_or_none(&self.template_names()),
                    self.names.missing(class)
                ),
                ))
            }
        };
        self.objects.push(object);
        Ok(Value::Obj(Some(self.objects.len() - 1)))
    }

    fn netcon(&self, f: &Frame, args: &[Value], line: usize) -> R<NetConData> {
        let source = match args.first() {
            Some(Value::Pointer(id, x)) => Some((*id, *x)),
            Some(Value::Obj(Some(id))) => match &self.objects[*id] {
                Object::Point(point) => {
                    let p = &self.model.point_processes[point.0];
                    Some((p.section, p.x))
                }
                _ => {
                    return Err(self.err(f, line, "NetCon source must be &v(x) or a point process"))
                }
            },
            Some(Value::Obj(None)) => None,
            _ => return Err(self.err(f, line, "NetCon needs a source (&v(x)) and a target")),
        };
        let number = |i: usize, default: f64| -> R<f64> {
            match args.get(i) {
                Some(v) => self.num(f, v.clone(), line),
                None => Ok(default),
            }
        };
        Ok(NetConData {
            source,
            threshold: number(2, 10.0)?,
            delay: number(3, 1.0)?,
            weight: number(4, 0.0)?,
        })
    }

    fn check_public(&self, f: &Frame, obj: ObjId, member: &str, line: usize) -> R<()> {
        if f.obj == obj {
            return Ok(());
        }
        let t = self.instance(obj).template;
        match t {
            Some(t) if self.templates[t].public.contains(member) => Ok(()),
            Some(t) => Err(self.err(
                f,
                line,
                format!(
                    "{member} is not public in template {}",
                    self.templates[t].name
                ),
            )),
            None => Ok(()),
        }
    }

    fn read_member(
        &self,
        f: &Frame,
        obj: ObjId,
        member: &str,
        index: Option<f64>,
        line: usize,
    ) -> R<Value> {
        match &self.objects[obj] {
            Object::Instance(instance) => {
                self.check_public(f, obj, member, line)?;
                match (instance.vars.get(member), index) {
                    (Some(Slot::Scalar(v)), None) => Ok(v.clone()),
                    (Some(Slot::Array(values)), Some(i)) => values
                        .get(i as usize)
                        .filter(|_| i >= 0.0)
                        .cloned()
                        .ok_or_else(|| self.err(f, line, format!("index {i} outside {member}"))),
                    _ => Err(self.err(f, line, format!("cannot read {member} of this object"))),
                }
            }
            Object::Point(point) => {
                let p = &self.model.point_processes[point.0];
                let info = self.names.mechanism(&p.mechanism);
                let default = info
                    .and_then(|info| {
                        info.variable_index(member)
                            .map(|i| info.variables[i].default)
                    })
                    .ok_or_else(|| {
                        self.err(f, line, format!("{} has no variable {member}", p.mechanism))
                    })?;
                let value = p.values.iter().find(|(n, _)| n == member).map(|(_, v)| *v);
                Ok(Value::Num(value.unwrap_or(default)))
            }
            Object::NetCon(netcon) => match member {
                "threshold" => Ok(Value::Num(netcon.threshold)),
                "delay" => Ok(Value::Num(netcon.delay)),
                "weight" => Ok(Value::Num(netcon.weight)),
                _ => Err(self.err(f, line, format!("NetCon has no {member}"))),
            },
            Object::Vector(values) if member == "x" => {
                let i = index.unwrap_or(0.0);
                values
                    .get(i as usize)
                    .filter(|_| i >= 0.0)
                    .map(|v| Value::Num(*v))
                    .ok_or_else(|| self.err(f, line, format!("index {i} outside the Vector")))
            }
            _ => Err(self.err(f, line, format!("this object has no member {member}"))),
        }
    }

    fn write_member(
        &mut self,
        f: &Frame,
        obj: ObjId,
        member: &str,
        index: Option<f64>,
        value: Value,
        line: usize,
    ) -> R<()> {
        if matches!(self.objects[obj], Object::Instance(_)) {
            self.check_public(f, obj, member, line)?;
        }
        let number = self.num_of(&value);
        let need_number = || HocError::at(&f.file, line, format!("{member} needs a number"));
        match &mut self.objects[obj] {
            Object::Instance(instance) => match (instance.vars.get_mut(member), index) {
                (Some(Slot::Scalar(slot)), None) => {
                    *slot = value;
                    Ok(())
                }
                (Some(Slot::Array(values)), Some(i)) if i >= 0.0 && (i as usize) < values.len() => {
                    values[i as usize] = value;
                    Ok(())
                }
                _ => Err(HocError::at(
                    &f.file,
                    line,
                    format!("cannot set {member} of this object"),
                )),
            },
            Object::Point(point) => {
                let point = *point;
                let number = number.ok_or_else(need_number)?;
                let mechanism = self.model.point_processes[point.0].mechanism.clone();
                let known = self
                    .names
                    .mechanism(&mechanism)
                    .is_some_and(|info| info.variable_index(member).is_some());
                if !known {
                    return Err(self.err(f, line, format!("{mechanism} has no variable {member}")));
                }
                self.model
                    .set_point_value(point, member, number)
                    .map_err(|e| HocError::at(&f.file, line, e.to_string()))
            }
            Object::NetCon(netcon) => {
                let number = number.ok_or_else(need_number)?;
                match member {
                    "threshold" => netcon.threshold = number,
                    "delay" => netcon.delay = number,
                    "weight" => netcon.weight = number,
                    _ => {
                        return Err(HocError::at(
                            &f.file,
                            line,
                            format!("NetCon has no {member}"),
                        ))
                    }
                }
                Ok(())
            }
            Object::Vector(values) if member == "x" => {
                let number = number.ok_or_else(need_number)?;
                let i = index.unwrap_or(0.0);
                match values.get_mut(i as usize).filter(|_| i >= 0.0) {
                    Some(slot) => {
                        *slot = number;
                        Ok(())
                    }
                    None => Err(HocError::at(
                        &f.file,
                        line,
                        format!("index {i} outside the Vector"),
                    )),
                }
            }
            _ => Err(HocError::at(
                &f.file,
                line,
                format!("this object has no member {member}"),
            )),
        }
    }

    fn call_method(
        &mut self,
        f: &mut Frame,
        obj: ObjId,
        method: &str,
        args: Vec<Value>,
        line: usize,
    ) -> R<Value> {
        if let Object::Instance(_) = &self.objects[obj] {
            self.check_public(f, obj, method, line)?;
            let def = self.find_proc(obj, method).ok_or_else(|| {
                self.err(
                    f,
                    line,
                    format!("{method} is not a procedure of this object"),
                )
            })?;
            return self.call_proc(f, obj, &def, args, line);
        }
        let current = self.current_section(f, line);
        let unsupported =
            |kind: &str| HocError::at(&f.file, line, format!("{kind}.{method}() is not supported"));
        match &mut self.objects[obj] {
            Object::SectionList(sections) => match method {
                "append" => {
                    sections.push(current?);
                    Ok(Value::Num(1.0))
                }
                "remove" => {
                    let id = current?;
                    sections.retain(|s| *s != id);
                    Ok(Value::Num(1.0))
                }
                _ => Err(unsupported("SectionList")),
            },
            Object::List(items) => match (method, args.as_slice()) {
                ("append", [Value::Obj(o)]) => {
                    items.push(*o);
                    Ok(Value::Num(items.len() as f64))
                }
                ("count", []) => Ok(Value::Num(items.len() as f64)),
                ("remove_all", []) => {
                    items.clear();
                    Ok(Value::Num(0.0))
                }
                ("o", [Value::Num(i)]) => items
                    .get(*i as usize)
                    .filter(|_| *i >= 0.0)
                    .map(|o| Value::Obj(*o))
                    .ok_or_else(|| {
                        HocError::at(&f.file, line, format!("List.o({i}): no such item"))
                    }),
                _ => Err(unsupported("List")),
            },
            Object::Vector(values) => match (method, args.as_slice()) {
                ("size", []) => Ok(Value::Num(values.len() as f64)),
                ("append", items) => {
                    for item in items {
                        match item {
                            Value::Num(v) => values.push(*v),
                            _ => return Err(unsupported("Vector")),
                        }
                    }
                    Ok(Value::Num(values.len() as f64))
                }
                ("resize", [Value::Num(n)]) if *n >= 0.0 && *n < 1e7 => {
                    values.resize(*n as usize, 0.0);
                    Ok(Value::Num(*n))
                }
                ("fill", [Value::Num(v)]) => {
                    values.iter_mut().for_each(|x| *x = *v);
                    Ok(Value::Num(0.0))
                }
                _ => Err(unsupported("Vector")),
            },
            Object::Random => match method {
                "Random123"
                | "normal"
                | "uniform"
                | "negexp"
                | "lognormal"
                | "poisson"
                | "discunif"
                | "MCellRan4"
                | "ACG"
                | "seq"
                | "Random123_globalindex" => Ok(Value::Num(0.0)),
                _ => Err(unsupported("Random")),
            },
            Object::Point(point) => {
                let name = self.model.point_processes[point.0].mechanism.clone();
                Err(unsupported(&name))
            }
            Object::NetCon(_) => Err(unsupported("NetCon")),
            Object::Instance(_) => Err(unsupported("object")),
        }
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
