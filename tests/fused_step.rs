//! Whole cells run two ways give the same voltage trace to the last bit: the default (each
//! density mechanism's step as one machine-code program that loads and scatters node values
//! itself) and `--no-jit` (the bytecode interpreter, values moved by the adapter's separate
//! passes). The example cell always; every template of ../shared/cells and the Allen model when
//! present (skipped loudly otherwise), under a current step that makes most of them fire.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The soma voltage trace of `cell` (the cell-selection options) under the current step.
fn trace(cell: &[&str], name: &str, extra: &[&str], dir: &Path) -> String {
    let out = dir.join(format!("{name}{}.csv", extra.len()));
    let csv = out.to_str().unwrap();
    let mut args = vec!["util", "cell"];
    args.extend_from_slice(cell);
    args.extend_from_slice(extra);
    args.extend([
        "iclamp",
        "--dt",
        "0.025",
        "--inj-amp",
        "200",
        "--inj-delay",
        "20",
        "--inj-dur",
        "150",
        "--tstop",
        "200",
        "--trace-csv",
        csv,
        "--force",
    ]);
    let run = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn same_both_ways(cell: &[&str], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let fused = trace(cell, name, &[], dir.path());
    let plain = trace(cell, name, &["--no-jit"], dir.path());
    assert!(fused.lines().count() > 8000, "{name}: short trace");
    if let Some((k, (a, b))) = fused
        .lines()
        .zip(plain.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!("{name}: line {k} differs: fused {a} vs --no-jit {b}");
    }
    assert_eq!(fused.lines().count(), plain.lines().count(), "{name}");
}

fn hoc_cell(hoc: &Path, template: &str) {
    let hoc = hoc.to_str().unwrap();
    same_both_ways(&["--hoc", hoc, "--template", template], template);
}

#[test]
fn example_cell_fused_and_interpreted_agree_to_the_bit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    hoc_cell(&root.join("examples/cell/templates.hoc"), "DemoCell");
}

#[test]
fn shared_cells_fused_and_interpreted_agree_to_the_bit() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cells");
    if !shared.is_dir() {
        eprintln!("\n*** SKIPPED: ../shared/cells not found ***\n");
        return;
    }
    let cells: [(&str, &[&str]); 4] = [
        ("amygdala_feng/feng.hoc", &["Cell_Af", "Cell_Cf"]),
        ("ballstick_hh/ballstick.hoc", &["BallStick_HH"]),
        ("bmtool_tutorial/templates.hoc", &["CP_Cell", "FSI_Cell"]),
        ("wb_rtm/cell_templates.hoc", &["WBInhCell", "RTMExcCell"]),
    ];
    for (file, templates) in cells {
        let hoc: PathBuf = shared.join(file);
        for template in templates {
            hoc_cell(&hoc, template);
        }
    }
    // The Allen perisomatic model: SK reads the calcium that CaDynamics writes.
    let allen = shared.join("allen_386049446");
    let swc = allen.join("Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc");
    let fit = allen.join("386049446_fit.json");
    let (swc, fit) = (swc.to_str().unwrap(), fit.to_str().unwrap());
    same_both_ways(&["--swc", swc, "--fit-json", fit], "Allen_386049446");
}
