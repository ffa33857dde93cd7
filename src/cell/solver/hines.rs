//! The Hines elimination: solves the tree-tridiagonal system `d*x + (coupling to parent) = rhs`
//! in O(N) with no pivoting and no allocation, for nodes numbered so that `parent[i] < i` and the
//! `n_roots` roots come first (NEURON `triang`/`bksub` in `solve.cpp`, Arbor's `cable_solver`).
//! Row i holds `d[i]` and `b[i]` (coupling to the parent); `a[i]` is node i's coupling in its
//! parent's row. The solution overwrites `rhs`; `d` is destroyed.

/// Solve in place: on return `rhs[i]` holds the unknown of node i.
pub fn solve(
    d: &mut [f64],
    rhs: &mut [f64],
    a: &[f64],
    b: &[f64],
    parent: &[usize],
    n_roots: usize,
) {
    let n = d.len();
    debug_assert!(rhs.len() == n && a.len() == n && b.len() == n && parent.len() == n);
    // Every array cut to `n`: an index `i < n` then needs no bounds check.
    let (rhs, a, b, parent) = (&mut rhs[..n], &a[..n], &b[..n], &parent[..n]);
    // triang: eliminate each node into its parent, leaves first.
    for i in (n_roots..n).rev() {
        let p = parent[i];
        let factor = a[i] / d[i];
        d[p] -= factor * b[i];
        rhs[p] -= factor * rhs[i];
    }
    // bksub: roots, then every node from its (already solved) parent.
    for root in 0..n_roots {
        rhs[root] /= d[root];
    }
    for i in n_roots..n {
        rhs[i] -= b[i] * rhs[parent[i]];
        rhs[i] /= d[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_branched_tree_exactly() {
        // Tree: 0 root; 1 <- 0; 2 <- 1; 3 <- 1. Build the dense matrix and compare.
        let parent = [0, 0, 1, 1];
        let a = [0.0, -0.5, -0.25, -0.125];
        let b = [0.0, -0.3, -0.2, -0.1];
        let d0 = [2.0, 3.0, 4.0, 5.0];
        let x = [1.0, -2.0, 0.5, 3.0];
        // rhs = M x with M[i][i] = d, M[i][p] = b[i], M[p][i] = a[i].
        let mut rhs = [0.0; 4];
        for i in 0..4 {
            rhs[i] += d0[i] * x[i];
        }
        for i in 1..4 {
            rhs[i] += b[i] * x[parent[i]];
            rhs[parent[i]] += a[i] * x[i];
        }
        let mut d = d0;
        solve(&mut d, &mut rhs, &a, &b, &parent, 1);
        for i in 0..4 {
            assert!((rhs[i] - x[i]).abs() < 1e-12);
        }
    }
}
