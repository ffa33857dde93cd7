//! Whole cells run two ways give the same voltage trace to the last bit: the default (each
//! density mechanism's step as one machine-code program that loads and scatters node values
//! itself) and `--no-jit` (the bytecode interpreter, values moved by the adapter's separate
//! passes). The example cell always; every template of ../shared/cells when present (skipped
//! loudly otherwise), under a current step that makes most of them fire.

use std::path::{Path, PathBuf};
use std::process::Command;

fn trace(hoc: &Path, template: &str, extra: &[&str], dir: &Path) -> String {
    let out = dir.join(format!("{template}{}.csv", extra.len()));
    let hoc = hoc.to_str().unwrap();
    let csv = out.to_str().unwrap();
    let mut args = vec!["util", "cell", "--hoc", hoc, "--template", template];
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
        "{template}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn same_both_ways(hoc: &Path, template: &str) {
    let dir = tempfile::tempdir().unwrap();
    let fused = trace(hoc, template, &[], dir.path());
    let plain = trace(hoc, template, &["--no-jit"], dir.path());
    assert!(fused.lines().count() > 8000, "{template}: short trace");
    if let Some((k, (a, b))) = fused
        .lines()
        .zip(plain.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        panic!("{template}: line {k} differs: fused {a} vs --no-jit {b}");
    }
    assert_eq!(fused.lines().count(), plain.lines().count(), "{template}");
}

#[test]
fn example_cell_fused_and_interpreted_agree_to_the_bit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    same_both_ways(&root.join("examples/cell/templates.hoc"), "DemoCell");
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
            same_both_ways(&hoc, template);
        }
    }
}
