//! Conformance of the network plot commands with the reference numbers for the six real model
//! directories in ../shared (reference/models/<model>/):
//! - spikes_summary.json and spikes_per_node_<pop>.csv (h5py + bmtool 0.8.7): spikes, cells and
//!   cells that fired per group exactly; rates within 1e-9 relative (both are one division of
//!   the same integers, so only float rounding can differ);
//! - nodes_summary.json (h5py): node counts per node type and population exactly; means of
//!   positions and rotation angles within 1e-9 relative (summation order differs);
//! - reference/models/h5_layout.txt (h5py): the min and max of every report's `data` equal, bit
//!   for bit, the extremes of the traces we read through `mapping/node_ids`; and each trace equals
//!   the raw dataset column the mapping points to;
//! - graphs_generate_graph*.json (bmtool `generate_graph`): edge counts exactly; node counts
//!   exactly where bmtool's ids could not collide (source == target), and where they did, bmtool's
//!   number equals the size of the union of the two populations' id sets while ours is the sum;
//! - edges_summary.json (h5py): the summary's edge populations, endpoints and rows exactly;
//! - edges_by_group_pair.csv (h5py): the distance-probability histograms hold every edge row and
//!   every possible cell pair exactly once; connections per target cell sum to the rows;
//! - bmtool_matrices.json convergence mean (rounded by bmtool to 2 decimals: within 0.005) and
//!   max (exact) against the per-target counts of `connection histogram`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bmtool::network::firing::{raster, RasterOptions};
use bmtool::network::graph::cell_graph;
use bmtool::network::placement::{orient, placed_groups, PlacementOptions};
use bmtool::sonata::reports::ElementReport;
use bmtool::sonata::{read_spikes, Circuit, H5File};
use serde_json::Value;

struct Model {
    name: String,
    dir: PathBuf,
    config: PathBuf,
    ref_dir: PathBuf,
}

fn models(shared: &Path) -> Vec<Model> {
    let index = common::json(&shared.join("reference/models/models.json"));
    index
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.starts_with('_'))
        .map(|(name, entry)| {
            let dir = shared
                .join("models")
                .join(entry["model_dir"].as_str().unwrap());
            Model {
                name: name.clone(),
                config: dir.join(entry["config"].as_str().unwrap()),
                dir,
                ref_dir: shared
                    .join("reference/models")
                    .join(entry["ref_dir"].as_str().unwrap()),
            }
        })
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: ours {a}, reference {b}"
    );
}

