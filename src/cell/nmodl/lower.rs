//! Lowering of IR bodies to the columnar bytecode: inlining, if-conversion, CSE, allocation.
//!
//! Owns the translation of one entry point (INITIAL, the BREAKPOINT currents, a state update) to
//! a straight-line [`bytecode::Program`]:
//! - every FUNCTION / PROCEDURE call is inlined at compile time (a call stack deeper than
//!   [`MAX_INLINE_DEPTH`], i.e. recursion, is an error);
//! - `if`/`else` become predicated code: both branches are computed for every instance and each
//!   variable either branch assigns is merged with `Select` (so `vtrap`'s 0/0 in the branch not
//!   taken is computed and discarded, never stored);
//! - values are SSA virtual registers with common-subexpression elimination and constant
//!   folding (only when every operand is a literal, which is IEEE-identical to compiled C);
//! - a variable's home column is written once, at the end, with parallel-copy semantics;
//! - dead ops are removed and temporaries share columns by linear-scan on their live ranges.
//!
//! It must not know the solver; its only outputs are programs and the [`Layout`] of columns.

use super::bytecode::{Bin, Op, Program, Slot, Un};
use super::error::NmodlError;
use super::ir::*;
use std::collections::HashMap;

/// Deepest chain of inlined calls.
pub const MAX_INLINE_DEPTH: usize = 16;

/// Where every variable and literal lives in the instance buffer. Fixed slots come first
/// (variable homes, literals, outputs); temporaries follow.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Home slot of each variable (None for POINTER variables).
    pub homes: Vec<Option<Slot>>,
    /// Literal value of each constant slot.
    pub consts: Vec<(Slot, f64)>,
    const_index: HashMap<u64, Slot>,
    pub n_fixed: u32,
}

impl Layout {
    pub fn new(m: &Mechanism) -> Self {
        let mut l = Layout::default();
        for v in &m.vars {
            let home = match v.storage {
                Storage::Pointer => None,
                Storage::Constant(c) => Some(l.constant(c)),
                _ => Some(l.fresh()),
            };
            l.homes.push(home);
        }
        l
    }

    pub fn fresh(&mut self) -> Slot {
        self.n_fixed += 1;
        self.n_fixed - 1
    }

    fn constant(&mut self, c: f64) -> Slot {
        if let Some(&s) = self.const_index.get(&c.to_bits()) {
            return s;
        }
        let s = self.fresh();
        self.const_index.insert(c.to_bits(), s);
        self.consts.push((s, c));
        s
    }

    fn const_value(&self, s: Slot) -> Option<f64> {
        self.consts.iter().find(|(k, _)| *k == s).map(|(_, v)| *v)
    }
}

/// A virtual register: a fixed slot or a temporary of the program being lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum VReg {
    Fixed(Slot),
    Temp(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IKind {
    Bin(Bin),
    Un(Un),
    Select,
    Copy,
}

#[derive(Debug, Clone, Copy)]
struct IOp {
    kind: IKind,
    d: VReg,
    a: VReg,
    b: VReg,
    c: VReg,
}

/// A lowered program before column allocation (temps are still virtual).
#[derive(Debug, Clone)]
pub struct Lowered {
    ops: Vec<IOp>,
    n_temps: u32,
    /// For `DerivMode::Output`: the fixed slot receiving each state's derivative.
    pub deriv_outputs: Vec<(VarId, Slot)>,
    /// For `DerivMode::Output`: the fixed slot receiving each LINEAR equation's residual.
    pub eq_outputs: Vec<Slot>,
    /// Variables the program assigns.
    pub written: Vec<VarId>,
}

/// What a body may do with `x' = e` statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivMode {
    /// Not allowed (INITIAL, BREAKPOINT, explicit updates where they were already rewritten).
    Forbid,
    /// Store `e` into the given fixed output slot of each state (backward Euler's `f(x)`).
    Output,
}

