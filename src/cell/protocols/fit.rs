//! The membrane time-constant fits of bmtool's `Passive`: a single exponential
//! `a0 + a·exp(-t/tau)` and a double exponential `a0 + a1·exp(-t/tau1) + a2·exp(-t/tau2)`, both
//! constrained to start at v_rest (`a0 = v_rest - a` or `v_rest - a1 - a2`), fitted by
//! least squares with the `levenberg-marquardt` crate (a MINPACK port, as scipy's `lm`). scipy's
//! bound `tau >= 1e-3 ms` is kept by clamping. The double exponential is often degenerate
//! (a1 ≈ -a2 with tau1 ≈ tau2, two nearly equal columns of the Jacobian); MINPACK's pivoted QR
//! copes, and a non-finite or non-converged outcome is reported, never hidden.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Matrix4, Owned, Vector4};
use serde::Serialize;

/// scipy's lower bound on the time constants (ms).
pub const TAU_MIN_MS: f64 = 1e-3;
/// scipy `least_squares`' default ftol, xtol and gtol: the fit stops when the relative change of
/// the cost or of the parameters falls below it. The degenerate double exponential has its
/// minimum at infinity (a1 = -a2 -> inf, tau1 -> tau2); with these tolerances it stops where
/// scipy stops, with the slow tau settled, instead of chasing the amplitudes for thousands of
/// evaluations.
pub const SCIPY_TOL: f64 = 1e-8;
/// scipy `curve_fit(maxfev = 10000)`.
pub const MAX_EVALUATIONS: usize = 10_000;

/// Outcome of one fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpFit {
    /// bmtool's `popt`: `(a0, a, tau)` or `(a0, a1, a2, tau1, tau2)` (mV, ms).
    pub popt: Vec<f64>,
    /// The time constant bmtool reports (the fitted tau, or the larger of tau1 and tau2, leaving
    /// out a term of negligible amplitude) (ms).
    pub tau_ms: f64,
    /// True when the optimiser met its convergence test and every parameter is finite.
    pub converged: bool,
    /// The optimiser's reason for stopping.
    pub termination: String,
    /// Residual evaluations used.
    pub evaluations: usize,
    /// Root-mean-square residual (mV).
    pub rms_mv: f64,
}

/// `a0 + a·exp(-t/tau)`.
pub fn single_exponential(t_ms: f64, a0: f64, a: f64, tau_ms: f64) -> f64 {
    a0 + a * (-t_ms / tau_ms).exp()
}

/// `a0 + a1·exp(-t/tau1) + a2·exp(-t/tau2)`.
pub fn double_exponential(t_ms: f64, a0: f64, a1: f64, a2: f64, tau1_ms: f64, tau2_ms: f64) -> f64 {
    a0 + a1 * (-t_ms / tau1_ms).exp() + a2 * (-t_ms / tau2_ms).exp()
}

/// Evaluate a fit's curve (popt in bmtool's order) at `t_ms`.
pub fn evaluate(popt: &[f64], t_ms: f64) -> f64 {
    match popt {
        [a0, a, tau] => single_exponential(t_ms, *a0, *a, *tau),
        [a0, a1, a2, tau1, tau2] => double_exponential(t_ms, *a0, *a1, *a2, *tau1, *tau2),
        _ => f64::NAN,
    }
}

/// The constrained exponential sum: parameters `[a_1..a_k, tau_1..tau_k]`, value
/// `v0 + Σ a_j (exp(-t/tau_j) - 1)`.
struct ExpSum<'a> {
    t_ms: &'a [f64],
    v_mv: &'a [f64],
    v0_mv: f64,
    params: DVector<f64>,
    terms: usize,
}

