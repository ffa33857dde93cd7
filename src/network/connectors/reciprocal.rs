//! bmtool's `ReciprocalConnector`: each (source, target) pair is a bivariate Bernoulli variable,
//! forward X with P = p0, backward Y with P = p1 and P(X ∧ Y) = pr. Y is drawn conditionally on
//! X with the correlation ρ = (pr − p0·p1)/√(p0(1−p0)p1(1−p1)), which is either given, estimated
//! over all valid pairs (`estimate_rho`, bmtool's default) or replaced by a per-pair pr clipped
//! into its feasible range. Within one population (recurrent) pairs are i < j and p1 ≡ p0.

use rayon::prelude::*;

use super::prob::Probability;
use super::rng::PairDraws;
use super::{Candidates, EdgeColumns, PairPositions, Pool, Tally};

/// How Y depends on X.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coupling {
    /// A fixed correlation ρ (given or estimated).
    Rho(f64),
    /// A constant pr, clipped per pair into [q0+q1−1, min(q0, q1)].
    PerPair(f64),
}

/// A reciprocal connector, ready to run.
#[derive(Debug, Clone)]
pub struct Reciprocal {
    pub p0: Probability,
    pub p1: Probability,
    pub pr: f64,
    pub coupling: Option<Coupling>,
    pub n_syn0: u32,
    pub n_syn1: u32,
    pub autapses: bool,
}

/// What a reciprocal block produced. For a recurrent block `backward` is empty (both
/// directions are in `forward`, as bmtool writes them in one edge type).
#[derive(Debug)]
pub struct ReciprocalResult {
    pub recurrent: bool,
    pub forward: EdgeColumns,
    pub backward: EdgeColumns,
    pub forward_tally: Tally,
    pub backward_tally: Tally,
    /// Pairs connected both ways, against the requested pr.
    pub reciprocal_tally: Tally,
    /// The ρ used (None for a per-pair pr).
    pub rho: Option<f64>,
    pub warnings: Vec<String>,
}

/// bmtool `pr_2_rho`.
pub fn pr_to_rho(p0: f64, p1: f64, pr: f64) -> f64 {
    let d = (p0 * (1.0 - p0) * p1 * (1.0 - p1)).sqrt();
    if d == 0.0 {
        0.0
    } else {
        (pr - p0 * p1) / d
    }
}

/// Probability of Y given the outcome of X, and P(X ∧ Y) for the pair.
#[inline]
fn conditional(coupling: Coupling, q0: f64, q1: f64, x: bool) -> f64 {
    match coupling {
        Coupling::Rho(rho) => {
            if rho == 0.0 || q0 <= 0.0 || q0 >= 1.0 {
                q1
            } else {
                let z = if x {
                    ((1.0 - q0) / q0).sqrt()
                } else {
                    -(q0 / (1.0 - q0)).sqrt()
                };
                q1 + rho * (q1 * (1.0 - q1)).sqrt() * z
            }
        }
        Coupling::PerPair(pr) => {
            if q0 <= 0.0 {
                return q1;
            }
            let pr = pr.min(q0.min(q1)).max(q0 + q1 - 1.0).max(0.0);
            if x {
                pr / q0
            } else if q0 >= 1.0 {
                q1
            } else {
                (q1 - pr) / (1.0 - q0)
            }
        }
    }
}

struct Row {
    forward: Vec<u32>,
    backward: Vec<u32>,
    t: [Tally; 3],
    /// Pairs whose conditional probability of Y fell outside [0, 1] and was clipped.
    clipped: u64,
}

impl Reciprocal {
    fn positions<'a>(&self, source: &'a Pool, target: &'a Pool) -> PairPositions<'a> {
        if self.p0.is_constant() && self.p1.is_constant() {
            return None;
        }
        match (&source.positions, &target.positions) {
            (Some(s), Some(t)) => Some((s.as_slice(), t.as_slice())),
            _ => None,
        }
    }

    #[inline]
    fn probabilities(&self, pos: PairPositions<'_>, i: usize, j: usize) -> (f64, f64) {
        match pos {
            None => (self.p0.at(0.0), self.p1.at(0.0)),
            Some((s, t)) => (self.p0.between(s[i], t[j]), self.p1.between(t[j], s[i])),
        }
    }

