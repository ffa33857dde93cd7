//! The shipped example model (`examples/tiny_net`), whose connectivity is known by construction
//! (see tests/common/tiny_net.rs): the matrices must equal the counts and percentages that follow
//! from how it was wired, through the library and through the binary.

mod common;

use std::path::PathBuf;
use std::process::Command;

use bmtool::network::{connection_matrix, CountMode, MatrixOptions, Measure, PercentMethod, Stat};
use bmtool::sonata::Circuit;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tiny_net/simulation_config.json")
}

fn by_pop_name() -> MatrixOptions {
    MatrixOptions {
        sids: vec!["pop_name".into()],
        tids: vec!["pop_name".into()],
        ..MatrixOptions::default()
    }
}

/// Rebuild examples/tiny_net from tests/common/tiny_net.rs (run with --ignored after changing it).
#[test]
#[ignore]
fn regenerate_example_model() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tiny_net");
    common::tiny_net::write_tiny_net(&dir);
}

#[test]
fn shipped_example_equals_its_construction() {
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_net::write_tiny_net(tmp.path());
    for config in [example(), tmp.path().join("simulation_config.json")] {
        let c = Circuit::load(&config).unwrap();
        let m = connection_matrix(&c, Measure::Total { synfo: 0 }, &by_pop_name()).unwrap();
        assert_eq!(m.row_labels, ["cortex_PN", "cortex_PV", "input_thal"]);
        assert_eq!(m.col_labels, ["cortex_PN", "cortex_PV"]);
        // PN ring 4, PN->PV 4x2, PV->PN 2x4, PV->PV none; thal j->PN j (3) and thal 0->PV (1).
        assert_eq!(
            m.values,
            vec![vec![4.0, 8.0], vec![8.0, 0.0], vec![3.0, 1.0]]
        );
    }
}

#[test]
fn synapses_pairs_percent_and_convergence_follow_from_the_wiring() {
    let c = Circuit::load(&example()).unwrap();
    let mut opts = by_pop_name();
    opts.count = CountMode::Synapses;
    let syn = connection_matrix(&c, Measure::Total { synfo: 0 }, &opts).unwrap();
    // PN->PV rows carry nsyns 2; input edges have no nsyns and count 1 each.
    assert_eq!(
        syn.values,
        vec![vec![4.0, 16.0], vec![8.0, 0.0], vec![3.0, 1.0]]
    );

    let opts = by_pop_name();
    let pct = |m| {
        connection_matrix(&c, Measure::Percent(m), &opts)
            .unwrap()
            .values
    };
    // PN ring: 4 of the 6 unordered PN pairs connected, none both ways; PN<->PV all reciprocal.
    let total = pct(PercentMethod::Total);
    assert!((total[0][0] - 400.0 / 6.0).abs() < 1e-9);
    assert_eq!(total[0][1], 100.0);
    assert_eq!(pct(PercentMethod::Bi)[0][1], 100.0);
    assert_eq!(pct(PercentMethod::Bi)[0][0], 0.0);
    assert_eq!(pct(PercentMethod::Uni)[0][0], total[0][0]);
    // thal reaches 3 of 4 PN and 1 of 2 PV.
    assert_eq!(pct(PercentMethod::Innervation)[2], vec![75.0, 50.0]);

    let conv = connection_matrix(&c, Measure::Convergence(Stat::Mean), &opts).unwrap();
    // Every PV cell receives from all 4 PN; every PN from both PV.
    assert_eq!(conv.values[0][1], 4.0);
    assert_eq!(conv.values[1][0], 2.0);
    let div = connection_matrix(&c, Measure::Divergence(Stat::Max), &opts).unwrap();
    assert_eq!(div.values[2][0], 1.0);
}

#[test]
fn the_binary_prints_tables_csv_and_json_and_saves_a_heatmap() {
    let bin = env!("CARGO_BIN_EXE_bmtool");
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("total.png");
    let out = Command::new(bin)
        .args(["plot", "--config"])
        .arg(example())
        .args([
            "connection",
            "--sids",
            "pop_name",
            "--tids",
            "pop_name",
            "total",
            "--save-file",
        ])
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["input_thal", "3", "1"]),
        "{table}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");

    let out = Command::new(bin)
        .args(["plot", "--config"])
        .arg(example())
        .args([
            "connection",
            "--sids",
            "pop_name",
            "--tids",
            "pop_name",
            "--format",
            "json",
            "total",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["values"][0][1], 8.0);

    let out = Command::new(bin)
        .args(["plot", "--config"])
        .arg(example())
        .args([
            "connection",
            "--no-prepend-pop",
            "--sids",
            "pop_name",
            "--tids",
            "pop_name",
            "--format",
            "csv",
            "total",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.lines().any(|l| l == "PN,PV,8"), "{csv}");

    // An existing picture is not replaced without --force.
    let out = Command::new(bin)
        .args(["plot", "--config"])
        .arg(example())
        .args(["connection", "total", "--save-file"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
}
