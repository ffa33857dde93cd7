//! Semantic analysis: a parsed [`ast::ModFile`] becomes an [`ir::Mechanism`].
//!
//! Owns NEURON's naming rules: which variables are RANGE or GLOBAL, where ion variables
//! (`ena`, `ica`, `cai`, `casi`...) live, that `v`, `t`, `dt` and `celsius` are the simulator's,
//! that UNITS factors and CONSTANTs are constants, and the resolution of every name in every body
//! (LOCALs, arguments, FUNCTION results, variables, calls). An unknown name is an error at its
//! `file:line:col`. Blocks that cannot run are kept as `parse_only` entries; it is the kernel
//! compiler that refuses to run them. PARAMETER defaults are rounded to 6 significant digits as
//! nocmodl's `%g` does ([`printf_g`]).

use super::ast::{self, MechKind, Span};
use super::error::NmodlError;
use super::ir::*;
use super::units;
use std::collections::HashMap;

/// Resolves `m` into a mechanism.
pub fn analyse(m: &ast::ModFile) -> Result<Mechanism, NmodlError> {
    let file = m.file.as_str();
    let (name, kind) = match &m.neuron.name {
        Some((n, k, _)) => (n.clone(), *k),
        None => (file_stem(file), MechKind::Density),
    };
    let mut b = Builder {
        file,
        m,
        vars: Vec::new(),
        index: HashMap::new(),
    };
    b.declare_specials();
    let ions = b.declare_ions()?;
    b.declare_constants()?;
    b.declare_decls()?;
    let nonspecific = b.current_vars(&m.neuron.nonspecific)?;
    let electrode = b.current_vars(&m.neuron.electrode)?;

    let names = CallableNames::new(m);
    let resolve = |c: &ast::Callable, kind: CallableKind| {
        Resolver {
            file,
            vars: &b.index,
            names: &names,
            scopes: Vec::new(),
            callable: kind,
        }
        .callable(c)
    };
    let initial = m
        .initial
        .as_ref()
        .map(|c| resolve(c, CallableKind::Initial))
        .transpose()?;
    let breakpoint = m
        .breakpoint
        .as_ref()
        .map(|c| resolve(c, CallableKind::Breakpoint))
        .transpose()?;
    let derivatives = collect(&m.derivatives, |c| resolve(c, CallableKind::Derivative))?;
    let procedures = collect(&m.procedures, |c| resolve(c, CallableKind::Procedure))?;
    let functions = collect(&m.functions, |c| resolve(c, CallableKind::Function))?;

    let mut parse_only: Vec<(String, u32)> = Vec::new();
    // NET_RECEIVE may use event-only names; when they do not resolve it stays parse-only.
    let net_receive = m.net_receive.as_ref().and_then(|nr| {
        let mut with_flag = nr.clone();
        with_flag.body.insert(
            0,
            ast::Stmt::Local {
                names: vec!["flag".into()],
                span: nr.span,
            },
        );
        match resolve(&with_flag, CallableKind::NetReceive) {
            Ok(c) => Some(c),
            Err(_) => {
                parse_only.push(("NET_RECEIVE".into(), nr.span.line));
                None
            }
        }
    });
    // A scheme whose names do not resolve (COMPARTMENT, f_flux...) stays parseable: running it
    // reports why.
    let lenient = |c: &ast::Callable, kind: CallableKind| {
        resolve(c, kind).unwrap_or_else(|e| Callable {
            name: c.name.clone(),
            kind,
            n_args: 0,
            locals: vec![],
            result: None,
            body: vec![Stmt::Unsupported {
                what: e.to_string(),
                line: c.span.line,
            }],
            line: c.span.line,
        })
    };
    let kinetics: Vec<Callable> = m
        .kinetics
        .iter()
        .map(|c| lenient(c, CallableKind::Kinetic))
        .collect();
    let linears: Vec<Callable> = m
        .linears
        .iter()
        .map(|c| lenient(c, CallableKind::Linear))
        .collect();
    for (what, span) in &m.other_blocks {
        parse_only.push((what.clone(), span.line));
    }
    Ok(Mechanism {
        file: file.to_string(),
        name,
        kind,
        title: m.title.clone(),
        threadsafe: m.neuron.threadsafe,
        vars: b.vars,
        ions,
        nonspecific,
        electrode,
        initial,
        breakpoint,
        derivatives,
        procedures,
        functions,
        kinetics,
        linears,
        net_receive,
        parse_only,
    })
}

