//! bmtool's `Passive`: a hyperpolarising step (default -100 pA from 200 to 1200 ms), then
//! V_rest = v[int(delay/dt)], V_final = v[int((delay+dur)/dt)], R_in = dV/I and the membrane time
//! constant by one of three methods: `simple` (first sample past 63.2 % of dV), `exp` (single
//! exponential fit) or `exp2` (double exponential fit, tau = the slower term). `exp` and `exp2`
//! also measure the sag (peak against final potential). Owns the arithmetic; prints nothing.

use serde::Serialize;

use super::fit::{fit_double, fit_single, ExpFit};
use super::{check_window, pa_to_na, sample_index, Clamp, ProtocolCell, ProtocolError, Rig};
use super::{RunConditions, Trace};

/// How tau is estimated (bmtool's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TauMethod {
    /// Time to 63.2 % of the voltage change.
    Simple,
    /// Single exponential fit `a0 + a·exp(-t/tau)`.
    Exp,
    /// Double exponential fit; tau is the slower term.
    Exp2,
}

impl TauMethod {
    /// bmtool's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Exp => "exp",
            Self::Exp2 => "exp2",
        }
    }
}

/// bmtool's `Passive` arguments (CLI defaults of `bmtool util cell passive`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveParams {
    /// Step amplitude (pA, non-zero; default -100).
    pub inj_amp_pa: f64,
    /// Step onset (ms; default 200).
    pub inj_delay_ms: f64,
    /// Step length (ms; default 1000).
    pub inj_dur_ms: f64,
    /// Run length (ms; default 1200).
    pub tstop_ms: f64,
    /// Tau method (default simple).
    pub method: TauMethod,
}

impl Default for PassiveParams {
    fn default() -> Self {
        Self {
            inj_amp_pa: -100.0,
            inj_delay_ms: 200.0,
            inj_dur_ms: 1000.0,
            tstop_ms: 1200.0,
            method: TauMethod::Simple,
        }
    }
}

/// Sag quantities (exp and exp2 only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sag {
    /// Time of the extreme sample, from the step onset (ms).
    pub t_peak_ms: f64,
    /// Extreme potential during the step (mV).
    pub v_peak_mv: f64,
    /// v_peak - v_final (mV).
    pub v_sag_mv: f64,
    /// v_peak - v_rest (mV).
    pub v_max_diff_mv: f64,
    /// v_sag / v_max_diff.
    pub sag_norm: f64,
}

/// Everything `Passive` derives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassiveResult {
    /// Parameters used.
    pub params: PassiveParams,
    /// Sites, dt, v_init, celsius.
    pub conditions: RunConditions,
    /// Step amplitude (nA).
    pub inj_amp_na: f64,
    /// int(inj_delay/dt).
    pub index_v_rest: usize,
    /// int((inj_delay + inj_dur)/dt).
    pub index_v_final: usize,
    /// v at the step onset (mV).
    pub v_rest_mv: f64,
    /// t of that sample (ms).
    pub v_rest_time_ms: f64,
    /// v at the step end (mV).
    pub v_final_mv: f64,
    /// t of that sample (ms).
    pub v_final_time_ms: f64,
    /// v_final - v_rest (mV).
    pub v_diff_mv: f64,
    /// Input resistance v_diff / I (MOhm).
    pub r_in_mohm: f64,
    /// v_final - v_diff/e: the 63.2 % level (mV).
    pub v_tau_target_mv: f64,
    /// Time from the onset to the first sample at or past that level (ms).
    pub tau_simple_ms: f64,
    /// The reported membrane time constant (ms): tau_simple, or the fit's when it converged;
    /// `None` when the requested fit did not converge.
    pub tau_ms: Option<f64>,
    /// Sag (exp and exp2).
    pub sag: Option<Sag>,
    /// The exponential fit (exp and exp2), converged or not.
    pub fit: Option<ExpFit>,
    /// The recorded trace (not serialised; `--trace-csv` writes it).
    #[serde(skip)]
    pub trace: Trace,
}

impl PassiveResult {
    /// The injection window of the trace, t from the onset: bmtool's `(t_vec_inj, v_vec_inj)`.
    pub fn window(&self) -> (Vec<f64>, &[f64]) {
        let range = self.index_v_rest..=self.index_v_final;
        let t0 = self.v_rest_time_ms;
        let t = self.trace.t_ms[range.clone()]
            .iter()
            .map(|t| t - t0)
            .collect();
        (t, &self.trace.v_mv[range])
    }
}

