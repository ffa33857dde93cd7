//! From a [`Spec`] to a network in memory: cells numbered and placed per node population, node
//! types numbered from 100 as BMTK does, connection blocks run in spec order through their
//! connectors, edge types numbered from 100 in each (source, target) population file, Poisson
//! input trains drawn, and one [`BlockReport`] per block. Everything stays columnar (flat id
//! vectors); writing the SONATA files is `sonata::writer`'s job.

use std::collections::{BTreeMap, HashMap};

use super::gap_junction::GapJunction;
use super::one_to_one::connect_sequential;
use super::prob::{Probability, ProbabilitySpec};
use super::reciprocal::{pr_to_rho, Coupling, Reciprocal};
use super::rng::Stream;
use super::spec::{
    Angle, ConditionsSpec, ConnectorSpec, EdgeProps, EdgeSpec, NodeSpec, OneOrMany, Placement,
    RunSpec, Scalar, Selection, Spec,
};
use super::unidirection::Unidirection;
use super::{EdgeColumns, EdgeLookup, Pool, Tally};

/// Stream "blocks" for placement and inputs, far from the connection-block numbers.
const PLACEMENT_STREAM: u64 = 1 << 40;
const INPUT_STREAM: u64 = 1 << 41;

/// A build failure: where in the spec, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    pub place: String,
    pub message: String,
}

fn fail<T>(place: &str, message: impl Into<String>) -> Result<T, BuildError> {
    Err(BuildError {
        place: place.to_string(),
        message: message.into(),
    })
}

/// One node type row of a types CSV.
#[derive(Debug, Clone)]
pub struct NodeType {
    pub node_type_id: u64,
    /// Column name and value text, in CSV column order after `node_type_id`.
    pub columns: Vec<(String, String)>,
}

/// Per-node datasets of one node group (`/nodes/<pop>/<group>/...`).
#[derive(Debug, Clone, Default)]
pub struct NodeGroup {
    /// `positions` [n, 3], row-major.
    pub positions: Option<Vec<f64>>,
    /// `rotation_angle_xaxis`, `_yaxis`, `_zaxis`.
    pub rotation: [Option<Vec<f64>>; 3],
}

/// A node population ready to write.
#[derive(Debug, Clone, Default)]
pub struct NetworkNodes {
    pub name: String,
    pub node_type_id: Vec<u64>,
    pub node_group_id: Vec<u32>,
    pub node_group_index: Vec<u64>,
    pub groups: Vec<NodeGroup>,
    pub types: Vec<NodeType>,
    /// Positions by node id (for distance-dependent connectors).
    positions: Vec<Option<[f64; 3]>>,
    /// The node type of each node, as an index into `types`.
    type_index: Vec<usize>,
    /// Nodes in each group so far.
    group_len: Vec<usize>,
}

impl NetworkNodes {
    pub fn len(&self) -> usize {
        self.node_type_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_type_id.is_empty()
    }
}

/// One edge type row of an edge-types CSV.
#[derive(Debug, Clone)]
pub struct EdgeType {
    pub edge_type_id: u64,
    pub target_query: String,
    pub source_query: String,
    pub props: EdgeProps,
}

/// The edges between one source and one target population (one `<src>_<trg>_edges.h5`).
#[derive(Debug, Clone)]
pub struct EdgeFile {
    pub source_network: String,
    pub target_network: String,
    pub types: Vec<EdgeType>,
    /// The edges of each type (same order as `types`).
    pub edges: Vec<EdgeColumns>,
}

/// Poisson spike trains of one virtual population, sorted by time.
#[derive(Debug, Clone, Default)]
pub struct SpikeTrains {
    pub network: String,
    pub node_ids: Vec<u64>,
    pub timestamps_ms: Vec<f64>,
}