impl ExpSum<'_> {
    fn amplitude(&self, j: usize) -> f64 {
        self.params[j]
    }
    fn tau(&self, j: usize) -> f64 {
        self.params[self.terms + j]
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for ExpSum<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.params.copy_from(x);
        for j in 0..self.terms {
            let tau = &mut self.params[self.terms + j];
            *tau = tau.max(TAU_MIN_MS);
        }
    }

    fn params(&self) -> DVector<f64> {
        self.params.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let rates: Vec<f64> = (0..self.terms).map(|j| 1.0 / self.tau(j)).collect();
        let residuals = DVector::from_iterator(
            self.t_ms.len(),
            self.t_ms.iter().zip(self.v_mv).map(|(&t, &v)| {
                let mut f = self.v0_mv;
                for (j, rate) in rates.iter().enumerate() {
                    f += self.amplitude(j) * ((-t * rate).exp() - 1.0);
                }
                f - v
            }),
        );
        Some(residuals)
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let m = self.t_ms.len();
        let mut jacobian = DMatrix::zeros(m, 2 * self.terms);
        for j in 0..self.terms {
            let (a, tau) = (self.amplitude(j), self.tau(j));
            let rate = 1.0 / tau;
            let scale = a * rate * rate;
            for (i, &t) in self.t_ms.iter().enumerate() {
                let e = (-t * rate).exp();
                jacobian[(i, j)] = e - 1.0;
                jacobian[(i, self.terms + j)] = scale * t * e;
            }
        }
        Some(jacobian)
    }
}

/// `expm1(x)/x`, 1 at x = 0, accurate for every x.
fn expm1_over_x(x: f64) -> f64 {
    if x.abs() < 1e-5 {
        1.0 + x / 2.0 + x * x / 6.0
    } else {
        x.exp_m1() / x
    }
}

/// The double exponential in divided-difference form, regular where bmtool's form is
/// degenerate: parameters `[p, q, tau1, tau2]`, value
/// `v0 + p (e2 - 1) + q (e1 - e2)/(tau1 - tau2)` with `e_j = exp(-t/tau_j)`, i.e.
/// `a1 = q/(tau1 - tau2)`, `a2 = p - a1`. The divided difference is computed as
/// `e2 · t/(tau1 tau2) · expm1(t (tau1 - tau2)/(tau1 tau2)) / (...)`, finite at tau1 = tau2,
/// so the fit walks through the a1 = -a2 -> ±inf valley in a few steps.
struct DoubleExp<'a> {
    t_ms: &'a [f64],
    v_mv: &'a [f64],
    v0_mv: f64,
    /// Square roots of per-sample weights (empty: every sample weighs 1).
    sqrt_weights: &'a [f64],
    params: DVector<f64>,
    /// Per sample at the current parameters: `[e2, w]` with `w = expm1(x)` near tau1 = tau2
    /// (|x| < 1) and `w = e1` elsewhere, so residuals and Jacobian share two exponentials.
    cache: Vec<[f64; 2]>,
}

impl<'a> DoubleExp<'a> {
    /// The problem on `(t_ms, v_mv)` at `start = [p, q, tau1, tau2]`, each residual weighted
    /// by `sqrt_weights` (empty: unweighted).
    fn new(
        t_ms: &'a [f64],
        v_mv: &'a [f64],
        sqrt_weights: &'a [f64],
        v0_mv: f64,
        start: [f64; 4],
    ) -> Self {
        let mut problem = DoubleExp {
            t_ms,
            v_mv,
            v0_mv,
            sqrt_weights,
            params: DVector::zeros(4),
            cache: Vec::with_capacity(t_ms.len()),
        };
        problem.set_params(&DVector::from_column_slice(&start));
        problem
    }

    fn current(&self) -> [f64; 4] {
        [
            self.params[0],
            self.params[1],
            self.params[2],
            self.params[3],
        ]
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for DoubleExp<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.params.copy_from(x);
        for j in 2..4 {
            self.params[j] = self.params[j].max(TAU_MIN_MS);
        }
        let (tau1, tau2) = (self.params[2], self.params[3]);
        self.cache.clear();
        self.cache.extend(self.t_ms.iter().map(|&t| {
            let x = t / tau2 - t / tau1;
            let w = if x.abs() < 1.0 {
                x.exp_m1()
            } else {
                (-t / tau1).exp()
            };
            [(-t / tau2).exp(), w]
        }));
    }

