//! Statistical verification of the connectors: over 10 seeds, the realised connection counts
//! must lie within 3 standard errors of what the requested probabilities imply (bmtool-behaviour
//! .md §3.7). Expected counts and variances are computed here from the spec's parameters and the
//! cells' positions (never from the build's own tallies); realised counts are read from the
//! built edge columns.
//!
//! False-failure rate: each comparison is a sum of many independent Bernoulli draws, so under
//! the requested model it is close to normal and exceeds 3 standard errors with probability
//! 0.27 %. Where the exact variance depends on the estimated correlation we use an upper bound
//! (stated at the comparison), which only lowers that rate. This file makes 15 comparisons, so a
//! fresh set of seeds would fail by chance with probability at most 15 × 0.27 % ≈ 4 %; the
//! seeds are fixed, so the outcome is deterministic and a failure means the maths changed.

use std::collections::HashSet;
use std::path::Path;

use bmtool::network::connectors::builder::BuiltNetwork;
use bmtool::network::connectors::{build_network, Spec};

const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

fn built(spec: &str, seed: u64) -> BuiltNetwork {
    let spec = Spec::from_toml(spec, Path::new("test.toml")).unwrap();
    build_network(&spec, seed).unwrap()
}

/// Directed (source, target) pairs of edge type `type_index` in the `src` -> `trg` file.
fn edges(b: &BuiltNetwork, src: &str, trg: &str, type_index: usize) -> Vec<(u32, u32)> {
    let f = b
        .edge_files
        .iter()
        .find(|f| f.source_network == src && f.target_network == trg)
        .unwrap();
    let e = &f.edges[type_index];
    e.source
        .iter()
        .copied()
        .zip(e.target.iter().copied())
        .collect()
}

fn positions(b: &BuiltNetwork, net: &str) -> Vec<[f64; 3]> {
    let n = b.networks.iter().find(|n| n.name == net).unwrap();
    let flat = n.groups[0].positions.as_ref().unwrap();
    flat.chunks(3).map(|p| [p[0], p[1], p[2]]).collect()
}

/// |realised − expected| ≤ 3 √variance.
fn within_3_se(what: &str, realised: f64, expected: f64, variance: f64) {
    let se = variance.sqrt();
    let z = (realised - expected) / se;
    eprintln!("{what}: realised {realised}, expected {expected:.1}, se {se:.1}, z {z:+.2}");
    assert!(z.abs() <= 3.0, "{what}: z = {z:.2}");
}

const TWO_POPULATIONS: &str = r#"
[[nodes]]
network = "net"
pop_name = "A"
N = 200
model_type = "point_neuron"
[[nodes]]
network = "net"
pop_name = "B"
N = 150
model_type = "point_neuron"
[[edges]]
source = { network = "net", pop_name = "A" }
target = { network = "net", pop_name = "B" }
connector = { type = "reciprocal", p0 = 0.2, p1 = 0.3, pr = 0.1 }
"#;

/// p0, p1 and pr between two populations (constant probabilities, ρ from pr).
#[test]
fn reciprocal_between_two_populations() {
    let (p0, p1, pr) = (0.2, 0.3, 0.1);
    let pairs = (200 * 150 * SEEDS.len()) as f64;
    let (mut fwd, mut bwd, mut both) = (0.0, 0.0, 0.0);
    for seed in SEEDS {
        let b = built(TWO_POPULATIONS, seed);
        let f = edges(&b, "net", "net", 0);
        let r = edges(&b, "net", "net", 1);
        // Every forward edge goes A (ids 0..200) -> B (200..350), every backward edge B -> A.
        assert!(f.iter().all(|(s, t)| *s < 200 && *t >= 200));
        assert!(r.iter().all(|(s, t)| *s >= 200 && *t < 200));
        let back: HashSet<(u32, u32)> = r.iter().map(|(s, t)| (*t, *s)).collect();
        fwd += f.len() as f64;
        bwd += r.len() as f64;
        both += f.iter().filter(|e| back.contains(e)).count() as f64;
    }
    within_3_se("p0", fwd, p0 * pairs, pairs * p0 * (1.0 - p0));
    within_3_se("p1", bwd, p1 * pairs, pairs * p1 * (1.0 - p1));
    within_3_se("pr", both, pr * pairs, pairs * pr * (1.0 - pr));
}

