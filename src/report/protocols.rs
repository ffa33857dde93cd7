//! Renderings of the single-cell protocol results: the human text bmtool prints (values first,
//! then the derivation: dV/dI arithmetic, the fit formula and its parameters), JSON with every
//! number and parameter, CSV where the result is a table (FI curve, impedance profile) and the
//! `t_ms,v_mV` trace. Rendering only: every number comes from `cell::protocols`.

use std::fmt::Write;

use serde::Serialize;

use super::OutputFormat;
use crate::cell::protocols::{
    FiResult, IclampResult, PassiveResult, RunConditions, TauMethod, Trace, ZapResult,
};

/// Pretty JSON of any result (every parameter and derived number at full precision).
pub fn json<T: Serialize>(result: &T) -> String {
    // The result types hold only numbers, strings and vectors: serialisation cannot fail.
    serde_json::to_string_pretty(result).unwrap_or_default() + "\n"
}

/// Python's `%.{sig}g`: `sig` significant digits, trailing zeros dropped, exponent form for
/// very small or large values.
pub fn format_g(x: f64, sig: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let sig = sig.max(1);
    let scientific = format!("{:.*e}", sig - 1, x);
    let exponent: i32 = scientific
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if exponent < -4 || exponent >= sig as i32 {
        let (mantissa, _) = scientific.split_once('e').unwrap_or((&scientific, ""));
        let mantissa = strip_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (sig as i32 - 1 - exponent).max(0) as usize;
    strip_zeros(&format!("{x:.decimals$}"))
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn conditions_text(c: &RunConditions) -> String {
    format!(
        "Injection location: {}\nRecording: {}._ref_v\n(dt {} ms, v_init {} mV, celsius {} degC)\n",
        c.injection, c.recording, c.dt_ms, c.v_init_mv, c.celsius_degc
    )
}

/// `--trace-csv`: `t_ms,v_mV`, one row per sample.
pub fn trace_csv(trace: &Trace) -> String {
    let mut out = String::from("t_ms,v_mV\n");
    for (t, v) in trace.t_ms.iter().zip(&trace.v_mv) {
        let _ = writeln!(out, "{t},{v}");
    }
    out
}

// ----- passive -------------------------------------------------------------------------------

/// The passive result in `format` (CSV: one `quantity,value,unit` row per number).
pub fn passive(result: &PassiveResult, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => passive_text(result),
        OutputFormat::Json => json(result),
        OutputFormat::Csv => passive_csv(result),
    }
}

/// bmtool's printout of `Passive.run()`.
pub fn passive_text(r: &PassiveResult) -> String {
    let mut out = conditions_text(&r.conditions);
    let tau = match r.tau_ms {
        Some(tau) => format!("{tau:.2} (ms)"),
        None => "not determined: the fit did not converge".to_string(),
    };
    let _ = write!(
        out,
        "\nV Rest: {:.2} (mV)\nResistance: {:.2} (MOhms)\nMembrane time constant: {tau}\n\n",
        r.v_rest_mv, r.r_in_mohm
    );
    let _ = write!(
        out,
        "V_rest Calculation: Voltage taken at time {:.1} (ms) is\n{:.2} (mV)\n\n",
        r.v_rest_time_ms, r.v_rest_mv
    );
    let amp = r.inj_amp_na;
    let _ = write!(
        out,
        "R_in Calculation: dV/dI = (v_final-v_rest)/(i_final-i_start)\n\
         ({:.2} - ({:.2})) / ({} - 0)\n\
         {:.2} (mV) / {} (nA) = {:.2} (MOhms)\n",
        r.v_final_mv,
        r.v_rest_mv,
        amp,
        amp.signum() * r.v_diff_mv,
        amp.abs(),
        r.r_in_mohm
    );
    out.push_str(&tau_text(r));
    out
}

fn tau_text(r: &PassiveResult) -> String {
    let mut out = String::from("\n");
    match r.params.method {
        TauMethod::Simple => {
            let t_hit = r.v_rest_time_ms + r.tau_simple_ms;
            let _ = write!(
                out,
                "Tau Calculation: time until 63.2% of dV\n\
                 v_rest + 0.632*(v_final-v_rest)\n\
                 {:.2} + 0.632*({:.2}-({:.2})) = {:.2} (mV)\n\
                 Time where V = {:.2} (mV) is {t_hit:.2} (ms)\n\
                 {t_hit:.2} - {} = {:.2} (ms)\n",
                r.v_rest_mv,
                r.v_final_mv,
                r.v_rest_mv,
                r.v_tau_target_mv,
                r.v_tau_target_mv,
                format_g(r.v_rest_time_ms, 6),
                r.tau_simple_ms
            );
        }
        TauMethod::Exp | TauMethod::Exp2 => out.push_str(&fit_text(r)),
    }
    out
}

fn fit_text(r: &PassiveResult) -> String {
    let mut out = String::new();
    let Some(fit) = &r.fit else { return out };
    let params = fit
        .popt
        .iter()
        .map(|p| format!("{p:.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    if r.params.method == TauMethod::Exp {
        let _ = write!(
            out,
            "Tau Calculation: Fit a single exponential curve to the membrane potential response\n\
             f(t) = a0 + a*exp(-t/tau)\n\
             Fit parameters: (a0, a, tau) = ({params})\n"
        );
    } else {
        let _ = write!(
            out,
            "Tau Calculation: Fit a double exponential curve to the membrane potential response\n\
             f(t) = a0 + a1*exp(-t/tau1) + a2*exp(-t/tau2)\n\
             Constrained by initial value: f(0) = a0 + a1 + a2 = v_rest\n\
             Fit parameters: (a0, a1, a2, tau1, tau2) = ({params})\n"
        );
    }
    if fit.converged {
        let which = if r.params.method == TauMethod::Exp {
            "the exponential term"
        } else {
            "the slowest exponential term"
        };
        let _ = writeln!(
            out,
            "Membrane time constant is determined from {which}: {:.2} (ms)",
            fit.tau_ms
        );
    } else {
        let _ = writeln!(
            out,
            "The fit did not converge ({}, {} evaluations); tau by the simple method is {:.2} (ms)",
            fit.termination, fit.evaluations, r.tau_simple_ms
        );
    }
    if let Some(sag) = &r.sag {
        let _ = write!(
            out,
            "\nSag potential: v_sag = v_peak - v_final = {:.2} (mV)\n\
             Normalized sag potential: v_sag / (v_peak - v_rest) = {:.3}\n",
            sag.v_sag_mv, sag.sag_norm
        );
    }
    out
}

fn passive_csv(r: &PassiveResult) -> String {
    let mut rows: Vec<(&str, f64, &str)> = vec![
        ("v_rest", r.v_rest_mv, "mV"),
        ("v_final", r.v_final_mv, "mV"),
        ("r_in", r.r_in_mohm, "MOhm"),
        ("tau_simple", r.tau_simple_ms, "ms"),
        ("tau", r.tau_ms.unwrap_or(f64::NAN), "ms"),
    ];
    if let Some(sag) = &r.sag {
        rows.extend([
            ("t_peak", sag.t_peak_ms, "ms"),
            ("v_peak", sag.v_peak_mv, "mV"),
            ("v_sag", sag.v_sag_mv, "mV"),
            ("sag_norm", sag.sag_norm, ""),
        ]);
    }
    let mut out = String::from("quantity,value,unit\n");
    for (name, value, unit) in rows {
        let _ = writeln!(out, "{name},{value},{unit}");
    }
    if let Some(fit) = &r.fit {
        for (k, p) in fit.popt.iter().enumerate() {
            let _ = writeln!(out, "popt{k},{p},");
        }
    }
    out
}

// ----- current clamp -------------------------------------------------------------------------

/// The current-clamp result in `format` (CSV: one row per spike).
pub fn iclamp(result: &IclampResult, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => iclamp_text(result),
        OutputFormat::Json => json(result),
        OutputFormat::Csv => {
            let mut out = String::from("spike,t_ms\n");
            for (k, t) in result.spike_times_ms.iter().enumerate() {
                let _ = writeln!(out, "{k},{t}");
            }
            out
        }
    }
}

/// bmtool's printout of `CurrentClamp.run()` plus the spike times.
pub fn iclamp_text(r: &IclampResult) -> String {
    let mut out = conditions_text(&r.conditions);
    let p = &r.params;
    let _ = write!(
        out,
        "Current clamp: {} pA from {} ms for {} ms, run to {} ms, threshold {} mV\n\n\
         Number of spikes: {}\n",
        p.inj_amp_pa, p.inj_delay_ms, p.inj_dur_ms, p.tstop_ms, p.threshold_mv, r.nspks
    );
    if r.nspks == 0 {
        let _ = writeln!(
            out,
            "(v stayed between {:.2} and {:.2} mV and never crossed the threshold)",
            r.v_min_mv, r.v_max_mv
        );
    } else {
        let times: Vec<String> = r.spike_times_ms.iter().map(|t| format!("{t:.3}")).collect();
        let _ = writeln!(out, "Spike times (ms): {}", times.join(", "));
    }
    out
}

// ----- FI ------------------------------------------------------------------------------------

/// The FI curve in `format` (CSV: `amp_pA,nspks`).
pub fn fi(result: &FiResult, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => fi_text(result),
        OutputFormat::Json => json(result),
        OutputFormat::Csv => fi_csv(result),
    }
}

