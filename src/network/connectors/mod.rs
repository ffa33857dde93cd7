//! bmtool's connectors, rebuilt to run without bmtk: each connector turns a source pool and a
//! target pool of cells into flat edge columns (source node id, target node id, nsyns) with the
//! probabilities bmtool's `connectors.py` defines (bmtool-behaviour.md §3.7), and tallies what
//! was requested against what was realised for the connection report. `spec` reads the network
//! description, `builder` places cells and runs the blocks in order; writing files is
//! `sonata::writer`'s job, not this module's.
//!
//! Randomness: the decision for pair (i, j) uses a uniform that depends only on the seed, the
//! block, i and j ([`rng::PairDraws`]), so the spatial grid used for distance-limited connectors
//! gives exactly the edges an all-pairs scan gives, whatever order it visits candidates in, and
//! rows are drawn in parallel with byte-identical results. Each row's targets are sorted before
//! they are stored.

pub mod builder;
pub mod gap_junction;
pub mod model_dir;
pub mod one_to_one;
pub mod prob;
pub mod reciprocal;
pub mod rng;
pub mod spec;
pub mod unidirection;

pub use builder::{build_network, BlockReport, BuiltNetwork, NetworkNodes};
pub use prob::{DistanceKind, Probability};
pub use spec::{Spec, SpecError};

/// A selection of cells of one node population that a connector works on.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Node population (BMTK network) name.
    pub network: String,
    /// Node ids within the population, ascending.
    pub ids: Vec<u32>,
    /// Positions (µm) of the pool's cells, when the population has them.
    pub positions: Option<Vec<[f64; 3]>>,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Cells that are in both pools (same population and node id).
    pub fn shared_with(&self, other: &Pool) -> u64 {
        if self.network != other.network {
            return 0;
        }
        let (mut a, mut b, mut n) = (0, 0, 0u64);
        while a < self.ids.len() && b < other.ids.len() {
            match self.ids[a].cmp(&other.ids[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    a += 1;
                    b += 1;
                }
            }
        }
        n
    }

    /// True when both pools are the same cells in the same order (bmtool's strict
    /// `is_same_pop`).
    pub fn same_cells(&self, other: &Pool) -> bool {
        self.network == other.network && self.ids == other.ids
    }
}

/// Positions of the source and target pools, when the probabilities need distances.
pub type PairPositions<'a> = Option<(&'a [[f64; 3]], &'a [[f64; 3]])>;

/// Edges as flat columns: one row per connected (source, target) pair, with its synapse count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeColumns {
    pub source_network: String,
    pub target_network: String,
    pub source: Vec<u32>,
    pub target: Vec<u32>,
    pub nsyns: Vec<u32>,
}

impl EdgeColumns {
    pub fn new(source_network: &str, target_network: &str) -> Self {
        EdgeColumns {
            source_network: source_network.to_string(),
            target_network: target_network.to_string(),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.source.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Total synapses (sum of nsyns).
    pub fn synapses(&self) -> u64 {
        self.nsyns.iter().map(|n| *n as u64).sum()
    }
}

/// Requested against realised for one kind of connection over a set of independent pairs:
/// the realised count is a sum of independent Bernoulli draws, so its expected value is
/// `sum_q` and its variance `sum_var` (Σ q(1−q)).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Tally {
    /// Pairs tried.
    pub pairs: u64,
    /// Pairs with a probability above 0.
    pub possible: u64,
    /// Σ of the requested probability over pairs.
    pub sum_q: f64,
    /// Σ q(1−q) of the probabilities actually drawn (variance of the realised count).
    pub sum_var: f64,
    /// Pairs connected.
    pub realised: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.pairs += other.pairs;
        self.possible += other.possible;
        self.sum_q += other.sum_q;
        self.sum_var += other.sum_var;
        self.realised += other.realised;
    }

    /// Count one drawn pair of probability `q` (requested `nominal`).
    #[inline]
    pub fn record(&mut self, nominal: f64, q: f64, hit: bool) {
        if nominal > 0.0 {
            self.possible += 1;
        }
        self.sum_q += nominal;
        let q = q.clamp(0.0, 1.0);
        self.sum_var += q * (1.0 - q);
        self.realised += hit as u64;
    }

    /// Mean requested probability over all pairs.
    pub fn requested(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.sum_q / self.pairs as f64
        }
    }

    /// Realised fraction of pairs connected.
    pub fn realised_fraction(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.realised as f64 / self.pairs as f64
        }
    }

    /// Standard error of the realised fraction under the requested model.
    pub fn standard_error(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.sum_var.sqrt() / self.pairs as f64
        }
    }
}

/// Which target cells a source row visits: all of them, or (for a probability that is 0 beyond
/// a distance) those in the nearby squares of an x-y grid, which never drops a pair whose
/// probability is above 0.
#[derive(Debug)]
pub enum Candidates {
    All(usize),
    Grid(Grid),
}

/// Squares scanned on each side of a source's square; squares are `reach / SPAN` wide, so the
/// scanned block covers every target within `reach` in the x-y plane. Squares wholly beyond
/// `reach` of the source (the block's corners) are skipped.
const SPAN: usize = 4;

/// Target cells bucketed in an x-y grid of squares `reach / SPAN` wide.
#[derive(Debug)]
pub struct Grid {
    origin: [f64; 2],
    cell: f64,
    reach: f64,
    nx: usize,
    ny: usize,
    start: Vec<u32>,
    members: Vec<u32>,
}

