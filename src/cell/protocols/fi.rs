//! bmtool's `FI`: one current step per amplitude from i_start in steps of i_increment, spikes
//! counted over the whole run (tstop = tstart + tdur). bmtool computes the number of trials in nA
//! with Python's float floor division,
//! `int((0.001*i_stop - 0.001*i_start) // (0.001*i_increment) + 1)`, so 0..1000 pA step 50 runs
//! 0..950 pA; that is the default here too, and `inclusive` adds i_stop. All trials are the same
//! run until the clamp switches on at tstart, so that part is simulated once; each amplitude
//! then continues its own copy of it, in parallel (rayon), with exactly the steps a separate run
//! would take. Amplitudes come back in sweep order.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use super::{pa_to_na, Clamp, ProtocolCell, ProtocolError, Rig, RunConditions};

/// Called after each finished trial with (trials done, trials in all), from any worker thread.
pub type FiProgress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// `FI` arguments (defaults of `bmtool util cell fi`; threshold 0 mV as bmtool's `FI`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FiParams {
    /// First amplitude (pA; default 0).
    pub i_start_pa: f64,
    /// Last amplitude bound (pA; default 1000), excluded by bmtool's rule unless `inclusive`.
    pub i_stop_pa: f64,
    /// Step between amplitudes (pA, > 0; default 100).
    pub i_increment_pa: f64,
    /// Step onset (ms; default 150).
    pub tstart_ms: f64,
    /// Step length (ms; default 1000); the run ends with the step.
    pub tdur_ms: f64,
    /// Spike threshold (mV; default 0 as bmtool's `FI`).
    pub threshold_mv: f64,
    /// Include i_stop when it lies on the grid (bmtool leaves it out).
    pub inclusive: bool,
}

impl Default for FiParams {
    fn default() -> Self {
        Self {
            i_start_pa: 0.0,
            i_stop_pa: 1000.0,
            i_increment_pa: 100.0,
            tstart_ms: 150.0,
            tdur_ms: 1000.0,
            threshold_mv: 0.0,
            inclusive: false,
        }
    }
}

/// The FI curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiResult {
    /// Parameters used.
    pub params: FiParams,
    /// Sites, dt, v_init, celsius.
    pub conditions: RunConditions,
    /// Run length, tstart + tdur (ms).
    pub tstop_ms: f64,
    /// Injected amplitudes (pA, bmtool's values: i·0.05 nA·1000 gives 150.00000000000003).
    pub amps_pa: Vec<f64>,
    /// Spike count per amplitude over the whole run.
    pub nspks: Vec<usize>,
    /// Set when i_stop lies on the grid but was left out by bmtool's trial count.
    pub stop_excluded: bool,
}

