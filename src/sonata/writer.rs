//! Writing SONATA files in BMTK's layout (../shared/reference/models/h5_layout.txt): node
//! populations (`node_id` u64, `node_type_id` u64, `node_group_id` u32, `node_group_index` u64,
//! per-node columns in numbered groups), edge populations sorted by `target_node_id` with the
//! `indices/{source_to_target,target_to_source}` tables built as bmtk's
//! `create_index_in_memory` builds them, space-separated types CSVs as Python's csv module
//! writes them (CRLF, `NULL` for missing values), spike files, and the two JSON configs. It
//! writes what it is given; it decides nothing about the network.

use std::path::Path;

use super::h5::{Attr, Data, H5Error, H5Tree};
use crate::output::OutputError;

/// A writing failure.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    H5(#[from] H5Error),
    #[error(transparent)]
    Output(#[from] OutputError),
}

fn root_attrs(tree: &mut H5Tree) {
    tree.group_attr("/", "magic", Attr::U32(0x0A7A)).group_attr(
        "/",
        "version",
        Attr::U32Array(vec![0, 1]),
    );
}

/// One node group's per-node datasets (name, data).
pub type GroupColumns = Vec<(String, Data)>;

/// The columns of one node population.
#[derive(Debug, Clone, Default)]
pub struct NodeColumns {
    pub node_type_id: Vec<u64>,
    pub node_group_id: Vec<u32>,
    pub node_group_index: Vec<u64>,
    /// Group datasets, group `k` at index `k`.
    pub groups: Vec<GroupColumns>,
}

/// Write `<pop>` nodes to `path`.
pub fn write_nodes(path: &Path, population: &str, nodes: NodeColumns) -> Result<(), WriteError> {
    let mut t = H5Tree::new();
    root_attrs(&mut t);
    let base = format!("/nodes/{population}");
    let n = nodes.node_type_id.len() as u64;
    t.dataset(&format!("{base}/node_id"), Data::U64((0..n).collect()))
        .dataset(
            &format!("{base}/node_type_id"),
            Data::U64(nodes.node_type_id),
        )
        .dataset(
            &format!("{base}/node_group_id"),
            Data::U32(nodes.node_group_id),
        )
        .dataset(
            &format!("{base}/node_group_index"),
            Data::U64(nodes.node_group_index),
        );
    for (g, columns) in nodes.groups.into_iter().enumerate() {
        t.group(&format!("{base}/{g}"));
        for (name, data) in columns {
            t.dataset(&format!("{base}/{g}/{name}"), data);
        }
    }
    t.write_owned(path, false)?;
    Ok(())
}

/// The id columns of one edge population, in any order (written sorted by target).
#[derive(Debug, Clone, Default)]
pub struct EdgeRows {
    pub source_node_id: Vec<u32>,
    pub target_node_id: Vec<u32>,
    pub edge_type_id: Vec<u32>,
    pub nsyns: Vec<u32>,
}

