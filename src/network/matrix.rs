//! Connection matrices between node groups, as bmtool's `relation_matrix` defines them, computed
//! columnwise: each edge population's id columns are read once, every edge row is mapped to its
//! (source group, target group) cell through dense per-id group tables, and the measure is
//! accumulated in flat arrays. What counts as one connection is a choice ([`CountMode`]): edge
//! rows (bmtool's default), unique cell pairs, or synapses (sum of `nsyns`). Percentages are
//! always computed on unique cell pairs, which equals bmtool wherever a pair has at most one row
//! per direction and stays within 0..100 % where bmtool's row-based formula does not.

use std::collections::{BTreeSet, HashMap};

use rayon::slice::ParallelSliceMut;

use super::groups::PopulationGroups;
use crate::sonata::{Circuit, EdgePopulation, SonataError};

/// What one connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    /// One per edge row (bmtool's definition).
    Rows,
    /// One per connected (source cell, target cell) pair.
    Pairs,
    /// One per synapse: `nsyns` of the row, 1 when the row has none.
    Synapses,
}

/// A per-cell statistic over connected cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Mean,
    Std,
    Min,
    Max,
    MeanStd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentMethod {
    Total,
    Uni,
    Bi,
    Innervation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapMethod {
    Convergence,
    Percent,
}

/// The quantity in each matrix cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Connection counts; `synfo` 1 adds mean ± std per target cell, 2 the synapse models
    /// (`model_template`), 3 the synapse parameter files (`dynamics_params`).
    Total {
        synfo: u8,
    },
    Percent(PercentMethod),
    Convergence(Stat),
    Divergence(Stat),
    Gap(GapMethod),
}

/// Which populations and groups, and how to count.
#[derive(Debug, Clone)]
pub struct MatrixOptions {
    /// Source populations; empty or `["all"]` means every population.
    pub sources: Vec<String>,
    pub targets: Vec<String>,
    /// Grouping attribute per source population (in `sources` order); one value applies to all;
    /// missing entries mean `node_type_id`.
    pub sids: Vec<String>,
    pub tids: Vec<String>,
    pub prepend_pop: bool,
    pub count: CountMode,
    pub include_gap: bool,
    pub include_unconnected: bool,
}

impl Default for MatrixOptions {
    fn default() -> Self {
        MatrixOptions {
            sources: vec!["all".into()],
            targets: vec!["all".into()],
            sids: Vec::new(),
            tids: Vec::new(),
            prepend_pop: true,
            count: CountMode::Rows,
            include_gap: false,
            include_unconnected: false,
        }
    }
}

/// A finished matrix: rows are source groups, columns target groups.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Matrix {
    pub title: String,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    /// Row-major values (`values[row][col]`).
    pub values: Vec<Vec<f64>>,
    /// Standard deviation beside a mean (convergence/divergence `mean+std`, total `--synfo 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Vec<Vec<f64>>>,
    /// Text per cell (total `--synfo 2|3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<Vec<String>>>,
    /// True when every value is a whole count.
    pub integer: bool,
    /// Things the user should know (fallback groupings, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The edge rows between one source population and one target population.
struct Block {
    src_pop: String,
    tgt_pop: String,
    source: Vec<u64>,
    target: Vec<u64>,
    weight: Vec<u32>,
    edge_type: Vec<u64>,
    /// Edge population per row range, for looking up types-CSV values.
    parts: Vec<(usize, usize)>,
}