#[test]
fn spike_counts_and_rates_equal_spikes_summary() {
    let Some(shared) = common::shared_or_skip("spike_counts_and_rates_equal_spikes_summary") else {
        return;
    };
    let mut checked = 0;
    for m in models(&shared) {
        let path = m.ref_dir.join("spikes_summary.json");
        if !path.exists() {
            continue;
        }
        let reference = common::json(&path);
        let circuit = Circuit::load(&m.config).unwrap();
        let spikes_file = m.dir.join(reference["spikes_file"].as_str().unwrap());
        for (pop, summary) in reference.as_object().unwrap() {
            let Some(by_group) = summary.get("by_group").and_then(Value::as_object) else {
                continue;
            };
            let opts = RasterOptions {
                population: Some(pop.clone()),
                group_by: summary["group_key"].as_str().unwrap().to_string(),
                tstart_ms: reference["tstart_ms"].as_f64(),
                tstop_ms: reference["tstop_ms"].as_f64(),
            };
            let r = raster(
                &circuit,
                read_spikes(&spikes_file).unwrap(),
                &spikes_file,
                &opts,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", m.name));
            assert_eq!(r.groups.len(), by_group.len(), "{} {pop}", m.name);
            let bmtool_rates: HashMap<String, f64> = summary
                ["bmtool_compute_firing_rate_stats_window_tstart_tstop"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| {
                    let key = row
                        .as_object()
                        .unwrap()
                        .iter()
                        .find(|(k, _)| !k.starts_with("firing_rate"))
                        .map(|(_, v)| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                        .unwrap();
                    (key, row["firing_rate_mean"].as_f64().unwrap())
                })
                .collect();
            for g in &r.groups {
                let want = &by_group[&g.group];
                let what = format!("{} {pop} {}", m.name, g.group);
                assert_eq!(g.cells as u64, want["n_cells"].as_u64().unwrap(), "{what}");
                assert_eq!(
                    g.spikes as u64,
                    want["n_spikes"].as_u64().unwrap(),
                    "{what}"
                );
                assert_eq!(
                    g.cells_fired as u64,
                    want["n_spiking_cells"].as_u64().unwrap(),
                    "{what}"
                );
                close(
                    g.rate_all_cells_hz,
                    want["mean_rate_hz_all_cells"].as_f64().unwrap(),
                    &what,
                );
                close(g.rate_firing_cells_hz, bmtool_rates[&g.group], &what);
            }
            // Per node: the raster's spikes per node id equal spikes_per_node_<pop>.csv.
            let mut per_node: HashMap<u64, u64> = HashMap::new();
            for y in &r.y {
                *per_node.entry(*y).or_default() += 1;
            }
            let csv = std::fs::read_to_string(m.ref_dir.join(format!("spikes_per_node_{pop}.csv")))
                .unwrap();
            let mut rows = 0;
            for line in csv.lines().skip(1) {
                let f: Vec<&str> = line.split(',').collect();
                let id: u64 = f[0].parse().unwrap();
                let count: u64 = f[1].parse().unwrap();
                assert_eq!(
                    per_node.get(&id).copied().unwrap_or(0),
                    count,
                    "{} node {id}",
                    m.name
                );
                rows += 1;
            }
            assert_eq!(rows, per_node.len(), "{}: cells that fired", m.name);
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "five models have spikes");
}

#[test]
fn spikes_csv_and_h5_agree_on_bio_net_and_point_net() {
    let Some(shared) = common::shared_or_skip("spikes_csv_and_h5_agree_on_bio_net_and_point_net")
    else {
        return;
    };
    for model in ["bio_net", "point_net"] {
        let out = shared.join("models").join(model).join("output");
        let h5 = read_spikes(&out.join("spikes.h5")).unwrap();
        let csv = read_spikes(&out.join("spikes.csv")).unwrap();
        assert_eq!(h5.len(), 1);
        assert_eq!(csv.len(), 1);
        assert_eq!(h5[0].population, csv[0].population);
        assert_eq!(h5[0].sorting.as_deref(), Some("by_time"));
        let mut a: Vec<(u64, i64)> = h5[0]
            .node_ids
            .iter()
            .zip(&h5[0].timestamps_ms)
            .map(|(n, t)| (*n, (t * 1e6).round() as i64))
            .collect();
        let mut b: Vec<(u64, i64)> = csv[0]
            .node_ids
            .iter()
            .zip(&csv[0].timestamps_ms)
            .map(|(n, t)| (*n, (t * 1e6).round() as i64))
            .collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{model}");
    }
    // The old single-population layout (/spikes/gids) of 300_pointneurons' input.
    let old =
        shared.join("models/sonata_examples/300_pointneurons/inputs/external_spike_trains.h5");
    let t = read_spikes(&old).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].population, None);
    // Sizes from h5_layout.txt: /spikes/gids (4334,), and lgn_spikes (2738,).
    assert_eq!(t[0].len(), 4334);
    assert_eq!(t[0].sorting.as_deref(), Some("by_gid"));
    let lgn = read_spikes(&shared.join("models/sonata_examples/300_intfire/inputs/lgn_spikes.h5"))
        .unwrap();
    assert_eq!(lgn[0].len(), 2738);
}

#[test]
fn summary_edge_rows_equal_edges_summary() {
    let Some(shared) = common::shared_or_skip("summary_edge_rows_equal_edges_summary") else {
        return;
    };
    for m in models(&shared) {
        let reference = common::json(&m.ref_dir.join("edges_summary.json"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmtool"))
            .args(["plot", "--config"])
            .arg(&m.config)
            .args(["summary", "--format", "json"])
            .output()
            .unwrap();
        let tables: Value = serde_json::from_slice(&out.stdout).unwrap();
        let edges = tables.as_array().unwrap().last().unwrap()["rows"]
            .as_array()
            .unwrap()
            .clone();
        let want = reference.as_object().unwrap();
        assert_eq!(edges.len(), want.len(), "{}", m.name);
        for row in edges {
            let name = row["edge_population"].as_str().unwrap();
            let w = &want[name];
            assert_eq!(row["rows"], w["edge_rows"], "{} {name}", m.name);
            assert_eq!(row["source"], w["source_population"], "{} {name}", m.name);
            assert_eq!(row["target"], w["target_population"], "{} {name}", m.name);
        }
    }
}

#[test]
fn node_types_positions_and_rotations_equal_nodes_summary() {
    let Some(shared) =
        common::shared_or_skip("node_types_positions_and_rotations_equal_nodes_summary")
    else {
        return;
    };
    for m in models(&shared) {
        let reference = common::json(&m.ref_dir.join("nodes_summary.json"));
        let circuit = Circuit::load(&m.config).unwrap();
        for (pop, want) in reference.as_object().unwrap() {
            let p = circuit.node_population(pop).unwrap();
            assert_eq!(p.len() as u64, want["n_nodes"].as_u64().unwrap());
            // Node types and counts as `bmtool plot summary --format json` prints them.
            let counts = summary_counts(&m.config, pop);
            let want_counts = want["counts_by_node_type_id"].as_object().unwrap();
            assert_eq!(counts.len(), want_counts.len(), "{} {pop}", m.name);
            for (t, n) in want_counts {
                assert_eq!(counts[t], n.as_u64().unwrap(), "{} {pop} type {t}", m.name);
            }
            let Some(means) = want.get("column_mean").and_then(Value::as_object) else {
                continue;
            };
            // Positions through the placement the positions plot draws (every cell).
            let opts = PlacementOptions {
                populations: vec![pop.clone()],
                group_by: "node_type_id".into(),
                subset: 1,
                group: None,
                max_cells: usize::MAX,
            };
            let (mut groups, _) = placed_groups(&circuit, &opts).unwrap();
            let n: usize = groups.iter().map(|g| g.x.len()).sum();
            for (k, axis) in ["x", "y", "z"].iter().enumerate() {
                let Some(want) = means
                    .get(*axis)
                    .or_else(|| means.get(&format!("pos_{axis}")))
                    .and_then(Value::as_f64)
                else {
                    continue;
                };
                let sum: f64 = groups
                    .iter()
                    .map(|g| [&g.x, &g.y, &g.z][k].iter().sum::<f64>())
                    .sum();
                close(
                    sum / n as f64,
                    want,
                    &format!("{} {pop} mean {axis}", m.name),
                );
            }
            // Rotations: every arrow is the closed form of the cell's angles.
            orient(&circuit, &mut groups, [1.0, 0.0, 0.0]).unwrap();
            let ay = p.attribute_f64("rotation_angle_yaxis").unwrap();
            let az = p.attribute_f64("rotation_angle_zaxis").unwrap();
            if let Some(want) = means.get("rotation_angle_yaxis").and_then(Value::as_f64) {
                let a = ay.as_ref().unwrap();
                let present: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
                close(
                    present.iter().sum::<f64>() / present.len() as f64,
                    want,
                    "mean ay",
                );
            }
            for g in &groups {
                for i in 0..g.node_ids.len() {
                    let row = p.row_of(g.node_ids[i]).unwrap();
                    let get = |a: &Option<Vec<f64>>| {
                        a.as_ref()
                            .map(|v| v[row])
                            .filter(|v| v.is_finite())
                            .unwrap_or(0.0)
                    };
                    let (y, z) = (get(&ay), get(&az));
                    let expect = [y.cos() * z.cos(), y.cos() * z.sin(), -y.sin()];
                    let got = [g.dx[i], g.dy[i], g.dz[i]];
                    for k in 0..3 {
                        assert!(
                            (got[k] - expect[k]).abs() < 1e-12,
                            "{} {pop} node {}",
                            m.name,
                            g.node_ids[i]
                        );
                    }
                }
            }
        }
    }
}

/// node_type_id -> count of population `pop` from the summary command's JSON.
fn summary_counts(config: &Path, pop: &str) -> HashMap<String, u64> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["plot", "--config"])
        .arg(config)
        .args(["summary", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut counts = HashMap::new();
    for table in tables.as_array().unwrap() {
        for row in table["rows"].as_array().unwrap() {
            if row["population"] == pop {
                counts.insert(
                    row["node_type_id"].to_string(),
                    row["count"].as_u64().unwrap(),
                );
            }
        }
    }
    counts
}

/// `/report/<pop>/data` min and max of every report in h5_layout.txt, by file.
fn layout_extremes(shared: &Path) -> Vec<(PathBuf, String, f64, f64)> {
    let text = std::fs::read_to_string(shared.join("reference/models/h5_layout.txt")).unwrap();
    let mut file = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            file = rest.split("  (").next().unwrap().to_string();
        } else if line.starts_with("/report/") && line.contains("/data  Dataset") {
            let pop = line.split('/').nth(2).unwrap().to_string();
            let value = |key: &str| -> f64 {
                let start = line.find(key).unwrap() + key.len();
                line[start..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            out.push((
                shared.join("models").join(&file),
                pop,
                value(" min="),
                value(" max="),
            ));
        }
    }
    out
}

#[test]
fn report_traces_equal_the_raw_datasets_and_h5_layout() {
    let Some(shared) = common::shared_or_skip("report_traces_equal_the_raw_datasets_and_h5_layout")
    else {
        return;
    };
    let reports = layout_extremes(&shared);
    assert_eq!(
        reports.len(),
        6,
        "bio_net v/cai, 9_cells and 5_cells membrane/calcium"
    );
    for (path, pop, min, max) in reports {
        let report = ElementReport::open(&path, Some(&pop)).unwrap();
        let all = report.read(&report.node_ids, 0..report.n_steps).unwrap();
        let lo = all
            .values
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = all
            .values
            .iter()
            .flatten()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((lo, hi), (min, max), "{}", path.display());
        // Each node's trace is the raw column its mapping entry points to, also in a window.
        let file = H5File::open(&path).unwrap();
        let raw = file.read_f64(&format!("/report/{pop}/data")).unwrap();
        let ids = file
            .read_u64(&format!("/report/{pop}/mapping/node_ids"))
            .unwrap();
        let ptr = file
            .read_u64(&format!("/report/{pop}/mapping/index_pointer"))
            .unwrap();
        let n = report.n_columns;
        let window = 1000..1100.min(report.n_steps);
        let part = report.read(&ids, window.clone()).unwrap();
        for (k, id) in ids.iter().enumerate() {
            let col = ptr[k] as usize;
            let k_all = all.node_ids.iter().position(|x| x == id).unwrap();
            for (r, v) in all.values[k_all].iter().enumerate() {
                assert_eq!(*v, raw[r * n + col]);
            }
            for (j, r) in window.clone().enumerate() {
                assert_eq!(part.values[k][j], raw[r * n + col]);
            }
        }
        // Times: tstart + row * dt.
        assert!((all.time_ms[10] - (report.t_start_ms + 10.0 * report.dt_ms)).abs() < 1e-12);
    }
}

#[test]
fn cell_graph_counts_equal_generate_graph() {
    let Some(shared) = common::shared_or_skip("cell_graph_counts_equal_generate_graph") else {
        return;
    };
    let mut compared = 0;
    for m in models(&shared) {
        let circuit = Circuit::load(&m.config).unwrap();
        for file in [
            "graphs_generate_graph.json",
            "graphs_generate_graph_xyz_patched.json",
        ] {
            let path = m.ref_dir.join(file);
            if !path.exists() {
                continue;
            }
            for (pair, want) in common::json(&path).as_object().unwrap() {
                let Some(n_edges) = want.get("n_edges").and_then(Value::as_u64) else {
                    continue; // bmtool raised (KeyError pos_x / pop_name)
                };
                let (src, tgt) = pair.split_once("->").unwrap();
                let g = cell_graph(&circuit, &[src.into()], &[tgt.into()], "pop_name").unwrap();
                assert_eq!(g.edges.len() as u64, n_edges, "{} {pair}", m.name);
                let bm_nodes = want["n_nodes"].as_u64().unwrap() as usize;
                let s = circuit.node_population(src).unwrap();
                let t = circuit.node_population(tgt).unwrap();
                if src == tgt {
                    assert_eq!(g.node_count(), bm_nodes, "{} {pair}", m.name);
                } else {
                    // bmtool keyed nodes by bare node_id: the union of both id sets.
                    let mut ids: Vec<u64> = s.node_ids.iter().chain(&t.node_ids).copied().collect();
                    ids.sort_unstable();
                    ids.dedup();
                    assert_eq!(
                        ids.len(),
                        bm_nodes,
                        "{} {pair}: bmtool's collided count",
                        m.name
                    );
                    assert_eq!(g.node_count(), s.len() + t.len(), "{} {pair}", m.name);
                }
                compared += 1;
            }
        }
    }
    // point_net 3 pairs, bio_net 3 (patched), 300_intfire none usable (no pop_name), ...
    assert!(compared >= 6, "only {compared} graphs compared");
}

/// `edges_by_group_pair.csv` rows: (source label, target label) -> (edge rows, source cells,
/// target cells), labels `<population>_<pop_name>`.
fn group_pairs(ref_dir: &Path) -> HashMap<(String, String), (u64, u64, u64)> {
    let text = std::fs::read_to_string(ref_dir.join("edges_by_group_pair.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let (src, tgt) = f[0].split_once("_to_").unwrap();
            let n = |k: usize| f[k].parse::<u64>().unwrap();
            (
                (format!("{src}_{}", f[1]), format!("{tgt}_{}", f[2])),
                (n(3), n(6), n(7)),
            )
        })
        .collect()
}

#[test]
fn probability_and_histogram_totals_equal_edges_by_group_pair() {
    let Some(shared) =
        common::shared_or_skip("probability_and_histogram_totals_equal_edges_by_group_pair")
    else {
        return;
    };
    use bmtool::network::edge_values::per_target_counts;
    use bmtool::network::probability::probability_matrix;
    use bmtool::network::MatrixOptions;
    // Both models group by pop_name in the reference (h5py counts, not bmtool).
    for model in ["bio_net", "point_net"] {
        let m = models(&shared)
            .into_iter()
            .find(|m| m.name == model)
            .unwrap();
        let circuit = Circuit::load(&m.config).unwrap();
        let reference = group_pairs(&m.ref_dir);
        let opts = MatrixOptions {
            sids: vec!["pop_name".into()],
            tids: vec!["pop_name".into()],
            ..MatrixOptions::default()
        };
        let p = probability_matrix(&circuit, &opts, [true, true, true], 8).unwrap();
        let mut checked = 0;
        for (r, row) in p.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let key = (p.row_labels[r].clone(), p.col_labels[c].clone());
                let Some((rows, ns, nt)) = reference.get(&key) else {
                    assert!(cell.is_none(), "{model} {key:?} has no edges");
                    continue;
                };
                let h = cell.as_ref().unwrap();
                // Every connection and every possible pair lands in exactly one bin.
                assert_eq!(h.connected.iter().sum::<u64>(), *rows, "{model} {key:?}");
                assert_eq!(h.pairs.iter().sum::<u64>(), ns * nt, "{model} {key:?}");
                assert_eq!(h.edges.len(), 9);
                checked += 1;
            }
        }
        assert!(checked > 10, "{model}: {checked} pairs");
        for ((src, tgt), (rows, _, nt)) in &reference {
            let counts = per_target_counts(&circuit, &opts, src, tgt).unwrap();
            assert_eq!(
                counts.iter().map(|c| *c as u64).sum::<u64>(),
                *rows,
                "{src}->{tgt}"
            );
            assert!(counts.len() as u64 <= *nt && counts.iter().all(|c| *c > 0));
        }
    }
}

#[test]
fn connection_histogram_statistics_equal_bmtool_convergence() {
    let Some(shared) =
        common::shared_or_skip("connection_histogram_statistics_equal_bmtool_convergence")
    else {
        return;
    };
    use bmtool::network::edge_values::per_target_counts;
    use bmtool::network::MatrixOptions;
    // bmtool rounds to 2 decimals: within half a unit of the second decimal.
    for model in ["bio_net", "point_net"] {
        let m = models(&shared)
            .into_iter()
            .find(|m| m.name == model)
            .unwrap();
        let circuit = Circuit::load(&m.config).unwrap();
        let reference = common::json(&m.ref_dir.join("bmtool_matrices.json"));
        let opts = MatrixOptions {
            sids: vec!["pop_name".into()],
            tids: vec!["pop_name".into()],
            ..MatrixOptions::default()
        };
        let mean = &reference["convergence_mean"];
        let max = &reference["convergence_max"];
        let labels = |v: &Value, k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let (rows, cols) = (labels(mean, "source_labels"), labels(mean, "target_labels"));
        let mut checked = 0;
        for (r, src) in rows.iter().enumerate() {
            for (c, tgt) in cols.iter().enumerate() {
                let want = mean["matrix"][r][c].as_f64().unwrap();
                let counts = per_target_counts(&circuit, &opts, src, tgt).unwrap();
                if counts.is_empty() {
                    assert_eq!(want, 0.0, "{model} {src}->{tgt}");
                    continue;
                }
                let ours = counts.iter().map(|c| *c as f64).sum::<f64>() / counts.len() as f64;
                assert!(
                    (ours - want).abs() <= 0.005 + 1e-9,
                    "{model} {src}->{tgt}: {ours} vs {want}"
                );
                let top = *counts.iter().max().unwrap() as f64;
                assert_eq!(
                    top,
                    max["matrix"][r][c].as_f64().unwrap(),
                    "{model} {src}->{tgt}"
                );
                checked += 1;
            }
        }
        assert!(checked > 10, "{model}: {checked}");
    }
}
