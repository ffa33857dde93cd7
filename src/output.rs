//! Writing result files safely: every output (plot, CSV, JSON) is written to a temporary file in
//! the destination folder and renamed into place only when complete, so an interrupted or failed
//! run never leaves a half-written file; an existing file is never replaced unless the user said
//! `--force`.
//!
//! Ctrl-C: [`install_interrupt_handler`] makes SIGINT remove every unfinished temporary file or
//! folder and exit with code 130. Temporaries are created, filled and moved into place while
//! holding one lock that the handler also takes, so an interrupt never sees a half-made output:
//! it waits for the write in progress (a few milliseconds), then removes what is left.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

/// Temporary folders still being filled, removed by the Ctrl-C handler. The lock is also held
/// while any temporary file exists (see [`write_atomic`]).
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves the list itself intact: keep using it.
    TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Make Ctrl-C (SIGINT) remove the unfinished temporaries and exit with
/// [`INTERRUPTED_EXIT_CODE`]. Call once, at the start of the program.
pub fn install_interrupt_handler() -> Result<(), String> {
    ctrlc::set_handler(|| {
        let left = temps();
        for path in left.iter() {
            let _ = std::fs::remove_dir_all(path);
            let _ = std::fs::remove_file(path);
        }
        eprintln!("error: interrupted; unfinished output files were removed");
        std::process::exit(INTERRUPTED_EXIT_CODE);
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}

/// Create the temporary folder `path` and register it for removal on Ctrl-C.
pub fn create_temp_dir(path: &Path) -> std::io::Result<()> {
    let mut left = temps();
    std::fs::create_dir_all(path)?;
    left.push(path.to_path_buf());
    Ok(())
}

/// Run `finish` (which moves the temporary folder `path` into place or removes it) while Ctrl-C
/// waits, then forget `path`.
pub fn finish_temp_dir<T>(path: &Path, finish: impl FnOnce() -> T) -> T {
    let mut left = temps();
    let result = finish();
    left.retain(|p| p != path);
    result
}

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

/// Write `bytes` to `path` through a temporary file. Ctrl-C waits until the file is in place
/// (or removed after a failure), so no `.partial` file is ever left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<(), OutputError> {
    check_destination(path, force)?;
    let temp = temp_path(path);
    let _hold = temps();
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