    /// Visit the pairs of row `i` (targets j > i when recurrent, j ≥ i with autapses).
    fn row_pairs(
        &self,
        candidates: &Candidates,
        pos: PairPositions<'_>,
        recurrent: bool,
        i: usize,
        mut f: impl FnMut(usize, f64, f64),
    ) {
        let from = if !recurrent {
            0
        } else if self.autapses {
            i
        } else {
            i + 1
        };
        candidates.visit(pos.map(|p| p.0[i]), from, |j| {
            let (q0, q1) = self.probabilities(pos, i, j);
            if q0 > 0.0 || q1 > 0.0 {
                f(j, q0, q1);
            }
        });
    }

    /// bmtool's ρ estimate over the valid pairs (q0 > 0 and q1 > 0).
    fn estimate_rho(
        &self,
        source: &Pool,
        target: &Pool,
        recurrent: bool,
        candidates: &Candidates,
    ) -> f64 {
        let pos = self.positions(source, target);
        let parts: Vec<(f64, f64, f64)> = (0..source.len())
            .into_par_iter()
            .map(|i| {
                let (mut n, mut prod, mut sd) = (0.0, 0.0, 0.0);
                self.row_pairs(candidates, pos, recurrent, i, |_, q0, q1| {
                    if q0 > 0.0 && q1 > 0.0 {
                        n += 1.0;
                        prod += q0 * q1;
                        sd += (q0 * (1.0 - q0) * q1 * (1.0 - q1)).sqrt();
                    }
                });
                (n, prod, sd)
            })
            .collect();
        let (n, prod, sd) = parts
            .iter()
            .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        if sd == 0.0 {
            0.0
        } else {
            (self.pr * n - prod) / sd
        }
    }

    /// Connect `source` and `target` both ways.
    pub fn connect(&self, source: &Pool, target: &Pool, seed: u64, block: u64) -> ReciprocalResult {
        let recurrent = source.same_cells(target);
        let pos = self.positions(source, target);
        let reach = self.p0.max_dist().max(self.p1.max_dist());
        let candidates = Candidates::new(target.len(), pos.map(|p| p.1), reach);
        let mut warnings = Vec::new();
        let coupling = self.coupling.unwrap_or_else(|| {
            let rho = self.estimate_rho(source, target, recurrent, &candidates);
            if rho.abs() > 1.0 {
                warnings.push(format!(
                    "estimated rho = {rho:.3} is outside [-1, 1]; clipped (pr may not be reached)"
                ));
            }
            Coupling::Rho(rho.clamp(-1.0, 1.0))
        });
        let rows: Vec<Row> = (0..source.len())
            .into_par_iter()
            .map(|i| {
                let draws = PairDraws::for_row(seed, block, i as u64);
                let mut row = Row {
                    forward: Vec::new(),
                    backward: Vec::new(),
                    t: [Tally::default(); 3],
                    clipped: 0,
                };
                self.row_pairs(&candidates, pos, recurrent, i, |j, q0, q1| {
                    let x = q0 > 0.0 && draws.decide(j, 0, q0);
                    row.t[0].record(q0, q0, x);
                    if recurrent && i == j {
                        // An autapse pair has no backward connection.
                        if x {
                            row.forward.push(target.ids[j]);
                        }
                        return;
                    }
                    let (raw_hit, raw_miss) = (
                        conditional(coupling, q0, q1, true),
                        conditional(coupling, q0, q1, false),
                    );
                    let (c_hit, c_miss) = (raw_hit.clamp(0.0, 1.0), raw_miss.clamp(0.0, 1.0));
                    if q1 > 0.0 && (c_hit != raw_hit || (q0 < 1.0 && c_miss != raw_miss)) {
                        row.clipped += 1;
                    }
                    let y = q1 > 0.0 && draws.decide(j, 1, if x { c_hit } else { c_miss });
                    let p_y = q0 * c_hit + (1.0 - q0) * c_miss;
                    row.t[1].record(q1, p_y, y);
                    let nominal_pr = match coupling {
                        _ if q0 <= 0.0 || q1 <= 0.0 => 0.0,
                        Coupling::PerPair(pr) => pr.min(q0.min(q1)).max(q0 + q1 - 1.0).max(0.0),
                        Coupling::Rho(_) => self.pr,
                    };
                    row.t[2].record(nominal_pr, q0 * c_hit, x && y);
                    if x {
                        row.forward.push(target.ids[j]);
                    }
                    if y {
                        row.backward.push(target.ids[j]);
                    }
                });
                row.forward.sort_unstable();
                row.backward.sort_unstable();
                row
            })
            .collect();
        self.assemble(source, target, recurrent, rows, coupling, warnings)
    }