    fn params(&self) -> DVector<f64> {
        self.params.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let [p, q, tau1, tau2] = self.current();
        let values = self.t_ms.iter().zip(&self.cache).map(|(&t, &[e2, w])| {
            let (d, _, _) = divided_difference_cached(tau1, tau2, e2, w, t);
            self.v0_mv + p * (e2 - 1.0) + q * d
        });
        let mut residuals =
            DVector::from_iterator(self.t_ms.len(), values.zip(self.v_mv).map(|(f, v)| f - v));
        for (r, w) in residuals.iter_mut().zip(self.sqrt_weights) {
            *r *= w;
        }
        Some(residuals)
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let [p, q, tau1, tau2] = self.current();
        let mut jacobian = DMatrix::zeros(self.t_ms.len(), 4);
        for (i, (&t, &[e2, w])) in self.t_ms.iter().zip(&self.cache).enumerate() {
            let (d, d_tau1, d_tau2) = divided_difference_cached(tau1, tau2, e2, w, t);
            jacobian[(i, 0)] = e2 - 1.0;
            jacobian[(i, 1)] = d;
            jacobian[(i, 2)] = q * d_tau1;
            jacobian[(i, 3)] = p * e2 * t / (tau2 * tau2) + q * d_tau2;
            if let Some(&w) = self.sqrt_weights.get(i) {
                for k in 0..4 {
                    jacobian[(i, k)] *= w;
                }
            }
        }
        Some(jacobian)
    }
}

/// `(expm1(x)/x)' = (x e^x - expm1(x))/x^2`, accurate near 0.
fn expm1_over_x_derivative(x: f64) -> f64 {
    if x.abs() < 1e-3 {
        0.5 + x / 3.0 + x * x / 8.0
    } else {
        (x * x.exp() - x.exp_m1()) / (x * x)
    }
}

/// D = `(e1 - e2)/(tau1 - tau2)` and its derivatives by tau1 and tau2, given `e2`. Near
/// tau1 = tau2 (|x| < 1 with x = t/tau2 - t/tau1) through D = e2·k·φ(x), k = t/(tau1·tau2),
/// φ(x) = expm1(x)/x, which has no cancellation; elsewhere from the plain difference.
#[cfg(test)]
fn divided_difference_with_derivatives(tau1: f64, tau2: f64, e2: f64, t: f64) -> (f64, f64, f64) {
    let x = t / tau2 - t / tau1;
    let w = if x.abs() < 1.0 {
        x.exp_m1()
    } else {
        (-t / tau1).exp()
    };
    divided_difference_cached(tau1, tau2, e2, w, t)
}

/// As `divided_difference_with_derivatives`, with `w` = expm1(t/tau2 - t/tau1) when that
/// argument is below 1 in magnitude and `e1` otherwise (no exponential evaluated here).
fn divided_difference_cached(tau1: f64, tau2: f64, e2: f64, w: f64, t: f64) -> (f64, f64, f64) {
    let k = t / (tau1 * tau2);
    let x = t / tau2 - t / tau1;
    if x.abs() < 1.0 {
        let (phi, phi_prime) = if x.abs() < 1e-3 {
            (expm1_over_x(x), expm1_over_x_derivative(x))
        } else {
            (w / x, (x * (w + 1.0) - w) / (x * x))
        };
        let base = e2 * k;
        let d_tau1 = base * (-phi / tau1 + phi_prime * t / (tau1 * tau1));
        let d_tau2 = base * (phi * t / (tau2 * tau2) - phi / tau2 - phi_prime * t / (tau2 * tau2));
        (base * phi, d_tau1, d_tau2)
    } else {
        let e1 = w;
        let delta = tau1 - tau2;
        let d = (e1 - e2) / delta;
        let d_tau1 = (e1 * t / (tau1 * tau1) - d) / delta;
        let d_tau2 = (d - e2 * t / (tau2 * tau2)) / delta;
        (d, d_tau1, d_tau2)
    }
}