fn collect<T>(
    items: &[ast::Callable],
    f: impl Fn(&ast::Callable) -> Result<T, NmodlError>,
) -> Result<Vec<T>, NmodlError> {
    items.iter().map(f).collect()
}

fn file_stem(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A PARAMETER default as NEURON sees it: nocmodl writes defaults into the generated C with
/// `%g`, i.e. 6 significant digits (`glbar = 2.857142857142857e-05` becomes `2.85714e-05`;
/// checked in nrnivmodl 8.2.4's `leak.c`). UNITS and CONSTANT values and numbers inside bodies are
/// copied verbatim, so only defaults are rounded. Rust's `{:e}` formatting and C's `printf` both
/// round the exact binary value correctly, so the result is the same double.
pub fn printf_g(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// Which ion field a USEION variable name is, e.g. (`na`, `ena`) -> E.
pub fn ion_field(ion: &str, name: &str) -> Option<IonField> {
    if name.strip_prefix('e') == Some(ion) {
        Some(IonField::E)
    } else if name.strip_prefix('i') == Some(ion) {
        Some(IonField::I)
    } else if name.strip_suffix('i') == Some(ion) {
        Some(IonField::Ci)
    } else if name.strip_suffix('o') == Some(ion) {
        Some(IonField::Co)
    } else {
        None
    }
}

struct Builder<'a> {
    file: &'a str,
    m: &'a ast::ModFile,
    vars: Vec<Variable>,
    index: HashMap<String, VarId>,
}

impl Builder<'_> {
    fn add(&mut self, name: &str, role: Role, storage: Storage, line: u32) -> VarId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.vars.len();
        self.vars.push(Variable {
            name: name.to_string(),
            role,
            storage,
            range: false,
            default: 0.0,
            units: None,
            limits: None,
            is_state: false,
            line,
        });
        self.index.insert(name.to_string(), id);
        id
    }

    fn declare_specials(&mut self) {
        for (n, s) in [
            ("v", Special::V),
            ("t", Special::T),
            ("dt", Special::Dt),
            ("celsius", Special::Celsius),
        ] {
            self.add(n, Role::Special, Storage::Special(s), 0);
        }
    }

    fn declare_ions(&mut self) -> Result<Vec<Ion>, NmodlError> {
        let mut ions: Vec<Ion> = Vec::new();
        for u in &self.m.neuron.ions {
            let k = match ions.iter().position(|i| i.name == u.ion) {
                Some(k) => k,
                None => {
                    ions.push(Ion {
                        name: u.ion.clone(),
                        valence: None,
                        read: vec![],
                        write: vec![],
                        vars: vec![],
                    });
                    ions.len() - 1
                }
            };
            if u.valence.is_some() {
                ions[k].valence = u.valence;
            }
            for (names, write) in [(&u.read, false), (&u.write, true)] {
                for n in names.iter() {
                    let Some(field) = ion_field(&u.ion, n) else {
                        return Err(NmodlError::semantic(
                            self.file,
                            u.span,
                            format!("{n} is not a variable of ion {} (expected e{0}, i{0}, {0}i or {0}o)", u.ion),
                        ));
                    };
                    let list = if write {
                        &mut ions[k].write
                    } else {
                        &mut ions[k].read
                    };
                    if !list.contains(&field) {
                        list.push(field);
                    }
                    if !ions[k].vars.iter().any(|(f, _)| *f == field) {
                        let id =
                            self.add(n, Role::Ion, Storage::Ion { ion: k, field }, u.span.line);
                        ions[k].vars.push((field, id));
                    }
                }
            }
        }
        Ok(ions)
    }

    fn declare_constants(&mut self) -> Result<(), NmodlError> {
        for u in &self.m.units {
            match u {
                ast::UnitDef::Alias { .. } => {}
                ast::UnitDef::Factor {
                    name,
                    from,
                    to,
                    span,
                } => {
                    let Some(value) = units::factor(from, to) else {
                        return Err(NmodlError::unsupported(
                            self.file,
                            *span,
                            format!("unit factor {name} = ({from}) ({to}): unknown unit"),
                        ));
                    };
                    let id = self.add(name, Role::Constant, Storage::Constant(value), span.line);
                    self.vars[id].units = Some(to.clone());
                }
                ast::UnitDef::Constant {
                    name,
                    value,
                    units,
                    span,
                } => {
                    let id = self.add(name, Role::Constant, Storage::Constant(*value), span.line);
                    self.vars[id].units = units.clone();
                }
            }
        }
        for d in &self.m.constants {
            let id = self.add(
                &d.name,
                Role::Constant,
                Storage::Constant(d.default.unwrap_or(0.0)),
                d.span.line,
            );
            self.vars[id].units = d.units.clone();
        }
        Ok(())
    }

    fn in_list(list: &[(String, Span)], name: &str) -> bool {
        list.iter().any(|(n, _)| n == name)
    }

    fn declare_decls(&mut self) -> Result<(), NmodlError> {
        let nb = &self.m.neuron;
        let is_range = |n: &str| {
            Self::in_list(&nb.range, n)
                || Self::in_list(&nb.nonspecific, n)
                || Self::in_list(&nb.electrode, n)
        };
        for d in &self.m.parameters {
            if self.index.contains_key(&d.name) {
                continue;
            }
            let range = is_range(&d.name);
            let storage = if range {
                Storage::Instance
            } else {
                Storage::Global
            };
            let id = self.add(&d.name, Role::Parameter, storage, d.span.line);
            let v = &mut self.vars[id];
            v.range = range;
            v.default = d.default.map_or(0.0, printf_g);
            v.units = d.units.clone();
            v.limits = d.limits;
        }
        for d in &self.m.assigned {
            if self.index.contains_key(&d.name) {
                continue;
            }
            let storage = if Self::in_list(&nb.pointer, &d.name) {
                Storage::Pointer
            } else {
                Storage::Instance
            };
            let role = if storage == Storage::Pointer {
                Role::Pointer
            } else {
                Role::Assigned
            };
            let id = self.add(&d.name, role, storage, d.span.line);
            self.vars[id].range = is_range(&d.name);
            self.vars[id].units = d.units.clone();
        }
        for d in &self.m.states {
            let id = self.add(&d.name, Role::State, Storage::Instance, d.span.line);
            let v = &mut self.vars[id];
            v.is_state = true;
            v.range = true;
            if v.units.is_none() {
                v.units = d.units.clone();
            }
        }
        for (n, span) in &nb.pointer {
            self.add(n, Role::Pointer, Storage::Pointer, span.line);
        }
        for n in &self.m.file_locals {
            self.add(n, Role::Assigned, Storage::Instance, 0);
        }
        Ok(())
    }

    fn current_vars(&mut self, list: &[(String, Span)]) -> Result<Vec<VarId>, NmodlError> {
        list.iter()
            .map(|(n, span)| {
                // NEURON requires the current to be declared in ASSIGNED; tolerate its absence.
                let id = self.add(n, Role::Assigned, Storage::Instance, span.line);
                self.vars[id].range = true;
                Ok(id)
            })
            .collect()
    }
}

