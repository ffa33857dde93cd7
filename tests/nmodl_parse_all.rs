//! Every `.mod` file under ../shared parses (the real corpus: cells and example models).
use bmtool::cell::nmodl::parser::parse;
use bmtool::cell::nmodl::sema::analyse;
use std::path::{Path, PathBuf};

fn shared_mod_files() -> Option<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if !root.is_dir() {
        eprintln!("SKIPPED: ../shared not found");
        return None;
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "mod") {
                out.push(p);
            }
        }
    }
    out.sort();
    Some(out)
}

#[test]
fn every_shared_mod_file_parses_and_resolves() {
    let Some(files) = shared_mod_files() else {
        return;
    };
    assert!(
        files.len() >= 44,
        "expected the 44 cell mod files at least, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        match parse(&f.display().to_string(), &src) {
            Err(e) => failures.push(e.to_string()),
            Ok(m) => {
                if let Err(e) = analyse(&m) {
                    failures.push(format!("(semantic) {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed to parse:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