fn fit_sum(
    t_ms: &[f64],
    v_mv: &[f64],
    v0_mv: f64,
    p0: &[f64],
) -> (Vec<f64>, String, bool, usize, f64) {
    let terms = p0.len() / 2;
    let mut problem = ExpSum {
        t_ms,
        v_mv,
        v0_mv,
        params: DVector::zeros(p0.len()),
        terms,
    };
    problem.set_params(&DVector::from_column_slice(p0));
    let (problem, report) = minimizer(p0.len()).minimize(problem);
    let params: Vec<f64> = problem.params.iter().copied().collect();
    let rms = problem
        .residuals()
        .map(|r| (r.norm_squared() / t_ms.len().max(1) as f64).sqrt())
        .unwrap_or(f64::NAN);
    let finite = params.iter().all(|p| p.is_finite()) && rms.is_finite();
    let converged = report.termination.was_successful() && finite;
    (
        params,
        format!("{:?}", report.termination),
        converged,
        report.number_of_evaluations,
        rms,
    )
}

/// bmtool's `tau_single_exponential` fit of `(t_ms, v_mv)` (t from the injection onset) with
/// f(0) = `v_rest_mv`, starting from `(a, tau) = (a0_guess, tau0_ms)`.
pub fn fit_single(
    t_ms: &[f64],
    v_mv: &[f64],
    v_rest_mv: f64,
    a_guess: f64,
    tau0_ms: f64,
) -> ExpFit {
    let (p, termination, converged, evaluations, rms_mv) =
        fit_sum(t_ms, v_mv, v_rest_mv, &[a_guess, tau0_ms]);
    let (a, tau) = (p[0], p[1]);
    ExpFit {
        popt: vec![v_rest_mv - a, a, tau],
        tau_ms: tau,
        converged,
        termination,
        evaluations,
        rms_mv,
    }
}

/// Length of each run of the coarse stage's graded sampling (see [`graded_samples`]).
pub const GRADED_RUN: usize = 256;

/// The samples of the exp2 fit's coarse stage: the first [`GRADED_RUN`] samples, then runs of
/// as many at strides 2, 4, 8, ..., each kept sample weighted by the number of samples it
/// stands for, so the weighted sum of squares follows the full one where the curve changes
/// fastest (the onset) and thins out where it is flat. `(t, v, sqrt(weight))`; 2 048 samples
/// for a 40 001-sample trace.
fn graded_samples(t_ms: &[f64], v_mv: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = t_ms.len().min(v_mv.len());
    let (mut t, mut v, mut w) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut stride) = (0, 1);
    while i < n {
        for _ in 0..GRADED_RUN {
            if i >= n {
                break;
            }
            t.push(t_ms[i]);
            v.push(v_mv[i]);
            w.push((stride.min(n - i) as f64).sqrt());
            i += stride;
        }
        stride *= 2;
    }
    (t, v, w)
}