/// Compute `measure` over the circuit.
pub fn connection_matrix(
    circuit: &Circuit,
    measure: Measure,
    opts: &MatrixOptions,
) -> Result<Matrix, SonataError> {
    let GroupAxes {
        wanted,
        row_groups,
        col_groups,
        row_labels,
        col_labels,
        row_offset,
        col_offset,
        warnings,
    } = group_axes(circuit, opts)?;
    let (nr, nc) = (row_labels.len(), col_labels.len());
    let mut acc = Accumulator::new(measure, nr, nc);

    for (ri, rg) in row_groups.iter().enumerate() {
        for (ci, cg) in col_groups.iter().enumerate() {
            let members: Vec<&EdgePopulation> = wanted
                .iter()
                .map(|i| &circuit.edges[*i])
                .filter(|e| {
                    e.source_population == rg.population && e.target_population == cg.population
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            let block = read_block(&members, rg, cg, measure, opts)?;
            let cell = CellMap {
                rg,
                cg,
                row0: row_offset[ri],
                col0: col_offset[ci],
                same_attr: rg.attribute == cg.attribute && rg.population == cg.population,
            };
            acc.add_block(&block, &cell, circuit, opts, measure)?;
        }
    }
    let mut m = acc.finish(measure, row_labels, col_labels);
    m.warnings = warnings;
    if let Measure::Gap(_) = measure {
        drop_empty(&mut m);
    }
    Ok(m)
}

/// The rows and columns of a matrix: the source and target populations joined by at least one
/// selected edge population, split into groups, with labels and each population's first index.
#[derive(Debug)]
pub struct GroupAxes {
    /// Indices into `circuit.edges` of the edge populations between the selected populations.
    pub wanted: Vec<usize>,
    pub row_groups: Vec<PopulationGroups>,
    pub col_groups: Vec<PopulationGroups>,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub row_offset: Vec<usize>,
    pub col_offset: Vec<usize>,
    pub warnings: Vec<String>,
}

/// Work out the rows and columns of a matrix, as bmtool's `relation_matrix` does.
pub fn group_axes(circuit: &Circuit, opts: &MatrixOptions) -> Result<GroupAxes, SonataError> {
    let mut warnings = Vec::new();
    let sources = select(circuit, &opts.sources)?;
    let targets = select(circuit, &opts.targets)?;
    let wanted: Vec<usize> = circuit
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            sources.contains(&e.source_population) && targets.contains(&e.target_population)
        })
        .map(|(i, _)| i)
        .collect();
    let row_pops: Vec<&String> = sources
        .iter()
        .filter(|p| {
            wanted
                .iter()
                .any(|i| &circuit.edges[*i].source_population == *p)
        })
        .collect();
    let col_pops: Vec<&String> = targets
        .iter()
        .filter(|p| {
            wanted
                .iter()
                .any(|i| &circuit.edges[*i].target_population == *p)
        })
        .collect();
    let mut row_groups = Vec::new();
    for pop in &row_pops {
        let attr = attribute_for(&opts.sids, &sources, pop);
        row_groups.push(groups_with_fallback(circuit, pop, &attr, &mut warnings)?);
    }
    let mut col_groups = Vec::new();
    for pop in &col_pops {
        let attr = attribute_for(&opts.tids, &targets, pop);
        col_groups.push(groups_with_fallback(circuit, pop, &attr, &mut warnings)?);
    }
    let row_labels: Vec<String> = row_groups
        .iter()
        .flat_map(|g| g.labels(opts.prepend_pop))
        .collect();
    let col_labels: Vec<String> = col_groups
        .iter()
        .flat_map(|g| g.labels(opts.prepend_pop))
        .collect();
    let row_offset = offsets(&row_groups);
    let col_offset = offsets(&col_groups);
    Ok(GroupAxes {
        wanted,
        row_groups,
        col_groups,
        row_labels,
        col_labels,
        row_offset,
        col_offset,
        warnings,
    })
}

/// The populations a `--sources`/`--targets` list names, in config order for `all`.
pub fn select(circuit: &Circuit, names: &[String]) -> Result<Vec<String>, SonataError> {
    if names.is_empty() || names.iter().any(|n| n == "all") {
        return Ok(circuit.population_names());
    }
    for n in names {
        circuit.node_population(n)?;
    }
    Ok(names.to_vec())
}

/// The grouping attribute for `pop`: one value applies to every population, several are matched
/// to the selection order, missing ones mean `node_type_id`.
fn attribute_for(ids: &[String], selection: &[String], pop: &str) -> String {
    match ids.len() {
        0 => "node_type_id".into(),
        1 => ids[0].clone(),
        _ => selection
            .iter()
            .position(|p| p == pop)
            .and_then(|i| ids.get(i))
            .cloned()
            .unwrap_or_else(|| "node_type_id".into()),
    }
}

/// Group `pop` by `attr`; when the population lacks it, fall back to `node_type_id` and say so.
fn groups_with_fallback(
    circuit: &Circuit,
    pop: &str,
    attr: &str,
    warnings: &mut Vec<String>,
) -> Result<PopulationGroups, SonataError> {
    let node_pop = circuit.node_population(pop)?;
    if attr != "node_type_id" && node_pop.attribute_text(attr)?.is_none() {
        warnings.push(format!(
            "population '{pop}' has no '{attr}'; its groups are node_type_id values"
        ));
        return PopulationGroups::build(node_pop, "node_type_id");
    }
    PopulationGroups::build(node_pop, attr)
}

