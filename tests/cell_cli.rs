//! `bmtool util cell mechanisms` on the example mod folder (values as written in
//! examples/cell/modfiles) and the Allen `--swc/--fit-json` source through the binary
//! (total membrane area as NEURON reports it in ../shared/reference/cells/Allen_386049446).

mod common;

use std::process::Command;

fn bmtool(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn mechanisms_lists_the_example_mod_folder() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cell/modfiles");
    let out = bmtool(&[
        "util",
        "cell",
        "mechanisms",
        "--mod-folder",
        folder,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kdr_demo", "leak_demo", "na_demo"]);
    let text = json.to_string();
    // Defaults as written in the mod files.
    assert!(
        text.contains("0.036") && text.contains("0.0003") && text.contains("0.12"),
        "{text}"
    );
}

#[test]
fn mechanisms_of_a_missing_folder_is_one_line_and_exit_2() {
    let out = bmtool(&[
        "util",
        "cell",
        "mechanisms",
        "--mod-folder",
        "/nonexistent/modfiles",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/modfiles") && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn allen_cell_from_swc_and_fit_json() {
    let Some(shared) = common::shared_or_skip("allen_cell_from_swc_and_fit_json") else {
        return;
    };
    let dir = shared.join("cells/allen_386049446");
    let swc = dir.join("Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc");
    let fit = dir.join("386049446_fit.json");
    let out = bmtool(&[
        "util",
        "cell",
        "--swc",
        swc.to_str().unwrap(),
        "--fit-json",
        fit.to_str().unwrap(),
        "info",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reference =
        common::json(&shared.join("reference/cells/Allen_386049446/dt0.025/cell_info.json"));
    let total = |v: &serde_json::Value| -> f64 {
        v["total_area_um2"]
            .as_f64()
            .or_else(|| v["total_area_um2"].as_str().and_then(|s| s.parse().ok()))
            .unwrap()
    };
    assert!((total(&ours) - total(&reference)).abs() / total(&reference) < 1e-9);
    assert_eq!(ours["sections"].as_array().unwrap().len(), 42);
}