/// bmtool's `tau_double_exponential` fit with f(0) = `v_rest_mv`, starting from
/// `p0 = (a1, a2, tau1, tau2)`; tau is the slower term.
///
/// Two stages, for speed (a 1 s trace at dt 0.025 has 40 001 samples; issue #7 asks for
/// < 50 ms). The `levenberg-marquardt` crate first fits a weighted subset of the samples
/// ([`graded_samples`]), whose optimum lies close to the full one; [`refine_double`] then
/// takes Levenberg-Marquardt steps on every sample from there to the minimum of the full
/// problem, a few passes over the samples. Should the refinement not converge, the crate's fit
/// runs on every sample from where it stopped, as the single-stage fit did. Short traces (where
/// the subset would not be less than half the samples) and a coarse stage that ends non-finite
/// go straight to the crate's fit on every sample.
pub fn fit_double(t_ms: &[f64], v_mv: &[f64], v_rest_mv: f64, p0: [f64; 4]) -> ExpFit {
    let [a1, a2, tau1, tau2] = p0;
    let start = [a1 + a2, a1 * (tau1 - tau2), tau1, tau2];
    let mut evaluations = 0;
    let n = t_ms.len().min(v_mv.len());
    let (t_ms, v_mv) = (&t_ms[..n], &v_mv[..n]);
    let (t, v, w) = graded_samples(t_ms, v_mv);
    let mut coarse = None;
    let mut termination = String::new();
    if 2 * t.len() <= n {
        let (problem, report) = minimizer(4).minimize(DoubleExp::new(&t, &v, &w, v_rest_mv, start));
        evaluations += report.number_of_evaluations;
        let x = problem.current();
        if x.iter().all(|x| x.is_finite()) {
            coarse = Some(x);
            termination = format!("{} graded samples: {:?}; ", t.len(), report.termination);
        }
    }
    let refined = coarse.map(|x| refine_double(t_ms, v_mv, v_rest_mv, x));
    let (x, converged, rms_mv) = match refined {
        Some(refined) if refined.converged => {
            evaluations += refined.passes;
            termination += &format!(
                "all samples: {} after {} passes",
                refined.termination, refined.passes
            );
            (refined.x, true, (refined.cost / n.max(1) as f64).sqrt())
        }
        _ => {
            let from = match &refined {
                Some(r) if r.x.iter().all(|x| x.is_finite()) => r.x,
                _ => start,
            };
            if let Some(r) = &refined {
                evaluations += r.passes;
                termination += &format!(
                    "all samples: {} after {} passes, then ",
                    r.termination, r.passes
                );
            }
            let (problem, report) =
                minimizer(4).minimize(DoubleExp::new(t_ms, v_mv, &[], v_rest_mv, from));
            evaluations += report.number_of_evaluations;
            termination += &format!("{:?}", report.termination);
            let rms_mv = problem
                .residuals()
                .map(|r| (r.norm_squared() / n.max(1) as f64).sqrt())
                .unwrap_or(f64::NAN);
            (
                problem.current(),
                report.termination.was_successful(),
                rms_mv,
            )
        }
    };
    let [p, q, tau1, tau2] = x;
    let a1 = q / (tau1 - tau2);
    let a2 = p - a1;
    let popt = vec![v_rest_mv - a1 - a2, a1, a2, tau1, tau2];
    let finite = [p, q, tau1, tau2, rms_mv].iter().all(|x| x.is_finite());
    ExpFit {
        tau_ms: slow_tau(a1, a2, tau1, tau2),
        converged: converged && finite,
        termination,
        evaluations,
        rms_mv,
        popt,
    }
}

/// Most passes over the samples [`refine_double`] makes.
const REFINE_MAX_PASSES: usize = 60;

/// Sums over every sample at one parameter point of the divided-difference double exponential:
/// the cost `Σ r²`, `JᵀJ` and `Jᵀr` (the Gauss-Newton normal equations), in one pass without
/// storing the Jacobian.
struct NormalEquations {
    cost: f64,
    jtj: [[f64; 4]; 4],
    jtr: [f64; 4],
}

