//! Connection probability against distance (bmtool's `probability_connection_matrix`): for each
//! (source group, target group), the distances of every connection (edge row; a pair with k rows
//! counts k times) and of every possible (source cell, target cell) pair, self-pairs included,
//! histogrammed with shared bin edges (`bins` equal-width bins over the range of both, numpy's
//! rule: the last bin includes its right edge); P(bin) = connected / possible. Distances use the
//! chosen axes only. Populations without positions are skipped (with a note) when they come from
//! `all`, and are an error when named explicitly.

use rayon::prelude::*;

use super::edge_values::for_each_block;
use super::matrix::{group_axes, MatrixOptions};
use crate::sonata::{Circuit, SonataError};

/// The histogram of one group pair.
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceProbability {
    /// `bins + 1` edges (µm).
    pub edges: Vec<f64>,
    /// Connections (edge rows) per bin.
    pub connected: Vec<u64>,
    /// Possible (source, target) cell pairs per bin.
    pub pairs: Vec<u64>,
}

impl DistanceProbability {
    /// connected / pairs per bin (NaN for bins without pairs).
    pub fn probability(&self) -> Vec<f64> {
        self.connected
            .iter()
            .zip(&self.pairs)
            .map(|(c, p)| {
                if *p == 0 {
                    f64::NAN
                } else {
                    *c as f64 / *p as f64
                }
            })
            .collect()
    }
}

/// Probabilities per matrix cell (None where the pair has no connections).
#[derive(Debug, Clone)]
pub struct ProbabilityMatrix {
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub cells: Vec<Vec<Option<DistanceProbability>>>,
    /// The axes used, e.g. `[true, true, true]` for x,y,z.
    pub axes: [bool; 3],
    pub warnings: Vec<String>,
}

/// Positions per node id (dense) of a population, projected to the chosen axes (others 0).
fn projected(
    circuit: &Circuit,
    pop: &str,
    axes: [bool; 3],
) -> Result<Option<Vec<[f64; 3]>>, SonataError> {
    let p = circuit.node_population(pop)?;
    let Some(pos) = p.positions()? else {
        return Ok(None);
    };
    let mut out = vec![[f64::NAN; 3]; p.id_span()];
    for (row, id) in p.node_ids.iter().enumerate() {
        let z = pos.z.as_ref().map(|z| z[row]).unwrap_or(0.0);
        let v = [pos.x[row], pos.y[row], z];
        out[*id as usize] = [0, 1, 2].map(|k| if axes[k] { v[k] } else { 0.0 });
    }
    Ok(Some(out))
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// numpy's bin of `d` among `bins` equal bins over lo..hi (the last includes hi).
fn bin_of(d: f64, lo: f64, hi: f64, bins: usize) -> Option<usize> {
    if !(d >= lo && d <= hi) {
        return None;
    }
    if hi <= lo {
        return Some(0);
    }
    Some((((d - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1))
}

/// Compute P(connected | distance) for every group pair.
pub fn probability_matrix(
    circuit: &Circuit,
    opts: &MatrixOptions,
    axes: [bool; 3],
    bins: usize,
) -> Result<ProbabilityMatrix, SonataError> {
    let bins = bins.max(1);
    let ax = group_axes(circuit, opts)?;
    let mut warnings = ax.warnings.clone();
    let explicit = |list: &[String], pop: &str| list.iter().any(|p| p == pop);
    // Positions per population (dense by id); None for populations without positions.
    let mut pos: std::collections::HashMap<String, Option<Vec<[f64; 3]>>> = Default::default();
    for g in ax.row_groups.iter().chain(&ax.col_groups) {
        if pos.contains_key(&g.population) {
            continue;
        }
        let p = projected(circuit, &g.population, axes)?;
        if p.is_none() {
            let named =
                explicit(&opts.sources, &g.population) || explicit(&opts.targets, &g.population);
            if named {
                let pop = circuit.node_population(&g.population)?;
                return Err(SonataError::data(
                    pop.file_path(),
                    &format!("/nodes/{}", g.population),
                    format!(
                        "population '{}' has no positions, so connection probability against distance cannot be computed",
                        g.population
                    ),
                ));
            }
            warnings.push(format!(
                "population '{}' has no positions; skipped",
                g.population
            ));
        }
        pos.insert(g.population.clone(), p);
    }
    // Members (positions) of every row and column group.
    let members = |groups: &[crate::network::PopulationGroups]| -> Vec<Vec<[f64; 3]>> {
        let mut out = Vec::new();
        for g in groups {
            let mut per: Vec<Vec<[f64; 3]>> = vec![Vec::new(); g.values.len()];
            if let Some(Some(p)) = pos.get(&g.population) {
                for (id, gi) in g.group_of_id.iter().enumerate() {
                    if *gi != crate::network::PopulationGroups::NONE && p[id][0].is_finite() {
                        per[*gi as usize].push(p[id]);
                    }
                }
            }
            out.extend(per);
        }
        out
    };
    let row_members = members(&ax.row_groups);
    let col_members = members(&ax.col_groups);
    // Connected distances per cell.
    let (nr, nc) = (ax.row_labels.len(), ax.col_labels.len());
    let mut conn: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); nc]; nr];
    for_each_block(circuit, &ax, opts.include_gap, |b| {
        let (Some(Some(sp)), Some(Some(tp))) = (
            pos.get(&b.edges.source_population),
            pos.get(&b.edges.target_population),
        ) else {
            return Ok(());
        };
        for k in 0..b.row.len() {
            if b.row[k] == usize::MAX {
                continue;
            }
            let (s, t) = (&sp[b.ids.source[k] as usize], &tp[b.ids.target[k] as usize]);
            if s[0].is_finite() && t[0].is_finite() {
                conn[b.row[k]][b.col[k]].push(distance(s, t));
            }
        }
        Ok(())
    })?;
    let mut cells = vec![vec![None; nc]; nr];
    for r in 0..nr {
        for c in 0..nc {
            if conn[r][c].is_empty() {
                continue;
            }
            cells[r][c] = Some(histogram(
                &row_members[r],
                &col_members[c],
                &conn[r][c],
                bins,
            ));
        }
    }
    // Rows and columns of populations without positions are left out.
    let placed = |groups: &[crate::network::PopulationGroups]| -> Vec<bool> {
        groups
            .iter()
            .flat_map(|g| {
                let has = matches!(pos.get(&g.population), Some(Some(_)));
                std::iter::repeat_n(has, g.values.len())
            })
            .collect()
    };
    let (keep_r, keep_c) = (placed(&ax.row_groups), placed(&ax.col_groups));
    let pick = |labels: Vec<String>, keep: &[bool]| -> Vec<String> {
        labels
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(l, _)| l)
            .collect()
    };
    let cells: Vec<Vec<Option<DistanceProbability>>> = cells
        .into_iter()
        .zip(&keep_r)
        .filter(|(_, k)| **k)
        .map(|(row, _)| {
            row.into_iter()
                .zip(&keep_c)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c)
                .collect()
        })
        .collect();
    let row_labels = pick(ax.row_labels, &keep_r);
    let col_labels = pick(ax.col_labels, &keep_c);
    if row_labels.is_empty() || col_labels.is_empty() {
        warnings.push("no connected group pair has positions on both sides".into());
    }
    Ok(ProbabilityMatrix {
        row_labels,
        col_labels,
        cells,
        axes,
        warnings,
    })
}

