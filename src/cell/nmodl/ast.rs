//! The syntax tree of one `.mod` file, exactly as written (names unresolved, units kept as text).
//!
//! Owns the shape of NMODL programs; it knows nothing about execution. Blocks bmtool cannot run
//! (KINETIC, LINEAR, NET_RECEIVE, VERBATIM, FUNCTION_TABLE...) are still represented, so that the
//! semantic pass can name them in its errors.

/// 1-based line and column of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Name(String, Span),
    Call {
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// One statement of a body.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `x = e`.
    Assign {
        name: String,
        value: Expr,
        span: Span,
    },
    /// `x' = e`.
    Derivative {
        state: String,
        value: Expr,
        span: Span,
    },
    /// A procedure or function call used as a statement.
    Call {
        call: Expr,
        span: Span,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
        span: Span,
    },
    Local {
        names: Vec<String>,
        span: Span,
    },
    /// `SOLVE block [METHOD m] [STEADYSTATE m]`.
    Solve {
        block: String,
        method: Option<String>,
        span: Span,
    },
    /// `TABLE vars DEPEND deps FROM lo TO hi WITH n`.
    Table {
        names: Vec<String>,
        depend: Vec<String>,
        from: Expr,
        to: Expr,
        with: f64,
        span: Span,
    },
    /// KINETIC `~ 2A + B <-> C (kf, kb)` (`kb` None for `->`); species with stoichiometry.
    Reaction {
        lhs: Vec<(u32, String)>,
        rhs: Vec<(u32, String)>,
        kf: Expr,
        kb: Option<Expr>,
        span: Span,
    },
    /// LINEAR / NONLINEAR `~ lhs = rhs`.
    Equation {
        lhs: Expr,
        rhs: Expr,
        span: Span,
    },
    /// `CONSERVE a + b + ... = total` (kept so semantics can say what it does with it).
    Conserve {
        span: Span,
    },
    /// A statement bmtool parses but never runs (VERBATIM, `~` reactions, CONSERVE, WATCH,
    /// COMPARTMENT, FROM loops, nested INITIAL in NET_RECEIVE...); `what` names it.
    Unsupported {
        what: String,
        span: Span,
    },
}

/// A name with optional units, used in PARAMETER / ASSIGNED / STATE / CONSTANT declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDecl {
    pub name: String,
    pub default: Option<f64>,
    pub units: Option<String>,
    /// `<lo, hi>` limits.
    pub limits: Option<(f64, f64)>,
    /// Array length for `name[n]` declarations (parsed, not supported).
    pub array: Option<usize>,
    pub span: Span,
}

/// `USEION name READ a, b WRITE c VALENCE z`.
#[derive(Debug, Clone, PartialEq)]
pub struct UseIon {
    pub ion: String,
    pub read: Vec<String>,
    pub write: Vec<String>,
    pub valence: Option<f64>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechKind {
    Density,
    PointProcess,
    ArtificialCell,
}

/// The NEURON { } block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeuronBlock {
    /// SUFFIX / POINT_PROCESS / ARTIFICIAL_CELL name and kind.
    pub name: Option<(String, MechKind, Span)>,
    pub ions: Vec<UseIon>,
    pub nonspecific: Vec<(String, Span)>,
    pub electrode: Vec<(String, Span)>,
    pub range: Vec<(String, Span)>,
    pub global: Vec<(String, Span)>,
    pub pointer: Vec<(String, Span)>,
    pub threadsafe: bool,
}

/// A UNITS block entry: `(mV) = (millivolt)` or `FARADAY = (faraday) (coulomb)`.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitDef {
    Alias {
        name: String,
        unit: String,
    },
    Factor {
        name: String,
        from: String,
        to: String,
        span: Span,
    },
    Constant {
        name: String,
        value: f64,
        units: Option<String>,
        span: Span,
    },
}

/// PROCEDURE, FUNCTION, DERIVATIVE, KINETIC, LINEAR, NET_RECEIVE: a named body with arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Callable {
    pub name: String,
    pub args: Vec<String>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModFile {
    pub file: String,
    pub title: Option<String>,
    pub neuron: NeuronBlock,
    pub units: Vec<UnitDef>,
    pub parameters: Vec<VarDecl>,
    pub constants: Vec<VarDecl>,
    pub assigned: Vec<VarDecl>,
    pub states: Vec<VarDecl>,
    pub independent: Vec<String>,
    pub initial: Option<Callable>,
    pub breakpoint: Option<Callable>,
    pub derivatives: Vec<Callable>,
    pub procedures: Vec<Callable>,
    pub functions: Vec<Callable>,
    pub kinetics: Vec<Callable>,
    pub linears: Vec<Callable>,
    pub net_receive: Option<Callable>,
    /// File-level `LOCAL` names (scratch shared by all blocks).
    pub file_locals: Vec<String>,
    /// Blocks that parse but have no runtime meaning for bmtool, with where they start
    /// (top-level VERBATIM, FUNCTION_TABLE, BEFORE/AFTER, CONSTRUCTOR, DESTRUCTOR, ...).
    pub other_blocks: Vec<(String, Span)>,
}
