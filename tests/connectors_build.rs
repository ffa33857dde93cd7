//! `bmtool connectors build`, end to end: the files are BMTK's layout and load with our reader,
//! the connection matrices of the built network equal the counts the build report prints, the
//! same spec and seed give byte-identical files (and the committed examples/demo_net/model is
//! exactly what its spec builds), and bad specs fail with one line, exit code 2 and nothing
//! written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bmtool::network::connectors::model_dir::{list_files, write_model_dir};
use bmtool::network::connectors::{build_network, Spec};
use bmtool::network::{connection_matrix, CountMode, MatrixOptions, Measure};
use bmtool::sonata::{Circuit, H5File};

fn demo_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo_net/spec.toml")
}

fn bmtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(args)
        .output()
        .unwrap()
}

fn build(spec: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "connectors",
        "build",
        spec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    bmtool(&args)
}

fn same_files(a: &Path, b: &Path) -> Result<(), String> {
    let (fa, fb) = (list_files(a), list_files(b));
    if fa != fb {
        return Err(format!("file lists differ: {fa:?} vs {fb:?}"));
    }
    for f in &fa {
        if std::fs::read(a.join(f)).unwrap() != std::fs::read(b.join(f)).unwrap() {
            return Err(format!("{} differs", f.display()));
        }
    }
    Ok(())
}

#[test]
fn same_spec_and_seed_give_byte_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    assert!(build(&demo_spec(), &a, &[]).status.success());
    assert!(build(&demo_spec(), &b, &[]).status.success());
    same_files(&a, &b).unwrap();
    assert!(build(&demo_spec(), &c, &["--seed", "7"]).status.success());
    assert!(
        same_files(&a, &c).is_err(),
        "another seed must give another network"
    );
}