fn offsets(groups: &[PopulationGroups]) -> Vec<usize> {
    let mut acc = 0;
    groups
        .iter()
        .map(|g| {
            let o = acc;
            acc += g.values.len();
            o
        })
        .collect()
}

/// Read and filter the rows of the edge populations between two node populations.
fn read_block(
    members: &[&EdgePopulation],
    rg: &PopulationGroups,
    cg: &PopulationGroups,
    measure: Measure,
    opts: &MatrixOptions,
) -> Result<Block, SonataError> {
    let mut block = Block {
        src_pop: rg.population.clone(),
        tgt_pop: cg.population.clone(),
        source: Vec::new(),
        target: Vec::new(),
        weight: Vec::new(),
        edge_type: Vec::new(),
        parts: Vec::new(),
    };
    for e in members {
        let gap = e.gap_junction_types();
        let with_types = !gap.is_empty() || matches!(measure, Measure::Total { synfo: 2 | 3 });
        let ids = e.read_ids(with_types)?;
        let keep = |t: u64| match measure {
            Measure::Gap(_) => gap.contains(&t),
            _ => opts.include_gap || !gap.contains(&t),
        };
        let weights = if opts.count == CountMode::Synapses {
            Some(e.synapses_per_row()?)
        } else {
            None
        };
        check_ids(e, "source_node_id", &ids.source, rg)?;
        check_ids(e, "target_node_id", &ids.target, cg)?;
        let start = block.source.len();
        let all_kept = match measure {
            Measure::Gap(_) => false,
            _ => gap.is_empty() || opts.include_gap,
        };
        if all_kept && block.source.is_empty() {
            // The common case: take the columns as read, without copying them.
            block.weight = weights.unwrap_or_else(|| vec![1; ids.source.len()]);
            block.source = ids.source;
            block.target = ids.target;
            block.edge_type = ids.edge_type;
        } else if all_kept || with_types {
            // (Without edge types and without keeping everything, nothing is kept: a gap
            // matrix of a population that has no gap-junction types.)
            for r in 0..ids.source.len() {
                if all_kept || keep(ids.edge_type[r]) {
                    block.source.push(ids.source[r]);
                    block.target.push(ids.target[r]);
                    if with_types {
                        block.edge_type.push(ids.edge_type[r]);
                    }
                    block
                        .weight
                        .push(weights.as_ref().map(|w| w[r]).unwrap_or(1));
                }
            }
        }
        block.parts.push((start, block.source.len()));
    }
    if opts.count == CountMode::Pairs {
        dedupe_pairs(&mut block);
    }
    Ok(block)
}

pub(crate) fn check_ids(
    e: &EdgePopulation,
    column: &str,
    ids: &[u64],
    groups: &PopulationGroups,
) -> Result<(), SonataError> {
    if let Some(bad) = ids
        .iter()
        .find(|id| groups.group_of(**id) == PopulationGroups::NONE)
    {
        return Err(SonataError::data(
            e.file_path(),
            &format!("/edges/{}/{column}", e.name),
            format!(
                "node id {bad} is not in node population '{}'",
                groups.population
            ),
        ));
    }
    Ok(())
}

/// Keep one row per (source, target) pair, weight 1.
fn dedupe_pairs(block: &mut Block) {
    let typed = !block.edge_type.is_empty();
    let mut rows: Vec<(u64, u64, u64)> = (0..block.source.len())
        .map(|r| {
            let t = if typed { block.edge_type[r] } else { 0 };
            (block.source[r], block.target[r], t)
        })
        .collect();
    rows.par_sort_unstable();
    rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    block.source = rows.iter().map(|r| r.0).collect();
    block.target = rows.iter().map(|r| r.1).collect();
    block.edge_type = if typed {
        rows.iter().map(|r| r.2).collect()
    } else {
        Vec::new()
    };
    block.weight = vec![1; rows.len()];
    block.parts.clear();
}

/// How a block's groups land in the full matrix.
struct CellMap<'a> {
    rg: &'a PopulationGroups,
    cg: &'a PopulationGroups,
    row0: usize,
    col0: usize,
    /// Source and target groups are the same node sets (same population, same attribute).
    same_attr: bool,
}

