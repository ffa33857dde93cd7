//! The README's main job: protocols on the shipped example cell (examples/cell: our own HOC
//! template and mod files) through the binary, against NEURON 8.2.4 on the same cell
//! (fixtures/example_cell_neuron.json, made by tools/neuron_reference/example_cell.py): the FI
//! spike counts equal, V_rest within 0.05 mV and R_in within 0.5 % (the tolerances).

use std::path::Path;
use std::process::Command;

fn neuron() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example_cell_neuron.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bmtool(args: &[&str]) -> (serde_json::Value, String) {
    let hoc = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cell/templates.hoc");
    let out = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["util", "cell", "--hoc", hoc])
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn fi_curve_equals_neuron() {
    let (ours, stderr) = bmtool(&["fi"]);
    let want = neuron();
    assert_eq!(ours["nspks"], want["fi_spikes"]);
    let amps: Vec<f64> = ours["amps_pa"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    for (a, w) in amps.iter().zip(want["fi_amps_pa"].as_array().unwrap()) {
        assert!((a - w.as_f64().unwrap()).abs() < 1e-9);
    }
    // bmtool's float trial count leaves out i_stop = 1000 pA, and we say so.
    assert!(stderr.contains("--inclusive"), "{stderr}");
}

/// FI trials continue one shared pre-stimulus run (a clone per amplitude): each must count what
/// a separate current clamp with the same step counts.
#[test]
fn fi_trials_count_what_separate_clamps_count() {
    let (fi, _) = bmtool(&["fi"]);
    for (k, amp) in [(3, "300"), (6, "600")] {
        let (clamp, _) = bmtool(&[
            "iclamp",
            "--inj-amp",
            amp,
            "--inj-delay",
            "150",
            "--inj-dur",
            "1000",
            "--tstop",
            "1150",
            "--threshold",
            "0",
        ]);
        assert_eq!(fi["nspks"][k], clamp["nspks"], "{amp} pA");
    }
}

#[test]
fn passive_properties_equal_neuron() {
    let (ours, _) = bmtool(&["passive"]);
    let want = &neuron()["passive"];
    let v_rest = ours["v_rest_mv"].as_f64().unwrap();
    assert!((v_rest - want["v_rest_mv"].as_f64().unwrap()).abs() < 0.05);
    let r_in = ours["r_in_mohm"].as_f64().unwrap();
    let want_r = want["r_in_mohm"].as_f64().unwrap();
    assert!((r_in - want_r).abs() / want_r < 0.005, "{r_in} vs {want_r}");
}

#[test]
fn protocol_errors_are_one_line() {
    let hoc = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cell/templates.hoc");
    for args in [
        vec!["iclamp", "--tstop", "50"],
        vec!["passive", "--dt", "-0.1"],
        vec!["iclamp", "--section", "axon"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bmtool"))
            .args(["util", "cell", "--hoc", hoc])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