/// A JSON spec with the same fields builds the same files as the TOML one.
#[test]
fn json_spec_builds_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(demo_spec()).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    let json = tmp.path().join("spec.json");
    std::fs::write(&json, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert!(build(&demo_spec(), &a, &[]).status.success());
    let run = build(&json, &b, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    same_files(&a, &b).unwrap();
}

#[test]
fn committed_demo_is_what_its_spec_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    let run = build(&demo_spec(), &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo_net/model");
    same_files(&committed, &out).unwrap_or_else(|e| {
        panic!("{e}: rebuild with `bmtool connectors build examples/demo_net/spec.toml -o examples/demo_net/model --force`")
    });
}

/// The demo's blocks each join distinct (population, pop_name) pairs, and PN-PV is reciprocal
/// (both directions), so every matrix cell is a report count known from the spec's structure.
#[test]
fn matrices_of_the_built_network_equal_the_report() {
    let spec = Spec::read(&demo_spec()).unwrap();
    let built = build_network(&spec, spec.seed.unwrap()).unwrap();
    let reports = built.reports.clone();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    write_model_dir(built, &dir, false).unwrap();
    let circuit = Circuit::load(&dir.join("simulation_config.json")).unwrap();
    let r = |name: &str| reports.iter().find(|r| r.name == name).unwrap();
    let fwd = |name: &str| r(name).forward.unwrap().realised as f64;
    let bwd = |name: &str| r(name).backward.unwrap().realised as f64;
    let opts = MatrixOptions {
        sids: vec!["pop_name".into()],
        tids: vec!["pop_name".into()],
        ..MatrixOptions::default()
    };
    let m = connection_matrix(&circuit, Measure::Total { synfo: 0 }, &opts).unwrap();
    assert_eq!(
        m.row_labels,
        ["cortex_PN", "cortex_PV", "thalamus_thal", "bg_bg"]
    );
    assert_eq!(m.col_labels, ["cortex_PN", "cortex_PV"]);
    let expected = vec![
        vec![r("PN-PN").edges as f64, fwd("PN-PV")],
        vec![bwd("PN-PV"), r("PV-PV").edges as f64],
        vec![r("thal-PN").edges as f64, 0.0],
        vec![r("bg-PN").edges as f64, r("bg-PV").edges as f64],
    ];
    assert_eq!(m.values, expected);
    // Synapses: the spec's n_syn times the edges (PN-PV n_syn0 2, n_syn1 3; thal-PN 2).
    let syn = connection_matrix(
        &circuit,
        Measure::Total { synfo: 0 },
        &MatrixOptions {
            count: CountMode::Synapses,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(syn.values[0][1], 2.0 * fwd("PN-PV"));
    assert_eq!(syn.values[1][0], 3.0 * bwd("PN-PV"));
    assert_eq!(syn.values[2][0], 2.0 * r("thal-PN").edges as f64);
    let total_syn: f64 = syn.values.iter().flatten().sum();
    let report_syn: u64 = reports.iter().map(|r| r.synapses).sum();
    assert_eq!(total_syn, report_syn as f64);
}

/// Gap junctions: rows with `is_gap_junction` True in the edge types, counted by the matrix
/// only with `include_gap`, and listed in `<net>_gap_juncs.h5` (what bmtk's bionet reads), one
/// row per junction with gap ids 0, 1, 2, ...
#[test]
fn gap_junctions_are_written_as_bmtk_reads_them() {
    let text = r#"
[[nodes]]
network = "net"
pop_name = "PV"
N = 60
model_type = "biophysical"
[[edges]]
name = "chem"
source = { network = "net" }
target = { network = "net" }
connector = { type = "unidirection", p = 0.2 }
[[edges]]
name = "gap"
source = { network = "net" }
target = { network = "net" }
syn_weight = 0.0001
connector = { type = "correlated_gap_junction", p_non = 0.1, p_uni = 0.3, p_rec = 0.6, connector = "chem" }
"#;
    let spec = Spec::from_toml(text, Path::new("gap.toml")).unwrap();
    let built = build_network(&spec, 4).unwrap();
    let (chem, gap) = (built.reports[0].edges, built.reports[1].edges);
    assert!(gap > 0);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    write_model_dir(built, &dir, false).unwrap();
    let circuit = Circuit::load(&dir.join("circuit_config.json")).unwrap();
    let opts = MatrixOptions::default();
    let m = connection_matrix(&circuit, Measure::Total { synfo: 0 }, &opts).unwrap();
    assert_eq!(m.values, vec![vec![chem as f64]]);
    let with_gap = MatrixOptions {
        include_gap: true,
        ..opts
    };
    let m = connection_matrix(&circuit, Measure::Total { synfo: 0 }, &with_gap).unwrap();
    assert_eq!(m.values, vec![vec![(chem + gap) as f64]]);
    let f = H5File::open(&dir.join("network/net_gap_juncs.h5")).unwrap();
    let src = f.read_u64("/source_ids").unwrap();
    let trg = f.read_u64("/target_ids").unwrap();
    assert_eq!(src.len() as u64, gap);
    assert!(src.iter().zip(&trg).all(|(s, t)| s < t));
    let ids: Vec<u64> = (0..gap).collect();
    assert_eq!(
        f.read_u64("/src_gap_ids").unwrap(),
        ids.iter().map(|k| 2 * k).collect::<Vec<_>>()
    );
    assert_eq!(
        f.read_u64("/trg_gap_ids").unwrap(),
        ids.iter().map(|k| 2 * k + 1).collect::<Vec<_>>()
    );
    let config = std::fs::read_to_string(dir.join("circuit_config.json")).unwrap();
    assert!(config.contains("$NETWORK_DIR/net_gap_juncs.h5"));
}

/// Layout details that follow from the spec: node ids 0..N-1 per population, node types from
/// 100 in spec order, positions inside the cylinder, one-to-one wiring, edges sorted by target,
/// and Poisson counts near rate × N × duration.
#[test]
fn layout_follows_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    assert!(build(&demo_spec(), &dir, &[]).status.success());
    let circuit = Circuit::load(&dir.join("simulation_config.json")).unwrap();
    let cortex = circuit.node_population("cortex").unwrap();
    assert_eq!(cortex.len(), 100);
    let f = H5File::open(&dir.join("network/cortex_nodes.h5")).unwrap();
    assert_eq!(
        f.read_u64("/nodes/cortex/node_id").unwrap(),
        (0..100).collect::<Vec<_>>()
    );
    let types = f.read_u64("/nodes/cortex/node_type_id").unwrap();
    assert!(types[..80].iter().all(|t| *t == 100) && types[80..].iter().all(|t| *t == 101));
    let pos = f.read_f64("/nodes/cortex/0/positions").unwrap();
    assert_eq!(pos.len(), 300);
    for p in pos.chunks(3) {
        assert!(
            p[0].hypot(p[1]) <= 100.0 && p[2].abs() <= 100.0,
            "{p:?} outside the cylinder"
        );
    }
    // bg cell k drives cortex cell k (PN first, then PV: the counter runs across blocks).
    let e = H5File::open(&dir.join("network/bg_cortex_edges.h5")).unwrap();
    let s = e.read_u64("/edges/bg_to_cortex/source_node_id").unwrap();
    let t = e.read_u64("/edges/bg_to_cortex/target_node_id").unwrap();
    assert_eq!(s, (0..100).collect::<Vec<_>>());
    assert_eq!(t, (0..100).collect::<Vec<_>>());
    let cc = H5File::open(&dir.join("network/cortex_cortex_edges.h5")).unwrap();
    let targets = cc
        .read_u64("/edges/cortex_to_cortex/target_node_id")
        .unwrap();
    assert!(
        targets.windows(2).all(|w| w[0] <= w[1]),
        "edges must be sorted by target"
    );
    // Every target's index range holds exactly that target's edges.
    let n2r = cc
        .read_u64("/edges/cortex_to_cortex/indices/target_to_source/node_id_to_range")
        .unwrap();
    let r2e = cc
        .read_u64("/edges/cortex_to_cortex/indices/target_to_source/range_to_edge_id")
        .unwrap();
    for node in 0..n2r.len() / 2 {
        let mut count = 0;
        for range in n2r[2 * node] as usize..n2r[2 * node + 1] as usize {
            for edge in r2e[2 * range]..r2e[2 * range + 1] {
                assert_eq!(targets[edge as usize], node as u64);
                count += 1;
            }
        }
        assert_eq!(count, targets.iter().filter(|t| **t == node as u64).count());
    }
    // Poisson: thalamus 40 cells × 15 Hz × 1 s = 600 expected spikes, sd √600 ≈ 24.5; 4 sd.
    let sp = H5File::open(&dir.join("inputs/thalamus_spikes.h5")).unwrap();
    let ts = sp.read_f64("/spikes/thalamus/timestamps").unwrap();
    let ids = sp.read_u64("/spikes/thalamus/node_ids").unwrap();
    assert_eq!(ts.len(), ids.len());
    assert!(
        (ts.len() as f64 - 600.0).abs() < 4.0 * 600f64.sqrt(),
        "{}",
        ts.len()
    );
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert!(ts.iter().all(|t| (0.0..1000.0).contains(t)));
    assert!(ids.iter().all(|i| *i < 40));
    assert_eq!(
        sp.attr_string("/spikes/thalamus", "sorting")
            .unwrap()
            .as_deref(),
        Some("by_time")
    );
    assert_eq!(
        sp.attr_string("/spikes/thalamus/timestamps", "units")
            .unwrap()
            .as_deref(),
        Some("ms")
    );
}

#[test]
fn report_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let out = build(&demo_spec(), &tmp.path().join("m"), &["--format", "csv"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("block,connector,source,target,edges"));
    assert_eq!(lines.len(), 1 + 6, "one row per block");
    let out = build(&demo_spec(), &tmp.path().join("j"), &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6);
    assert_eq!(v[1]["reciprocal"]["pairs"], 80 * 20);
}

// ---------------------------------------------------------------- errors

struct Bad {
    _tmp: tempfile::TempDir,
    spec: PathBuf,
    out: PathBuf,
}

fn bad_spec(name: &str, text: &str) -> Bad {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join(name);
    std::fs::write(&spec, text).unwrap();
    let out = tmp.path().join("model");
    Bad {
        _tmp: tmp,
        spec,
        out,
    }
}

/// Exit 2, one line naming `words`, nothing written (not even a temporary folder).
fn fails(case: &Bad, words: &[&str]) {
    let run = build(&case.spec, &case.out, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    assert_eq!(run.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for w in words {
        assert!(stderr.contains(w), "'{w}' missing from: {stderr}");
    }
    let left: Vec<_> = std::fs::read_dir(case.out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.ends_with(".toml") && !n.ends_with(".json"))
        .collect();
    assert!(left.is_empty(), "nothing may be written: {left:?}");
}

fn demo_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(demo_spec()).unwrap();
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

#[test]
fn unknown_connector_names_the_line() {
    let c = bad_spec(
        "s.toml",
        &demo_with("type = \"reciprocal\"", "type = \"reciprocol\""),
    );
    fails(&c, &["s.toml:", "reciprocol"]);
}

#[test]
fn unknown_parameter_names_the_line() {
    let c = bad_spec("s.toml", &demo_with("p1 = 0.4", "p1 = 0.4\npee = 0.1"));
    let line = demo_with("p1 = 0.4", "p1 = 0.4\npee = 0.1")
        .lines()
        .position(|l| l.starts_with("pee"))
        .unwrap()
        + 1;
    fails(&c, &[&format!("s.toml:{line}:"), "pee"]);
}

#[test]
fn probability_outside_unit_interval() {
    let c = bad_spec("s.toml", &demo_with("p = 0.3 }", "p = 1.3 }"));
    fails(&c, &["PV-PV", "1.3", "outside [0, 1]"]);
}

#[test]
fn infeasible_reciprocal_setting() {
    let c = bad_spec("s.toml", &demo_with("pr = 0.2\n", "pr = 0.35\n"));
    fails(&c, &["PN-PV", "infeasible", "min(p0, p1) = 0.3"]);
}

#[test]
fn syntax_error_names_the_line() {
    let text = demo_with("N = 80", "N = = 80");
    let line = text.lines().position(|l| l.contains("N = = 80")).unwrap() + 1;
    let c = bad_spec("s.toml", &text);
    fails(&c, &[&format!("s.toml:{line}:")]);
    let c = bad_spec(
        "s.json",
        "{\n  \"nodes\": [\n    {\"network\": \"a\",}\n  ]\n}\n",
    );
    fails(&c, &["s.json:3:"]);
}

#[test]
fn existing_output_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let run = build(&demo_spec(), &out, &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    let run = build(&demo_spec(), &out, &["--force"]);
    assert!(run.status.success());
    assert!(!out.join("keep.txt").exists());
    assert!(out.join("circuit_config.json").exists());
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["model"], "no temporary folders may remain");
}

#[test]
fn distance_function_without_positions_is_refused() {
    let text = demo_with(
        "connector = { type = \"unidirection\", p = 0.1, n_syn = 2 }",
        "connector = { type = \"unidirection\", p = { function = \"gaussian\", stdev = 50.0 }, n_syn = 2 }",
    );
    let c = bad_spec("s.toml", &text);
    fails(&c, &["thal-PN", "positions"]);
}

#[test]
fn selections_must_name_cells_that_exist() {
    let c = bad_spec(
        "s.toml",
        &demo_with(
            "source = { network = \"thalamus\" }",
            "source = { network = \"thalamos\" }",
        ),
    );
    fails(&c, &["thal-PN", "unknown network 'thalamos'", "cortex"]);
    let c = bad_spec(
        "s.toml",
        &demo_with(
            "target = { network = \"cortex\", pop_name = \"PV\" }",
            "target = { network = \"cortex\", pop_name = \"SST\" }",
        ),
    );
    fails(&c, &["PN-PV", "selects no cells"]);
    let c = bad_spec("s.toml", "seed = 1\n");
    fails(&c, &["no [[nodes]]"]);
}

#[test]
fn correlated_gap_junction_needs_an_earlier_block() {
    let text = demo_with(
        "connector = { type = \"unidirection\", p = 0.3 }",
        "connector = { type = \"correlated_gap_junction\", connector = \"later\" }",
    );
    let c = bad_spec("s.toml", &text);
    fails(&c, &["PV-PV", "'later' names no earlier block"]);
}

/// The README's commands work on the committed demo out of the box.
#[test]
fn plot_connection_total_works_on_the_demo() {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/demo_net/model/simulation_config.json");
    let out = bmtool(&[
        "plot",
        "--config",
        config.to_str().unwrap(),
        "connection",
        "--sids",
        "pop_name",
        "--tids",
        "pop_name",
        "total",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for label in ["cortex_PN", "cortex_PV", "thalamus_thal", "bg_bg"] {
        assert!(text.contains(label), "{label} missing from {text}");
    }
}

/// The spec shown in the README's "Building networks" section builds.
#[test]
fn readme_spec_example_builds() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = &readme[readme.find("## Building networks").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let text = &section[start..start + section[start..].find("```").unwrap()];
    let spec = Spec::from_toml(text, Path::new("README.md")).unwrap();
    let built = build_network(&spec, 1).unwrap();
    assert_eq!(built.reports.len(), 1);
    assert!(built.reports[0].edges > 0);
}