/// Running sums per matrix cell.
struct Accumulator {
    nr: usize,
    nc: usize,
    value: Vec<f64>,
    spread: Option<Vec<f64>>,
    notes: Option<Vec<BTreeSet<String>>>,
}

impl Accumulator {
    fn new(measure: Measure, nr: usize, nc: usize) -> Self {
        let with_spread = matches!(
            measure,
            Measure::Total { synfo: 1 }
                | Measure::Convergence(Stat::MeanStd)
                | Measure::Divergence(Stat::MeanStd)
                | Measure::Gap(GapMethod::Convergence)
        );
        let with_notes = matches!(measure, Measure::Total { synfo: 2 | 3 });
        Accumulator {
            nr,
            nc,
            value: vec![0.0; nr * nc],
            spread: with_spread.then(|| vec![0.0; nr * nc]),
            notes: with_notes.then(|| vec![BTreeSet::new(); nr * nc]),
        }
    }

    fn add_block(
        &mut self,
        block: &Block,
        cell: &CellMap,
        circuit: &Circuit,
        opts: &MatrixOptions,
        measure: Measure,
    ) -> Result<(), SonataError> {
        match measure {
            Measure::Total { synfo } => {
                self.add_totals(block, cell);
                match synfo {
                    1 => self.add_stats(block, cell, Stat::MeanStd, Side::Target, opts, true),
                    2 | 3 => self.add_notes(block, cell, circuit, synfo),
                    _ => {}
                }
            }
            Measure::Convergence(stat) => {
                self.add_stats(block, cell, stat, Side::Target, opts, false)
            }
            Measure::Divergence(stat) => {
                self.add_stats(block, cell, stat, Side::Source, opts, false)
            }
            Measure::Gap(GapMethod::Convergence) => {
                self.add_stats(block, cell, Stat::MeanStd, Side::Target, opts, false)
            }
            Measure::Gap(GapMethod::Percent) => {
                self.add_percent(block, cell, circuit, opts, PercentMethod::Total, measure)?
            }
            Measure::Percent(method) => {
                self.add_percent(block, cell, circuit, opts, method, measure)?
            }
        }
        Ok(())
    }

    fn index(&self, cell: &CellMap, sg: u32, tg: u32) -> usize {
        (cell.row0 + sg as usize) * self.nc + cell.col0 + tg as usize
    }

    fn add_totals(&mut self, block: &Block, cell: &CellMap) {
        for r in 0..block.source.len() {
            let i = self.index(
                cell,
                cell.rg.group_of(block.source[r]),
                cell.cg.group_of(block.target[r]),
            );
            self.value[i] += block.weight[r] as f64;
        }
    }

    /// Convergence (per target cell) or divergence (per source cell) statistics.
    fn add_stats(
        &mut self,
        block: &Block,
        cell: &CellMap,
        stat: Stat,
        side: Side,
        opts: &MatrixOptions,
        spread_only: bool,
    ) {
        let (counted, other) = match side {
            Side::Target => (cell.cg, cell.rg),
            Side::Source => (cell.rg, cell.cg),
        };
        let n_other = other.values.len();
        let counts = CellCounts::tally(block, side, other, counted);
        // Per matrix cell: n, sum, sum of squares, min, max.
        let n_counted = counted.values.len();
        let mut moments = vec![Moments::default(); n_other * n_counted];
        for (id, g) in counted.group_of_id.iter().enumerate() {
            if *g == PopulationGroups::NONE {
                continue;
            }
            for og in 0..n_other {
                let c = counts.get(og as u32, id as u64);
                if c > 0 || opts.include_unconnected {
                    moments[og * n_counted + *g as usize].push(c as f64);
                }
            }
        }
        for og in 0..n_other {
            for g in 0..counted.values.len() {
                let m = &moments[og * counted.values.len() + g];
                let (sg, tg) = match side {
                    Side::Target => (og as u32, g as u32),
                    Side::Source => (g as u32, og as u32),
                };
                let i = self.index(cell, sg, tg);
                if let Some(spread) = self.spread.as_mut() {
                    spread[i] = m.std();
                }
                if !spread_only {
                    self.value[i] = match stat {
                        Stat::Mean | Stat::MeanStd => m.mean(),
                        Stat::Std => m.std(),
                        Stat::Min => m.min(),
                        Stat::Max => m.max(),
                    };
                }
            }
        }
    }

