//! The network plot commands end to end on the shipped example model (`examples/tiny_net`),
//! whose spikes, report, rotations and wiring are known by construction (see
//! tests/common/tiny_net.rs): every number asserted here follows from how the files were
//! written. Also the bad-input cases: one-line errors and exit code 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::tiny_net::{report_value, REPORT_NODES, SPIKES};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tiny_net/simulation_config.json")
}

fn bmtool(config: &Path, args: &[&str]) -> Output {
    let first = args.first().copied().unwrap_or("");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmtool"));
    if first == "graph" {
        cmd.arg("graph")
            .arg("--config")
            .arg(config)
            .args(&args[1..]);
    } else {
        cmd.arg("plot").arg("--config").arg(config).args(args);
    }
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn is_picture(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let png = bytes.len() > 4 && &bytes[1..4] == b"PNG";
    let svg = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).contains("<svg");
    assert!(png || svg, "{} is not a picture", path.display());
}

#[test]
fn raster_counts_follow_from_the_spikes_written() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("raster.png");
    let out = bmtool(
        &example(),
        &[
            "raster",
            "--format",
            "csv",
            "--save-file",
            png.to_str().unwrap(),
        ],
    );
    let rows = csv_rows(&ok(&out));
    // population,group,cells,cells_fired,spikes,rate_all_cells_hz,rate_firing_cells_hz
    assert_eq!(rows[0][..5], ["cortex", "PN", "4", "3", "6"]);
    assert_eq!(rows[0][5].parse::<f64>().unwrap(), 1.5);
    assert_eq!(rows[0][6].parse::<f64>().unwrap(), 2.0);
    assert_eq!(rows[1][..5], ["cortex", "PV", "2", "1", "4"]);
    assert_eq!(rows[1][5].parse::<f64>().unwrap(), 2.0);
    assert_eq!(rows[1][6].parse::<f64>().unwrap(), 4.0);
    is_picture(&png);

    // The CSV spikes file gives the same counts; a window keeps only its spikes.
    let csv = example().parent().unwrap().join("output/spikes.csv");
    let out = bmtool(
        &example(),
        &[
            "raster",
            "--format",
            "csv",
            "--spikes-file",
            csv.to_str().unwrap(),
            "--tstart",
            "0",
            "--tstop",
            "55",
        ],
    );
    let rows = csv_rows(&ok(&out));
    let in_window = |pn: bool| {
        SPIKES
            .iter()
            .filter(|(t, id)| *t <= 55.0 && (*id < 4) == pn)
            .count()
    };
    assert_eq!(rows[0][4], in_window(true).to_string());
    assert_eq!(rows[1][4], in_window(false).to_string());
    // 1 spike (node 4, at 50 ms) over 2 PV cells in 55 ms.
    assert!((rows[1][5].parse::<f64>().unwrap() - 1.0 / 2.0 / 0.055).abs() < 1e-9);
}

