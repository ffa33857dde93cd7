//! Writing result files safely: every output (plot, CSV, JSON) is written to a temporary file in
//! the destination folder and renamed into place only when complete, so an interrupted or failed
//! run never leaves a half-written file; an existing file is never replaced unless the user said
//! `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An output file problem, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub message: String,
}

/// Refuse to replace an existing file unless `force`; check that the folder exists.
pub fn check_destination(path: &Path, force: bool) -> Result<(), OutputError> {
    let err = |message: &str| OutputError {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if path.exists() && !force {
        return Err(err("already exists (pass --force to replace it)"));
    }
    let dir = parent(path);
    if !dir.is_dir() {
        return Err(err("the folder to write into does not exist"));
    }
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary path beside `path` that keeps its extension (plot backends choose the format by
/// extension).
pub fn temp_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".into());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    parent(path).join(format!(".{stem}.partial-{}{ext}", std::process::id()))
}

/// Move a finished temporary file into place.
pub fn commit(temp: &Path, path: &Path) -> Result<(), OutputError> {
    std::fs::rename(temp, path).map_err(|e| {
        let _ = std::fs::remove_file(temp);
        OutputError {
            path: path.to_path_buf(),
            message: format!("cannot move the finished file into place: {e}"),
        }
    })
}

/// Write `bytes` to `path` through a temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<(), OutputError> {
    check_destination(path, force)?;
    let temp = temp_path(path);
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(OutputError {
            path: path.to_path_buf(),
            message: e.to_string(),
        });
    }
    commit(&temp, path)
}