    fn add_notes(&mut self, block: &Block, cell: &CellMap, circuit: &Circuit, synfo: u8) {
        let column = if synfo == 2 {
            "model_template"
        } else {
            "dynamics_params"
        };
        let Some(notes) = self.notes.as_mut() else {
            return;
        };
        let edges: Vec<&EdgePopulation> = circuit
            .edges
            .iter()
            .filter(|e| {
                e.source_population == block.src_pop && e.target_population == block.tgt_pop
            })
            .collect();
        for (part, (start, end)) in block.parts.iter().enumerate() {
            let Some(e) = edges.get(part) else { continue };
            for r in *start..*end {
                let sg = cell.rg.group_of(block.source[r]);
                let tg = cell.cg.group_of(block.target[r]);
                let i = (cell.row0 + sg as usize) * self.nc + cell.col0 + tg as usize;
                if let Some(v) = e.types.get(block.edge_type[r], column) {
                    let v = v.strip_suffix(".json").unwrap_or(v);
                    notes[i].insert(v.to_string());
                }
            }
        }
    }

    fn add_percent(
        &mut self,
        block: &Block,
        cell: &CellMap,
        circuit: &Circuit,
        opts: &MatrixOptions,
        method: PercentMethod,
        measure: Measure,
    ) -> Result<(), SonataError> {
        // Pairs of this block, and the pairs running back (target -> source) written as
        // (source, target) keys, so that reciprocity is one merge of two sorted lists. For a
        // recurrent population both come from the same edges; they are sorted in parallel.
        let (pairs, backward) = if block.src_pop == block.tgt_pop {
            rayon::join(
                || unique_pairs(&block.source, &block.target),
                || unique_pairs(&block.target, &block.source),
            )
        } else {
            let (pairs, backward) = rayon::join(
                || unique_pairs(&block.source, &block.target),
                || backward_pairs(circuit, block, measure, opts),
            );
            (pairs, backward?)
        };
        let reciprocal_flags = has_reverse(&pairs, &backward);
        let (nsg, ntg) = (cell.rg.values.len(), cell.cg.values.len());
        let mut directed = vec![0u64; nsg * ntg];
        let mut reciprocal = vec![0u64; nsg * ntg];
        let mut targets: Vec<BTreeSet<u64>> = vec![
            BTreeSet::new();
            if method == PercentMethod::Innervation {
                nsg * ntg
            } else {
                0
            }
        ];
        for (key, has_back) in pairs.iter().zip(&reciprocal_flags) {
            let (s, t) = &key_pair(*key);
            let (sg, tg) = (cell.rg.group_of(*s), cell.cg.group_of(*t));
            let k = sg as usize * ntg + tg as usize;
            let recurrent = cell.same_attr && sg == tg;
            if recurrent && s == t {
                continue;
            }
            directed[k] += 1;
            if *has_back {
                reciprocal[k] += 1;
            }
            if method == PercentMethod::Innervation {
                targets[k].insert(*t);
            }
        }
        for sg in 0..nsg {
            for tg in 0..ntg {
                let k = sg * ntg + tg;
                let (ns, nt) = (cell.rg.sizes[sg] as f64, cell.cg.sizes[tg] as f64);
                let recurrent = cell.same_attr && sg == tg;
                let (connected, bi, possible) = if recurrent {
                    // Unordered pairs {i, j}, i != j: a reciprocal pair was seen from both sides.
                    let bi = reciprocal[k] as f64 / 2.0;
                    let uni = (directed[k] - reciprocal[k]) as f64;
                    (uni + bi, bi, ns * (ns - 1.0) / 2.0)
                } else {
                    (directed[k] as f64, reciprocal[k] as f64, ns * nt)
                };
                let numerator = match method {
                    PercentMethod::Total => connected,
                    PercentMethod::Bi => bi,
                    PercentMethod::Uni => connected - bi,
                    PercentMethod::Innervation => targets[k].len() as f64,
                };
                let denominator = if method == PercentMethod::Innervation {
                    nt
                } else {
                    possible
                };
                let i = self.index(cell, sg as u32, tg as u32);
                self.value[i] = if denominator > 0.0 {
                    100.0 * numerator / denominator
                } else {
                    0.0
                };
            }
        }
        Ok(())
    }