fn normal_equations(t_ms: &[f64], v_mv: &[f64], v0_mv: f64, x: [f64; 4]) -> NormalEquations {
    let [p, q, tau1, tau2] = x;
    let mut out = NormalEquations {
        cost: 0.0,
        jtj: [[0.0; 4]; 4],
        jtr: [0.0; 4],
    };
    for (&t, &v) in t_ms.iter().zip(v_mv) {
        let e2 = (-t / tau2).exp();
        let xx = t / tau2 - t / tau1;
        let w = if xx.abs() < 1.0 {
            xx.exp_m1()
        } else {
            (-t / tau1).exp()
        };
        let (d, d_tau1, d_tau2) = divided_difference_cached(tau1, tau2, e2, w, t);
        let r = v0_mv + p * (e2 - 1.0) + q * d - v;
        let j = [
            e2 - 1.0,
            d,
            q * d_tau1,
            p * e2 * t / (tau2 * tau2) + q * d_tau2,
        ];
        out.cost += r * r;
        for a in 0..4 {
            out.jtr[a] += j[a] * r;
            for b in a..4 {
                out.jtj[a][b] += j[a] * j[b];
            }
        }
    }
    for a in 0..4 {
        for b in 0..a {
            out.jtj[a][b] = out.jtj[b][a];
        }
    }
    out
}

/// Outcome of [`refine_double`].
struct Refined {
    x: [f64; 4],
    /// Sum of squared residuals at `x` (mV²).
    cost: f64,
    passes: usize,
    converged: bool,
    termination: &'static str,
}

/// Levenberg-Marquardt steps on all samples from `start` (an optimum of the decimated fit, so a
/// few steps suffice), on the 4x4 normal equations built in one pass per step (no 40 001 x 4
/// Jacobian, no QR). Stops as scipy's tolerances do: when the predicted or actual relative
/// reduction of the cost, or the relative step, falls below [`SCIPY_TOL`].
fn refine_double(t_ms: &[f64], v_mv: &[f64], v0_mv: f64, start: [f64; 4]) -> Refined {
    let mut x = start;
    let mut ne = normal_equations(t_ms, v_mv, v0_mv, x);
    let mut passes = 1;
    let mut lambda = 1e-3;
    let done = |x, cost, passes, converged, termination| Refined {
        x,
        cost,
        passes,
        converged,
        termination,
    };
    if !ne.cost.is_finite() {
        return done(x, ne.cost, passes, false, "non-finite residuals");
    }
    loop {
        if passes >= REFINE_MAX_PASSES {
            return done(x, ne.cost, passes, false, "pass limit");
        }
        let Some(dx) = damped_step(&ne, lambda) else {
            lambda *= 10.0;
            if lambda > 1e10 {
                return done(x, ne.cost, passes, false, "singular normal equations");
            }
            continue;
        };
        let mut predicted = 0.0;
        for a in 0..4 {
            predicted -= 2.0 * dx[a] * ne.jtr[a];
            for b in 0..4 {
                predicted -= dx[a] * ne.jtj[a][b] * dx[b];
            }
        }
        if lambda <= 1e-3 && predicted <= SCIPY_TOL * ne.cost {
            return done(x, ne.cost, passes, true, "ftol (predicted reduction)");
        }
        let small_step = (0..4).all(|a| dx[a].abs() <= SCIPY_TOL * (SCIPY_TOL + x[a].abs()));
        if small_step {
            return done(x, ne.cost, passes, true, "xtol");
        }
        let mut trial = [x[0] + dx[0], x[1] + dx[1], x[2] + dx[2], x[3] + dx[3]];
        trial[2] = trial[2].max(TAU_MIN_MS);
        trial[3] = trial[3].max(TAU_MIN_MS);
        let next = normal_equations(t_ms, v_mv, v0_mv, trial);
        passes += 1;
        if next.cost.is_finite() && next.cost < ne.cost {
            let reduction = ne.cost - next.cost;
            let cost = ne.cost;
            x = trial;
            ne = next;
            lambda = (lambda / 10.0).max(1e-12);
            if reduction <= SCIPY_TOL * cost {
                return done(x, ne.cost, passes, true, "ftol");
            }
        } else {
            lambda *= 10.0;
            if lambda > 1e10 {
                return done(x, ne.cost, passes, false, "no reduction");
            }
        }
    }
}

