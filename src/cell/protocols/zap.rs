//! bmtool's `ZAP` (impedance amplitude profile): a chirp current (linear or exponential sweep
//! from fstart to fend) sampled on the dt grid over the injection window and played step-wise
//! into the IClamp (NEURON's `Vector.play(&amp, dt)`), then the impedance
//! |rfft(v - v_rest) / rfft(I)| over the window's samples, a k-point moving average
//! (`np.convolve(..., 'same')` over the whole spectrum, k = 9 by default) and the peak over
//! fstart < f < fend. Spikes during the chirp are counted: when there are any, the response is
//! not linear and a smaller amplitude gives the true impedance.

use serde::Serialize;

use super::fft::{impedance_magnitude, moving_average_same, rfftfreq, Rfft};
use super::{check_window, pa_to_na, sample_index, Clamp, ProtocolCell, ProtocolError, Rig};
use super::{RunConditions, Trace};

/// How the chirp's frequency moves from fstart to fend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ChirpKind {
    /// `sin(π(2 f0 + (f1 - f0) t / T) t)`: frequency rises linearly.
    Linear,
    /// `sin(2π f0 / L (exp(L t) - 1))`, L = ln(f1/f0)/T: frequency rises exponentially (f0, f1 > 0).
    Exponential,
}

/// `ZAP` arguments (defaults of `bmtool util cell zap`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZapParams {
    /// Chirp amplitude (pA, non-zero; default 100).
    pub inj_amp_pa: f64,
    /// Chirp onset (ms; default 200).
    pub inj_delay_ms: f64,
    /// Chirp length (ms; default 1000).
    pub inj_dur_ms: f64,
    /// Run length (ms; default 1200).
    pub tstop_ms: f64,
    /// Start frequency (Hz; default 0).
    pub fstart_hz: f64,
    /// End frequency (Hz; default 100).
    pub fend_hz: f64,
    /// Sweep shape (default linear).
    pub chirp: ChirpKind,
    /// Moving-average length for the reported peak (default 9 as bmtool's profiler; 1 = raw).
    pub smooth: usize,
    /// Threshold for counting spikes during the run (mV; default -15).
    pub threshold_mv: f64,
}

impl Default for ZapParams {
    fn default() -> Self {
        Self {
            inj_amp_pa: 100.0,
            inj_delay_ms: 200.0,
            inj_dur_ms: 1000.0,
            tstop_ms: 1200.0,
            fstart_hz: 0.0,
            fend_hz: 100.0,
            chirp: ChirpKind::Linear,
            smooth: 9,
            threshold_mv: -15.0,
        }
    }
}

/// The impedance profile over fstart < f < fend.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImpedanceProfile {
    /// Frequency of each bin (Hz).
    pub freq_hz: Vec<f64>,
    /// |Z| (MOhm).
    pub impedance_raw_mohm: Vec<f64>,
    /// |Z| after the moving average (MOhm).
    pub impedance_smooth_mohm: Vec<f64>,
}

/// Everything `ZAP` derives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZapResult {
    /// Parameters used.
    pub params: ZapParams,
    /// Sites, dt, v_init, celsius.
    pub conditions: RunConditions,
    /// v at the chirp onset (mV).
    pub v_rest_mv: f64,
    /// Largest |v - v_rest| during the chirp (mV).
    pub v_amp_max_mv: f64,
    /// Samples in the FFT (int((delay+dur)/dt) - int(delay/dt) + 1).
    pub n_fft: usize,
    /// Bin width (Hz).
    pub freq_resolution_hz: f64,
    /// Peak of the smoothed profile (Hz): bmtool's "Resonant Peak Frequency".
    pub peak_freq_hz: f64,
    /// |Z| there (MOhm, smoothed).
    pub peak_impedance_mohm: f64,
    /// Peak of the raw profile (Hz).
    pub peak_freq_raw_hz: f64,
    /// |Z| there (MOhm, raw).
    pub peak_impedance_raw_mohm: f64,
    /// Spikes over the run (threshold crossings).
    pub nspks: usize,
    /// The profile over the band.
    pub profile: ImpedanceProfile,
    /// The recorded trace (not serialised; `--trace-csv` writes it).
    #[serde(skip)]
    pub trace: Trace,
    /// The chirp (nA) at each sample of the injection window (not serialised).
    #[serde(skip)]
    pub chirp_na: Vec<f64>,
}

/// How often (simulated ms) a ZAP run looks whether the chirp's transform is done.
const FFT_CHECK_MS: f64 = 50.0;

