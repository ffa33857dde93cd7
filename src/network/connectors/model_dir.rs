//! A built network written out as a complete BMTK model directory: `network/` (nodes, edges
//! and types CSVs per population), `inputs/` (Poisson spike trains), `circuit_config.json` and
//! `simulation_config.json`. The folder is assembled under a temporary name beside the
//! destination and renamed into place only when every file is written, so a failure leaves
//! nothing half-written; an existing folder is replaced only with `force`.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::builder::{py_float, BuiltNetwork, EdgeFile, NetworkNodes};
use super::spec::EdgeProps;
use crate::sonata::h5::Data;
use crate::sonata::writer::{
    self as writer, types_csv, write_edges, write_nodes, write_spikes, write_text, EdgeRows,
    NodeColumns, WriteError,
};

/// A failure writing the model directory.
#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    #[error("{}: {message}", path.display())]
    Destination { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] WriteError),
}

fn dest_err(path: &Path, message: impl Into<String>) -> ModelDirError {
    ModelDirError::Destination {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Refuse an existing destination unless `force`, and a missing parent folder.
pub fn check_model_destination(dest: &Path, force: bool) -> Result<(), ModelDirError> {
    if dest.exists() && !force {
        return Err(dest_err(
            dest,
            "already exists (pass --force to replace it)",
        ));
    }
    if dest.exists() && !dest.is_dir() {
        return Err(dest_err(dest, "exists and is not a folder"));
    }
    if !parent(dest).is_dir() {
        return Err(dest_err(dest, "the folder to write into does not exist"));
    }
    Ok(())
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sibling(dest: &Path, tag: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    parent(dest).join(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Write `built` as a model directory at `dest`. Returns the notes worth telling the user
/// (e.g. blocks that produced no edges, so no file was written for them).
pub fn write_model_dir(
    built: BuiltNetwork,
    dest: &Path,
    force: bool,
) -> Result<Vec<String>, ModelDirError> {
    check_model_destination(dest, force)?;
    let temp = sibling(dest, "partial");
    if temp.exists() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    // Registered so that Ctrl-C removes the unfinished folder.
    let made = crate::output::create_temp_dir(&temp)
        .and_then(|_| std::fs::create_dir_all(temp.join("network")))
        .and_then(|_| std::fs::create_dir_all(temp.join("inputs")));
    let written = match made {
        Ok(()) => write_all(built, &temp),
        Err(e) => Err(dest_err(&temp, format!("cannot create: {e}"))),
    };
    crate::output::finish_temp_dir(&temp, || match written {
        Ok(notes) => commit_dir(&temp, dest).map(|_| notes),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&temp);
            Err(e)
        }
    })
}

fn commit_dir(temp: &Path, dest: &Path) -> Result<(), ModelDirError> {
    let old = sibling(dest, "old");
    let replacing = dest.exists();
    if replacing {
        std::fs::rename(dest, &old).map_err(|e| {
            let _ = std::fs::remove_dir_all(temp);
            dest_err(dest, format!("cannot move the old folder aside: {e}"))
        })?;
    }
    if let Err(e) = std::fs::rename(temp, dest) {
        if replacing {
            let _ = std::fs::rename(&old, dest);
        }
        let _ = std::fs::remove_dir_all(temp);
        return Err(dest_err(
            dest,
            format!("cannot move the finished folder into place: {e}"),
        ));
    }
    if replacing {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

fn write_all(built: BuiltNetwork, dir: &Path) -> Result<Vec<String>, ModelDirError> {
    let mut notes = Vec::new();
    let mut node_entries = Vec::new();
    for net in &built.networks {
        let h5 = format!("{}_nodes.h5", net.name);
        let csv = format!("{}_node_types.csv", net.name);
        write_nodes(&dir.join("network").join(&h5), &net.name, node_columns(net))?;
        write_text(&dir.join("network").join(&csv), &node_types_text(net))?;
        node_entries.push(json!({
            "nodes_file": format!("$NETWORK_DIR/{h5}"),
            "node_types_file": format!("$NETWORK_DIR/{csv}"),
        }));
    }
    let mut gap_entries = Vec::new();
    for net in &built.networks {
        let (src, trg) = gap_junctions(&built.edge_files, &net.name);
        if src.is_empty() {
            continue;
        }
        let h5 = format!("{}_gap_juncs.h5", net.name);
        writer::write_gap_juncs(&dir.join("network").join(&h5), src, trg)?;
        gap_entries.push(json!({"gap_juncs_file": format!("$NETWORK_DIR/{h5}")}));
    }
    let mut edge_entries = Vec::new();
    for file in built.edge_files {
        let (src, trg) = (file.source_network.clone(), file.target_network.clone());
        let h5 = format!("{src}_{trg}_edges.h5");
        let csv = format!("{src}_{trg}_edge_types.csv");
        let text = edge_types_text(&file);
        let rows = edge_rows(file);
        if rows.source_node_id.is_empty() {
            notes.push(format!(
                "no {src} -> {trg} edges were made, so no {h5} was written"
            ));
            continue;
        }
        write_edges(&dir.join("network").join(&h5), &src, &trg, rows)?;
        write_text(&dir.join("network").join(&csv), &text)?;
        edge_entries.push(json!({
            "edges_file": format!("$NETWORK_DIR/{h5}"),
            "edge_types_file": format!("$NETWORK_DIR/{csv}"),
        }));
    }
    let mut inputs = serde_json::Map::new();
    for trains in built.inputs {
        let name = format!("{}_spikes", trains.network);
        let h5 = format!("{name}.h5");
        inputs.insert(
            name,
            json!({
                "input_type": "spikes",
                "module": "sonata",
                "input_file": format!("$INPUT_DIR/{h5}"),
                "node_set": trains.network,
            }),
        );
        write_spikes(
            &dir.join("inputs").join(&h5),
            &trains.network,
            trains.node_ids,
            trains.timestamps_ms,
        )?;
    }
    if inputs.is_empty() {
        let _ = std::fs::remove_dir(dir.join("inputs"));
    }
    let circuit = json!({
        "manifest": {"$BASE_DIR": "${configdir}", "$NETWORK_DIR": "$BASE_DIR/network"},
        "components": built.components,
        "networks": {"nodes": node_entries, "edges": edge_entries, "gap_juncs": gap_entries},
    });
    let simulation = json!({
        "manifest": {
            "$BASE_DIR": "${configdir}",
            "$INPUT_DIR": "$BASE_DIR/inputs",
            "$OUTPUT_DIR": "$BASE_DIR/output",
        },
        "target_simulator": "NEURON",
        "run": built.run,
        "conditions": built.conditions,
        "inputs": inputs,
        "output": {"log_file": "log.txt", "output_dir": "$OUTPUT_DIR", "spikes_file": "spikes.h5"},
        "network": "$BASE_DIR/circuit_config.json",
    });
    for (name, value) in [
        ("circuit_config.json", circuit),
        ("simulation_config.json", simulation),
    ] {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        write_text(&dir.join(name), &text)?;
    }
    Ok(notes)
}

/// The gap-junction edges within `network`, in the order they were made (edge types in order,
/// rows as generated), as bmtk's builder lists them in `<net>_gap_juncs.h5`.
fn gap_junctions(files: &[EdgeFile], network: &str) -> (Vec<u64>, Vec<u64>) {
    let (mut src, mut trg) = (Vec::new(), Vec::new());
    for f in files
        .iter()
        .filter(|f| f.source_network == network && f.target_network == network)
    {
        for (t, e) in f.types.iter().zip(&f.edges) {
            if t.props.is_gap_junction == Some(true) {
                for ((s, d), n) in e.source.iter().zip(&e.target).zip(&e.nsyns) {
                    for _ in 0..*n {
                        src.push(*s as u64);
                        trg.push(*d as u64);
                    }
                }
            }
        }
    }
    (src, trg)
}

fn node_columns(net: &NetworkNodes) -> NodeColumns {
    let groups = net
        .groups
        .iter()
        .map(|g| {
            let mut cols = Vec::new();
            if let Some(p) = &g.positions {
                cols.push((
                    "positions".to_string(),
                    Data::F64(p.clone(), vec![(p.len() / 3) as u64, 3]),
                ));
            }
            for (axis, r) in ["x", "y", "z"].iter().zip(&g.rotation) {
                if let Some(r) = r {
                    cols.push((
                        format!("rotation_angle_{axis}axis"),
                        Data::F64(r.clone(), vec![r.len() as u64]),
                    ));
                }
            }
            cols
        })
        .collect();
    NodeColumns {
        node_type_id: net.node_type_id.clone(),
        node_group_id: net.node_group_id.clone(),
        node_group_index: net.node_group_index.clone(),
        groups,
    }
}

/// Columns in first-seen order; `NULL` where a type lacks one (as BMTK writes).
fn node_types_text(net: &NetworkNodes) -> String {
    let mut header = vec!["node_type_id".to_string()];
    for t in &net.types {
        for (name, _) in &t.columns {
            if !header.contains(name) {
                header.push(name.clone());
            }
        }
    }
    let rows: Vec<Vec<String>> = net
        .types
        .iter()
        .map(|t| {
            header
                .iter()
                .map(|h| {
                    if h == "node_type_id" {
                        return t.node_type_id.to_string();
                    }
                    t.columns
                        .iter()
                        .find(|c| &c.0 == h)
                        .map_or("NULL".to_string(), |c| c.1.clone())
                })
                .collect()
        })
        .collect();
    types_csv(&header, &rows)
}

/// Edge-type properties as (column, text), Python-style (`True`, `['basal', 'apical']`).
fn edge_prop_columns(p: &EdgeProps) -> Vec<(String, String)> {
    let mut cols = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            cols.push((k.to_string(), v));
        }
    };
    put("syn_weight", p.syn_weight.map(py_float));
    put("delay", p.delay.map(py_float));
    put("dynamics_params", p.dynamics_params.clone());
    put("model_template", p.model_template.clone());
    put(
        "target_sections",
        p.target_sections.as_ref().map(|s| {
            let items: Vec<String> = s.iter().map(|x| format!("'{x}'")).collect();
            format!("[{}]", items.join(", "))
        }),
    );
    put(
        "distance_range",
        p.distance_range
            .map(|[a, b]| format!("[{}, {}]", py_float(a), py_float(b))),
    );
    put(
        "is_gap_junction",
        p.is_gap_junction
            .map(|b| if b { "True" } else { "False" }.to_string()),
    );
    for (k, v) in &p.properties {
        cols.push((k.clone(), super::builder::scalar_text(v)));
    }
    cols
}

fn edge_types_text(file: &EdgeFile) -> String {
    let mut header: Vec<String> = ["edge_type_id", "target_query", "source_query"]
        .map(String::from)
        .to_vec();
    let props: Vec<Vec<(String, String)>> = file
        .types
        .iter()
        .map(|t| edge_prop_columns(&t.props))
        .collect();
    for p in &props {
        for (k, _) in p {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let rows: Vec<Vec<String>> = file
        .types
        .iter()
        .zip(&props)
        .map(|(t, p)| {
            let mut row = vec![
                t.edge_type_id.to_string(),
                t.target_query.clone(),
                t.source_query.clone(),
            ];
            for h in &header[3..] {
                row.push(
                    p.iter()
                        .find(|c| &c.0 == h)
                        .map_or("NULL".to_string(), |c| c.1.clone()),
                );
            }
            row
        })
        .collect();
    types_csv(&header, &rows)
}

fn edge_rows(file: EdgeFile) -> EdgeRows {
    let total: usize = file.edges.iter().map(|e| e.len()).sum();
    let mut rows = EdgeRows {
        source_node_id: Vec::with_capacity(total),
        target_node_id: Vec::with_capacity(total),
        edge_type_id: Vec::with_capacity(total),
        nsyns: Vec::with_capacity(total),
    };
    for (t, e) in file.types.iter().zip(file.edges) {
        rows.edge_type_id
            .extend(std::iter::repeat_n(t.edge_type_id as u32, e.len()));
        rows.source_node_id.extend(e.source);
        rows.target_node_id.extend(e.target);
        rows.nsyns.extend(e.nsyns);
    }
    rows
}

/// The files a model directory holds, relative to it (for tests and listings).
pub fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(dir) {
                    out.push(rel.to_path_buf());
                }
            }
        }
    }
    out.sort();
    out
}