/// A stable counting sort of row numbers by target node id (BMTK sorts edges by
/// `target_node_id` before writing).
fn order_by_target(target: &[u32]) -> Vec<u32> {
    let max = target.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut start = vec![0u32; max + 1];
    for t in target {
        start[*t as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut order = vec![0u32; target.len()];
    for (row, t) in target.iter().enumerate() {
        let slot = &mut start[*t as usize];
        order[*slot as usize] = row as u32;
        *slot += 1;
    }
    order
}

/// `range_to_edge_id` and `node_id_to_range` ([k, 2] row-major) for an id column, as bmtk's
/// `create_index_in_memory`: runs of equal consecutive ids become ranges, ranges are ordered by
/// id (stable), and ids without edges below the largest get [0, 0].
pub fn edge_index(ids: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let mut runs: Vec<(u64, u64, u64)> = Vec::new();
    let mut beg = 0usize;
    for k in 1..=ids.len() {
        if k == ids.len() || ids[k] != ids[beg] {
            runs.push((ids[beg], beg as u64, k as u64));
            beg = k;
        }
    }
    runs.sort_by_key(|r| r.0);
    let range_to_edge: Vec<u64> = runs.iter().flat_map(|r| [r.1, r.2]).collect();
    let n_ids = runs.last().map_or(0, |r| r.0 as usize + 1);
    let mut node_to_range = vec![0u64; 2 * n_ids];
    let mut k = 0;
    while k < runs.len() {
        let id = runs[k].0 as usize;
        let first = k;
        while k < runs.len() && runs[k].0 as usize == id {
            k += 1;
        }
        node_to_range[2 * id] = first as u64;
        node_to_range[2 * id + 1] = k as u64;
    }
    (node_to_range, range_to_edge)
}

/// Write the edge population `<src>_to_<trg>` to `path`, sorted by target, with its indices and
/// `nsyns` in group 0.
pub fn write_edges(
    path: &Path,
    source_population: &str,
    target_population: &str,
    rows: EdgeRows,
) -> Result<(), WriteError> {
    let order = order_by_target(&rows.target_node_id);
    let pick = |col: &[u32]| -> Vec<u32> { order.iter().map(|r| col[*r as usize]).collect() };
    let source: Vec<u64> = order
        .iter()
        .map(|r| rows.source_node_id[*r as usize] as u64)
        .collect();
    let target: Vec<u64> = order
        .iter()
        .map(|r| rows.target_node_id[*r as usize] as u64)
        .collect();
    let edge_type = pick(&rows.edge_type_id);
    let nsyns = pick(&rows.nsyns);
    drop(rows);
    drop(order);
    let n = source.len();
    let base = format!("/edges/{source_population}_to_{target_population}");
    let mut t = H5Tree::new();
    root_attrs(&mut t);
    for (name, ids) in [("source_to_target", &source), ("target_to_source", &target)] {
        let (node_to_range, range_to_edge) = edge_index(ids);
        let (a, b) = (
            (node_to_range.len() / 2) as u64,
            (range_to_edge.len() / 2) as u64,
        );
        t.dataset(
            &format!("{base}/indices/{name}/node_id_to_range"),
            Data::U64Shaped(node_to_range, vec![a, 2]),
        )
        .dataset(
            &format!("{base}/indices/{name}/range_to_edge_id"),
            Data::U64Shaped(range_to_edge, vec![b, 2]),
        );
    }
    t.dataset(&format!("{base}/source_node_id"), Data::U64(source))
        .dataset_attr(
            &format!("{base}/source_node_id"),
            "node_population",
            Attr::Str(source_population.into()),
        )
        .dataset(&format!("{base}/target_node_id"), Data::U64(target))
        .dataset_attr(
            &format!("{base}/target_node_id"),
            "node_population",
            Attr::Str(target_population.into()),
        )
        .dataset(&format!("{base}/edge_type_id"), Data::U32(edge_type))
        .dataset(&format!("{base}/edge_group_id"), Data::U16(vec![0; n]))
        .dataset(
            &format!("{base}/edge_group_index"),
            Data::U32((0..n as u32).collect()),
        )
        .dataset(&format!("{base}/0/nsyns"), Data::U32(nsyns));
    t.write_owned(path, false)?;
    Ok(())
}

/// Write SONATA spikes (`/spikes/<pop>/{timestamps,node_ids}`, `sorting` = "by_time",
/// timestamps in ms). The trains must already be sorted by time.
pub fn write_spikes(
    path: &Path,
    population: &str,
    node_ids: Vec<u64>,
    timestamps_ms: Vec<f64>,
) -> Result<(), WriteError> {
    let base = format!("/spikes/{population}");
    let n = timestamps_ms.len() as u64;
    let mut t = H5Tree::new();
    root_attrs(&mut t);
    t.group_attr(&base, "sorting", Attr::Str("by_time".into()))
        .dataset(
            &format!("{base}/node_ids"),
            Data::I64(node_ids.into_iter().map(|x| x as i64).collect()),
        )
        .dataset(
            &format!("{base}/timestamps"),
            Data::F64(timestamps_ms, vec![n]),
        )
        .dataset_attr(
            &format!("{base}/timestamps"),
            "units",
            Attr::Str("ms".into()),
        );
    t.write_owned(path, false)?;
    Ok(())
}

/// Write BMTK's `<net>_gap_juncs.h5` (what bionet reads to wire gap junctions): one row per
/// junction with its two cells and two gap ids, numbered 0, 1, 2, ... as bmtk's builder does.
pub fn write_gap_juncs(
    path: &Path,
    source_ids: Vec<u64>,
    target_ids: Vec<u64>,
) -> Result<(), WriteError> {
    let n = source_ids.len() as i64;
    let mut t = H5Tree::new();
    root_attrs(&mut t);
    t.dataset(
        "/source_ids",
        Data::I64(source_ids.into_iter().map(|x| x as i64).collect()),
    )
    .dataset(
        "/target_ids",
        Data::I64(target_ids.into_iter().map(|x| x as i64).collect()),
    )
    .dataset("/src_gap_ids", Data::I64((0..n).map(|k| 2 * k).collect()))
    .dataset(
        "/trg_gap_ids",
        Data::I64((0..n).map(|k| 2 * k + 1).collect()),
    );
    t.write_owned(path, false)?;
    Ok(())
}

/// A space-separated types CSV as Python's csv module writes it (minimal quoting, CRLF).
pub fn types_csv(header: &[String], rows: &[Vec<String>]) -> String {
    let field = |s: &str| {
        if s.is_empty() || s.contains([' ', '"', '\r', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(|r| r.as_slice())) {
        let cells: Vec<String> = row.iter().map(|c| field(c)).collect();
        out.push_str(&cells.join(" "));
        out.push_str("\r\n");
    }
    out
}

/// Write a text file atomically (never over an existing file).
pub fn write_text(path: &Path, text: &str) -> Result<(), WriteError> {
    crate::output::write_atomic(path, text.as_bytes(), false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in bmtk's `create_index_in_memory` comment:
    /// [10 10 10 10 10 32 32 32 10 10] -> 10: [(0,5), (8,10)], 32: [(5,8)].
    #[test]
    fn index_follows_bmtk() {
        let ids = [10, 10, 10, 10, 10, 32, 32, 32, 10, 10];
        let (n2r, r2e) = edge_index(&ids);
        assert_eq!(r2e, [0, 5, 8, 10, 5, 8]);
        assert_eq!(n2r.len(), 33 * 2);
        assert_eq!(&n2r[20..22], &[0, 2]);
        assert_eq!(&n2r[64..66], &[2, 3]);
        assert!(n2r[..20].iter().all(|x| *x == 0));
    }

    #[test]
    fn counting_sort_is_stable() {
        let order = order_by_target(&[3, 1, 3, 0, 1]);
        assert_eq!(order, [3, 1, 4, 0, 2]);
    }

    #[test]
    fn csv_quotes_like_python() {
        let text = types_csv(
            &["a".into(), "b".into()],
            &[vec!["x y".into(), "pop_name=='PN'".into()]],
        );
        assert_eq!(text, "a b\r\n\"x y\" pop_name=='PN'\r\n");
    }
}