/// Solve `(JᵀJ + λ·diag(JᵀJ)) dx = -Jᵀr` by Cholesky on the diagonally scaled system; `None`
/// when it is not positive definite.
fn damped_step(ne: &NormalEquations, lambda: f64) -> Option<[f64; 4]> {
    let scale: [f64; 4] = std::array::from_fn(|a| {
        let d = ne.jtj[a][a].sqrt();
        if d > 0.0 && d.is_finite() {
            d
        } else {
            1.0
        }
    });
    let m = Matrix4::from_fn(|a, b| {
        ne.jtj[a][b] / (scale[a] * scale[b]) + if a == b { lambda } else { 0.0 }
    });
    let rhs = Vector4::from_fn(|a, _| -ne.jtr[a] / scale[a]);
    let y = m.cholesky()?.solve(&rhs);
    let dx: [f64; 4] = std::array::from_fn(|a| y[a] / scale[a]);
    dx.iter().all(|d| d.is_finite()).then_some(dx)
}

/// Relative amplitude below which a double-exponential term is taken as absent.
pub const NEGLIGIBLE_AMPLITUDE: f64 = 1e-6;

/// bmtool's `max(tau1, tau2)`, except that a term whose amplitude is negligible (below
/// `NEGLIGIBLE_AMPLITUDE` of |a1| + |a2|) does not count: on a purely single-exponential
/// response the spare term keeps an arbitrary time constant with a ~1e-12 mV amplitude, and
/// bmtool would report that arbitrary number.
pub fn slow_tau(a1: f64, a2: f64, tau1: f64, tau2: f64) -> f64 {
    let floor = NEGLIGIBLE_AMPLITUDE * (a1.abs() + a2.abs());
    match (a1.abs() > floor, a2.abs() > floor) {
        (true, false) => tau1,
        (false, true) => tau2,
        _ => tau1.max(tau2),
    }
}