/// Requested against realised connectivity of one block.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockReport {
    pub name: String,
    pub connector: String,
    pub source: String,
    pub target: String,
    /// Edge rows written (both directions).
    pub edges: u64,
    pub synapses: u64,
    /// True when source and target are the same cells (one edge type, pairs i < j).
    pub recurrent: bool,
    /// Forward (source → target); for a recurrent reciprocal block, both directions.
    pub forward: Option<Tally>,
    /// Backward (target → source) of a reciprocal block between two populations.
    pub backward: Option<Tally>,
    /// Pairs connected both ways against pr.
    pub reciprocal: Option<Tally>,
    /// Connected pairs that are connected both ways.
    pub reciprocal_fraction: Option<f64>,
    pub rho: Option<f64>,
    /// Forward edges per target cell.
    pub mean_convergence: f64,
    /// Backward edges per source cell (reciprocal between two populations).
    pub backward_convergence: Option<f64>,
    pub warnings: Vec<String>,
}

/// The network in memory.
#[derive(Debug, Clone)]
pub struct BuiltNetwork {
    pub seed: u64,
    pub run: RunSpec,
    pub conditions: ConditionsSpec,
    /// circuit_config.json `components`, as the spec gives them.
    pub components: BTreeMap<String, String>,
    pub networks: Vec<NetworkNodes>,
    pub edge_files: Vec<EdgeFile>,
    pub inputs: Vec<SpikeTrains>,
    pub reports: Vec<BlockReport>,
}

/// Build the network the spec describes with `seed`.
pub fn build_network(spec: &Spec, seed: u64) -> Result<BuiltNetwork, BuildError> {
    if spec.nodes.is_empty() {
        return fail("nodes", "the spec has no [[nodes]]: a network needs cells");
    }
    let networks = place_nodes(spec, seed)?;
    let mut built = BuiltNetwork {
        seed,
        run: spec.run.clone(),
        conditions: spec.conditions.clone(),
        components: spec.components.clone(),
        networks,
        edge_files: Vec::new(),
        inputs: Vec::new(),
        reports: Vec::new(),
    };
    let mut state = BlockState::default();
    for (k, block) in spec.edges.iter().enumerate() {
        run_block(&mut built, &mut state, block, k, seed)?;
    }
    built.inputs = draw_inputs(spec, &built.networks, seed)?;
    Ok(built)
}

// ---------------------------------------------------------------- nodes

/// The most cells one spec may build (about 2 GB of positions, rotations and ids): a larger
/// `N` is almost surely a typo, and would abort on allocation instead of failing cleanly.
pub const MAX_CELLS: usize = 10_000_000;

fn place_nodes(spec: &Spec, seed: u64) -> Result<Vec<NetworkNodes>, BuildError> {
    let mut nets: Vec<NetworkNodes> = Vec::new();
    let mut total = 0usize;
    for (k, node) in spec.nodes.iter().enumerate() {
        let place = format!("nodes[{k}] ({}/{})", node.network, node.pop_name);
        check_name(&node.network, &place)?;
        total = total.saturating_add(node.n);
        if total > MAX_CELLS {
            return fail(
                &place,
                format!(
                    "N = {} brings the spec to {total} cells, more than the {MAX_CELLS} one build may make",
                    node.n
                ),
            );
        }
        let idx = match nets.iter().position(|n| n.name == node.network) {
            Some(i) => i,
            None => {
                nets.push(NetworkNodes {
                    name: node.network.clone(),
                    ..Default::default()
                });
                nets.len() - 1
            }
        };
        let mut rng = Stream::for_row(seed, PLACEMENT_STREAM, k as u64);
        add_node_type(&mut nets[idx], node, &mut rng, &place)?;
    }
    Ok(nets)
}

fn check_name(name: &str, place: &str) -> Result<(), BuildError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        fail(
            place,
            format!("network name '{name}' must be letters, digits, '_' or '-'"),
        )
    }
}

