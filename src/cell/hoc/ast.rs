//! The HOC syntax tree: statements with their line, expressions, procedure and template
//! definitions. Plain data made by `parser`, walked by `interp`; no evaluation here.

use std::rc::Rc;

/// A statement and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// 1-based line.
    pub line: usize,
    /// What it does.
    pub kind: StmtKind,
}

/// A section named in a statement: `soma`, `soma[0]`, `dend[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionRef {
    /// Array name.
    pub name: String,
    /// Index; `None` means 0.
    pub index: Option<Expr>,
}

/// Statement kinds of the supported HOC subset.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect (assignment, call).
    Expr(Expr),
    /// `{ ... }`
    Block(Vec<Stmt>),
    /// `if (cond) stmt [else stmt]`
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    /// `while (cond) stmt`
    While(Expr, Box<Stmt>),
    /// `for i = a, b stmt`
    ForRange(String, Expr, Expr, Box<Stmt>),
    /// `for (init; cond; step) stmt`
    ForC(Box<Stmt>, Expr, Box<Stmt>, Box<Stmt>),
    /// `for (x) stmt` (ends included: true) or `for (x, 0) stmt` (segment centres only).
    ForSegments(String, bool, Box<Stmt>),
    /// `forall stmt`
    Forall(Box<Stmt>),
    /// `forsec list_or_regex stmt`
    Forsec(Expr, Box<Stmt>),
    /// `soma[0] stmt`, `soma[0] { ... }`
    InSection(SectionRef, Box<Stmt>),
    /// `create a[n], b`
    Create(Vec<(String, Option<Expr>)>),
    /// `objref a, b[n]`
    Objref(Vec<(String, Option<Expr>)>),
    /// `strdef s, t`
    Strdef(Vec<String>),
    /// `public a, b`
    Public(Vec<String>),
    /// `external a, b`
    External(Vec<String>),
    /// `localobj a, b`
    LocalObj(Vec<String>),
    /// `local a, b`
    Local(Vec<String>),
    /// `print a, "text"` (written to stderr: stdout carries command output).
    Print(Vec<Expr>),
    /// `connect child(x), parent(y)`
    Connect {
        /// Child section.
        child: SectionRef,
        /// End of the child that attaches (0 if omitted).
        child_x: Option<Expr>,
        /// Parent section.
        parent: SectionRef,
        /// Position along the parent.
        parent_x: Expr,
    },
    /// `access soma[0]`
    Access(SectionRef),
    /// `insert name`
    Insert(String),
    /// `uninsert name`
    Uninsert(String),
    /// `return [expr]`
    Return(Option<Expr>),
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `proc`, `func` or `obfunc` definition.
    Proc(Rc<ProcDef>),
    /// `begintemplate ... endtemplate`
    Template(Rc<TemplateDef>),
    /// `;` or nothing.
    Empty,
}

/// Kind of a procedure definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcKind {
    /// `proc`: returns nothing.
    Proc,
    /// `func`: returns a number.
    Func,
    /// `obfunc`: returns an object.
    Obfunc,
}

/// A `proc`/`func`/`obfunc`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcDef {
    /// Name.
    pub name: String,
    /// proc, func or obfunc.
    pub kind: ProcKind,
    /// Body statements.
    pub body: Vec<Stmt>,
    /// File it was defined in (for error lines).
    pub file: Rc<str>,
}

/// A `begintemplate Name ... endtemplate Name`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateDef {
    /// Name.
    pub name: String,
    /// Template-level statements, including `proc` definitions.
    pub body: Vec<Stmt>,
    /// Line of `begintemplate`.
    pub line: usize,
    /// File it was defined in.
    pub file: Rc<str>,
}

/// Expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Number literal.
    Num(f64),
    /// String literal.
    Str(String),
    /// `$1` (' '), `$o1` ('o'), `$s1` ('s').
    Arg(char, usize),
    /// A plain name.
    Name(String),
    /// `name[i]`
    Index(String, Box<Expr>),
    /// `name(args)`: procedure, built-in function, or range variable at x.
    Call(String, Vec<Expr>),
    /// `obj.name`
    Member(Box<Expr>, String),
    /// `obj.name[i]`
    MemberIndex(Box<Expr>, String, Box<Expr>),
    /// `obj.name(args)`
    Method(Box<Expr>, String, Vec<Expr>),
    /// `new Class(args)`
    New(String, Vec<Expr>),
    /// `&v(0.5)`: a reference to a range variable.
    Pointer(Box<Expr>),
    /// `-a` ("-") or `!a` ("!").
    Unary(&'static str, Box<Expr>),
    /// `a op b`.
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `target = value`, `target += value`, ... (op is "=", "+=", "-=", "*=", "/=").
    Assign(&'static str, Box<Expr>, Box<Expr>),
}