    fn finish(self, measure: Measure, row_labels: Vec<String>, col_labels: Vec<String>) -> Matrix {
        let grid = |v: &[f64]| -> Vec<Vec<f64>> {
            v.chunks(self.nc.max(1))
                .take(self.nr)
                .map(<[f64]>::to_vec)
                .collect()
        };
        let values = if self.nc == 0 {
            vec![Vec::new(); self.nr]
        } else {
            grid(&self.value)
        };
        let integer = matches!(measure, Measure::Total { .. });
        Matrix {
            title: title(measure),
            row_labels,
            col_labels,
            values,
            spread: self.spread.as_deref().map(grid),
            notes: self.notes.map(|n| {
                n.chunks(self.nc.max(1))
                    .map(|row| {
                        row.iter()
                            .map(|s| s.iter().cloned().collect::<Vec<_>>().join(", "))
                            .collect()
                    })
                    .collect()
            }),
            integer,
            warnings: Vec::new(),
        }
    }
}

/// Connections per (group on the other side, counted cell id): dense when small enough, a hash
/// map otherwise (e.g. grouping by node_id on a large network).
enum CellCounts {
    Dense { span: usize, counts: Vec<u32> },
    Sparse(HashMap<(u32, u64), u32>),
}

const DENSE_LIMIT: usize = 64 << 20;

impl CellCounts {
    fn tally(
        block: &Block,
        side: Side,
        other: &PopulationGroups,
        counted: &PopulationGroups,
    ) -> Self {
        let span = counted.group_of_id.len();
        let cells = other.values.len() * span;
        let rows = (0..block.source.len()).map(|r| match side {
            Side::Target => (
                other.group_of(block.source[r]),
                block.target[r],
                block.weight[r],
            ),
            Side::Source => (
                other.group_of(block.target[r]),
                block.source[r],
                block.weight[r],
            ),
        });
        if cells <= DENSE_LIMIT {
            let mut counts = vec![0u32; cells];
            for (og, id, w) in rows {
                counts[og as usize * span + id as usize] += w;
            }
            CellCounts::Dense { span, counts }
        } else {
            let mut counts = HashMap::new();
            for (og, id, w) in rows {
                *counts.entry((og, id)).or_default() += w;
            }
            CellCounts::Sparse(counts)
        }
    }

    fn get(&self, og: u32, id: u64) -> u32 {
        match self {
            CellCounts::Dense { span, counts } => counts[og as usize * span + id as usize],
            CellCounts::Sparse(m) => m.get(&(og, id)).copied().unwrap_or(0),
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Source,
    Target,
}

/// Count, sum, sum of squares, min and max of a sample.
#[derive(Debug, Clone, Default)]
struct Moments {
    n: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        if self.n == 0 || x < self.min {
            self.min = x;
        }
        if self.n == 0 || x > self.max {
            self.max = x;
        }
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// Sample standard deviation (ddof 1, as pandas); 0 for fewer than two values.
    fn std(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        let var = (self.sum_sq - self.sum * self.sum / n) / (n - 1.0);
        var.max(0.0).sqrt()
    }

    fn min(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.min
        }
    }

    fn max(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.max
        }
    }
}

/// A (source, target) pair as one sortable key: source in the high 32 bits.
fn pair_key(source: u64, target: u64) -> u64 {
    (source << 32) | target
}

fn key_pair(key: u64) -> (u64, u64) {
    (key >> 32, key & 0xFFFF_FFFF)
}

/// Sorted unique (source, target) pair keys. Node ids must fit in 32 bits (checked by the
/// caller).
fn unique_pairs(source: &[u64], target: &[u64]) -> Vec<u64> {
    let mut keys: Vec<u64> = source
        .iter()
        .zip(target)
        .map(|(s, t)| pair_key(*s, *t))
        .collect();
    radix_sort(&mut keys);
    keys.dedup();
    keys
}

/// Least-significant-digit radix sort on 16-bit digits, skipping digits that are the same in
/// every key (node ids rarely use all 32 bits).
fn radix_sort(keys: &mut Vec<u64>) {
    if keys.len() < 1 << 12 {
        keys.sort_unstable();
        return;
    }
    let (or, and) = keys
        .iter()
        .fold((0u64, u64::MAX), |(o, a), k| (o | k, a & k));
    let varying = or ^ and;
    let mut scratch = vec![0u64; keys.len()];
    for shift in (0..64).step_by(16) {
        if (varying >> shift) & 0xFFFF == 0 {
            continue;
        }
        let mut counts = vec![0usize; 1 << 16];
        for k in keys.iter() {
            counts[((k >> shift) & 0xFFFF) as usize] += 1;
        }
        let mut total = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = total;
            total += n;
        }
        for k in keys.iter() {
            let d = ((k >> shift) & 0xFFFF) as usize;
            scratch[counts[d]] = *k;
            counts[d] += 1;
        }
        std::mem::swap(keys, &mut scratch);
    }
}