#[test]
fn report_values_equal_the_written_samples_through_the_mapping() {
    let out = bmtool(
        &example(),
        &[
            "report",
            "--report",
            "v_report",
            "--node-ids",
            "0,2,4",
            "--format",
            "csv",
        ],
    );
    let rows = csv_rows(&ok(&out));
    assert_eq!(rows.len(), common::tiny_net::REPORT_SAMPLES);
    for (r, row) in rows.iter().enumerate() {
        assert!((row[0].parse::<f64>().unwrap() - r as f64 * 0.1).abs() < 1e-12);
        for (k, node) in [0u64, 2, 4].iter().enumerate() {
            assert_eq!(row[k + 1].parse::<f64>().unwrap(), report_value(*node, r));
        }
    }
    // A window 0.2..0.5 ms keeps samples 2..=5; the table's min and max follow.
    let out = bmtool(
        &example(),
        &[
            "report", "--tstart", "0.2", "--tstop", "0.5", "--format", "json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let rows = json[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), REPORT_NODES.len());
    for (row, node) in rows.iter().zip(REPORT_NODES) {
        assert_eq!(row["node_id"], node);
        assert_eq!(row["samples"], 4);
        assert_eq!(row["min"].as_f64().unwrap(), report_value(node, 2));
        assert_eq!(row["max"].as_f64().unwrap(), report_value(node, 5));
    }
}

#[test]
fn rotation_arrows_point_where_the_angles_say() {
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("rot.svg");
    let out = bmtool(
        &example(),
        &[
            "cell",
            "rotation",
            "--populations",
            "cortex",
            "--format",
            "csv",
            "--save-file",
            svg.to_str().unwrap(),
        ],
    );
    let expected: [[f64; 3]; 6] = [
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, -1.0],
        [0.0, 1.0, 0.0],
    ];
    let rows = csv_rows(&ok(&out));
    assert_eq!(rows.len(), 6);
    for row in rows {
        let id: usize = row[2].parse().unwrap();
        for k in 0..3 {
            let d: f64 = row[6 + k].parse().unwrap();
            assert!((d - expected[id][k]).abs() < 1e-12, "node {id}: {row:?}");
        }
    }
    is_picture(&svg);
    // --group and --max-cells select cells.
    let out = bmtool(
        &example(),
        &[
            "cell",
            "rotation",
            "--group-by",
            "pop_name",
            "--group",
            "PN",
            "--max-cells",
            "3",
            "--format",
            "csv",
        ],
    );
    assert_eq!(csv_rows(&ok(&out)).len(), 3);
}

#[test]
fn positions_summary_and_graph_follow_from_the_wiring() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("pos.png");
    let out = bmtool(
        &example(),
        &[
            "positions",
            "--group-by",
            "pop_name",
            "--format",
            "csv",
            "--save-file",
            png.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("'input' has no positions"));
    let rows = csv_rows(&ok(&out));
    // PN at (0,0,0), (10,0,0), (0,10,0), (10,10,0); PV at (5,5,20), (5,5,-20).
    assert_eq!(rows[0][..4], ["cortex", "PN", "4", "4"]);
    assert_eq!(rows[0][4..7], ["5", "5", "0"]);
    assert_eq!(rows[1][..4], ["cortex", "PV", "2", "2"]);
    assert_eq!(rows[1][4..7], ["5", "5", "0"]);
    is_picture(&png);

    let out = bmtool(&example(), &["summary", "--format", "csv"]);
    let text = ok(&out);
    assert!(
        text.contains("cortex,100,PN,point_neuron,nrn:IntFire1,,4"),
        "{text}"
    );
    assert!(text.contains("cortex,101,PV,point_neuron,nrn:IntFire1,,2"));
    assert!(text.contains("input,100,thal,virtual,,,3"));
    assert!(text.contains("cortex_to_cortex,cortex,cortex,20"));
    assert!(text.contains("input_to_cortex,input,cortex,4"));
    // `cells` is the same command.
    assert_eq!(ok(&bmtool(&example(), &["cells", "--format", "csv"])), text);

    // 9 cells; 20 + 4 edge rows, every one a distinct cell pair.
    let out = bmtool(&example(), &["graph", "--format", "json", "stats"]);
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(json[0]["rows"][0]["nodes"], 9);
    assert_eq!(json[0]["rows"][0]["edges"], 24);
    let csv = tmp.path().join("cells.csv");
    ok(&bmtool(
        &example(),
        &["graph", "export-csv", csv.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "node,Node Label,PN incoming Connections,PV incoming Connections,thal incoming Connections"
    );
    // Node 0 hears PN 3 (ring), both PV, thal 0; PV node 4 hears 4 PN and thal 0.
    assert_eq!(lines[1], "cortex:0,PN,1,2,1");
    assert_eq!(lines[5], "cortex:4,PV,4,0,1");
    assert_eq!(lines[7], "input:0,thal,0,0,0");
    let graph_png = tmp.path().join("graph.png");
    ok(&bmtool(
        &example(),
        &["graph", "plot", graph_png.to_str().unwrap()],
    ));
    is_picture(&graph_png);
}

#[test]
fn connection_views_follow_from_the_wiring() {
    let tmp = tempfile::tempdir().unwrap();
    let by_pop = ["connection", "--sids", "pop_name", "--tids", "pop_name"];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = by_pop.to_vec();
        args.extend(extra);
        bmtool(&example(), &args)
    };
    // Every PN->PV pair is connected and all 8 are at the same distance: P = 1.
    let png = tmp.path().join("prob.png");
    let out = run(&[
        "--sources",
        "cortex",
        "--format",
        "csv",
        "--save-file",
        png.to_str().unwrap(),
        "prob",
    ]);
    let rows = csv_rows(&ok(&out));
    let pn_pv: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[0] == "cortex_PN" && r[1] == "cortex_PV")
        .collect();
    let sum = |k: usize| {
        pn_pv
            .iter()
            .map(|r| r[k].parse::<u64>().unwrap())
            .sum::<u64>()
    };
    assert_eq!((sum(4), sum(5)), (8, 8));
    assert!(pn_pv.iter().any(|r| r[6] == "1"));
    is_picture(&png);

    // Both PV cells receive from all 4 PN.
    let out = run(&[
        "--format",
        "json",
        "histogram",
        "--source-group",
        "cortex_PN",
        "--target-group",
        "cortex_PV",
    ]);
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(json[0]["rows"][0]["target_cells"], 2);
    assert_eq!(json[0]["rows"][0]["mean"], 4.0);

    // delay comes from the edge-types CSV: 2.0 within cortex, 1.5 from the input.
    let out = run(&[
        "--format",
        "csv",
        "property-histogram-matrix",
        "--edge-property",
        "delay",
    ]);
    let rows = csv_rows(&ok(&out));
    let find = |s: &str, t: &str| {
        rows.iter()
            .find(|r| r[0] == s && r[1] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(find("cortex_PN", "cortex_PV")[2..4], ["8", "2"]);
    assert_eq!(find("input_thal", "cortex_PN")[2..4], ["3", "1.5"]);

    let dot = tmp.path().join("net.dot");
    let png = tmp.path().join("net.png");
    let out = run(&[
        "--save-file",
        png.to_str().unwrap(),
        "network-graph",
        "--dot",
        dot.to_str().unwrap(),
    ]);
    let text = ok(&out);
    assert!(text.starts_with("digraph network {"));
    assert!(text.contains("\"cortex_PN\" -> \"cortex_PV\" [label=\"exp2syn\""));
    assert!(!text.contains("\"cortex_PV\" -> \"cortex_PV\""));
    assert_eq!(std::fs::read_to_string(&dot).unwrap(), text);
    is_picture(&png);
}

/// A copy of the example to break.
fn broken_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    common::tiny_net::write_tiny_net(tmp.path());
    let config = tmp.path().join("simulation_config.json");
    (tmp, config)
}

fn fails(out: &Output, must_name: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for word in must_name {
        assert!(err.contains(word), "'{word}' missing from: {err}");
    }
}

#[test]
fn bad_inputs_give_one_line_and_exit_code_2() {
    let (tmp, config) = broken_copy();
    fails(
        &bmtool(&config, &["report", "--report", "ecp"]),
        &["report 'ecp' is not in the config's reports", "v_report"],
    );
    fails(
        &bmtool(&config, &["report", "--node-ids", "0,1"]),
        &[
            "v_report.h5",
            "mapping/node_ids",
            "node 1 is not in this report",
        ],
    );
    fails(
        &bmtool(&config, &["report", "--node-ids", "0,x"]),
        &["'x' is not a node id"],
    );
    fails(
        &bmtool(&config, &["connection", "--sources", "input", "prob"]),
        &["input_nodes.h5", "'input' has no positions"],
    );
    fails(
        &bmtool(&config, &["connection", "prob", "--axis", "x,w"]),
        &["'w'"],
    );
    fails(
        &bmtool(
            &config,
            &[
                "connection",
                "histogram",
                "--source-group",
                "cortex_XX",
                "--target-group",
                "cortex_PV",
            ],
        ),
        &["no group 'cortex_XX'"],
    );
    fails(
        &bmtool(&config, &["cell", "rotation", "--init-vector", "0,0,0"]),
        &["--init-vector"],
    );
    fails(
        &bmtool(&config, &["raster", "--population", "nowhere"]),
        &["unknown population 'nowhere'"],
    );
    std::fs::remove_file(tmp.path().join("output/spikes.h5")).unwrap();
    fails(
        &bmtool(&config, &["raster"]),
        &["spikes.h5", "spikes file not found"],
    );
    std::fs::write(tmp.path().join("output/spikes.csv"), "time id\n1 2\n").unwrap();
    fails(
        &bmtool(
            &config,
            &[
                "raster",
                "--spikes-file",
                tmp.path().join("output/spikes.csv").to_str().unwrap(),
            ],
        ),
        &["spikes.csv", "'timestamps'"],
    );
    std::fs::remove_file(tmp.path().join("output/v_report.h5")).unwrap();
    fails(
        &bmtool(&config, &["report"]),
        &["v_report.h5", "file not found"],
    );
}