fn add_node_type(
    net: &mut NetworkNodes,
    node: &NodeSpec,
    rng: &mut Stream,
    place: &str,
) -> Result<(), BuildError> {
    let type_id = 100 + net.types.len() as u64;
    let mut columns = vec![
        ("pop_name".to_string(), node.pop_name.clone()),
        ("model_type".to_string(), node.model_type.clone()),
    ];
    for (name, value) in [
        ("model_template", &node.model_template),
        ("morphology", &node.morphology),
        ("dynamics_params", &node.dynamics_params),
    ] {
        if let Some(v) = value {
            columns.push((name.to_string(), v.clone()));
        }
    }
    for (name, value) in &node.properties {
        if columns.iter().any(|c| &c.0 == name) || name == "node_type_id" {
            return fail(place, format!("property '{name}' is set twice"));
        }
        columns.push((name.clone(), scalar_text(value)));
    }
    net.types.push(NodeType {
        node_type_id: type_id,
        columns,
    });
    let positions = match &node.positions {
        Some(p) => Some(place_cells(p, node.n, rng, place)?),
        None => None,
    };
    let rotation = match &node.rotation {
        Some(r) => [r.x, r.y, r.z].map(|a| a.map(|a| angles(a, node.n, rng))),
        None => [None, None, None],
    };
    let group = node_group(
        net,
        positions.is_some(),
        rotation.each_ref().map(|r| r.is_some()),
    );
    let start = net.group_len[group];
    net.group_len[group] += node.n;
    let g = &mut net.groups[group];
    if let Some(p) = &positions {
        g.positions
            .get_or_insert_with(Vec::new)
            .extend(p.iter().flatten());
    }
    for (slot, values) in g.rotation.iter_mut().zip(rotation) {
        if let Some(v) = values {
            slot.get_or_insert_with(Vec::new).extend(v);
        }
    }
    let type_index = net.types.len() - 1;
    for i in 0..node.n {
        net.node_type_id.push(type_id);
        net.node_group_id.push(group as u32);
        net.node_group_index.push((start + i) as u64);
        net.positions.push(positions.as_ref().map(|p| p[i]));
        net.type_index.push(type_index);
    }
    Ok(())
}

/// The group for a set of per-node columns (BMTK puts nodes with different columns in
/// different groups), created on first use.
fn node_group(net: &mut NetworkNodes, positions: bool, rotation: [bool; 3]) -> usize {
    let key = |g: &NodeGroup| {
        (
            g.positions.is_some(),
            g.rotation.each_ref().map(|r| r.is_some()),
        )
    };
    // Groups are keyed by their column set; an empty group of this key may exist already.
    if let Some(i) = net
        .groups
        .iter()
        .position(|g| key(g) == (positions, rotation))
    {
        return i;
    }
    net.groups.push(NodeGroup {
        positions: positions.then(Vec::new),
        rotation: rotation.map(|r| r.then(Vec::new)),
    });
    net.group_len.push(0);
    net.groups.len() - 1
}

fn place_cells(
    shape: &Placement,
    n: usize,
    rng: &mut Stream,
    place: &str,
) -> Result<Vec<[f64; 3]>, BuildError> {
    let mut out = Vec::with_capacity(n);
    match *shape {
        Placement::Box { min, max } => {
            if (0..3).any(|k| !at_least(max[k], min[k])) {
                return fail(place, "positions box needs max >= min on every axis");
            }
            for _ in 0..n {
                out.push([0, 1, 2].map(|k| rng.uniform_in(min[k], max[k])));
            }
        }
        Placement::Cylinder {
            center,
            radius,
            height,
        } => {
            if !(radius > 0.0 && height >= 0.0) {
                return fail(place, "positions cylinder needs radius > 0 and height >= 0");
            }
            for _ in 0..n {
                let r = radius * rng.uniform().sqrt();
                let theta = 2.0 * std::f64::consts::PI * rng.uniform();
                let z = center[2] + height * (rng.uniform() - 0.5);
                out.push([center[0] + r * theta.cos(), center[1] + r * theta.sin(), z]);
            }
        }
        Placement::Sphere { center, radius } => {
            if !above(radius, 0.0) {
                return fail(place, "positions sphere needs radius > 0");
            }
            while out.len() < n {
                let p = [0, 1, 2].map(|_| rng.uniform_in(-1.0, 1.0));
                if p.iter().map(|x| x * x).sum::<f64>() <= 1.0 {
                    out.push([0, 1, 2].map(|k| center[k] + radius * p[k]));
                }
            }
        }
    }
    Ok(out)
}

/// `a >= b`, false for NaN.
fn at_least(a: f64, b: f64) -> bool {
    a >= b
}

/// `a > b`, false for NaN.
fn above(a: f64, b: f64) -> bool {
    a > b
}

