//! The directed cell graph (bmtool's `generate_graph`): every node of the selected source and
//! target populations, named `<population>:<node_id>` so ids of different populations never
//! collide (bmtool's graph merges node 0 of one population with node 0 of another), and one edge
//! per connected (source cell, target cell) pair. Stored columnar: a global node index per
//! (population, row), unique edges as sorted `u64` keys (source index << 32 | target index).
//! Also the per-cell table bmtool's `export_node_connections_to_csv` writes: for every cell, the
//! number of distinct presynaptic cells of each label. Reads through `sonata`; draws nothing.

use super::groups::PopulationGroups;
use super::matrix::select;
use crate::sonata::{Circuit, SonataError};

/// The graph of the selected populations.
#[derive(Debug, Clone)]
pub struct CellGraph {
    /// (population, first global index, node count), in selection order.
    pub populations: Vec<(String, usize, usize)>,
    /// Node id of each global node.
    pub node_ids: Vec<u64>,
    /// Label index of each global node (into `labels`).
    pub label: Vec<u32>,
    pub labels: Vec<String>,
    /// Unique directed edges, sorted: (source index << 32) | target index.
    pub edges: Vec<u64>,
    /// Edge populations used.
    pub edge_populations: Vec<String>,
    pub warnings: Vec<String>,
}

impl CellGraph {
    pub fn node_count(&self) -> usize {
        self.node_ids.len()
    }

    /// `<population>:<node_id>` of a global node.
    pub fn name(&self, node: usize) -> String {
        let (pop, _, _) = self
            .populations
            .iter()
            .rev()
            .find(|(_, first, _)| *first <= node)
            .expect("node 0 belongs to the first population");
        format!("{pop}:{}", self.node_ids[node])
    }

    /// Distinct presynaptic cells per (target node, label): `counts[node * labels + label]`.
    pub fn incoming_by_label(&self) -> Vec<u32> {
        let nl = self.labels.len();
        let mut counts = vec![0u32; self.node_count() * nl];
        for key in &self.edges {
            let (s, t) = ((key >> 32) as usize, (key & 0xffff_ffff) as usize);
            counts[t * nl + self.label[s] as usize] += 1;
        }
        counts
    }

    /// Incoming edges per node.
    pub fn in_degree(&self) -> Vec<u32> {
        let mut d = vec![0u32; self.node_count()];
        for key in &self.edges {
            d[(key & 0xffff_ffff) as usize] += 1;
        }
        d
    }
}

/// Build the graph over `sources` -> `targets` (population names or `all`), labelling cells by
/// `label_attribute` (bmtool: `pop_name`; populations without it fall back to `node_type_id`).
pub fn cell_graph(
    circuit: &Circuit,
    sources: &[String],
    targets: &[String],
    label_attribute: &str,
) -> Result<CellGraph, SonataError> {
    let sources = select(circuit, sources)?;
    let targets = select(circuit, targets)?;
    let mut warnings = Vec::new();
    let mut pops: Vec<String> = Vec::new();
    for p in sources.iter().chain(&targets) {
        if !pops.contains(p) {
            pops.push(p.clone());
        }
    }
    let mut graph = CellGraph {
        populations: Vec::new(),
        node_ids: Vec::new(),
        label: Vec::new(),
        labels: Vec::new(),
        edges: Vec::new(),
        edge_populations: Vec::new(),
        warnings: Vec::new(),
    };
    // Per population: global index of each node id (dense by id).
    let mut index_of: Vec<Vec<u32>> = Vec::new();
    for name in &pops {
        let pop = circuit.node_population(name)?;
        let groups = match PopulationGroups::build(pop, label_attribute) {
            Ok(g) => g,
            Err(_) => {
                warnings.push(format!(
                    "population '{name}' has no '{label_attribute}'; its cells are labelled by node_type_id"
                ));
                PopulationGroups::build(pop, "node_type_id")?
            }
        };
        let label_index: Vec<u32> = groups
            .values
            .iter()
            .map(|v| match graph.labels.iter().position(|l| l == v) {
                Some(k) => k as u32,
                None => {
                    graph.labels.push(v.clone());
                    (graph.labels.len() - 1) as u32
                }
            })
            .collect();
        let first = graph.node_ids.len();
        if first + pop.len() > u32::MAX as usize {
            return Err(SonataError::data(
                pop.file_path(),
                &format!("/nodes/{name}"),
                "too many nodes for one graph",
            ));
        }
        let mut index = vec![u32::MAX; pop.id_span()];
        for (row, id) in pop.node_ids.iter().enumerate() {
            index[*id as usize] = (first + row) as u32;
            graph.node_ids.push(*id);
            graph.label.push(label_index[groups.group_of(*id) as usize]);
        }
        graph.populations.push((name.clone(), first, pop.len()));
        index_of.push(index);
    }
    let pop_index = |name: &str| pops.iter().position(|p| p == name);
    for e in &circuit.edges {
        if !sources.contains(&e.source_population) || !targets.contains(&e.target_population) {
            continue;
        }
        let (Some(si), Some(ti)) = (
            pop_index(&e.source_population),
            pop_index(&e.target_population),
        ) else {
            continue;
        };
        let ids = e.read_ids(false)?;
        let global = |table: &[u32], id: u64, column: &str| {
            table
                .get(id as usize)
                .copied()
                .filter(|g| *g != u32::MAX)
                .ok_or_else(|| {
                    SonataError::data(
                        e.file_path(),
                        &format!("/edges/{}/{column}", e.name),
                        format!("node id {id} is not in its node population"),
                    )
                })
        };
        graph.edges.reserve(ids.source.len());
        for (s, t) in ids.source.iter().zip(&ids.target) {
            let gs = global(&index_of[si], *s, "source_node_id")? as u64;
            let gt = global(&index_of[ti], *t, "target_node_id")? as u64;
            graph.edges.push(gs << 32 | gt);
        }
        graph.edge_populations.push(e.name.clone());
    }
    rayon::slice::ParallelSliceMut::par_sort_unstable(&mut graph.edges[..]);
    graph.edges.dedup();
    graph.warnings = warnings;
    Ok(graph)
}