/// For each sorted pair key, whether it is also in `backward` (sorted): one merge pass.
fn has_reverse(pairs: &[u64], backward: &[u64]) -> Vec<bool> {
    let mut flags = vec![false; pairs.len()];
    let mut j = 0;
    for (i, p) in pairs.iter().enumerate() {
        while j < backward.len() && backward[j] < *p {
            j += 1;
        }
        flags[i] = j < backward.len() && backward[j] == *p;
    }
    flags
}

/// The edges running the other way (target population -> source population), filtered the same
/// way, as sorted unique keys with their ends swapped, for reciprocity across populations.
fn backward_pairs(
    circuit: &Circuit,
    block: &Block,
    measure: Measure,
    opts: &MatrixOptions,
) -> Result<Vec<u64>, SonataError> {
    let mut source = Vec::new();
    let mut target = Vec::new();
    for e in circuit
        .edges
        .iter()
        .filter(|e| e.source_population == block.tgt_pop && e.target_population == block.src_pop)
    {
        let gap = e.gap_junction_types();
        let ids = e.read_ids(!gap.is_empty())?;
        for r in 0..ids.source.len() {
            let is_gap = !gap.is_empty() && gap.contains(&ids.edge_type[r]);
            let keep = match measure {
                Measure::Gap(_) => is_gap,
                _ => opts.include_gap || !is_gap,
            };
            if keep {
                source.push(ids.source[r]);
                target.push(ids.target[r]);
            }
        }
    }
    Ok(unique_pairs(&target, &source))
}

/// Remove rows and columns that are zero everywhere (bmtool does this for gap-junction matrices).
fn drop_empty(m: &mut Matrix) {
    let keep_rows: Vec<usize> = (0..m.row_labels.len())
        .filter(|r| m.values[*r].iter().any(|v| *v != 0.0))
        .collect();
    let keep_cols: Vec<usize> = (0..m.col_labels.len())
        .filter(|c| m.values.iter().any(|row| row[*c] != 0.0))
        .collect();
    let pick = |g: &[Vec<f64>]| -> Vec<Vec<f64>> {
        keep_rows
            .iter()
            .map(|r| keep_cols.iter().map(|c| g[*r][*c]).collect())
            .collect()
    };
    let values = pick(&m.values);
    m.spread = m.spread.as_deref().map(pick);
    m.values = values;
    m.row_labels = keep_rows.iter().map(|r| m.row_labels[*r].clone()).collect();
    m.col_labels = keep_cols.iter().map(|c| m.col_labels[*c].clone()).collect();
}

/// bmtool's titles.
fn title(measure: Measure) -> String {
    let stat = |s: Stat| match s {
        Stat::Mean => "Mean",
        Stat::Std => "Standard Deviation",
        Stat::Min => "Minimum",
        Stat::Max => "Maximum",
        Stat::MeanStd => "Mean + Std",
    };
    match measure {
        Measure::Total { synfo: 2 } => "All Synapse .mod Files Used".into(),
        Measure::Total { synfo: 3 } => "All Synapse .json Files Used".into(),
        Measure::Total { .. } => "Total Connections".into(),
        Measure::Percent(PercentMethod::Total) => "Percent Connectivity".into(),
        Measure::Percent(PercentMethod::Uni) => "Percent Unidirectional Connectivity".into(),
        Measure::Percent(PercentMethod::Bi) => "Percent Bidirectional Connectivity".into(),
        Measure::Percent(PercentMethod::Innervation) => "Percent Innervation".into(),
        Measure::Convergence(s) => format!("{} Synaptic Convergence", stat(s)),
        Measure::Divergence(s) => format!("{} Synaptic Divergence", stat(s)),
        Measure::Gap(GapMethod::Convergence) => "Gap Junction Syn Convergence".into(),
        Measure::Gap(GapMethod::Percent) => "Gap Junction Percent Connectivity".into(),
    }
}