/// Run bmtool's `ZAP` on `cell`.
pub fn run_zap(cell: &ProtocolCell, params: &ZapParams) -> Result<ZapResult, ProtocolError> {
    check_params(params)?;
    let dt = cell.dt_ms;
    super::check_dt(dt)?;
    // Before the chirp and the played vector are allocated (tstop / dt samples each).
    super::check_steps(params.tstop_ms, dt)?;
    let i0 = sample_index(params.inj_delay_ms, dt);
    let i1 = sample_index(params.inj_delay_ms + params.inj_dur_ms, dt);
    let n_samples = sample_index(params.tstop_ms, dt) + 1;
    if i1 <= i0 || i1 >= n_samples {
        return Err(ProtocolError::InvalidParameter {
            protocol: "zap",
            name: "inj_dur",
            value: params.inj_dur_ms,
            reason: "must span at least one time step inside tstop",
        });
    }
    let chirp_na = chirp(params, dt, i1 - i0 + 1);
    let mut played = vec![0.0; n_samples];
    played[i0..=i1].copy_from_slice(&chirp_na);
    let clamp = Clamp {
        amp_na: 0.0,
        delay_ms: params.inj_delay_ms,
        dur_ms: params.inj_dur_ms,
    };
    // The chirp is known before the run: its FFT is planned and taken on a second thread
    // meanwhile (planning the window's length can cost as much as the transforms).
    let (ran, chirp_fft) = std::thread::scope(|scope| {
        let chirp_fft = scope.spawn(|| {
            let plan = Rfft::new(chirp_na.len());
            let spectrum = plan.transform(&chirp_na);
            (plan, spectrum)
        });
        let ran = (|| {
            let mut rig = Rig::new(cell, clamp, Some(params.threshold_mv))?;
            rig.sim.play(rig.amp, played);
            // On one core while the transform has the other (a split run would wait on it),
            // on two after: the same steps either way.
            rig.sim.set_threads(1);
            let mut t_ms = params.tstop_ms.min(FFT_CHECK_MS);
            rig.run(t_ms)?;
            while !chirp_fft.is_finished() && t_ms < params.tstop_ms {
                t_ms = params.tstop_ms.min(t_ms + FFT_CHECK_MS);
                rig.resume(t_ms)?;
            }
            rig.sim.set_threads(cell.threads);
            rig.resume(params.tstop_ms)?;
            Ok::<_, ProtocolError>(rig)
        })();
        (ran, chirp_fft.join())
    });
    let rig = ran?;
    let (plan, chirp_spectrum) = chirp_fft.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let trace = rig.trace();
    if i1 >= trace.v_mv.len() {
        return Err(ProtocolError::WindowExceedsTstop {
            protocol: "zap",
            window_end_ms: params.inj_delay_ms + params.inj_dur_ms,
            tstop_ms: params.tstop_ms,
        });
    }
    let nspks = rig.spikes_ms().len();
    let window = Window {
        i0,
        i1,
        plan,
        chirp_spectrum,
    };
    analyse(cell, params, trace, chirp_na, window, nspks)
}

fn check_params(params: &ZapParams) -> Result<(), ProtocolError> {
    let invalid = |name, value, reason| ProtocolError::InvalidParameter {
        protocol: "zap",
        name,
        value,
        reason,
    };
    if params.inj_amp_pa == 0.0 || !params.inj_amp_pa.is_finite() {
        return Err(invalid(
            "inj_amp",
            params.inj_amp_pa,
            "must be a non-zero current (pA)",
        ));
    }
    check_window(
        "zap",
        params.inj_delay_ms,
        params.inj_dur_ms,
        params.tstop_ms,
    )?;
    for (name, f) in [("fstart", params.fstart_hz), ("fend", params.fend_hz)] {
        if !(f >= 0.0 && f.is_finite()) {
            return Err(invalid(name, f, "must be a frequency >= 0 Hz"));
        }
        if params.chirp == ChirpKind::Exponential && f <= 0.0 {
            return Err(invalid(name, f, "must be > 0 Hz for an exponential chirp"));
        }
    }
    if params.fstart_hz == params.fend_hz {
        return Err(invalid("fend", params.fend_hz, "must differ from fstart"));
    }
    if params.smooth == 0 {
        return Err(invalid("smooth", 0.0, "must be >= 1 sample"));
    }
    Ok(())
}