impl Candidates {
    /// Pick the strategy for targets at `positions` and a probability 0 beyond `reach` µm.
    pub fn new(n_targets: usize, positions: Option<&[[f64; 3]]>, reach: f64) -> Self {
        match positions {
            Some(pos) if reach.is_finite() && n_targets > 512 => {
                Candidates::Grid(Grid::new(pos, reach))
            }
            _ => Candidates::All(n_targets),
        }
    }

    /// Call `f(j)` for every candidate target `j >= from` of a source at `at` (in no particular
    /// order for a grid).
    pub fn visit(&self, at: Option<[f64; 3]>, from: usize, f: impl FnMut(usize)) {
        match (self, at) {
            (Candidates::Grid(g), Some(p)) => g.visit(p, from, f),
            (Candidates::Grid(g), None) => (from..g.len()).for_each(f),
            (Candidates::All(n), _) => (from..*n).for_each(f),
        }
    }
}

impl Grid {
    fn new(pos: &[[f64; 3]], reach: f64) -> Self {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in pos {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        // Never more squares than about 4 per cell, and never narrower than `reach`.
        let area = ((hi[0] - lo[0]) * (hi[1] - lo[1])).max(0.0);
        let min_cell = (area / (4.0 * pos.len().max(1) as f64)).sqrt();
        let cell = (reach / SPAN as f64).max(min_cell).max(1e-9);
        let nx = ((hi[0] - lo[0]) / cell).floor() as usize + 1;
        let ny = ((hi[1] - lo[1]) / cell).floor() as usize + 1;
        let square = |p: &[f64; 3]| {
            let ix = (((p[0] - lo[0]) / cell) as usize).min(nx - 1);
            let iy = (((p[1] - lo[1]) / cell) as usize).min(ny - 1);
            iy * nx + ix
        };
        let mut start = vec![0u32; nx * ny + 1];
        for p in pos {
            start[square(p) + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut fill = start.clone();
        let mut members = vec![0u32; pos.len()];
        for (j, p) in pos.iter().enumerate() {
            let s = square(p);
            members[fill[s] as usize] = j as u32;
            fill[s] += 1;
        }
        Grid {
            origin: lo,
            cell,
            reach,
            nx,
            ny,
            start,
            members,
        }
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    /// Visit the members of the squares within `SPAN` squares of `p`'s square.
    fn visit(&self, p: [f64; 3], from: usize, mut f: impl FnMut(usize)) {
        let fx = ((p[0] - self.origin[0]) / self.cell).floor() as i64;
        let fy = ((p[1] - self.origin[1]) / self.cell).floor() as i64;
        let span = SPAN as i64;
        let reach2 = self.reach * self.reach;
        // Distance from the source to the nearest edge of square `k` along one axis.
        let gap = |x: f64, origin: f64, k: i64| {
            let lo = origin + k as f64 * self.cell;
            (lo - x).max(x - (lo + self.cell)).max(0.0)
        };
        for iy in (fy - span).max(0)..=(fy + span).min(self.ny as i64 - 1) {
            let gy = gap(p[1], self.origin[1], iy);
            for ix in (fx - span).max(0)..=(fx + span).min(self.nx as i64 - 1) {
                let gx = gap(p[0], self.origin[0], ix);
                if gx * gx + gy * gy > reach2 {
                    continue;
                }
                let s = iy as usize * self.nx + ix as usize;
                let members = &self.members[self.start[s] as usize..self.start[s + 1] as usize];
                // Members are ascending within a square, so skip those below `from` at once.
                let first = members.partition_point(|j| (*j as usize) < from);
                for j in &members[first..] {
                    f(*j as usize);
                }
            }
        }
    }
}

/// A fast membership test for the directed edges of a finished block (gap junctions correlated
/// with chemical synapses look pairs up here).
#[derive(Debug, Default)]
pub struct EdgeLookup {
    keys: Vec<u64>,
}

impl EdgeLookup {
    pub fn new<'a>(edges: impl IntoIterator<Item = &'a EdgeColumns>, network: &str) -> Self {
        let mut keys: Vec<u64> = edges
            .into_iter()
            .filter(|e| e.source_network == network && e.target_network == network)
            .flat_map(|e| {
                e.source
                    .iter()
                    .zip(&e.target)
                    .map(|(s, t)| ((*s as u64) << 32) | *t as u64)
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        EdgeLookup { keys }
    }

    pub fn contains(&self, source: u32, target: u32) -> bool {
        self.keys
            .binary_search(&(((source as u64) << 32) | target as u64))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_visits_every_target_within_reach_once() {
        let mut s = rng::Stream::new(7);
        let pos: Vec<[f64; 3]> = (0..2000)
            .map(|_| {
                [
                    s.uniform_in(0.0, 500.0),
                    s.uniform_in(0.0, 300.0),
                    s.uniform_in(0.0, 50.0),
                ]
            })
            .collect();
        let reach = 40.0;
        let grid = Candidates::new(pos.len(), Some(&pos), reach);
        assert!(matches!(grid, Candidates::Grid(_)));
        for i in (0..pos.len()).step_by(97) {
            let mut got = Vec::new();
            grid.visit(Some(pos[i]), 100, |j| got.push(j));
            got.sort_unstable();
            assert!(got.windows(2).all(|w| w[0] < w[1]), "each target once");
            assert!(got.iter().all(|j| *j >= 100));
            for (j, p) in pos.iter().enumerate().skip(100) {
                if DistanceKind::Spherical.distance(pos[i], *p) <= reach {
                    assert!(got.binary_search(&j).is_ok(), "row {i} misses {j}");
                }
            }
        }
    }
}