/// Names of every callable, for forward references.
struct CallableNames {
    functions: HashMap<String, usize>,
    procedures: HashMap<String, usize>,
    derivatives: HashMap<String, usize>,
    kinetics: HashMap<String, usize>,
    linears: HashMap<String, usize>,
    /// FUNCTION_TABLE names: callable in the text, not executable.
    tables: Vec<String>,
    arity: HashMap<String, usize>,
}

impl CallableNames {
    fn new(m: &ast::ModFile) -> Self {
        let idx = |v: &[ast::Callable]| {
            v.iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect()
        };
        let mut arity = HashMap::new();
        for c in m.functions.iter().chain(&m.procedures) {
            arity.insert(c.name.clone(), c.args.len());
        }
        Self {
            functions: idx(&m.functions),
            procedures: idx(&m.procedures),
            derivatives: idx(&m.derivatives),
            kinetics: idx(&m.kinetics),
            linears: idx(&m.linears),
            tables: m
                .other_blocks
                .iter()
                .filter_map(|(w, _)| w.strip_prefix("FUNCTION_TABLE ").map(str::to_string))
                .collect(),
            arity,
        }
    }
}

struct Resolver<'a> {
    file: &'a str,
    vars: &'a HashMap<String, VarId>,
    names: &'a CallableNames,
    /// LOCAL scopes, innermost last; each maps a name to its local id.
    scopes: Vec<HashMap<String, LocalId>>,
    callable: CallableKind,
}