/// Shared-edge histograms of the connected distances and of all (source, target) pairs.
fn histogram(
    sources: &[[f64; 3]],
    targets: &[[f64; 3]],
    connected: &[f64],
    bins: usize,
) -> DistanceProbability {
    let (lo, hi) = sources
        .par_iter()
        .map(|s| {
            targets
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
                    let d = distance(s, t);
                    (lo.min(d), hi.max(d))
                })
        })
        .reduce(
            || (f64::INFINITY, f64::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
    let (lo, hi) = connected
        .iter()
        .fold((lo, hi), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
    // numpy widens an empty range to lo-0.5..hi+0.5.
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let pairs = sources
        .par_iter()
        .map(|s| {
            let mut h = vec![0u64; bins];
            for t in targets {
                if let Some(b) = bin_of(distance(s, t), lo, hi, bins) {
                    h[b] += 1;
                }
            }
            h
        })
        .reduce(
            || vec![0u64; bins],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let mut conn = vec![0u64; bins];
    for d in connected {
        if let Some(b) = bin_of(*d, lo, hi, bins) {
            conn[b] += 1;
        }
    }
    let edges = (0..=bins)
        .map(|k| lo + (hi - lo) * k as f64 / bins as f64)
        .collect();
    DistanceProbability {
        edges,
        connected: conn,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_binning_includes_the_right_edge() {
        assert_eq!(bin_of(0.0, 0.0, 8.0, 8), Some(0));
        assert_eq!(bin_of(7.999, 0.0, 8.0, 8), Some(7));
        assert_eq!(bin_of(8.0, 0.0, 8.0, 8), Some(7));
        assert_eq!(bin_of(1.0, 0.0, 8.0, 8), Some(1));
        assert_eq!(bin_of(8.1, 0.0, 8.0, 8), None);
    }

    #[test]
    fn pairs_and_connections_share_edges() {
        // Sources at 0 and 10 on x; one target at 0: pairs at distance 0 and 10.
        let s = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]];
        let t = [[0.0, 0.0, 0.0]];
        let h = histogram(&s, &t, &[10.0, 10.0], 2);
        assert_eq!(h.edges, vec![0.0, 5.0, 10.0]);
        assert_eq!(h.pairs, vec![1, 1]);
        assert_eq!(h.connected, vec![0, 2]);
        assert_eq!(h.probability()[1], 2.0);
    }
}