/// Within one population: pairs i < j, p1 = p0, and reciprocal pairs at pr.
#[test]
fn reciprocal_within_one_population() {
    let spec = r#"
[[nodes]]
network = "net"
pop_name = "A"
N = 300
model_type = "point_neuron"
[[edges]]
source = { network = "net" }
target = { network = "net" }
connector = { type = "reciprocal", p0 = 0.15, pr = 0.06 }
"#;
    let (p, pr) = (0.15, 0.06);
    let pairs = (300 * 299 / 2 * SEEDS.len()) as f64;
    let (mut directed, mut both) = (0.0, 0.0);
    for seed in SEEDS {
        let b = built(spec, seed);
        let e = edges(&b, "net", "net", 0);
        assert!(e.iter().all(|(s, t)| s != t), "no autapses");
        let set: HashSet<(u32, u32)> = e.iter().copied().collect();
        assert_eq!(set.len(), e.len(), "no duplicate edges");
        directed += e.len() as f64;
        both += e
            .iter()
            .filter(|(s, t)| s < t && set.contains(&(*t, *s)))
            .count() as f64;
    }
    // X + Y per pair: variance 2p(1−p) + 2 cov(X, Y), cov = pr − p².
    let var = pairs * (2.0 * p * (1.0 - p) + 2.0 * (pr - p * p));
    within_3_se("p (both directions)", directed, 2.0 * p * pairs, var);
    within_3_se("pr", both, pr * pairs, pairs * pr * (1.0 - pr));
}