struct Locals {
    names: Vec<String>,
}

impl Resolver<'_> {
    fn callable(&mut self, c: &ast::Callable) -> Result<Callable, NmodlError> {
        let mut locals = Locals { names: Vec::new() };
        let mut top = HashMap::new();
        for a in &c.args {
            top.insert(a.clone(), locals.names.len());
            locals.names.push(a.clone());
        }
        let result = (self.callable == CallableKind::Function).then(|| {
            top.insert(c.name.clone(), locals.names.len());
            locals.names.push(c.name.clone());
            locals.names.len() - 1
        });
        self.scopes = vec![top];
        let body = self.block(&c.body, &mut locals)?;
        Ok(Callable {
            name: c.name.clone(),
            kind: self.callable,
            n_args: c.args.len(),
            locals: locals.names,
            result,
            body,
            line: c.span.line,
        })
    }

    fn block(&mut self, stmts: &[ast::Stmt], locals: &mut Locals) -> Result<Vec<Stmt>, NmodlError> {
        self.scopes.push(HashMap::new());
        let mut out = Vec::new();
        for s in stmts {
            if let Some(s) = self.stmt(s, locals)? {
                out.push(s);
            }
        }
        self.scopes.pop();
        Ok(out)
    }

    fn lookup_local(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn stmt(&mut self, s: &ast::Stmt, locals: &mut Locals) -> Result<Option<Stmt>, NmodlError> {
        Ok(Some(match s {
            ast::Stmt::Local { names, .. } => {
                for n in names {
                    let id = locals.names.len();
                    locals.names.push(n.clone());
                    if let Some(scope) = self.scopes.last_mut() {
                        scope.insert(n.clone(), id);
                    }
                }
                return Ok(None);
            }
            ast::Stmt::Assign { name, value, span } => {
                let value = self.expr(value)?;
                let target = self.target(name, *span)?;
                Stmt::Assign {
                    target,
                    value,
                    line: span.line,
                }
            }
            ast::Stmt::Derivative { state, value, span } => {
                let value = self.expr(value)?;
                let Some(&id) = self.vars.get(state) else {
                    return Err(NmodlError::unknown(self.file, *span, state));
                };
                Stmt::Derivative {
                    state: id,
                    value,
                    line: span.line,
                }
            }
            ast::Stmt::Call { call, span } => match self.expr(call)? {
                Expr::Call { callee, args, .. } => Stmt::Call {
                    callee,
                    args,
                    line: span.line,
                },
                _ => return Err(NmodlError::syntax(self.file, *span, "expected a call")),
            },
            ast::Stmt::If {
                cond,
                then,
                otherwise,
                ..
            } => Stmt::If {
                cond: self.expr(cond)?,
                then: self.block(then, locals)?,
                otherwise: self.block(otherwise, locals)?,
            },
            ast::Stmt::Solve {
                block,
                method,
                span,
            } => {
                let target = if let Some(&i) = self.names.derivatives.get(block) {
                    SolveTarget::Derivative(i)
                } else if let Some(&i) = self.names.procedures.get(block) {
                    SolveTarget::Procedure(i)
                } else if let Some(&i) = self.names.kinetics.get(block) {
                    SolveTarget::Kinetic(i)
                } else if let Some(&i) = self.names.linears.get(block) {
                    SolveTarget::Linear(i)
                } else {
                    return Err(NmodlError::unknown(self.file, *span, block));
                };
                Stmt::Solve {
                    target,
                    method: method.clone(),
                    line: span.line,
                }
            }
            // TABLE is computed directly (see `kernel`'s contract), so the statement is dropped.
            ast::Stmt::Table { .. } => return Ok(None),
            ast::Stmt::Reaction {
                lhs,
                rhs,
                kf,
                kb,
                span,
            } => Stmt::Reaction {
                lhs: self.species(lhs, *span)?,
                rhs: self.species(rhs, *span)?,
                kf: self.expr(kf)?,
                kb: kb.as_ref().map(|k| self.expr(k)).transpose()?,
                line: span.line,
            },
            ast::Stmt::Equation { lhs, rhs, span } => Stmt::Equation {
                residual: Expr::Binary(
                    BinOp::Sub,
                    Box::new(self.expr(lhs)?),
                    Box::new(self.expr(rhs)?),
                ),
                line: span.line,
            },
            ast::Stmt::Conserve { .. } => return Ok(None),
            ast::Stmt::Unsupported { what, span } => Stmt::Unsupported {
                what: what.clone(),
                line: span.line,
            },
        }))
    }

    fn species(&self, side: &[(u32, String)], span: Span) -> Result<Vec<(f64, VarId)>, NmodlError> {
        side.iter()
            .map(|(k, n)| match self.vars.get(n) {
                Some(&id) => Ok((f64::from(*k), id)),
                None => Err(NmodlError::unknown(self.file, span, n)),
            })
            .collect()
    }

    fn target(&self, name: &str, span: Span) -> Result<Target, NmodlError> {
        if let Some(l) = self.lookup_local(name) {
            return Ok(Target::Local(l));
        }
        match self.vars.get(name) {
            Some(&id) => Ok(Target::Var(id)),
            None => Err(NmodlError::unknown(self.file, span, name)),
        }
    }

    fn expr(&self, e: &ast::Expr) -> Result<Expr, NmodlError> {
        Ok(match e {
            ast::Expr::Num(x) => Expr::Const(*x),
            ast::Expr::Name(n, span) => match self.target(n, *span)? {
                Target::Local(l) => Expr::Local(l),
                Target::Var(v) => Expr::Var(v),
            },
            ast::Expr::Unary(op, a) => Expr::Unary(*op, Box::new(self.expr(a)?)),
            ast::Expr::Binary(op, a, b) => {
                Expr::Binary(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            ast::Expr::Call { name, args, span } => {
                let args = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let callee = self.callee(name, args.len(), *span)?;
                Expr::Call {
                    callee,
                    args,
                    line: span.line,
                }
            }
        })
    }

    fn callee(&self, name: &str, n_args: usize, span: Span) -> Result<Callee, NmodlError> {
        let check = |want: usize| {
            if want == n_args {
                Ok(())
            } else {
                Err(NmodlError::semantic(
                    self.file,
                    span,
                    format!("{name} takes {want} argument(s), called with {n_args}"),
                ))
            }
        };
        if let Some(&i) = self.names.functions.get(name) {
            check(self.names.arity.get(name).copied().unwrap_or(0))?;
            return Ok(Callee::Function(i));
        }
        if let Some(&i) = self.names.procedures.get(name) {
            check(self.names.arity.get(name).copied().unwrap_or(0))?;
            return Ok(Callee::Procedure(i));
        }
        if let Some((b, arity)) = Builtin::from_name(name) {
            check(arity)?;
            return Ok(Callee::Builtin(b));
        }
        if self.names.tables.iter().any(|t| t == name) {
            return Ok(Callee::Unsupported(format!("FUNCTION_TABLE {name}")));
        }
        if UNSUPPORTED_CALLS.contains(&name) {
            return Ok(Callee::Unsupported(name.to_string()));
        }
        Err(NmodlError::unknown(self.file, span, name))
    }
}