/// The chirp current (nA) at t_k = k·dt for k = 0..n (bmtool's `t_inj`), frequencies in 1/ms.
pub fn chirp(params: &ZapParams, dt_ms: f64, n: usize) -> Vec<f64> {
    let amp_na = pa_to_na(params.inj_amp_pa);
    let (f0, f1) = (params.fstart_hz * 1e-3, params.fend_hz * 1e-3);
    let t_last = (n.saturating_sub(1)) as f64 * dt_ms;
    let pi = std::f64::consts::PI;
    let log_rate = (f1 / f0).ln() / t_last;
    (0..n)
        .map(|k| {
            let t = k as f64 * dt_ms;
            match params.chirp {
                ChirpKind::Linear => amp_na * (pi * (2.0 * f0 + (f1 - f0) / t_last * t) * t).sin(),
                ChirpKind::Exponential => {
                    amp_na * (pi * 2.0 * f0 / log_rate * ((log_rate * t).exp() - 1.0)).sin()
                }
            }
        })
        .collect()
}

/// The injection window's samples and the chirp's spectrum over it.
struct Window {
    i0: usize,
    i1: usize,
    plan: Rfft,
    chirp_spectrum: Vec<realfft::num_complex::Complex<f64>>,
}

fn analyse(
    cell: &ProtocolCell,
    params: &ZapParams,
    trace: Trace,
    chirp_na: Vec<f64>,
    window: Window,
    nspks: usize,
) -> Result<ZapResult, ProtocolError> {
    let (i0, i1) = (window.i0, window.i1);
    let v_rest = trace.v_mv[i0];
    let response: Vec<f64> = trace.v_mv[i0..=i1].iter().map(|v| v - v_rest).collect();
    let v_amp_max_mv = response.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let n_fft = response.len();
    let raw = impedance_magnitude(&window.plan.transform(&response), &window.chirp_spectrum);
    let smooth = moving_average_same(&raw, params.smooth);
    let freq = rfftfreq(n_fft, cell.dt_ms * 1e-3);
    let (lo, hi) = (
        params.fstart_hz.min(params.fend_hz),
        params.fstart_hz.max(params.fend_hz),
    );
    let band: Vec<usize> = (0..freq.len())
        .filter(|&k| freq[k] > lo && freq[k] < hi)
        .collect();
    if band.is_empty() {
        return Err(ProtocolError::InvalidParameter {
            protocol: "zap",
            name: "fend",
            value: params.fend_hz,
            reason: "leaves no FFT bin strictly between fstart and fend (lengthen inj_dur or widen the band)",
        });
    }
    let profile = ImpedanceProfile {
        freq_hz: band.iter().map(|&k| freq[k]).collect(),
        impedance_raw_mohm: band.iter().map(|&k| raw[k]).collect(),
        impedance_smooth_mohm: band.iter().map(|&k| smooth[k]).collect(),
    };
    let peak_raw = argmax(&profile.impedance_raw_mohm);
    let peak = argmax(&profile.impedance_smooth_mohm);
    Ok(ZapResult {
        params: *params,
        conditions: cell.conditions(),
        v_rest_mv: v_rest,
        v_amp_max_mv,
        n_fft,
        freq_resolution_hz: freq.get(1).copied().unwrap_or(f64::NAN),
        peak_freq_hz: profile.freq_hz[peak],
        peak_impedance_mohm: profile.impedance_smooth_mohm[peak],
        peak_freq_raw_hz: profile.freq_hz[peak_raw],
        peak_impedance_raw_mohm: profile.impedance_raw_mohm[peak_raw],
        nspks,
        profile,
        trace,
        chirp_na,
    })
}

/// numpy's `argmax`: the first index of the largest value (NaN counts as largest).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in values.iter().enumerate() {
        if v.is_nan() {
            return k;
        }
        if v > values[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sign changes of a chirp: twice the cycles, ∫f dt over the sweep.
    fn sign_changes(x: &[f64]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn chirps_sweep_the_requested_frequencies() {
        // 1 -> 11 Hz over 1 s: linear has (1 + 11)/2 = 6 cycles, exponential (f1 - f0)/ln(f1/f0)
        // = 10/ln 11 = 4.17 cycles.
        let base = ZapParams {
            fstart_hz: 1.0,
            fend_hz: 11.0,
            ..ZapParams::default()
        };
        let linear = chirp(&base, 0.025, 40001);
        assert_eq!(linear.len(), 40001);
        assert!(
            (sign_changes(&linear) as i64 - 12).abs() <= 1,
            "{}",
            sign_changes(&linear)
        );
        let exponential = ZapParams {
            chirp: ChirpKind::Exponential,
            ..base
        };
        let samples = chirp(&exponential, 0.025, 40001);
        assert!(
            (sign_changes(&samples) as i64 - 8).abs() <= 1,
            "{}",
            sign_changes(&samples)
        );
        let peak = samples.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            (peak - 0.1).abs() < 1e-6,
            "amplitude 100 pA = 0.1 nA, got {peak}"
        );
    }
}
