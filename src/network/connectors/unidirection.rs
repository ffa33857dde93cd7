//! bmtool's `UnidirectionConnector(p, p_arg, n_syn)`: every (source, target) pair connects
//! independently with probability p, constant or a function of the distance between the cells.
//! Unlike bmtool, a cell is not paired with itself unless `autapses` is asked for.

use rayon::prelude::*;

use super::prob::Probability;
use super::rng::PairDraws;
use super::{Candidates, EdgeColumns, PairPositions, Pool, Tally};

/// A unidirectional connector.
#[derive(Debug, Clone)]
pub struct Unidirection {
    pub p: Probability,
    pub n_syn: u32,
    pub autapses: bool,
}

/// What a unidirectional block produced.
#[derive(Debug)]
pub struct UnidirectionResult {
    pub edges: EdgeColumns,
    pub tally: Tally,
}

impl Unidirection {
    /// Connect `source` to `target`, drawing row `i` from stream (seed, block, i).
    pub fn connect(
        &self,
        source: &Pool,
        target: &Pool,
        seed: u64,
        block: u64,
    ) -> UnidirectionResult {
        let positions = self.positions(source, target);
        let candidates = Candidates::new(target.len(), positions.map(|p| p.1), self.p.max_dist());
        self.connect_with(&candidates, source, target, seed, block)
    }

    /// Positions of both pools, when p depends on distance.
    fn positions<'a>(&self, source: &'a Pool, target: &'a Pool) -> PairPositions<'a> {
        match (&source.positions, &target.positions) {
            (Some(s), Some(t)) if !self.p.is_constant() => Some((s.as_slice(), t.as_slice())),
            _ => None,
        }
    }

    /// [`Unidirection::connect`] with the candidate strategy given.
    fn connect_with(
        &self,
        candidates: &Candidates,
        source: &Pool,
        target: &Pool,
        seed: u64,
        block: u64,
    ) -> UnidirectionResult {
        let positions = self.positions(source, target);
        let same_network = source.network == target.network;
        let rows: Vec<(Vec<u32>, Tally)> = (0..source.len())
            .into_par_iter()
            .map(|i| {
                let draws = PairDraws::for_row(seed, block, i as u64);
                let mut hits = Vec::new();
                let mut tally = Tally::default();
                let sid = source.ids[i];
                let at = positions.map(|p| p.0[i]);
                candidates.visit(at, 0, |j| {
                    if same_network && !self.autapses && target.ids[j] == sid {
                        return;
                    }
                    let q = match positions {
                        Some((_, tp)) => self.p.between(at.unwrap_or_default(), tp[j]),
                        None => self.p.at(0.0),
                    };
                    if q <= 0.0 {
                        return;
                    }
                    let hit = draws.decide(j, 0, q);
                    tally.record(q, q, hit);
                    if hit {
                        hits.push(target.ids[j]);
                    }
                });
                hits.sort_unstable();
                (hits, tally)
            })
            .collect();
        let mut edges = EdgeColumns::new(&source.network, &target.network);
        let mut tally = Tally::default();
        for (i, (hits, t)) in rows.iter().enumerate() {
            tally.add(t);
            edges
                .source
                .extend(std::iter::repeat_n(source.ids[i], hits.len()));
            edges.target.extend_from_slice(hits);
        }
        edges.nsyns = vec![self.n_syn; edges.source.len()];
        let shared = if self.autapses {
            0
        } else {
            source.shared_with(target)
        };
        tally.pairs = source.len() as u64 * target.len() as u64 - shared;
        UnidirectionResult { edges, tally }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: u32) -> Pool {
        Pool {
            network: "net".into(),
            ids: (0..n).collect(),
            positions: None,
        }
    }

    #[test]
    fn p_one_connects_every_pair_but_self() {
        let c = Unidirection {
            p: Probability::Constant(1.0),
            n_syn: 3,
            autapses: false,
        };
        let r = c.connect(&pool(10), &pool(10), 1, 0);
        assert_eq!(r.edges.len(), 90);
        assert_eq!(r.tally.pairs, 90);
        assert!(r
            .edges
            .source
            .iter()
            .zip(&r.edges.target)
            .all(|(s, t)| s != t));
        assert_eq!(r.edges.synapses(), 270);
        let with_self = Unidirection {
            autapses: true,
            ..c
        }
        .connect(&pool(10), &pool(10), 1, 0);
        assert_eq!(with_self.edges.len(), 100);
    }

    /// The spatial grid and an all-pairs scan give the same edges: draws depend only on the
    /// pair, and the grid skips only pairs beyond max_dist (probability 0).
    #[test]
    fn grid_and_all_pairs_agree() {
        let mut s = crate::network::connectors::rng::Stream::new(11);
        let n = 1500;
        let pool = Pool {
            network: "net".into(),
            ids: (0..n).collect(),
            positions: Some(
                (0..n)
                    .map(|_| {
                        [
                            s.uniform_in(0.0, 600.0),
                            s.uniform_in(0.0, 600.0),
                            s.uniform_in(0.0, 100.0),
                        ]
                    })
                    .collect(),
            ),
        };
        let spec = crate::network::connectors::prob::ProbabilitySpec::UniformInRange(
            crate::network::connectors::prob::UniformInRange {
                p: 0.4,
                min_dist: 0.0,
                max_dist: 80.0,
                dist_type: crate::network::connectors::DistanceKind::Spherical,
            },
        );
        let c = Unidirection {
            p: spec.resolve().unwrap(),
            n_syn: 1,
            autapses: false,
        };
        let grid = Candidates::new(n as usize, pool.positions.as_deref(), 80.0);
        assert!(matches!(grid, Candidates::Grid(_)));
        let a = c.connect_with(&grid, &pool, &pool, 5, 2);
        let b = c.connect_with(&Candidates::All(n as usize), &pool, &pool, 5, 2);
        assert!(a.edges.len() > 1000);
        assert_eq!(a.edges, b.edges);
        assert_eq!(a.tally.realised, b.tally.realised);
    }

    #[test]
    fn p_zero_connects_nothing() {
        let c = Unidirection {
            p: Probability::Constant(0.0),
            n_syn: 1,
            autapses: false,
        };
        let r = c.connect(&pool(20), &pool(20), 1, 0);
        assert!(r.edges.is_empty());
        assert_eq!(r.tally.possible, 0);
    }
}