fn gaussian(r: f64, pmax: f64, stdev: f64, max_dist: f64) -> f64 {
    if r > max_dist {
        0.0
    } else {
        pmax * (-0.5 * (r / stdev).powi(2)).exp()
    }
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The distance profile of a Gaussian drop-off, in five 50 µm bins (the spatial grid is in use:
/// 800 cells > the 512 threshold, so this also checks that no pair within reach is skipped).
#[test]
fn gaussian_distance_profile() {
    let spec = r#"
[[nodes]]
network = "net"
pop_name = "A"
N = 800
model_type = "point_neuron"
positions = { shape = "box", min = [0, 0, 0], max = [400, 400, 100] }
[[edges]]
source = { network = "net" }
target = { network = "net" }
connector = { type = "unidirection", p = { function = "gaussian", pmax = 0.5, stdev = 60.0, max_dist = 250.0 } }
"#;
    let (pmax, stdev, max_dist) = (0.5, 60.0, 250.0);
    let bins = 5;
    let (mut expected, mut var, mut realised) = (vec![0.0; bins], vec![0.0; bins], vec![0.0; bins]);
    for seed in SEEDS {
        let b = built(spec, seed);
        let pos = positions(&b, "net");
        for (i, a) in pos.iter().enumerate() {
            for (j, c) in pos.iter().enumerate() {
                let r = distance(*a, *c);
                if i == j || r >= 250.0 {
                    continue;
                }
                let q = gaussian(r, pmax, stdev, max_dist);
                let k = (r / 50.0) as usize;
                expected[k] += q;
                var[k] += q * (1.0 - q);
            }
        }
        for (s, t) in edges(&b, "net", "net", 0) {
            let r = distance(pos[s as usize], pos[t as usize]);
            assert!(r <= max_dist, "an edge beyond max_dist");
            realised[(r / 50.0) as usize] += 1.0;
        }
    }
    for k in 0..bins {
        let what = format!("p at {}-{} um", 50 * k, 50 * (k + 1));
        within_3_se(&what, realised[k], expected[k], var[k]);
    }
}

/// Reciprocal with a distance-dependent p0 and ρ estimated over all pairs (bmtool's default):
/// the directed count follows Σ 2 q(r) and the reciprocal count pr × pairs.
#[test]
fn reciprocal_with_distance_dependent_p0() {
    let spec = r#"
[[nodes]]
network = "net"
pop_name = "A"
N = 400
model_type = "point_neuron"
positions = { shape = "sphere", radius = 150 }
[[edges]]
source = { network = "net" }
target = { network = "net" }
connector = { type = "reciprocal", p0 = { function = "gaussian", pmax = 0.4, stdev = 100.0 }, pr = 0.08 }
"#;
    let (pmax, stdev, pr) = (0.4, 100.0, 0.08);
    let (mut exp_dir, mut var_dir, mut directed, mut both, mut pairs) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for seed in SEEDS {
        let b = built(spec, seed);
        let pos = positions(&b, "net");
        for i in 0..pos.len() {
            for j in i + 1..pos.len() {
                let q = gaussian(distance(pos[i], pos[j]), pmax, stdev, f64::INFINITY);
                exp_dir += 2.0 * q;
                // Var(X + Y) ≤ 4 q(1 − q) whatever the correlation (an upper bound).
                var_dir += 4.0 * q * (1.0 - q);
                pairs += 1.0;
            }
        }
        let e = edges(&b, "net", "net", 0);
        let set: HashSet<(u32, u32)> = e.iter().copied().collect();
        directed += e.len() as f64;
        both += e
            .iter()
            .filter(|(s, t)| s < t && set.contains(&(*t, *s)))
            .count() as f64;
    }
    within_3_se("p0(r), both directions", directed, exp_dir, var_dir);
    // Σ e(1 − e) ≤ n·pr(1 − pr) when Σ e = n·pr (Jensen): an upper bound on the variance.
    within_3_se(
        "pr with estimated rho",
        both,
        pr * pairs,
        pairs * pr * (1.0 - pr),
    );
}

/// CorrelatedGapJunction: the gap-junction probability follows the chemical coupling of the
/// pair in the earlier block (none, one way, both ways).
#[test]
fn correlated_gap_junctions_follow_chemical_coupling() {
    let spec = r#"
[[nodes]]
network = "net"
pop_name = "PV"
N = 150
model_type = "point_neuron"
[[edges]]
name = "chem"
source = { network = "net" }
target = { network = "net" }
connector = { type = "unidirection", p = 0.3 }
[[edges]]
name = "gap"
source = { network = "net" }
target = { network = "net" }
connector = { type = "correlated_gap_junction", p_non = 0.1, p_uni = 0.3, p_rec = 0.6, connector = "chem" }
"#;
    let p = [0.1, 0.3, 0.6];
    let (mut tried, mut joined) = ([0.0; 3], [0.0; 3]);
    for seed in SEEDS {
        let b = built(spec, seed);
        let chem: HashSet<(u32, u32)> = edges(&b, "net", "net", 0).into_iter().collect();
        let gap: HashSet<(u32, u32)> = edges(&b, "net", "net", 1).into_iter().collect();
        assert!(
            gap.iter().all(|(s, t)| s < t),
            "one row per junction, i < j"
        );
        for i in 0..150u32 {
            for j in i + 1..150 {
                let k = chem.contains(&(i, j)) as usize + chem.contains(&(j, i)) as usize;
                tried[k] += 1.0;
                joined[k] += gap.contains(&(i, j)) as u8 as f64;
            }
        }
    }
    for (k, name) in ["p_non", "p_uni", "p_rec"].iter().enumerate() {
        within_3_se(
            name,
            joined[k],
            p[k] * tried[k],
            tried[k] * p[k] * (1.0 - p[k]),
        );
    }
}
