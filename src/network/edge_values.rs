//! Per group-pair collections of edge values, for the connection commands that are not a single
//! number per cell: the values of an edge property (histogram matrix), the distinct values of a
//! property (network graph), and connections per target cell (connection histogram). Rows and
//! columns are the same as the connection matrices' ([`group_axes`]); gap-junction rows are
//! left out unless asked for, as in the matrices.

use std::collections::BTreeSet;

use super::groups::PopulationGroups;
use super::matrix::{check_ids, group_axes, GroupAxes, MatrixOptions};
use crate::sonata::{Circuit, EdgeIds, EdgePopulation, SonataError};

/// The rows of one edge population with their matrix cells.
pub struct BlockRows<'a> {
    pub edges: &'a EdgePopulation,
    pub ids: EdgeIds,
    /// Matrix row and column of each edge row; `usize::MAX` for dropped (gap-junction) rows.
    pub row: Vec<usize>,
    pub col: Vec<usize>,
}

/// Visit every selected edge population, mapping each row to its matrix cell.
pub fn for_each_block(
    circuit: &Circuit,
    axes: &GroupAxes,
    include_gap: bool,
    mut visit: impl FnMut(BlockRows) -> Result<(), SonataError>,
) -> Result<(), SonataError> {
    for (ri, rg) in axes.row_groups.iter().enumerate() {
        for (ci, cg) in axes.col_groups.iter().enumerate() {
            for i in &axes.wanted {
                let e = &circuit.edges[*i];
                if e.source_population != rg.population || e.target_population != cg.population {
                    continue;
                }
                let ids = e.read_ids(true)?;
                check_ids(e, "source_node_id", &ids.source, rg)?;
                check_ids(e, "target_node_id", &ids.target, cg)?;
                let gap = if include_gap {
                    Vec::new()
                } else {
                    e.gap_junction_types()
                };
                let cell = |k: usize, groups: &PopulationGroups, id: u64, base: usize| {
                    if gap.contains(&ids.edge_type[k]) {
                        usize::MAX
                    } else {
                        base + groups.group_of(id) as usize
                    }
                };
                let row = (0..ids.source.len())
                    .map(|k| cell(k, rg, ids.source[k], axes.row_offset[ri]))
                    .collect();
                let col = (0..ids.target.len())
                    .map(|k| cell(k, cg, ids.target[k], axes.col_offset[ci]))
                    .collect();
                visit(BlockRows {
                    edges: e,
                    ids,
                    row,
                    col,
                })?;
            }
        }
    }
    Ok(())
}

/// Values gathered per matrix cell.
#[derive(Debug, Clone)]
pub struct PairValues<T> {
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    /// `cells[row][col]`.
    pub cells: Vec<Vec<T>>,
    pub warnings: Vec<String>,
}

fn empty<T: Clone + Default>(axes: &GroupAxes) -> Vec<Vec<T>> {
    vec![vec![T::default(); axes.col_labels.len()]; axes.row_labels.len()]
}

/// Every value of the numeric edge property `property` per cell (missing values left out).
pub fn property_values(
    circuit: &Circuit,
    opts: &MatrixOptions,
    property: &str,
) -> Result<PairValues<Vec<f64>>, SonataError> {
    let axes = group_axes(circuit, opts)?;
    let mut cells: Vec<Vec<Vec<f64>>> = empty(&axes);
    let mut found = false;
    for_each_block(circuit, &axes, opts.include_gap, |b| {
        let Some(values) = b.edges.property_f64(property, &b.ids.edge_type)? else {
            return Ok(());
        };
        found = true;
        for k in 0..values.len() {
            if b.row[k] != usize::MAX && values[k].is_finite() {
                cells[b.row[k]][b.col[k]].push(values[k]);
            }
        }
        Ok(())
    })?;
    let mut warnings = axes.warnings.clone();
    if !found {
        warnings.push(format!(
            "no selected edge population has the property '{property}'"
        ));
    }
    Ok(PairValues {
        row_labels: axes.row_labels,
        col_labels: axes.col_labels,
        cells,
        warnings,
    })
}

/// The distinct values of edge property `property` per cell.
pub fn property_sets(
    circuit: &Circuit,
    opts: &MatrixOptions,
    property: &str,
) -> Result<PairValues<BTreeSet<String>>, SonataError> {
    let axes = group_axes(circuit, opts)?;
    let mut cells: Vec<Vec<BTreeSet<String>>> = empty(&axes);
    let mut found = false;
    for_each_block(circuit, &axes, opts.include_gap, |b| {
        let Some(values) = b.edges.property_text(property, &b.ids.edge_type)? else {
            return Ok(());
        };
        found = true;
        for (k, v) in values.into_iter().enumerate() {
            if let (Some(v), true) = (v, b.row[k] != usize::MAX) {
                cells[b.row[k]][b.col[k]].insert(v);
            }
        }
        Ok(())
    })?;
    let mut warnings = axes.warnings.clone();
    if !found {
        warnings.push(format!(
            "no selected edge population has the property '{property}'"
        ));
    }
    Ok(PairValues {
        row_labels: axes.row_labels,
        col_labels: axes.col_labels,
        cells,
        warnings,
    })
}

/// Connections (edge rows) received by each target cell of group `target_label` from group
/// `source_label`, over target cells with at least one, in node-id order: bmtool's
/// `connection_histogram`.
pub fn per_target_counts(
    circuit: &Circuit,
    opts: &MatrixOptions,
    source_label: &str,
    target_label: &str,
) -> Result<Vec<u32>, SonataError> {
    let axes = group_axes(circuit, opts)?;
    let find = |labels: &[String], want: &str, what: &str| {
        labels.iter().position(|l| l == want).ok_or_else(|| {
            SonataError::data(
                &circuit.config.path,
                what,
                format!("no group '{want}' (the groups are: {})", labels.join(", ")),
            )
        })
    };
    let r = find(&axes.row_labels, source_label, "--source-group")?;
    let c = find(&axes.col_labels, target_label, "--target-group")?;
    let mut counts: std::collections::BTreeMap<u64, u32> = Default::default();
    for_each_block(circuit, &axes, opts.include_gap, |b| {
        for k in 0..b.row.len() {
            if b.row[k] == r && b.col[k] == c {
                *counts.entry(b.ids.target[k]).or_default() += 1;
            }
        }
        Ok(())
    })?;
    Ok(counts.into_values().collect())
}
