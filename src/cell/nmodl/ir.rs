//! The mechanism IR: one `.mod` file as plain data with every name resolved.
//!
//! Owns the meaning of a mechanism (its variables and where each lives, its ions, its bodies)
//! and nothing about text or execution. Produced by [`super::sema`], consumed by
//! [`super::solvers`], [`super::kernel`] and [`super::listing`]. Lines are kept on statements so
//! later stages can name `file:line` in their errors.

pub use super::ast::{BinOp, MechKind, UnOp};
use serde::Serialize;

/// Index into [`Mechanism::vars`].
pub type VarId = usize;
/// Index into a callable's locals (arguments first, then the FUNCTION result, then LOCALs).
pub type LocalId = usize;

/// Simulator-provided values every mechanism may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Special {
    /// Membrane potential (mV), per instance.
    V,
    /// Time (ms).
    T,
    /// Time step (ms).
    Dt,
    /// Temperature (degC).
    Celsius,
}

/// One of the four per-ion quantities NEURON's `eion` keeps at every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IonField {
    /// Reversal potential `e<ion>` (mV).
    E,
    /// Current `i<ion>` (mA/cm2 for density mechanisms).
    I,
    /// Inside concentration `<ion>i` (mM).
    Ci,
    /// Outside concentration `<ion>o` (mM).
    Co,
}

/// Where a variable's value lives at run time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Storage {
    /// One value per instance (RANGE variables, STATEs, ASSIGNED scratch).
    Instance,
    /// One value shared by all instances, settable by name (GLOBAL PARAMETERs).
    Global,
    /// A column of the ion `ions[ion]`.
    Ion {
        ion: usize,
        field: IonField,
    },
    Special(Special),
    /// UNITS factors and CONSTANTs.
    Constant(f64),
    /// POINTER / BBCOREPOINTER: not executable.
    Pointer,
}

/// How NEURON exposes a variable (for listings and `name_suffix` naming).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    Parameter,
    Assigned,
    State,
    Constant,
    Ion,
    Special,
    Pointer,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variable {
    pub name: String,
    pub role: Role,
    pub storage: Storage,
    /// Listed in NEURON's RANGE (per instance, visible as `name_suffix`).
    pub range: bool,
    /// PARAMETER default (0 when none is given, as NEURON).
    pub default: f64,
    pub units: Option<String>,
    pub limits: Option<(f64, f64)>,
    /// Also a STATE (an ion concentration such as `cai` can be both).
    pub is_state: bool,
    /// Declared line.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ion {
    pub name: String,
    pub valence: Option<f64>,
    pub read: Vec<IonField>,
    pub write: Vec<IonField>,
    /// The mechanism variable of each used field.
    pub vars: Vec<(IonField, VarId)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Exp,
    Log,
    Log10,
    Fabs,
    Sqrt,
    Pow,
    Sin,
    Cos,
    Tan,
    Tanh,
    Atan,
    Min,
    Max,
    Floor,
    Ceil,
    /// NEURON's `at_time(te)`: 1 in the fixed step where `te` falls (`t - dt < te - 1e-11 <= t`),
    /// else 0; for CVODE it also marks a discontinuity, which fixed steps do not need.
    AtTime,
}

impl Builtin {
    pub fn from_name(name: &str) -> Option<(Self, usize)> {
        Some(match name {
            "exp" => (Self::Exp, 1),
            "log" => (Self::Log, 1),
            "log10" => (Self::Log10, 1),
            "fabs" => (Self::Fabs, 1),
            "sqrt" => (Self::Sqrt, 1),
            "pow" => (Self::Pow, 2),
            "sin" => (Self::Sin, 1),
            "cos" => (Self::Cos, 1),
            "tan" => (Self::Tan, 1),
            "tanh" => (Self::Tanh, 1),
            "atan" => (Self::Atan, 1),
            "min" | "fmin" => (Self::Min, 2),
            "max" | "fmax" => (Self::Max, 2),
            "floor" => (Self::Floor, 1),
            "ceil" => (Self::Ceil, 1),
            "at_time" => (Self::AtTime, 1),
            _ => return None,
        })
    }
}