pub struct Lowerer<'a> {
    mech: &'a Mechanism,
    layout: &'a mut Layout,
    /// Entry point name for messages ("INITIAL", "BREAKPOINT", "DERIVATIVE states").
    entry: String,
    ops: Vec<IOp>,
    n_temps: u32,
    cse: HashMap<(IKind, VReg, VReg, VReg), VReg>,
    env: Vec<Option<VReg>>,
    stack: Vec<String>,
    deriv_mode: DerivMode,
    deriv_outputs: Vec<(VarId, Slot)>,
    /// Current value of each state's derivative (DerivMode::Output).
    dx: Vec<(VarId, VReg)>,
    eq_outputs: Vec<Slot>,
    written: Vec<VarId>,
}

struct Frame {
    locals: Vec<Option<VReg>>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        mech: &'a Mechanism,
        layout: &'a mut Layout,
        entry: impl Into<String>,
        deriv_mode: DerivMode,
    ) -> Self {
        let env = vec![None; mech.vars.len()];
        Self {
            mech,
            layout,
            entry: entry.into(),
            ops: Vec::new(),
            n_temps: 0,
            cse: HashMap::new(),
            env,
            stack: Vec::new(),
            deriv_mode,
            deriv_outputs: Vec::new(),
            dx: Vec::new(),
            eq_outputs: Vec::new(),
            written: Vec::new(),
        }
    }

    fn err(&self, line: u32, msg: impl Into<String>) -> NmodlError {
        let chain = if self.stack.is_empty() {
            self.entry.clone()
        } else {
            self.stack.join(" <- ")
        };
        NmodlError::Compile {
            file: self.mech.file.clone(),
            line,
            msg: format!("{} (in {chain})", msg.into()),
        }
    }

    /// Lowers a top-level callable body (no arguments) and the final copies.
    pub fn body(mut self, c: &Callable, skip_solve: bool) -> Result<Lowered, NmodlError> {
        self.stack.push(self.entry.clone());
        let mut frame = Frame {
            locals: vec![None; c.locals.len()],
        };
        self.stmts(&c.body, &mut frame, skip_solve)?;
        self.stack.pop();
        Ok(self.finish())
    }

    /// Lowers a body whose first locals (its arguments) live in the given fixed slots.
    pub fn body_with_args(mut self, c: &Callable, args: &[Slot]) -> Result<Lowered, NmodlError> {
        self.stack.push(self.entry.clone());
        let mut frame = Frame {
            locals: vec![None; c.locals.len()],
        };
        for (l, &s) in frame.locals.iter_mut().zip(args) {
            *l = Some(VReg::Fixed(s));
        }
        self.stmts(&c.body, &mut frame, false)?;
        self.stack.pop();
        Ok(self.finish())
    }

    /// Lowers several bodies in sequence into one program (e.g. consecutive SOLVEs).
    pub fn bodies(mut self, cs: &[&Callable]) -> Result<Lowered, NmodlError> {
        for c in cs {
            self.stack.push(format!("{} {}", kind_name(c.kind), c.name));
            let mut frame = Frame {
                locals: vec![None; c.locals.len()],
            };
            self.stmts(&c.body, &mut frame, false)?;
            self.stack.pop();
        }
        Ok(self.finish())
    }

    fn finish(mut self) -> Lowered {
        for (state, r) in std::mem::take(&mut self.dx) {
            if let Some(&(_, slot)) = self.deriv_outputs.iter().find(|(v, _)| *v == state) {
                self.ops.push(IOp {
                    kind: IKind::Copy,
                    d: VReg::Fixed(slot),
                    a: r,
                    b: r,
                    c: r,
                });
            }
        }
        // Parallel copy of final values into homes.
        let mut moves: Vec<(Slot, VReg)> = Vec::new();
        for (var, reg) in self.env.iter().enumerate() {
            if let (Some(reg), Some(home)) = (*reg, self.layout.homes[var]) {
                if reg != VReg::Fixed(home) {
                    moves.push((home, reg));
                }
            }
        }
        let dsts: Vec<Slot> = moves.iter().map(|m| m.0).collect();
        for m in moves.iter_mut() {
            if let VReg::Fixed(s) = m.1 {
                if dsts.contains(&s) {
                    let t = self.new_temp();
                    self.ops.push(IOp {
                        kind: IKind::Copy,
                        d: t,
                        a: m.1,
                        b: m.1,
                        c: m.1,
                    });
                    m.1 = t;
                }
            }
        }
        for (home, src) in moves {
            self.ops.push(IOp {
                kind: IKind::Copy,
                d: VReg::Fixed(home),
                a: src,
                b: src,
                c: src,
            });
        }
        Lowered {
            ops: self.ops,
            n_temps: self.n_temps,
            deriv_outputs: self.deriv_outputs,
            eq_outputs: self.eq_outputs,
            written: self.written,
        }
    }

    fn new_temp(&mut self) -> VReg {
        self.n_temps += 1;
        VReg::Temp(self.n_temps - 1)
    }

    fn konst(&mut self, c: f64) -> VReg {
        VReg::Fixed(self.layout.constant(c))
    }

    fn value_of(&self, r: VReg) -> Option<f64> {
        match r {
            VReg::Fixed(s) => self.layout.const_value(s),
            VReg::Temp(_) => None,
        }
    }

    fn emit(&mut self, kind: IKind, a: VReg, b: VReg, c: VReg) -> VReg {
        if kind == IKind::Select {
            // A literal mask picks one operand; equal operands need no select.
            if let Some(m) = self.value_of(a) {
                return if m != 0.0 { b } else { c };
            }
            if b == c {
                return b;
            }
        }
        // Constant folding when every operand is a literal.
        let folded = match kind {
            IKind::Bin(op) => self
                .value_of(a)
                .zip(self.value_of(b))
                .map(|(x, y)| op.eval(x, y)),
            IKind::Un(op) => self.value_of(a).map(|x| op.eval(x)),
            IKind::Select | IKind::Copy => None,
        };
        if let Some(v) = folded {
            return self.konst(v);
        }
        let key = (kind, a, b, c);
        if let Some(&r) = self.cse.get(&key) {
            return r;
        }
        let d = self.new_temp();
        self.ops.push(IOp { kind, d, a, b, c });
        self.cse.insert(key, d);
        d
    }

    fn bin(&mut self, op: Bin, a: VReg, b: VReg) -> VReg {
        self.emit(IKind::Bin(op), a, b, b)
    }

    fn un(&mut self, op: Un, a: VReg) -> VReg {
        self.emit(IKind::Un(op), a, a, a)
    }

    fn read_var(&mut self, v: VarId, line: u32) -> Result<VReg, NmodlError> {
        if let Some(r) = self.env[v] {
            return Ok(r);
        }
        match self.layout.homes[v] {
            Some(s) => Ok(VReg::Fixed(s)),
            None => Err(self.err(
                line,
                format!(
                    "unsupported: POINTER variable {} cannot be read",
                    self.mech.vars[v].name
                ),
            )),
        }
    }

    fn write_var(&mut self, v: VarId, r: VReg, line: u32) -> Result<(), NmodlError> {
        let var = &self.mech.vars[v];
        match var.storage {
            // Writing `v` changes the mechanism's copy only (Ca_LVA shifts it by 10 mV and back),
            // as in nocmodl, where `v` is a local copy of the node voltage.
            Storage::Instance
            | Storage::Global
            | Storage::Ion { .. }
            | Storage::Special(Special::V) => {
                self.env[v] = Some(r);
                if !self.written.contains(&v) {
                    self.written.push(v);
                }
                Ok(())
            }
            Storage::Special(_) | Storage::Constant(_) => Err(self.err(
                line,
                format!("cannot assign to {} (it is read-only)", var.name),
            )),
            Storage::Pointer => Err(self.err(
                line,
                format!(
                    "unsupported: POINTER variable {} cannot be written",
                    var.name
                ),
            )),
        }
    }

    fn stmts(
        &mut self,
        body: &[Stmt],
        frame: &mut Frame,
        skip_solve: bool,
    ) -> Result<(), NmodlError> {
        for s in body {
            self.stmt(s, frame, skip_solve)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt, frame: &mut Frame, skip_solve: bool) -> Result<(), NmodlError> {
        match s {
            Stmt::Assign {
                target,
                value,
                line,
            } => {
                let r = self.expr(value, frame, *line)?;
                match *target {
                    Target::Var(v) => self.write_var(v, r, *line)?,
                    Target::Local(l) => frame.locals[l] = Some(r),
                }
            }
            Stmt::Equation { residual, line } => {
                if self.deriv_mode != DerivMode::Output {
                    return Err(self.err(
                        *line,
                        "an equation '~ a = b' is only allowed in a LINEAR block",
                    ));
                }
                let r = self.expr(residual, frame, *line)?;
                let slot = self.layout.fresh();
                self.eq_outputs.push(slot);
                self.ops.push(IOp {
                    kind: IKind::Copy,
                    d: VReg::Fixed(slot),
                    a: r,
                    b: r,
                    c: r,
                });
            }
            Stmt::Reaction { line, .. } => {
                return Err(self.err(*line, "a reaction '~' is only allowed in a KINETIC block"));
            }
            Stmt::Derivative { state, value, line } => {
                if self.deriv_mode != DerivMode::Output {
                    return Err(self.err(
                        *line,
                        "a derivative x' = ... is only allowed in a DERIVATIVE block",
                    ));
                }
                let r = self.expr(value, frame, *line)?;
                if !self.deriv_outputs.iter().any(|(v, _)| v == state) {
                    let s = self.layout.fresh();
                    self.deriv_outputs.push((*state, s));
                }
                // The current value of x', merged at if/else like a variable, stored at the end.
                match self.dx.iter_mut().find(|(v, _)| v == state) {
                    Some(e) => e.1 = r,
                    None => self.dx.push((*state, r)),
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => self.if_stmt(cond, then, otherwise, frame, skip_solve)?,
            Stmt::Call { callee, args, line } => {
                self.call(callee, args, frame, *line)?;
            }
            Stmt::Solve { target, line, .. } => {
                if !skip_solve {
                    let what = match target {
                        SolveTarget::Other(n) => format!("SOLVE {n}"),
                        _ => "SOLVE outside BREAKPOINT".into(),
                    };
                    return Err(self.err(*line, format!("unsupported: {what}")));
                }
            }
            Stmt::Unsupported { what, line } => {
                return Err(self.err(*line, format!("unsupported: {what}")))
            }
        }
        Ok(())
    }

    fn if_stmt(
        &mut self,
        cond: &Expr,
        then: &[Stmt],
        otherwise: &[Stmt],
        frame: &mut Frame,
        skip_solve: bool,
    ) -> Result<(), NmodlError> {
        let m = self.expr(cond, frame, 0)?;
        if let Some(c) = self.value_of(m) {
            return self.stmts(if c != 0.0 { then } else { otherwise }, frame, skip_solve);
        }
        let env0 = self.env.clone();
        let loc0 = frame.locals.clone();
        let dx0 = self.dx.clone();
        self.stmts(then, frame, skip_solve)?;
        let env_t = std::mem::replace(&mut self.env, env0.clone());
        let loc_t = std::mem::replace(&mut frame.locals, loc0.clone());
        let dx_t = std::mem::replace(&mut self.dx, dx0);
        self.stmts(otherwise, frame, skip_solve)?;
        for (v, &t) in env_t.iter().enumerate() {
            let e = self.env[v];
            if t != e {
                let home = self.layout.homes[v].map(VReg::Fixed);
                let (Some(t), Some(e)) = (t.or(home), e.or(home)) else {
                    continue;
                };
                self.env[v] = Some(self.emit(IKind::Select, m, t, e));
            }
        }
        for (l, &t) in loc_t.iter().enumerate() {
            let e = frame.locals[l];
            if t != e {
                let zero = self.konst(0.0);
                let (t, e) = (t.unwrap_or(zero), e.unwrap_or(zero));
                frame.locals[l] = Some(self.emit(IKind::Select, m, t, e));
            }
        }
        // Derivatives assigned in only one branch are 0 in the other (as an unassigned Dx).
        let states: Vec<VarId> = dx_t.iter().chain(self.dx.iter()).map(|e| e.0).collect();
        for st in states {
            let t = dx_t.iter().find(|e| e.0 == st).map(|e| e.1);
            let e = self.dx.iter().find(|e| e.0 == st).map(|e| e.1);
            if t != e {
                let zero = self.konst(0.0);
                let merged = self.emit(IKind::Select, m, t.unwrap_or(zero), e.unwrap_or(zero));
                match self.dx.iter_mut().find(|x| x.0 == st) {
                    Some(x) => x.1 = merged,
                    None => self.dx.push((st, merged)),
                }
            }
        }
        Ok(())
    }

    fn call(
        &mut self,
        callee: &Callee,
        args: &[Expr],
        frame: &mut Frame,
        line: u32,
    ) -> Result<VReg, NmodlError> {
        let mut regs = Vec::with_capacity(args.len());
        for a in args {
            regs.push(self.expr(a, frame, line)?);
        }
        let c = match callee {
            Callee::Builtin(b) => return Ok(self.builtin(*b, &regs)),
            Callee::Unsupported(name) => {
                return Err(self.err(line, format!("unsupported: call to {name}")));
            }
            Callee::Function(i) => &self.mech.functions[*i],
            Callee::Procedure(i) => &self.mech.procedures[*i],
        };
        if self.stack.len() > MAX_INLINE_DEPTH {
            return Err(self.err(line, format!("unsupported: recursive call of {} (or calls nested deeper than {MAX_INLINE_DEPTH})", c.name)));
        }
        let mut inner = Frame {
            locals: vec![None; c.locals.len()],
        };
        for (k, r) in regs.into_iter().enumerate() {
            inner.locals[k] = Some(r);
        }
        self.stack.push(format!("{} {}", kind_name(c.kind), c.name));
        self.stmts(&c.body, &mut inner, false)?;
        self.stack.pop();
        let result = c.result.and_then(|r| inner.locals[r]);
        Ok(match result {
            Some(r) => r,
            None => self.konst(0.0),
        })
    }

    fn builtin(&mut self, b: Builtin, r: &[VReg]) -> VReg {
        if let (Builtin::AtTime, [te]) = (b, r) {
            // (te - 1e-11 <= t) && (te - 1e-11 > t - dt), nrnoc's fixed-step at_time.
            let (Some(t), Some(dt)) = (self.mech.var("t"), self.mech.var("dt")) else {
                return self.konst(0.0);
            };
            let (t, dt) = (self.read_var(t, 0), self.read_var(dt, 0));
            let (Ok(t), Ok(dt)) = (t, dt) else {
                return self.konst(0.0);
            };
            let eps = self.konst(1e-11);
            let x = self.bin(Bin::Sub, *te, eps);
            let lo = self.bin(Bin::Sub, t, dt);
            let a = self.bin(Bin::Le, x, t);
            let b2 = self.bin(Bin::Gt, x, lo);
            return self.bin(Bin::And, a, b2);
        }
        match (b, r) {
            (Builtin::Pow, [x, y]) => self.bin(Bin::Pow, *x, *y),
            (Builtin::Min, [x, y]) => self.bin(Bin::Min, *x, *y),
            (Builtin::Max, [x, y]) => self.bin(Bin::Max, *x, *y),
            (b, [x]) => match Un::from_builtin(b) {
                Some(u) => self.un(u, *x),
                None => *x,
            },
            // Arity was checked by sema; keep total anyway.
            _ => r.first().copied().unwrap_or(VReg::Fixed(0)),
        }
    }

    fn expr(&mut self, e: &Expr, frame: &mut Frame, line: u32) -> Result<VReg, NmodlError> {
        Ok(match e {
            Expr::Const(c) => self.konst(*c),
            Expr::Var(v) => self.read_var(*v, line)?,
            Expr::Local(l) => match frame.locals[*l] {
                Some(r) => r,
                None => self.konst(0.0),
            },
            Expr::Unary(op, a) => {
                let a = self.expr(a, frame, line)?;
                self.un(if *op == UnOp::Neg { Un::Neg } else { Un::Not }, a)
            }
            Expr::Binary(op, a, b) => {
                let a = self.expr(a, frame, line)?;
                let b = self.expr(b, frame, line)?;
                self.bin(bin_of(*op), a, b)
            }
            Expr::Call { callee, args, line } => self.call(callee, args, frame, *line)?,
        })
    }
}

fn bin_of(op: BinOp) -> Bin {
    match op {
        BinOp::Add => Bin::Add,
        BinOp::Sub => Bin::Sub,
        BinOp::Mul => Bin::Mul,
        BinOp::Div => Bin::Div,
        BinOp::Pow => Bin::Pow,
        BinOp::Lt => Bin::Lt,
        BinOp::Le => Bin::Le,
        BinOp::Gt => Bin::Gt,
        BinOp::Ge => Bin::Ge,
        BinOp::Eq => Bin::Eq,
        BinOp::Ne => Bin::Ne,
        BinOp::And => Bin::And,
        BinOp::Or => Bin::Or,
    }
}

pub fn kind_name(k: CallableKind) -> &'static str {
    match k {
        CallableKind::Initial => "INITIAL",
        CallableKind::Breakpoint => "BREAKPOINT",
        CallableKind::Derivative => "DERIVATIVE",
        CallableKind::Procedure => "PROCEDURE",
        CallableKind::Function => "FUNCTION",
        CallableKind::NetReceive => "NET_RECEIVE",
        CallableKind::Kinetic => "KINETIC",
        CallableKind::Linear => "LINEAR",
    }
}

/// Dead-op removal and column allocation; `n_fixed` is the final fixed-slot count.
/// `uniform_fixed` lists the fixed slots whose column holds one value for all instances
/// (literals, `t`, `dt`, `celsius`, GLOBALs no program writes): ops whose operands are all
/// uniform are computed once per call and broadcast (`q10^((celsius - 6.3)/10)` costs one `pow`).
pub fn allocate(
    l: &Lowered,
    n_fixed: u32,
    uniform_fixed: &[Slot],
    consts: &[(Slot, f64)],
) -> Result<(Program, usize), String> {
    let literal = |r: VReg| match r {
        VReg::Fixed(s) => consts.iter().find(|c| c.0 == s).map(|c| c.1),
        VReg::Temp(_) => None,
    };
    let ops = &l.ops;
    let mut uniform_temp = vec![false; l.n_temps as usize];
    let is_uniform = |r: VReg, ut: &[bool]| match r {
        VReg::Fixed(s) => uniform_fixed.contains(&s),
        VReg::Temp(t) => ut[t as usize],
    };
    for op in ops {
        if let VReg::Temp(t) = op.d {
            let u = matches!(
                op.kind,
                IKind::Bin(_) | IKind::Un(_) | IKind::Select | IKind::Copy
            ) && sources(op).iter().all(|&s| is_uniform(s, &uniform_temp));
            uniform_temp[t as usize] = u;
        }
    }
    // Liveness backwards: ops writing fixed slots are roots.
    let mut live = vec![false; l.n_temps as usize];
    let mut keep = vec![false; ops.len()];
    for (k, op) in ops.iter().enumerate().rev() {
        let needed = match op.d {
            VReg::Fixed(_) => true,
            VReg::Temp(t) => live[t as usize],
        };
        if needed {
            keep[k] = true;
            for s in sources(op) {
                if let VReg::Temp(t) = s {
                    live[t as usize] = true;
                }
            }
        }
    }
    // Last use of each temp among kept ops.
    let mut last_use: Vec<Option<usize>> = vec![None; l.n_temps as usize];
    for (k, op) in ops.iter().enumerate() {
        if keep[k] {
            for s in sources(op) {
                if let VReg::Temp(t) = s {
                    last_use[t as usize] = Some(k);
                }
            }
        }
    }
    let mut phys: Vec<Option<Slot>> = vec![None; l.n_temps as usize];
    let mut free: Vec<Slot> = Vec::new();
    let mut n_temp_slots: u32 = 0;
    let mut out = Vec::new();
    for (k, op) in ops.iter().enumerate() {
        if !keep[k] {
            continue;
        }
        let slot_of = |r: VReg, phys: &[Option<Slot>]| -> Slot {
            match r {
                VReg::Fixed(s) => s,
                VReg::Temp(t) => phys[t as usize].unwrap_or(u32::MAX),
            }
        };
        let (a, b, c) = (
            slot_of(op.a, &phys),
            slot_of(op.b, &phys),
            slot_of(op.c, &phys),
        );
        let d = match op.d {
            VReg::Fixed(s) => s,
            VReg::Temp(t) => {
                let s = free.pop().unwrap_or_else(|| {
                    n_temp_slots += 1;
                    n_fixed + n_temp_slots - 1
                });
                phys[t as usize] = Some(s);
                s
            }
        };
        let uniform = matches!(op.d, VReg::Temp(t) if uniform_temp[t as usize]);
        let (ka, kb) = (literal(op.a), literal(op.b));
        out.push(match op.kind {
            // Literal operands are immediates: no column is read for them.
            IKind::Bin(op) if !uniform && kb.is_some() && ka.is_none() => Op::BinCK {
                op,
                d,
                a,
                k: kb.unwrap_or(0.0),
            },
            IKind::Bin(op) if !uniform && ka.is_some() && kb.is_none() => Op::BinKC {
                op,
                d,
                k: ka.unwrap_or(0.0),
                b,
            },
            IKind::Copy if ka.is_some() => Op::Fill {
                d,
                k: ka.unwrap_or(0.0),
            },
            IKind::Bin(op) if uniform => Op::UniformBin { op, d, a, b },
            IKind::Un(op) if uniform => Op::UniformUn { op, d, a },
            IKind::Bin(op) => Op::Bin { op, d, a, b },
            IKind::Un(op) => Op::Un { op, d, a },
            IKind::Select => Op::Select {
                d,
                m: a,
                a: b,
                b: c,
            },
            IKind::Copy => Op::Copy { d, a },
        });
        // Free sources whose last use is here (after choosing d, so d never aliases them).
        let mut freed: Vec<Slot> = Vec::new();
        for s in sources(op) {
            if let VReg::Temp(t) = s {
                if last_use[t as usize] == Some(k) {
                    if let Some(p) = phys[t as usize] {
                        if !freed.contains(&p) {
                            freed.push(p);
                        }
                    }
                }
            }
        }
        free.extend(freed);
        // A kept temp that nothing reads (cannot happen after dead-op removal) is freed at once.
        if let VReg::Temp(t) = op.d {
            if last_use[t as usize].is_none() {
                if let Some(p) = phys[t as usize] {
                    free.push(p);
                }
            }
        }
    }
    let n_slots = (n_fixed + n_temp_slots) as usize;
    let prog = Program::new(out, n_slots, n_fixed as usize)?;
    Ok((prog, n_slots))
}

fn sources(op: &IOp) -> Vec<VReg> {
    match op.kind {
        IKind::Bin(_) => vec![op.a, op.b],
        IKind::Un(_) | IKind::Copy => vec![op.a],
        IKind::Select => vec![op.a, op.b, op.c],
    }
}