fn angles(a: Angle, n: usize, rng: &mut Stream) -> Vec<f64> {
    match a {
        Angle::Constant(x) => vec![x; n],
        Angle::Uniform([lo, hi]) => (0..n).map(|_| rng.uniform_in(lo, hi)).collect(),
    }
}

/// A value as Python would print it in a CSV (BMTK writes with Python's csv module).
pub fn scalar_text(v: &Scalar) -> String {
    match v {
        Scalar::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(x) => py_float(*x),
        Scalar::Text(s) => s.clone(),
    }
}

/// A float as Python's `repr` prints common values (`1.0`, `0.02`).
pub fn py_float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x}")
    }
}

// ---------------------------------------------------------------- selections

fn one_or_many_texts(v: &OneOrMany) -> Vec<String> {
    match v {
        OneOrMany::One(s) => vec![scalar_text(s)],
        OneOrMany::Many(list) => list.iter().map(scalar_text).collect(),
    }
}

fn selection_filters(sel: &Selection) -> Vec<(String, OneOrMany)> {
    let mut f = Vec::new();
    if let Some(p) = &sel.pop_name {
        f.push(("pop_name".to_string(), p.clone()));
    }
    for (k, v) in &sel.properties {
        f.push((k.clone(), v.clone()));
    }
    f
}

/// The node query BMTK writes in the edge-types CSV (`pop_name=='PN'`, lists as Python
/// prints them, several joined with `&`, `*` for all).
pub fn query_text(sel: &Selection) -> String {
    let parts: Vec<String> = selection_filters(sel)
        .iter()
        .map(|(k, v)| match v {
            OneOrMany::One(s) => format!("{k}=='{}'", scalar_text(s)),
            OneOrMany::Many(list) => {
                let items: Vec<String> = list
                    .iter()
                    .map(|s| match s {
                        Scalar::Text(t) => format!("'{t}'"),
                        other => scalar_text(other),
                    })
                    .collect();
                format!("{k}=='[{}]'", items.join(", "))
            }
        })
        .collect();
    if parts.is_empty() {
        "*".into()
    } else {
        parts.join("&")
    }
}

fn selection_label(sel: &Selection) -> String {
    format!("{}: {}", sel.network, query_text(sel))
}

fn pool_of(nets: &[NetworkNodes], sel: &Selection, place: &str) -> Result<Pool, BuildError> {
    let Some(net) = nets.iter().find(|n| n.name == sel.network) else {
        let known: Vec<&str> = nets.iter().map(|n| n.name.as_str()).collect();
        return fail(
            place,
            format!(
                "unknown network '{}' (the spec has: {})",
                sel.network,
                known.join(", ")
            ),
        );
    };
    let filters: Vec<(String, Vec<String>)> = selection_filters(sel)
        .iter()
        .map(|(k, v)| (k.clone(), one_or_many_texts(v)))
        .collect();
    let type_ok: Vec<bool> = net
        .types
        .iter()
        .map(|t| {
            filters.iter().all(|(k, values)| {
                t.columns
                    .iter()
                    .find(|c| &c.0 == k)
                    .is_some_and(|c| values.contains(&c.1))
            })
        })
        .collect();
    let ids: Vec<u32> = (0..net.len())
        .filter(|i| type_ok[net.type_index[*i]])
        .map(|i| i as u32)
        .collect();
    if ids.is_empty() {
        return fail(
            place,
            format!("'{}' selects no cells", selection_label(sel)),
        );
    }
    let positions: Option<Vec<[f64; 3]>> = ids.iter().map(|i| net.positions[*i as usize]).collect();
    Ok(Pool {
        network: net.name.clone(),
        ids,
        positions,
    })
}

// ---------------------------------------------------------------- blocks

#[derive(Default)]
struct BlockState {
    /// Block name -> the indices of its edge columns in the edge files (file, type).
    finished: HashMap<String, Vec<(usize, usize)>>,
    /// One-to-one counters keyed by the fixed side's selection.
    sequential: BTreeMap<String, usize>,
}

fn resolve(p: &ProbabilitySpec, name: &str, place: &str) -> Result<Probability, BuildError> {
    p.resolve().map_err(|m| BuildError {
        place: place.to_string(),
        message: format!("{name}: {m}"),
    })
}

