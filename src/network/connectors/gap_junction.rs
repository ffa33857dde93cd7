//! bmtool's `GapJunction(p)` and `CorrelatedGapJunction(p_non, p_uni, p_rec, connector)`:
//! electrical synapses inside one population, each unordered pair i < j tried once. The
//! correlated form picks the probability by how many chemical connections the pair already has
//! in an earlier block (none, one way, both ways), which is how cyneuro models make gap
//! junctions likelier between chemically coupled cells. One edge row i → j per junction, as
//! BMTK writes them (with `is_gap_junction` set on the edge type).

use rayon::prelude::*;

use super::prob::Probability;
use super::rng::PairDraws;
use super::{Candidates, EdgeColumns, EdgeLookup, Pool, Tally};

/// Probabilities by chemical coupling: [none, one way, both ways]. A plain gap junction uses
/// the same probability three times and no lookup.
#[derive(Debug, Clone)]
pub struct GapJunction {
    pub p: [Probability; 3],
}

/// What a gap-junction block produced.
#[derive(Debug)]
pub struct GapJunctionResult {
    pub edges: EdgeColumns,
    pub tally: Tally,
    /// Tallies by chemical coupling (none, one way, both ways).
    pub by_coupling: [Tally; 3],
}

impl GapJunction {
    fn reach(&self) -> f64 {
        self.p.iter().map(|p| p.max_dist()).fold(0.0, f64::max)
    }

    /// Connect pairs of `pool`; `chemical` holds the earlier block's edges when correlated.
    pub fn connect(
        &self,
        pool: &Pool,
        chemical: Option<&EdgeLookup>,
        seed: u64,
        block: u64,
    ) -> GapJunctionResult {
        let needs_positions = self.p.iter().any(|p| !p.is_constant());
        let pos = pool.positions.as_deref().filter(|_| needs_positions);
        let candidates = Candidates::new(pool.len(), pos, self.reach());
        let rows: Vec<(Vec<u32>, [Tally; 3])> = (0..pool.len())
            .into_par_iter()
            .map(|i| {
                let draws = PairDraws::for_row(seed, block, i as u64);
                let mut hits = Vec::new();
                let mut t = [Tally::default(); 3];
                let si = pool.ids[i];
                candidates.visit(pos.map(|p| p[i]), i + 1, |j| {
                    let sj = pool.ids[j];
                    let coupling = chemical.map_or(0, |c| {
                        c.contains(si, sj) as usize + c.contains(sj, si) as usize
                    });
                    let p = &self.p[coupling];
                    let q = match pos {
                        Some(pos) => p.between(pos[i], pos[j]),
                        None => p.at(0.0),
                    };
                    if q <= 0.0 {
                        return;
                    }
                    let hit = draws.decide(j, 0, q);
                    t[coupling].record(q, q, hit);
                    if hit {
                        hits.push(sj);
                    }
                });
                hits.sort_unstable();
                (hits, t)
            })
            .collect();
        let mut edges = EdgeColumns::new(&pool.network, &pool.network);
        let mut by_coupling = [Tally::default(); 3];
        for (i, (hits, t)) in rows.iter().enumerate() {
            for (total, part) in by_coupling.iter_mut().zip(t) {
                total.add(part);
            }
            edges
                .source
                .extend(std::iter::repeat_n(pool.ids[i], hits.len()));
            edges.target.extend_from_slice(hits);
        }
        edges.nsyns = vec![1; edges.len()];
        let n = pool.len() as u64;
        let mut tally = Tally::default();
        for t in &by_coupling {
            tally.add(t);
        }
        tally.pairs = n * n.saturating_sub(1) / 2;
        // Pairs never drawn (probability 0) count as uncoupled unless a lookup says otherwise;
        // the per-coupling pair counts are those drawn.
        for t in &mut by_coupling {
            t.pairs = t.possible;
        }
        GapJunctionResult {
            edges,
            tally,
            by_coupling,
        }
    }
}
