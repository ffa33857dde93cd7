//! What each fuzz target feeds its bytes to, shared by the `fuzz_targets/*.rs` binaries and by
//! `tests/fuzz_regressions.rs` (which replays `fuzz/regressions/<target>/*` in CI), so a crasher
//! is replayed through exactly the code path that found it.
//!
//! Each function must return for any input: an `Err` from the library is the expected outcome
//! for bad bytes. A panic, a hang or an unbounded allocation is a bug in the library, never
//! something to silence here. Files go to a per-process scratch folder when a reader only takes
//! a path.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The target names, as folders under `fuzz/regressions/`.
pub const TARGETS: [&str; 5] = [
    "nmodl_parse",
    "hoc_parse",
    "swc_read",
    "config_read",
    "h5_open",
];

/// Run `target` on `data`; `false` when the name is unknown.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "nmodl_parse" => nmodl_parse(data),
        "hoc_parse" => hoc_parse(data),
        "swc_read" => swc_read(data),
        "config_read" => config_read(data),
        "h5_open" => h5_open(data),
        _ => return false,
    }
    true
}

/// A scratch folder for this process (created once, reused by every input).
fn scratch() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bmtool-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder for fuzz inputs");
        dir
    })
}

/// Write `data` to `name` in the scratch folder (a fresh sub-folder per thread, so the replay
/// test's threads do not share files).
fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>();
    let dir = scratch().join(thread);
    std::fs::create_dir_all(&dir).expect("scratch sub-folder");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write fuzz input");
    path
}

/// NMODL: lexer, parser and semantic analysis of one file as a catalogue entry, the folder-level
/// ion check and the `util cell mechanisms` summary (what `Catalogue::load_dir` does per file).
pub fn nmodl_parse(data: &[u8]) {
    use bmtool::cell::nmodl::{listing, Catalogue};
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut cat = Catalogue::default();
    if cat.add_source(Path::new("fuzz.mod"), src).is_ok() && cat.check_ions().is_ok() {
        let _ = listing::summarise(&cat);
    }
}

/// HOC: lexer and parser of one file; when it parses and has no loops, the interpreter runs
/// its top level and instantiates each template (loops are left out because the interpreter's
/// 20-million-statement limit makes one endless loop cost seconds, which would starve the
/// fuzzer; recursion is bounded by depth and by the same statement limit).
pub fn hoc_parse(data: &[u8]) {
    use bmtool::cell::hoc::{
        load_cell, parser::parse_file, template_names, HocSource, LoadOptions,
    };
    use bmtool::cell::mechanism::folder::CellMechanisms;
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(stmts) = parse_file("fuzz.hoc", src) else {
        return;
    };
    let has_loop = ["while", "for", "iterator"].iter().any(|k| src.contains(k));
    if stmts.is_empty() || has_loop || src.len() > 4096 {
        return;
    }
    let path = scratch_file("fuzz.hoc", data);
    let files = [path];
    let mechanisms = CellMechanisms::builtins();
    let source = HocSource {
        files: &files,
        mechanisms: &mechanisms,
    };
    let check = |e: &bmtool::cell::hoc::HocError| {
        let text = e.to_string();
        assert!(
            !text.contains("internal error"),
            "HOC interpreter panicked: {text}"
        );
    };
    match template_names(source) {
        Ok(names) => {
            for name in names.iter().take(4) {
                if let Err(e) = load_cell(source, name, LoadOptions::default()) {
                    check(&e);
                }
            }
        }
        Err(e) => check(&e),
    }
}

/// SWC: parse the text into sections and add them to a cell model, as `--swc` does.
pub fn swc_read(data: &[u8]) {
    use bmtool::cell::morphology::{swc::SwcMorphology, CellModel};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(morph) = SwcMorphology::parse(Path::new("fuzz.swc"), text) {
        let mut model = CellModel::new();
        let _ = morph.add_to(&mut model, &[]);
        let mut model = CellModel::new();
        let _ = morph.add_to(&mut model, &["axon"]);
    }
}

/// SONATA config: the bytes as `simulation_config.json` (manifest expansion, links to other
/// configs, path resolution), loaded both as a full simulation config and as plain expanded
/// JSON.
pub fn config_read(data: &[u8]) {
    use bmtool::sonata::config::{expanded_json, SimulationConfig};
    let path = scratch_file("simulation_config.json", data);
    let _ = SimulationConfig::load(&path);
    let _ = expanded_json(&path);
}

/// HDF5: open the bytes as a file and walk what it holds: groups (depth and count bounded),
/// dataset shapes and types, the attributes SONATA uses, and the contents of datasets of at
/// most [`H5_MAX_ELEMENTS`] elements by their recorded shape.
pub fn h5_open(data: &[u8]) {
    use bmtool::sonata::H5File;
    let path = scratch_file("fuzz.h5", data);
    let Ok(file) = H5File::open(&path) else {
        return;
    };
    let mut budget = 64usize;
    walk(&file, "/", 0, &mut budget);
}

/// Datasets larger than this (by their recorded shape) are not read by [`h5_open`].
pub const H5_MAX_ELEMENTS: u64 = 1 << 16;

fn walk(file: &bmtool::sonata::H5File, group: &str, depth: usize, budget: &mut usize) {
    if depth > 8 || *budget == 0 {
        return;
    }
    *budget -= 1;
    for name in ["version", "magic", "sorting", "units", "model_type"] {
        let _ = file.attr_string(group, name);
    }
    let join = |name: &str| {
        if group == "/" {
            format!("/{name}")
        } else {
            format!("{group}/{name}")
        }
    };
    if let Ok(datasets) = file.datasets(group) {
        for name in datasets.iter().take(16) {
            let path = join(name);
            let _ = file.attr_string(&path, "units");
            let Ok(shape) = file.shape(&path) else {
                continue;
            };
            let elements = shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .unwrap_or(u64::MAX);
            if elements <= H5_MAX_ELEMENTS {
                let _ = file.read_column(&path);
                let _ = file.read_f64(&path);
                let _ = file.read_u64(&path);
                if !shape.is_empty() && shape[0] > 0 {
                    let _ = file.read_f64_rows(&path, 0, 1);
                }
            }
        }
    }
    if let Ok(groups) = file.groups(group) {
        for name in groups.iter().take(16) {
            walk(file, &join(name), depth + 1, budget);
        }
    }
}