fn needs_positions(p: &[&Probability], pools: &[&Pool], place: &str) -> Result<(), BuildError> {
    if p.iter().any(|p| !p.is_constant()) {
        if let Some(pool) = pools.iter().find(|p| p.positions.is_none()) {
            return fail(
                place,
                format!(
                    "a distance-dependent probability needs positions, and cells of '{}' have none",
                    pool.network
                ),
            );
        }
    }
    Ok(())
}

fn check_n_syn(n: u32, place: &str) -> Result<(), BuildError> {
    if n == 0 {
        fail(place, "n_syn must be at least 1")
    } else {
        Ok(())
    }
}

fn run_block(
    built: &mut BuiltNetwork,
    state: &mut BlockState,
    block: &EdgeSpec,
    k: usize,
    seed: u64,
) -> Result<(), BuildError> {
    let name = block.name.clone().unwrap_or_else(|| {
        format!(
            "{} -> {}",
            selection_label(&block.source),
            selection_label(&block.target)
        )
    });
    let place = format!("edges[{k}] ({name})");
    if state.finished.contains_key(&name) {
        return fail(&place, "another block has this name");
    }
    let source = pool_of(&built.networks, &block.source, &place)?;
    let target = pool_of(&built.networks, &block.target, &place)?;
    let mut report = BlockReport {
        name: name.clone(),
        connector: block.connector.name().to_string(),
        source: selection_label(&block.source),
        target: selection_label(&block.target),
        edges: 0,
        synapses: 0,
        recurrent: source.same_cells(&target),
        forward: None,
        backward: None,
        reciprocal: None,
        reciprocal_fraction: None,
        rho: None,
        mean_convergence: 0.0,
        backward_convergence: None,
        warnings: Vec::new(),
    };
    let mut forward_props = block.forward_props();
    let mut outputs: Vec<(EdgeColumns, EdgeProps, bool)> = Vec::new();
    let block_id = k as u64;
    match &block.connector {
        ConnectorSpec::Unidirection { p, n_syn, autapses } => {
            let p = resolve(p, "p", &place)?;
            check_n_syn(*n_syn, &place)?;
            needs_positions(&[&p], &[&source, &target], &place)?;
            let c = Unidirection {
                p,
                n_syn: *n_syn,
                autapses: *autapses,
            };
            let r = c.connect(&source, &target, seed, block_id);
            report.forward = Some(r.tally);
            outputs.push((r.edges, forward_props, false));
        }
        ConnectorSpec::Reciprocal {
            p0,
            p1,
            symmetric_p1,
            pr,
            estimate_rho,
            rho,
            n_syn0,
            n_syn1,
            autapses,
        } => {
            let recurrent = source.same_cells(&target);
            let p0 = resolve(p0, "p0", &place)?;
            let p1 = match p1 {
                Some(p1) if !recurrent && !symmetric_p1 => resolve(p1, "p1", &place)?,
                Some(_) => {
                    report.warnings.push(
                        "p1 is ignored: source and target are the same cells (or symmetric_p1), so p1 = p0".into(),
                    );
                    p0.clone()
                }
                None => p0.clone(),
            };
            let n_syn1 = if recurrent { *n_syn0 } else { *n_syn1 };
            check_n_syn(*n_syn0, &place)?;
            check_n_syn(n_syn1, &place)?;
            needs_positions(&[&p0, &p1], &[&source, &target], &place)?;
            let coupling = reciprocal_coupling(&p0, &p1, *pr, *estimate_rho, *rho, &place)?;
            let c = Reciprocal {
                p0,
                p1,
                pr: *pr,
                coupling,
                n_syn0: *n_syn0,
                n_syn1,
                autapses: *autapses,
            };
            let r = c.connect(&source, &target, seed, block_id);
            report.rho = r.rho;
            report.warnings.extend(r.warnings.iter().cloned());
            let (f, b, x) = (r.forward_tally, r.backward_tally, r.reciprocal_tally);
            let connected = f.realised + b.realised - x.realised;
            report.reciprocal_fraction = Some(if connected == 0 {
                0.0
            } else {
                x.realised as f64 / connected as f64
            });
            report.reciprocal = Some(x);
            if r.recurrent {
                let mut both = f;
                both.add(&b);
                report.forward = Some(both);
                outputs.push((r.forward, forward_props, false));
            } else {
                report.forward = Some(f);
                report.backward = Some(b);
                let back_props = block
                    .backward
                    .clone()
                    .unwrap_or_else(|| forward_props.clone());
                outputs.push((r.forward, forward_props, false));
                outputs.push((r.backward, back_props, true));
            }
        }
        ConnectorSpec::GapJunction { p } => {
            let p = resolve(p, "p", &place)?;
            let gap = GapJunction {
                p: [p.clone(), p.clone(), p],
            };
            let r = gap_block(&gap, &source, &target, None, seed, block_id, &place)?;
            report.forward = Some(r.tally);
            forward_props.is_gap_junction = Some(true);
            outputs.push((r.edges, forward_props, false));
        }
        ConnectorSpec::CorrelatedGapJunction {
            p_non,
            p_uni,
            p_rec,
            connector,
        } => {
            let p = [
                resolve(p_non, "p_non", &place)?,
                resolve(p_uni, "p_uni", &place)?,
                resolve(p_rec, "p_rec", &place)?,
            ];
            let Some(parts) = state.finished.get(connector) else {
                return fail(
                    &place,
                    format!("connector = '{connector}' names no earlier block"),
                );
            };
            let chemical = EdgeLookup::new(
                parts.iter().map(|(f, t)| &built.edge_files[*f].edges[*t]),
                &source.network,
            );
            let r = gap_block(
                &GapJunction { p },
                &source,
                &target,
                Some(&chemical),
                seed,
                block_id,
                &place,
            )?;
            report.forward = Some(r.tally);
            forward_props.is_gap_junction = Some(true);
            outputs.push((r.edges, forward_props, false));
        }
        ConnectorSpec::OneToOneSequential {
            n_syn,
            partition_source,
        } => {
            check_n_syn(*n_syn, &place)?;
            let fixed = if *partition_source {
                &block.target
            } else {
                &block.source
            };
            let key = format!("{partition_source}|{}", selection_label(fixed));
            let offset = state.sequential.get(&key).copied().unwrap_or(0);
            let (edges, next) =
                connect_sequential(&source, &target, *n_syn, *partition_source, offset).map_err(
                    |m| BuildError {
                        place: place.clone(),
                        message: m,
                    },
                )?;
            state.sequential.insert(key, next);
            outputs.push((edges, forward_props, false));
        }
    }
    let mut parts = Vec::new();
    for (i, (edges, props, backward)) in outputs.into_iter().enumerate() {
        report.edges += edges.len() as u64;
        report.synapses += edges.synapses();
        let cells = if backward { source.len() } else { target.len() };
        let convergence = edges.len() as f64 / cells as f64;
        if i == 0 {
            report.mean_convergence = convergence;
        } else {
            report.backward_convergence = Some(convergence);
        }
        let (sq, tq) = if backward {
            (query_text(&block.target), query_text(&block.source))
        } else {
            (query_text(&block.source), query_text(&block.target))
        };
        parts.push(add_edge_type(built, edges, props, sq, tq));
    }
    state.finished.insert(name, parts);
    built.reports.push(report);
    Ok(())
}