    fn assemble(
        &self,
        source: &Pool,
        target: &Pool,
        recurrent: bool,
        rows: Vec<Row>,
        coupling: Coupling,
        mut warnings: Vec<String>,
    ) -> ReciprocalResult {
        let clipped: u64 = rows.iter().map(|r| r.clipped).sum();
        if clipped > 0 {
            warnings.push(format!(
                "the conditional probability of the backward connection left [0, 1] on {clipped} pairs and was clipped (as in bmtool), so realised p1 and pr differ from the requested values"
            ));
        }
        let mut forward = EdgeColumns::new(&source.network, &target.network);
        let mut backward = EdgeColumns::new(&target.network, &source.network);
        let mut t = [Tally::default(); 3];
        for (i, row) in rows.iter().enumerate() {
            let sid = source.ids[i];
            for (total, part) in t.iter_mut().zip(&row.t) {
                total.add(part);
            }
            forward
                .source
                .extend(std::iter::repeat_n(sid, row.forward.len()));
            forward.target.extend_from_slice(&row.forward);
            forward
                .nsyns
                .extend(std::iter::repeat_n(self.n_syn0, row.forward.len()));
            let back = if recurrent {
                &mut forward
            } else {
                &mut backward
            };
            back.source.extend_from_slice(&row.backward);
            back.target
                .extend(std::iter::repeat_n(sid, row.backward.len()));
            back.nsyns
                .extend(std::iter::repeat_n(self.n_syn1, row.backward.len()));
        }
        let (ns, nt) = (source.len() as u64, target.len() as u64);
        let pairs = if recurrent {
            ns * ns.saturating_sub(1) / 2
        } else {
            ns * nt
        };
        t[0].pairs = pairs + if recurrent && self.autapses { ns } else { 0 };
        t[1].pairs = pairs;
        t[2].pairs = pairs;
        ReciprocalResult {
            recurrent,
            forward,
            backward,
            forward_tally: t[0],
            backward_tally: t[1],
            reciprocal_tally: t[2],
            rho: match coupling {
                Coupling::Rho(r) => Some(r),
                Coupling::PerPair(_) => None,
            },
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(net: &str, n: u32) -> Pool {
        Pool {
            network: net.into(),
            ids: (0..n).collect(),
            positions: None,
        }
    }

    /// `estimate_rho = false`: a per-pair pr, Y drawn with P(Y|X) = pr/p0 and
    /// P(Y|not X) = (p1 − pr)/(1 − p0). Over 400 × 300 pairs the realised counts must be within
    /// 3 standard errors of p0, p1 and pr (each fails by chance with probability 0.27 %; the
    /// seed is fixed, so the outcome is deterministic).
    #[test]
    fn per_pair_pr_reaches_the_requested_values() {
        let c = Reciprocal {
            p0: Probability::Constant(0.2),
            p1: Probability::Constant(0.3),
            pr: 0.1,
            coupling: Some(Coupling::PerPair(0.1)),
            n_syn0: 1,
            n_syn1: 1,
            autapses: false,
        };
        let r = c.connect(&pool("a", 400), &pool("b", 300), 9, 0);
        let n = 400.0 * 300.0;
        for (what, realised, p) in [
            ("p0", r.forward.len() as f64, 0.2),
            ("p1", r.backward.len() as f64, 0.3),
            ("pr", r.reciprocal_tally.realised as f64, 0.1),
        ] {
            let z = (realised - p * n) / (n * p * (1.0 - p)).sqrt();
            assert!(z.abs() <= 3.0, "{what}: z = {z}");
        }
        assert_eq!(r.rho, None);
    }

    #[test]
    fn rho_follows_bmtool_pr_2_rho() {
        // p0 = p1 = 0.5, pr = 0.5: perfectly correlated.
        assert!((pr_to_rho(0.5, 0.5, 0.5) - 1.0).abs() < 1e-12);
        // Independent: pr = p0 p1.
        assert!(pr_to_rho(0.2, 0.3, 0.06).abs() < 1e-12);
    }
}
