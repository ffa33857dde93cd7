//! The one error type of the NMODL front-end and compiler.
//!
//! Every variant renders as a single line that starts with `file:line:col` (or `file:` when no
//! position applies), so the CLI can print it as is. Nothing here panics or allocates on hot paths.

use super::ast::Span;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum NmodlError {
    /// The text is not NMODL.
    #[error("{file}:{line}:{col}: syntax error: {msg}")]
    Syntax {
        file: String,
        line: u32,
        col: u32,
        msg: String,
    },
    /// A name used in a body is not declared anywhere.
    #[error("{file}:{line}:{col}: unknown name {name}")]
    UnknownName {
        file: String,
        line: u32,
        col: u32,
        name: String,
    },
    /// The text parses but means nothing sensible (duplicate declaration, bad SOLVE target...).
    #[error("{file}:{line}:{col}: {msg}")]
    Semantic {
        file: String,
        line: u32,
        col: u32,
        msg: String,
    },
    /// A construct that parses but that bmtool cannot execute.
    #[error("{file}:{line}:{col}: unsupported: {msg}")]
    Unsupported {
        file: String,
        line: u32,
        col: u32,
        msg: String,
    },
    /// A construct that cannot be compiled, located by line only (`file:line: ...`).
    #[error("{file}:{line}: {msg}")]
    Compile {
        file: String,
        line: u32,
        msg: String,
    },
    /// Two files of one mechanism folder declare the same SUFFIX / POINT_PROCESS name.
    #[error("{second}: duplicate mechanism name {name} (also declared in {first})")]
    DuplicateMechanism {
        name: String,
        first: String,
        second: String,
    },
    /// An ion is used but no mechanism in the folder (nor NEURON's built-ins) gives its valence.
    #[error("{file}: USEION {ion} without VALENCE, and {ion} is not an ion NEURON defines")]
    UndefinedIon { file: String, ion: String },
    #[error("{path}: cannot read: {msg}")]
    Io { path: String, msg: String },
    /// A run-time check failed (e.g. NaN produced by a division by zero).
    #[error("{file}: {msg}")]
    Runtime { file: String, msg: String },
}

impl NmodlError {
    pub fn syntax(file: &str, at: Span, msg: impl Into<String>) -> Self {
        Self::Syntax {
            file: file.to_string(),
            line: at.line,
            col: at.col,
            msg: msg.into(),
        }
    }
    pub fn unknown(file: &str, at: Span, name: &str) -> Self {
        Self::UnknownName {
            file: file.to_string(),
            line: at.line,
            col: at.col,
            name: name.to_string(),
        }
    }
    pub fn semantic(file: &str, at: Span, msg: impl Into<String>) -> Self {
        Self::Semantic {
            file: file.to_string(),
            line: at.line,
            col: at.col,
            msg: msg.into(),
        }
    }
    pub fn unsupported(file: &str, at: Span, msg: impl Into<String>) -> Self {
        Self::Unsupported {
            file: file.to_string(),
            line: at.line,
            col: at.col,
            msg: msg.into(),
        }
    }
}