fn gap_block(
    gap: &GapJunction,
    source: &Pool,
    target: &Pool,
    chemical: Option<&EdgeLookup>,
    seed: u64,
    block: u64,
    place: &str,
) -> Result<super::gap_junction::GapJunctionResult, BuildError> {
    if !source.same_cells(target) {
        return fail(
            place,
            "gap junctions join cells of one selection: source and target must be the same",
        );
    }
    let refs: Vec<&Probability> = gap.p.iter().collect();
    needs_positions(&refs, &[source], place)?;
    Ok(gap.connect(source, chemical, seed, block))
}

/// How Y follows X, and a check that constant p0, p1, pr are feasible.
fn reciprocal_coupling(
    p0: &Probability,
    p1: &Probability,
    pr: f64,
    estimate_rho: bool,
    rho: Option<f64>,
    place: &str,
) -> Result<Option<Coupling>, BuildError> {
    if !(0.0..=1.0).contains(&pr) {
        return fail(place, format!("pr = {pr} is outside [0, 1]"));
    }
    if let (Some(a), Some(b)) = (p0.constant(), p1.constant()) {
        let (lo, hi) = ((a + b - 1.0).max(0.0), a.min(b));
        if rho.is_none() && pr > hi + 1e-12 {
            return fail(
                place,
                format!("infeasible reciprocal setting: pr = {pr} > min(p0, p1) = {hi}"),
            );
        }
        if rho.is_none() && pr < lo - 1e-12 {
            return fail(
                place,
                format!("infeasible reciprocal setting: pr = {pr} < p0 + p1 - 1 = {lo}"),
            );
        }
        if rho.is_none() && estimate_rho {
            return Ok(Some(Coupling::Rho(pr_to_rho(a, b, pr))));
        }
    }
    match rho {
        Some(r) if !(-1.0..=1.0).contains(&r) => {
            fail(place, format!("rho = {r} is outside [-1, 1]"))
        }
        Some(r) => Ok(Some(Coupling::Rho(r))),
        None if estimate_rho => Ok(None),
        None => Ok(Some(Coupling::PerPair(pr))),
    }
}