/// `amp_pA,nspks`, one row per trial.
pub fn fi_csv(r: &FiResult) -> String {
    let mut out = String::from("amp_pA,nspks\n");
    for (amp, n) in r.amps_pa.iter().zip(&r.nspks) {
        let _ = writeln!(out, "{amp},{n}");
    }
    out
}

/// The note on bmtool's trial count, when i_stop was left out.
pub fn fi_note(r: &FiResult) -> Option<String> {
    let last = r.amps_pa.last()?;
    r.stop_excluded.then(|| {
        format!(
            "note: as bmtool, {} trials run {}..{} pA: int((i_stop - i_start) // i_increment + 1) in floating point leaves out i_stop = {} pA; --inclusive adds it",
            r.amps_pa.len(),
            format_g(r.params.i_start_pa, 6),
            format_g(*last, 6),
            format_g(r.params.i_stop_pa, 6)
        )
    })
}

/// bmtool's "Results" table of `FI.run()`.
pub fn fi_text(r: &FiResult) -> String {
    let mut out = conditions_text(&r.conditions);
    let p = &r.params;
    let _ = write!(
        out,
        "FI: steps from {} ms for {} ms (run to {} ms), threshold {} mV\n\nResults\n",
        p.tstart_ms, p.tdur_ms, r.tstop_ms, p.threshold_mv
    );
    let _ = writeln!(out, "{:>16}  {:>16}", "Injection (pA):", "number of spikes");
    for (amp, n) in r.amps_pa.iter().zip(&r.nspks) {
        let _ = writeln!(out, "{:>16}  {:>16}", format_g(*amp, 6), n);
    }
    if let Some(note) = fi_note(r) {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

// ----- ZAP -----------------------------------------------------------------------------------

/// The ZAP result in `format` (CSV: the impedance profile).
pub fn zap(result: &ZapResult, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => zap_text(result),
        OutputFormat::Json => json(result),
        OutputFormat::Csv => impedance_csv(result),
    }
}

/// `freq_Hz,impedance_MOhm_raw,impedance_MOhm_smooth<k>` over fstart < f < fend.
pub fn impedance_csv(r: &ZapResult) -> String {
    let p = &r.profile;
    let mut out = format!(
        "freq_Hz,impedance_MOhm_raw,impedance_MOhm_smooth{}\n",
        r.params.smooth
    );
    for k in 0..p.freq_hz.len() {
        let _ = writeln!(
            out,
            "{},{},{}",
            p.freq_hz[k], p.impedance_raw_mohm[k], p.impedance_smooth_mohm[k]
        );
    }
    out
}

/// bmtool's printout of `ZAP.run()` and `get_impedance()`, plus the peak |Z|.
pub fn zap_text(r: &ZapResult) -> String {
    let mut out = conditions_text(&r.conditions);
    let p = &r.params;
    let _ = write!(
        out,
        "\nChirp current injection with frequency changing from {} to {} Hz over {} seconds\n\
         Impedance is calculated as the ratio of FFT amplitude of membrane voltage to FFT amplitude of chirp current\n\n",
        format_g(p.fstart_hz, 6),
        format_g(p.fend_hz, 6),
        format_g(p.inj_dur_ms * 1e-3, 6)
    );
    let _ = write!(
        out,
        "Resonant Peak Frequency: {} (Hz)\n\
         Peak impedance: {:.2} (MOhms) ({}-point moving average; {} bins of {:.4} Hz)\n\
         Raw spectrum peak: {} (Hz), {:.2} (MOhms)\n\
         V_rest {:.2} (mV), largest |v - v_rest| {:.2} (mV)\n",
        format_g(r.peak_freq_hz, 3),
        r.peak_impedance_mohm,
        p.smooth,
        r.profile.freq_hz.len(),
        r.freq_resolution_hz,
        format_g(r.peak_freq_raw_hz, 3),
        r.peak_impedance_raw_mohm,
        r.v_rest_mv,
        r.v_amp_max_mv
    );
    if r.nspks > 0 {
        let _ = writeln!(
            out,
            "warning: the cell fired {} spikes (threshold {} mV) during the chirp, so this is not a linear impedance; try a smaller --inj-amp",
            r.nspks, p.threshold_mv
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn format_g_matches_python() {
        // Python: '%.3g' % 3.9999 == '4', '%.3g' % 0.26666 == '0.267', '%g' % 1500.0 == '1500',
        // '%g' % 1e-05 == '1e-05', '%.3g' % 14.933 == '14.9'
        assert_eq!(format_g(3.9999, 3), "4");
        assert_eq!(format_g(0.26666, 3), "0.267");
        assert_eq!(format_g(1500.0, 6), "1500");
        assert_eq!(format_g(1e-5, 6), "1e-05");
        assert_eq!(format_g(14.933, 3), "14.9");
    }
}
