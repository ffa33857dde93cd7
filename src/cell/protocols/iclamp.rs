//! bmtool's `CurrentClamp`: one current step, v recorded, spikes counted by a NetCon-style
//! detector (an upward crossing of the threshold at the recording site, stamped with the step
//! time t_n, not interpolated). Every crossing from t = 0 to tstop counts, as in bmtool. A
//! threshold never reached is a valid result: zero spikes.

use serde::Serialize;

use super::{
    check_window, pa_to_na, Clamp, ProtocolCell, ProtocolError, Rig, RunConditions, Trace,
};

/// `CurrentClamp` arguments. Defaults are bmtool's (100 pA from 100 ms for 1000 ms) with tstop
/// 1100 ms, the value bmtool runs to (it silently raises tstop to inj_delay + inj_dur; here a
/// window past tstop is an error), and the -15 mV threshold of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IclampParams {
    /// Step amplitude (pA).
    pub inj_amp_pa: f64,
    /// Step onset (ms).
    pub inj_delay_ms: f64,
    /// Step length (ms).
    pub inj_dur_ms: f64,
    /// Run length (ms).
    pub tstop_ms: f64,
    /// Spike threshold (mV).
    pub threshold_mv: f64,
}

impl Default for IclampParams {
    fn default() -> Self {
        Self {
            inj_amp_pa: 100.0,
            inj_delay_ms: 100.0,
            inj_dur_ms: 1000.0,
            tstop_ms: 1100.0,
            threshold_mv: -15.0,
        }
    }
}

/// What a current clamp gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IclampResult {
    /// Parameters used.
    pub params: IclampParams,
    /// Sites, dt, v_init, celsius.
    pub conditions: RunConditions,
    /// Number of threshold crossings over the whole run.
    pub nspks: usize,
    /// Their times (ms; step times plus NEURON's 1e-10 ms).
    pub spike_times_ms: Vec<f64>,
    /// Lowest and highest v of the run (mV).
    pub v_min_mv: f64,
    /// Highest v of the run (mV).
    pub v_max_mv: f64,
    /// The recorded trace (not serialised; `--trace-csv` writes it).
    #[serde(skip)]
    pub trace: Trace,
}

/// Run bmtool's `CurrentClamp` on `cell`.
pub fn run_iclamp(
    cell: &ProtocolCell,
    params: &IclampParams,
) -> Result<IclampResult, ProtocolError> {
    check_window(
        "iclamp",
        params.inj_delay_ms,
        params.inj_dur_ms,
        params.tstop_ms,
    )?;
    if !params.inj_amp_pa.is_finite() || !params.threshold_mv.is_finite() {
        return Err(ProtocolError::InvalidParameter {
            protocol: "iclamp",
            name: "inj_amp/threshold",
            value: params.inj_amp_pa,
            reason: "must be finite",
        });
    }
    let clamp = Clamp {
        amp_na: pa_to_na(params.inj_amp_pa),
        delay_ms: params.inj_delay_ms,
        dur_ms: params.inj_dur_ms,
    };
    let mut rig = Rig::new(cell, clamp, Some(params.threshold_mv))?;
    rig.run(params.tstop_ms)?;
    let spikes = rig.spikes_ms().to_vec();
    let trace = rig.trace();
    let (v_min_mv, v_max_mv) = trace
        .v_mv
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    Ok(IclampResult {
        params: *params,
        conditions: cell.conditions(),
        nspks: spikes.len(),
        spike_times_ms: spikes,
        v_min_mv,
        v_max_mv,
        trace,
    })
}