/// Python's float floor division `a // b` (CPython `float_floor_div`), quirks included.
pub fn python_floordiv(a: f64, b: f64) -> f64 {
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0_f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// The amplitudes (nA) bmtool's `FI` runs, or with `inclusive` every grid point up to i_stop.
pub fn fi_amplitudes_na(params: &FiParams) -> Vec<f64> {
    let (start, stop, inc) = (
        pa_to_na(params.i_start_pa),
        pa_to_na(params.i_stop_pa),
        pa_to_na(params.i_increment_pa),
    );
    let bmtool_trials = python_floordiv(stop - start, inc) + 1.0;
    let mut trials = bmtool_trials.max(0.0) as usize;
    if params.inclusive && last_on_grid(params) > trials {
        trials = last_on_grid(params);
    }
    (0..trials).map(|k| start + k as f64 * inc).collect()
}

/// The most trials one sweep may run (each is a whole simulation).
pub const MAX_TRIALS: usize = 10_000;

/// Number of grid points start + k·inc <= stop, counted in pA with a tolerance of 1e-9 steps.
fn last_on_grid(params: &FiParams) -> usize {
    let steps = (params.i_stop_pa - params.i_start_pa) / params.i_increment_pa;
    (steps + 1e-9).floor().max(-1.0) as usize + 1
}

/// Check a sweep before anything is allocated for it (its amplitudes, a progress bar).
pub fn check_params(params: &FiParams) -> Result<(), ProtocolError> {
    let invalid = |name, value, reason| ProtocolError::InvalidParameter {
        protocol: "fi",
        name,
        value,
        reason,
    };
    if !(params.i_increment_pa > 0.0 && params.i_increment_pa.is_finite()) {
        return Err(invalid(
            "i_increment",
            params.i_increment_pa,
            "must be > 0 pA",
        ));
    }
    if !(params.i_stop_pa >= params.i_start_pa && params.i_start_pa.is_finite()) {
        return Err(invalid("i_stop", params.i_stop_pa, "must be >= i_start"));
    }
    let trials = last_on_grid(params);
    if trials > MAX_TRIALS {
        return Err(ProtocolError::TooManyTrials {
            trials,
            limit: MAX_TRIALS,
        });
    }
    if !(params.tstart_ms >= 0.0 && params.tstart_ms.is_finite()) {
        return Err(invalid(
            "tstart",
            params.tstart_ms,
            "must be a time >= 0 ms",
        ));
    }
    if !(params.tdur_ms > 0.0 && params.tdur_ms.is_finite()) {
        return Err(invalid("tdur", params.tdur_ms, "must be a time > 0 ms"));
    }
    if !params.threshold_mv.is_finite() {
        return Err(invalid("threshold", params.threshold_mv, "must be finite"));
    }
    Ok(())
}

/// Run bmtool's `FI` sweep on `cell`, trials in parallel; `progress` hears of each finished trial.
pub fn run_fi(
    cell: &ProtocolCell,
    params: &FiParams,
    progress: Option<FiProgress>,
) -> Result<FiResult, ProtocolError> {
    check_params(params)?;
    let amps_na = fi_amplitudes_na(params);
    let tstop_ms = params.tstart_ms + params.tdur_ms;
    let clamp = Clamp {
        amp_na: 0.0,
        delay_ms: params.tstart_ms,
        dur_ms: params.tdur_ms,
    };
    let mut base = Rig::new(cell, clamp, Some(params.threshold_mv))?;
    // The trials already take one core each.
    base.sim.set_threads(1);
    // Every trial is the same run until its clamp switches on at tstart (before it the IClamp
    // injects 0 whatever its amplitude): simulate that part once and continue a copy of it per
    // amplitude. The steps, and so the spike counts, are exactly those of separate runs.
    let shared_prefix = params.tstart_ms > 0.0;
    if shared_prefix {
        base.run(params.tstart_ms)?;
    }
    let done = AtomicUsize::new(0);
    let total = amps_na.len();
    let nspks = amps_na
        .par_iter()
        .map(|&amp_na| {
            let mut rig = base.clone();
            rig.set_amp_na(amp_na);
            if shared_prefix {
                rig.resume(tstop_ms)?;
            } else {
                rig.run(tstop_ms)?;
            }
            let count = rig.spikes_ms().len();
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(report) = progress {
                report(finished, total);
            }
            Ok(count)
        })
        .collect::<Result<Vec<usize>, ProtocolError>>()?;
    Ok(FiResult {
        params: *params,
        conditions: cell.conditions(),
        tstop_ms,
        amps_pa: amps_na.iter().map(|a| a * 1000.0).collect(),
        stop_excluded: !params.inclusive && last_on_grid(params) > total,
        nspks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_division_quirk() {
        // Python: 1.0 // 0.05 == 19.0, 1.0 // 0.1 == 9.0, 1.05 // 0.1 == 10.0, 7.0 // 2.0 == 3.0
        assert_eq!(python_floordiv(1.0, 0.05), 19.0);
        assert_eq!(python_floordiv(1.0, 0.1), 9.0);
        assert_eq!(python_floordiv(1.05, 0.1), 10.0);
        assert_eq!(python_floordiv(7.0, 2.0), 3.0);
        assert_eq!(python_floordiv(-7.0, 2.0), -4.0);
    }

    #[test]
    fn bmtool_trial_count_and_inclusive() {
        let mut params = FiParams {
            i_increment_pa: 50.0,
            ..FiParams::default()
        };
        let amps = fi_amplitudes_na(&params);
        assert_eq!(amps.len(), 20, "0..1000 step 50 runs 0..950 as bmtool");
        assert_eq!(
            amps[3] * 1000.0,
            150.00000000000003,
            "bmtool's amplitude values"
        );
        params.inclusive = true;
        assert_eq!(fi_amplitudes_na(&params).len(), 21);
        // bmtool's own default 0..1050 step 100 gives 11 trials (0..1000).
        let bmtool_default = FiParams {
            i_stop_pa: 1050.0,
            ..FiParams::default()
        };
        assert_eq!(fi_amplitudes_na(&bmtool_default).len(), 11);
    }
}
