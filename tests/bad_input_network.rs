//! Bad model directories: every case gets exit code 2 and one line on stderr naming the file and
//! the dataset or line at fault, never a panic, and no picture is written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bmtool::sonata::h5::{Attr, Data, H5Tree};

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn tiny() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    common::tiny_net::write_tiny_net(&root);
    Case { _dir: dir, root }
}

fn run(config: &Path, extra: &[&str], save: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmtool"));
    cmd.args(["plot", "--config"]).arg(config).arg("connection");
    cmd.args(extra).arg("--save-file").arg(save).arg("total");
    cmd.output().unwrap()
}

/// Run on `case` and check the failure contract; returns stderr.
fn fails(case: &Case, config: &Path, extra: &[&str], must_name: &[&str]) -> String {
    let save = case.root.join("out.png");
    let out = run(config, extra, &save);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    for word in must_name {
        assert!(stderr.contains(word), "'{word}' missing from: {stderr}");
    }
    assert!(!save.exists(), "no output may be written");
    stderr
}

#[test]
fn missing_config() {
    let c = tiny();
    fails(
        &c,
        &c.root.join("nope.json"),
        &[],
        &["nope.json", "not found"],
    );
}

#[test]
fn config_that_is_not_json() {
    let c = tiny();
    std::fs::write(c.root.join("simulation_config.json"), "{ \"run\": [1, 2,\n").unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["simulation_config.json", "line"],
    );
}

#[test]
fn config_without_networks() {
    let c = tiny();
    std::fs::write(
        c.root.join("simulation_config.json"),
        r#"{"run": {"tstop": 10}}"#,
    )
    .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["simulation_config.json", "networks"],
    );
}

#[test]
fn unknown_population_in_sources() {
    let c = tiny();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &["--sources", "hippocampus"],
        &["hippocampus", "cortex", "input"],
    );
}

#[test]
fn missing_nodes_h5() {
    let c = tiny();
    std::fs::remove_file(c.root.join("network/cortex_nodes.h5")).unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["cortex_nodes.h5", "not found"],
    );
}

#[test]
fn missing_types_csv() {
    let c = tiny();
    std::fs::remove_file(c.root.join("network/input_node_types.csv")).unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["input_node_types.csv"],
    );
}

#[test]
fn csv_with_a_wrong_header() {
    let c = tiny();
    std::fs::write(
        c.root.join("network/cortex_node_types.csv"),
        "node_type,pop_name\n100,PN\n",
    )
    .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["cortex_node_types.csv:1", "node_type_id"],
    );
}

#[test]
fn csv_missing_a_node_type() {
    let c = tiny();
    std::fs::write(
        c.root.join("network/cortex_node_types.csv"),
        "node_type_id pop_name\n100 PN\n",
    )
    .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["cortex_nodes.h5", "/nodes/cortex/node_type_id", "101"],
    );
}

#[test]
fn required_dataset_missing() {
    let c = tiny();
    let mut t = H5Tree::new();
    t.dataset(
        "/edges/input_to_cortex/source_node_id",
        Data::U64(vec![0, 1]),
    )
    .dataset_attr(
        "/edges/input_to_cortex/source_node_id",
        "node_population",
        Attr::Str("input".into()),
    )
    .dataset(
        "/edges/input_to_cortex/edge_type_id",
        Data::U32(vec![100, 100]),
    );
    t.write(&c.root.join("network/input_cortex_edges.h5"), true)
        .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["input_cortex_edges.h5", "target_node_id"],
    );
}

#[test]
fn truncated_hdf5() {
    let c = tiny();
    let path = c.root.join("network/cortex_cortex_edges.h5");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["cortex_cortex_edges.h5"],
    );
}

#[test]
fn not_hdf5_at_all() {
    let c = tiny();
    std::fs::write(
        c.root.join("network/cortex_nodes.h5"),
        "node_id,node_type_id\n0,100\n",
    )
    .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["cortex_nodes.h5"],
    );
}

#[test]
fn edge_id_out_of_range() {
    let c = tiny();
    let mut t = H5Tree::new();
    let pop = "/edges/input_to_cortex";
    t.dataset(&format!("{pop}/source_node_id"), Data::U64(vec![0, 7]))
        .dataset_attr(
            &format!("{pop}/source_node_id"),
            "node_population",
            Attr::Str("input".into()),
        )
        .dataset(&format!("{pop}/target_node_id"), Data::U64(vec![0, 1]))
        .dataset_attr(
            &format!("{pop}/target_node_id"),
            "node_population",
            Attr::Str("cortex".into()),
        )
        .dataset(&format!("{pop}/edge_type_id"), Data::U32(vec![100, 100]));
    t.write(&c.root.join("network/input_cortex_edges.h5"), true)
        .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["input_cortex_edges.h5", "source_node_id", "7"],
    );
}

#[test]
fn undefined_manifest_variable() {
    let c = tiny();
    let text = std::fs::read_to_string(c.root.join("circuit_config.json")).unwrap();
    std::fs::write(
        c.root.join("circuit_config.json"),
        text.replace("$NETWORK_DIR/input_nodes", "$NET_DIR/input_nodes"),
    )
    .unwrap();
    fails(
        &c,
        &c.root.join("simulation_config.json"),
        &[],
        &["circuit_config.json", "$NET_DIR"],
    );
}

#[test]
fn picture_with_an_unknown_extension() {
    let c = tiny();
    let out = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["plot", "--config"])
        .arg(c.root.join("simulation_config.json"))
        .args(["connection", "total", "--save-file"])
        .arg(c.root.join("m.jpg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("m.jpg"));
    assert!(!c.root.join("m.jpg").exists());
}

/// A dataset whose header claims far more values than the file could hold (a damaged dataspace:
/// fixtures/h5/damaged_shape.h5 was written by h5py in its default layout, without header
/// checksums, as a chunked gzip dataset `/d` of 4321 zeros; its length was then overwritten by
/// 2^50) is an error naming the file and the dataset, before a read tries to reserve the values.
#[test]
fn dataset_claiming_more_than_the_file_holds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/h5/damaged_shape.h5");
    let file = bmtool::sonata::h5::H5File::open(&path).unwrap();
    for result in [
        file.read_u64("/d").map(|_| ()),
        file.read_f64("/d").map(|_| ()),
        file.read_column("/d").map(|_| ()),
    ] {
        let message = result
            .expect_err("a damaged shape must be refused")
            .to_string();
        assert!(
            message.contains("damaged_shape.h5") && message.contains("/d"),
            "{message}"
        );
        assert!(message.contains("damaged header"), "{message}");
    }
}
