//! Errors of the HOC front-end. Every problem a user can cause in a HOC file (syntax, an unknown
//! name or mechanism, a bad value, a runaway loop) becomes [`HocError::At`] with the file and
//! line, printed as one `file:line: message` line.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A problem loading or running a HOC file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HocError {
    /// Something wrong at a line of a HOC file.
    #[error("{file}:{line}: {message}")]
    At {
        /// File as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file that cannot be read.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        message: String,
    },
    /// The instantiated cell is inconsistent as a whole (checked after the template ran).
    #[error("template {template}: {message}")]
    Cell {
        /// Template name.
        template: String,
        /// What is wrong.
        message: String,
    },
    /// `--template NAME` names no template in the files read.
    #[error(
        "no template {name} in {where_}; templates found: {}",
        list_or_none(found)
    )]
    UnknownTemplate {
        /// Name asked for.
        name: String,
        /// Files or folder searched.
        where_: String,
        /// Template names found.
        found: Vec<String>,
    },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl HocError {
    /// An error at `file:line`.
    pub fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        HocError::At {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    /// A read failure of `path`.
    pub fn io(path: &Path, error: &std::io::Error) -> Self {
        HocError::Io {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}
