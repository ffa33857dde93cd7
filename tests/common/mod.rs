//! Helpers shared by the integration tests: finding `../shared` (the real reference material
//! beside the repository) and saying loudly when it is absent.
#![allow(dead_code)]

pub mod reference_cells;
pub mod tiny_net;

use std::path::PathBuf;

/// `../shared` beside the repository (or `$BMTOOL_SHARED`), when present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BMTOOL_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.join("README.md").exists().then_some(dir)
}

/// `shared_dir()`, or a loud skip notice naming the test.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        // Written to the stderr handle, not with eprintln!, so the test harness does not capture
        // it: a skipped conformance test must be visible in every run.
        let notice = format!(
            "\n*** SKIPPED {test}: ../shared not found (set BMTOOL_SHARED to the reference folder) ***\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
    }
    dir
}

/// Read a JSON file.
pub fn json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
