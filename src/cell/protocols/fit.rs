//! The membrane time-constant fits of bmtool's `Passive`: a single exponential
//! `a0 + a·exp(-t/tau)` and a double exponential `a0 + a1·exp(-t/tau1) + a2·exp(-t/tau2)`, both
//! constrained to start at v_rest (`a0 = v_rest - a` or `v_rest - a1 - a2`), fitted by
//! least squares with the `levenberg-marquardt` crate (a MINPACK port, as scipy's `lm`). scipy's
//! bound `tau >= 1e-3 ms` is kept by clamping. The double exponential is often degenerate
//! (a1 ≈ -a2 with tau1 ≈ tau2, two nearly equal columns of the Jacobian); MINPACK's pivoted QR
//! copes, and a non-finite or non-converged outcome is reported, never hidden.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DMatrix, DVector, Dyn, Owned};
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
    params: DVector<f64>,
    /// Per sample at the current parameters: `[e2, w]` with `w = expm1(x)` near tau1 = tau2
    /// (|x| < 1) and `w = e1` elsewhere, so residuals and Jacobian share two exponentials.
    cache: Vec<[f64; 2]>,
}

impl DoubleExp<'_> {
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
        Some(DVector::from_iterator(
            self.t_ms.len(),
            values.zip(self.v_mv).map(|(f, v)| f - v),
        ))
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

/// bmtool's `tau_double_exponential` fit with f(0) = `v_rest_mv`, starting from
/// `p0 = (a1, a2, tau1, tau2)`; tau is the slower term.
pub fn fit_double(t_ms: &[f64], v_mv: &[f64], v_rest_mv: f64, p0: [f64; 4]) -> ExpFit {
    let [a1, a2, tau1, tau2] = p0;
    let start = [a1 + a2, a1 * (tau1 - tau2), tau1, tau2];
    let mut problem = DoubleExp {
        t_ms,
        v_mv,
        v0_mv: v_rest_mv,
        params: DVector::zeros(4),
        cache: Vec::with_capacity(t_ms.len()),
    };
    problem.set_params(&DVector::from_column_slice(&start));
    let (problem, report) = minimizer(4).minimize(problem);
    let [p, q, tau1, tau2] = problem.current();
    let a1 = q / (tau1 - tau2);
    let a2 = p - a1;
    let rms_mv = problem
        .residuals()
        .map(|r| (r.norm_squared() / t_ms.len().max(1) as f64).sqrt())
        .unwrap_or(f64::NAN);
    let popt = vec![v_rest_mv - a1 - a2, a1, a2, tau1, tau2];
    let finite = [p, q, tau1, tau2, rms_mv].iter().all(|x| x.is_finite());
    ExpFit {
        tau_ms: slow_tau(a1, a2, tau1, tau2),
        converged: report.termination.was_successful() && finite,
        termination: format!("{:?}", report.termination),
        evaluations: report.number_of_evaluations,
        rms_mv,
        popt,
    }
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
        // fits, the Jacobian is rank deficient.
        let t = grid(4001, 0.25);
        let v: Vec<f64> = t
            .iter()
            .map(|&t| single_exponential(t, -80.0, 10.0, 30.0))
            .collect();
        let fit = fit_double(&t, &v, -70.0, [0.0, 10.0, 200.0, 25.0]);
        assert!(fit.popt.iter().all(|p| p.is_finite()), "{fit:?}");
        assert!(fit.rms_mv < 1e-3, "{fit:?}");
        assert!(fit.tau_ms >= 30.0 - 1e-3, "{fit:?}");
    }
}