/// Run bmtool's `Passive` on `cell`.
pub fn run_passive(
    cell: &ProtocolCell,
    params: &PassiveParams,
) -> Result<PassiveResult, ProtocolError> {
    check_params(params)?;
    let amp_na = pa_to_na(params.inj_amp_pa);
    let clamp = Clamp {
        amp_na,
        delay_ms: params.inj_delay_ms,
        dur_ms: params.inj_dur_ms,
    };
    let mut rig = Rig::new(cell, clamp, None)?;
    rig.run(params.tstop_ms)?;
    analyse(cell, params, rig.trace())
}

fn check_params(params: &PassiveParams) -> Result<(), ProtocolError> {
    if params.inj_amp_pa == 0.0 || !params.inj_amp_pa.is_finite() {
        return Err(ProtocolError::InvalidParameter {
            protocol: "passive",
            name: "inj_amp",
            value: params.inj_amp_pa,
            reason: "must be a non-zero current (pA)",
        });
    }
    check_window(
        "passive",
        params.inj_delay_ms,
        params.inj_dur_ms,
        params.tstop_ms,
    )
}

/// bmtool's analysis of a recorded passive trace.
fn analyse(
    cell: &ProtocolCell,
    params: &PassiveParams,
    trace: Trace,
) -> Result<PassiveResult, ProtocolError> {
    let dt = cell.dt_ms;
    let inj_amp_na = pa_to_na(params.inj_amp_pa);
    let i0 = sample_index(params.inj_delay_ms, dt);
    let i1 = sample_index(params.inj_delay_ms + params.inj_dur_ms, dt);
    if i1 >= trace.v_mv.len() {
        return Err(ProtocolError::WindowExceedsTstop {
            protocol: "passive",
            window_end_ms: params.inj_delay_ms + params.inj_dur_ms,
            tstop_ms: params.tstop_ms,
        });
    }
    let (v_rest, v_final) = (trace.v_mv[i0], trace.v_mv[i1]);
    let v_rest_time = trace.t_ms[i0];
    let v_diff = v_final - v_rest;
    let v_tau_target_mv = v_final - v_diff / std::f64::consts::E;
    let t_inj: Vec<f64> = trace.t_ms[i0..=i1]
        .iter()
        .map(|t| t - v_rest_time)
        .collect();
    let v_inj = &trace.v_mv[i0..=i1];
    let first = v_inj
        .iter()
        .position(|&v| v <= v_tau_target_mv)
        .unwrap_or(v_inj.len() - 1);
    let tau_simple_ms = t_inj[first];
    let (sag, fit) = match params.method {
        TauMethod::Simple => (None, None),
        method => {
            let sag = sag(&t_inj, v_inj, inj_amp_na, v_rest, v_final);
            let fit = if method == TauMethod::Exp {
                fit_single(&t_inj, v_inj, v_rest, v_diff, tau_simple_ms)
            } else {
                let p0 = [
                    sag.v_sag_mv,
                    -sag.v_max_diff_mv,
                    sag.t_peak_ms,
                    tau_simple_ms,
                ];
                fit_double(&t_inj, v_inj, v_rest, p0)
            };
            (Some(sag), Some(fit))
        }
    };
    let tau_ms = match &fit {
        None => Some(tau_simple_ms),
        Some(fit) => fit.converged.then_some(fit.tau_ms),
    };
    Ok(PassiveResult {
        params: *params,
        conditions: cell.conditions(),
        inj_amp_na,
        index_v_rest: i0,
        index_v_final: i1,
        v_rest_mv: v_rest,
        v_rest_time_ms: v_rest_time,
        v_final_mv: v_final,
        v_final_time_ms: trace.t_ms[i1],
        v_diff_mv: v_diff,
        r_in_mohm: v_diff / inj_amp_na,
        v_tau_target_mv,
        tau_simple_ms,
        tau_ms,
        sag,
        fit,
        trace,
    })
}

/// `argmax(sign(I)·V_inj)` (the first extreme sample) and the sag arithmetic.
fn sag(t_inj: &[f64], v_inj: &[f64], amp_na: f64, v_rest: f64, v_final: f64) -> Sag {
    let sign = amp_na.signum();
    let mut k = 0;
    for (i, &v) in v_inj.iter().enumerate() {
        if sign * v > sign * v_inj[k] {
            k = i;
        }
    }
    let v_peak = v_inj[k];
    let v_sag = v_peak - v_final;
    let v_max_diff = (v_final - v_rest) + v_sag;
    Sag {
        t_peak_ms: t_inj[k],
        v_peak_mv: v_peak,
        v_sag_mv: v_sag,
        v_max_diff_mv: v_max_diff,
        sag_norm: v_sag / v_max_diff,
    }
}