/// Names NEURON provides that bmtool cannot execute (events, random numbers, VERBATIM helpers).
pub const UNSUPPORTED_CALLS: &[&str] = &[
    "net_send",
    "net_event",
    "net_move",
    "normrand",
    "exprand",
    "unirand",
    "scop_random",
    "set_seed",
    "nrn_pointing",
    "state_discontinuity",
    "ifarg",
    "getarg",
    "hoc_getarg",
    "printf",
    "fprintf",
    "assert",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Callee {
    Builtin(Builtin),
    /// Index into [`Mechanism::functions`].
    Function(usize),
    /// Index into [`Mechanism::procedures`].
    Procedure(usize),
    /// A NEURON runtime call bmtool cannot run (e.g. `net_send`).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(f64),
    Var(VarId),
    Local(LocalId),
    Call {
        callee: Callee,
        args: Vec<Expr>,
        line: u32,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Var(VarId),
    Local(LocalId),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Assign {
        target: Target,
        value: Expr,
        line: u32,
    },
    /// `x' = value`; `x` is a variable with `is_state`.
    Derivative {
        state: VarId,
        value: Expr,
        line: u32,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// A procedure call (or a function call whose result is dropped).
    Call {
        callee: Callee,
        args: Vec<Expr>,
        line: u32,
    },
    /// KINETIC `~ lhs <-> rhs (kf, kb)` with mass-action stoichiometry.
    Reaction {
        lhs: Vec<(f64, VarId)>,
        rhs: Vec<(f64, VarId)>,
        kf: Expr,
        kb: Option<Expr>,
        line: u32,
    },
    /// LINEAR / NONLINEAR `~ lhs = rhs`, kept as the residual `lhs - rhs`.
    Equation { residual: Expr, line: u32 },
    /// `SOLVE block METHOD m` inside BREAKPOINT / INITIAL.
    Solve {
        target: SolveTarget,
        method: Option<String>,
        line: u32,
    },
    /// Something that parses but cannot run here; `what` names it.
    Unsupported { what: String, line: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SolveTarget {
    Derivative(usize),
    Procedure(usize),
    /// Index into [`Mechanism::kinetics`].
    Kinetic(usize),
    /// Index into [`Mechanism::linears`] (LINEAR and NONLINEAR).
    Linear(usize),
    /// KINETIC / LINEAR / NONLINEAR blocks: parsed, not executable.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CallableKind {
    Initial,
    Breakpoint,
    Derivative,
    Procedure,
    Function,
    NetReceive,
    Kinetic,
    Linear,
}

/// A body with its own locals.
#[derive(Debug, Clone, PartialEq)]
pub struct Callable {
    pub name: String,
    pub kind: CallableKind,
    pub n_args: usize,
    /// All locals by name: arguments, then (for FUNCTIONs) the result, then LOCALs.
    pub locals: Vec<String>,
    /// For FUNCTIONs, the local holding the result.
    pub result: Option<LocalId>,
    pub body: Vec<Stmt>,
    pub line: u32,
}

/// One mechanism, ready for the solvers and the kernel compiler.
#[derive(Debug, Clone, PartialEq)]
pub struct Mechanism {
    /// Path of the source file (for messages).
    pub file: String,
    /// SUFFIX / POINT_PROCESS / ARTIFICIAL_CELL name.
    pub name: String,
    pub kind: MechKind,
    pub title: Option<String>,
    pub threadsafe: bool,
    pub vars: Vec<Variable>,
    pub ions: Vec<Ion>,
    /// NONSPECIFIC_CURRENT variables.
    pub nonspecific: Vec<VarId>,
    /// ELECTRODE_CURRENT variables (positive = depolarising, as IClamp's `i`).
    pub electrode: Vec<VarId>,
    pub initial: Option<Callable>,
    pub breakpoint: Option<Callable>,
    pub derivatives: Vec<Callable>,
    pub procedures: Vec<Callable>,
    pub functions: Vec<Callable>,
    /// KINETIC schemes (CONSERVE statements dropped: backward Euler keeps a closed scheme's
    /// total anyway, up to the Newton tolerance).
    pub kinetics: Vec<Callable>,
    /// LINEAR / NONLINEAR blocks.
    pub linears: Vec<Callable>,
    /// NET_RECEIVE, when its names resolve (arguments are its first locals, `flag` the next).
    pub net_receive: Option<Callable>,
    /// Blocks that were parsed but cannot run, with their line (NET_RECEIVE, KINETIC, ...).
    pub parse_only: Vec<(String, u32)>,
}

impl Mechanism {
    pub fn var(&self, name: &str) -> Option<VarId> {
        self.vars.iter().position(|v| v.name == name)
    }

    /// The name NEURON gives a variable from HOC/Python: `gbar_hh` for density mechanisms,
    /// the bare name for point processes.
    pub fn neuron_name(&self, var: VarId) -> String {
        let v = &self.vars[var];
        match (self.kind, v.role) {
            (MechKind::Density, Role::Parameter | Role::Assigned | Role::State) => {
                format!("{}_{}", v.name, self.name)
            }
            _ => v.name.clone(),
        }
    }
}