/// Levenberg-Marquardt with scipy's tolerances and evaluation budget for `n` parameters.
fn minimizer(n: usize) -> LevenbergMarquardt<f64> {
    LevenbergMarquardt::new()
        .with_ftol(SCIPY_TOL)
        .with_xtol(SCIPY_TOL)
        .with_gtol(SCIPY_TOL)
        .with_patience(MAX_EVALUATIONS / (n + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, dt: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 * dt).collect()
    }

    #[test]
    fn single_exponential_recovers_known_parameters() {
        let t = grid(4001, 0.25);
        let v: Vec<f64> = t
            .iter()
            .map(|&t| single_exponential(t, -80.0, 10.0, 23.5))
            .collect();
        let fit = fit_single(&t, &v, -70.0, 5.0, 10.0);
        assert!(fit.converged, "{}", fit.termination);
        assert!((fit.tau_ms - 23.5).abs() < 1e-6, "{fit:?}");
        assert!((fit.popt[0] + 80.0).abs() < 1e-6);
    }

    #[test]
    fn double_exponential_recovers_sag_and_slow_tau() {
        let t = grid(4001, 0.25);
        let v: Vec<f64> = t
            .iter()
            .map(|&t| double_exponential(t, -80.0, -3.0, 13.0, 80.0, 20.0))
            .collect();
        let fit = fit_double(&t, &v, -70.0, [-2.0, 10.0, 60.0, 15.0]);
        assert!(fit.converged, "{}", fit.termination);
        assert!((fit.tau_ms - 80.0).abs() < 1e-4, "{fit:?}");
    }

    #[test]
    fn divided_difference_derivatives_match_finite_differences() {
        for (tau1, tau2, t) in [
            (20.0, 20.0 + 1e-7, 35.0),
            (20.0, 25.0, 35.0),
            (55.2, 55.1, 900.0),
            (193.3, 1.3, 1000.0),
        ] {
            let e2 = |tau2: f64| (-t / tau2).exp();
            let (d, d1, d2) = divided_difference_with_derivatives(tau1, tau2, e2(tau2), t);
            let h = 1e-5;
            let plain = |a: f64, b: f64| divided_difference_with_derivatives(a, b, e2(b), t).0;
            let n1 = (plain(tau1 + h, tau2) - plain(tau1 - h, tau2)) / (2.0 * h);
            let n2 = (plain(tau1, tau2 + h) - plain(tau1, tau2 - h)) / (2.0 * h);
            let scale = d.abs().max(1e-12);
            assert!(
                (d1 - n1).abs() < 1e-6 * scale.max(n1.abs()) + 1e-14,
                "{tau1} {tau2}: {d1} vs {n1}"
            );
            assert!(
                (d2 - n2).abs() < 1e-6 * scale.max(n2.abs()) + 1e-14,
                "{tau1} {tau2}: {d2} vs {n2}"
            );
        }
    }

    #[test]
    fn degenerate_double_exponential_stays_finite() {
        // A single exponential fitted with two terms: any split a1 + a2 = a with tau1 = tau2
        // fits, the Jacobian is rank deficient. 4 001 samples take the single-stage fit; 40 001
        // the graded coarse stage and the refinement, which must also land on tau itself.
        for (n, dt, tau_within) in [(4001, 0.25, None), (40_001, 0.025, Some(1e-3))] {
            let t = grid(n, dt);
            let v: Vec<f64> = t
                .iter()
                .map(|&t| single_exponential(t, -80.0, 10.0, 30.0))
                .collect();
            let fit = fit_double(&t, &v, -70.0, [0.0, 10.0, 200.0, 25.0]);
            assert!(fit.popt.iter().all(|p| p.is_finite()), "{fit:?}");
            assert!(fit.rms_mv < 1e-3, "{fit:?}");
            assert!(fit.tau_ms >= 30.0 - 1e-3, "{fit:?}");
            if let Some(within) = tau_within {
                assert!((fit.tau_ms - 30.0).abs() < within, "{fit:?}");
            }
        }
    }

    /// The fit of every sample by the crate alone from `p0` (the single-stage fit the two-stage
    /// one replaces).
    fn single_stage(t: &[f64], v: &[f64], v0: f64, p0: [f64; 4]) -> [f64; 4] {
        let [a1, a2, tau1, tau2] = p0;
        let start = [a1 + a2, a1 * (tau1 - tau2), tau1, tau2];
        let (problem, report) = minimizer(4).minimize(DoubleExp::new(t, v, &[], v0, start));
        assert!(report.termination.was_successful(), "{report:?}");
        problem.current()
    }

    #[test]
    fn two_stages_find_the_single_stage_minimum() {
        // 1 s at dt 0.025 with a fast (0.7 ms) and a slow term plus a third, slower term the
        // model cannot represent: the residual does not vanish, as with a real cell, so the
        // optimum depends on how every sample is weighted.
        let t = grid(40_001, 0.025);
        let v: Vec<f64> = t
            .iter()
            .map(|&t| double_exponential(t, -80.0, 6.0, 4.0, 2.0, 0.7) + 0.3 * (-t / 40.0).exp())
            .collect();
        let p0 = [3.0, 7.0, 1.5, 1.0];
        let fit = fit_double(&t, &v, -69.7, p0);
        assert!(fit.converged, "{}", fit.termination);
        let [p, q, tau1, tau2] = single_stage(&t, &v, -69.7, p0);
        let reference = slow_tau(q / (tau1 - tau2), p - q / (tau1 - tau2), tau1, tau2);
        assert!(
            (fit.tau_ms - reference).abs() < 1e-4 * reference,
            "{} vs single stage {reference}: {fit:?}",
            fit.tau_ms
        );
    }

    #[test]
    fn graded_samples_weigh_every_sample_once() {
        for n in [0, 1, 255, 256, 257, 10_001, 40_001] {
            let t = grid(n, 0.025);
            let (tc, vc, w) = graded_samples(&t, &t);
            assert_eq!(tc, vc);
            let total: f64 = w.iter().map(|w| w * w).sum();
            assert!((total - n as f64).abs() < 1e-6, "{n}: {total}");
        }
    }
}