fn add_edge_type(
    built: &mut BuiltNetwork,
    edges: EdgeColumns,
    props: EdgeProps,
    source_query: String,
    target_query: String,
) -> (usize, usize) {
    let f = match built.edge_files.iter().position(|f| {
        f.source_network == edges.source_network && f.target_network == edges.target_network
    }) {
        Some(f) => f,
        None => {
            built.edge_files.push(EdgeFile {
                source_network: edges.source_network.clone(),
                target_network: edges.target_network.clone(),
                types: Vec::new(),
                edges: Vec::new(),
            });
            built.edge_files.len() - 1
        }
    };
    let file = &mut built.edge_files[f];
    file.types.push(EdgeType {
        edge_type_id: 100 + file.types.len() as u64,
        target_query,
        source_query,
        props,
    });
    file.edges.push(edges);
    (f, file.types.len() - 1)
}

// ---------------------------------------------------------------- inputs

fn draw_inputs(
    spec: &Spec,
    nets: &[NetworkNodes],
    seed: u64,
) -> Result<Vec<SpikeTrains>, BuildError> {
    let mut out: Vec<SpikeTrains> = Vec::new();
    for (k, input) in spec.inputs.iter().enumerate() {
        let place = format!("inputs[{k}] ({})", selection_label(&input.source));
        let pool = pool_of(nets, &input.source, &place)?;
        let tstop = input.tstop.unwrap_or(spec.run.tstop);
        if !(input.rate >= 0.0 && input.rate.is_finite()) {
            return fail(&place, format!("rate = {} Hz must be >= 0", input.rate));
        }
        if !above(tstop, input.tstart) {
            return fail(
                &place,
                format!("tstop = {tstop} must be after tstart = {}", input.tstart),
            );
        }
        let idx = match out.iter().position(|s| s.network == pool.network) {
            Some(i) => i,
            None => {
                out.push(SpikeTrains {
                    network: pool.network.clone(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let (stream_seed, stream_block) = match input.seed {
            Some(s) => (s, INPUT_STREAM),
            None => (seed, INPUT_STREAM + k as u64),
        };
        let mean_isi_ms = 1000.0 / input.rate;
        for id in &pool.ids {
            if input.rate == 0.0 {
                break;
            }
            let mut rng = Stream::for_row(stream_seed, stream_block, *id as u64);
            let mut t = input.tstart + rng.exponential(mean_isi_ms);
            while t < tstop {
                out[idx].node_ids.push(*id as u64);
                out[idx].timestamps_ms.push(t);
                t += rng.exponential(mean_isi_ms);
            }
        }
    }
    for trains in &mut out {
        let mut order: Vec<usize> = (0..trains.node_ids.len()).collect();
        order.sort_by(|a, b| {
            trains.timestamps_ms[*a]
                .total_cmp(&trains.timestamps_ms[*b])
                .then(trains.node_ids[*a].cmp(&trains.node_ids[*b]))
        });
        trains.node_ids = order.iter().map(|i| trains.node_ids[*i]).collect();
        trains.timestamps_ms = order.iter().map(|i| trains.timestamps_ms[*i]).collect();
    }
    Ok(out)
}
