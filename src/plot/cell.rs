//! Pictures of the single-cell protocols: the membrane potential trace with the injection window
//! shaded and, for exp/exp2 passive runs, the fitted curve overlaid (red, dashed); the FI curve
//! (spikes per amplitude); the impedance profile (raw and smoothed |Z| against frequency, the
//! peak marked). Drawing only: the numbers come from `cell::protocols`.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Figure;
use crate::cell::protocols::fit::evaluate;
use crate::cell::protocols::{FiResult, IclampResult, PassiveResult, Trace, ZapResult};

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 600);
/// Traces longer than this are reduced to per-bucket minima and maxima (spikes survive).
const MAX_POINTS: usize = 8000;

/// A v(t) trace with its injection window and an optional fit.
pub struct TraceFigure {
    /// Title.
    pub title: String,
    /// Samples (t ms, v mV), already reduced for drawing.
    pub points: Vec<(f64, f64)>,
    /// Injection window (ms).
    pub window_ms: Option<(f64, f64)>,
    /// Fitted curve (t ms, v mV) and its legend.
    pub fit: Option<(Vec<(f64, f64)>, String)>,
}

/// Min/max decimation: at most `MAX_POINTS` points, keeping each bucket's extremes in order.
fn reduce(t_ms: &[f64], v_mv: &[f64]) -> Vec<(f64, f64)> {
    let n = t_ms.len().min(v_mv.len());
    if n <= MAX_POINTS {
        return (0..n).map(|i| (t_ms[i], v_mv[i])).collect();
    }
    let bucket = n.div_ceil(MAX_POINTS / 2);
    let mut points = Vec::with_capacity(MAX_POINTS + 2);
    for start in (0..n).step_by(bucket) {
        let end = (start + bucket).min(n);
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if v_mv[i] < v_mv[lo] {
                lo = i;
            }
            if v_mv[i] > v_mv[hi] {
                hi = i;
            }
        }
        for i in [lo.min(hi), lo.max(hi)] {
            points.push((t_ms[i], v_mv[i]));
        }
    }
    points
}

fn trace_points(trace: &Trace) -> Vec<(f64, f64)> {
    reduce(&trace.t_ms, &trace.v_mv)
}

/// The passive run: the trace, the step window and the fitted curve (exp, exp2).
pub fn passive_figure(r: &PassiveResult) -> TraceFigure {
    let fit = r.fit.as_ref().map(|fit| {
        let (t_inj, _) = r.window();
        let curve: Vec<f64> = t_inj.iter().map(|&t| evaluate(&fit.popt, t)).collect();
        let t_abs: Vec<f64> = t_inj.iter().map(|t| t + r.v_rest_time_ms).collect();
        let label = format!("{} fit, tau {:.2} ms", r.params.method.name(), fit.tau_ms);
        (reduce(&t_abs, &curve), label)
    });
    let tau = r
        .tau_ms
        .map(|t| format!("{t:.2} ms"))
        .unwrap_or_else(|| "fit did not converge".into());
    TraceFigure {
        title: format!(
            "Passive: V_rest {:.2} mV, R_in {:.2} MOhm, tau {tau}",
            r.v_rest_mv, r.r_in_mohm
        ),
        points: trace_points(&r.trace),
        window_ms: Some((
            r.params.inj_delay_ms,
            r.params.inj_delay_ms + r.params.inj_dur_ms,
        )),
        fit,
    }
}

/// The current-clamp run.
pub fn iclamp_figure(r: &IclampResult) -> TraceFigure {
    let p = &r.params;
    TraceFigure {
        title: format!("Current clamp {} pA: {} spikes", p.inj_amp_pa, r.nspks),
        points: trace_points(&r.trace),
        window_ms: Some((p.inj_delay_ms, p.inj_delay_ms + p.inj_dur_ms)),
        fit: None,
    }
}

/// The ZAP response trace.
pub fn zap_trace_figure(r: &ZapResult) -> TraceFigure {
    let p = &r.params;
    TraceFigure {
        title: format!(
            "ZAP {} pA, {}-{} Hz chirp",
            p.inj_amp_pa, p.fstart_hz, p.fend_hz
        ),
        points: trace_points(&r.trace),
        window_ms: Some((p.inj_delay_ms, p.inj_delay_ms + p.inj_dur_ms)),
        fit: None,
    }
}

fn bounds(points: impl Iterator<Item = (f64, f64)>) -> ((f64, f64), (f64, f64)) {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (f64::INFINITY, f64::NEG_INFINITY);
    for (a, b) in points {
        if a.is_finite() && b.is_finite() {
            x = (x.0.min(a), x.1.max(a));
            y = (y.0.min(b), y.1.max(b));
        }
    }
    let pad = |(lo, hi): (f64, f64)| {
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let margin = ((hi - lo) * 0.05).max(1e-6);
        (lo - margin, hi + margin)
    };
    (pad(x), pad(y))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Figure for TraceFigure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let fit_points = self.fit.iter().flat_map(|(p, _)| p.iter().copied());
        let ((x0, x1), (y0, y1)) = bounds(self.points.iter().copied().chain(fit_points));
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Time (ms)")
            .y_desc("Membrane Potential (mV)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(err)?;
        if let Some((start, end)) = self.window_ms {
            let shade = RGBColor(255, 200, 120).mix(0.25).filled();
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(start, y0), (end, y1)],
                    shade,
                )))
                .map_err(err)?
                .label(format!("injection {start}-{end} ms"))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], shade));
        }
        chart
            .draw_series(LineSeries::new(
                self.points.iter().copied(),
                BLUE.stroke_width(1),
            ))
            .map_err(err)?
            .label("v (soma)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        if let Some((points, label)) = &self.fit {
            let style = RED.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// The FI curve: spike count per amplitude.
pub struct FiFigure<'a> {
    /// The sweep.
    pub result: &'a FiResult,
}

impl Figure for FiFigure<'_> {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let r = self.result;
        let points: Vec<(f64, f64)> = r
            .amps_pa
            .iter()
            .zip(&r.nspks)
            .map(|(a, n)| (*a, *n as f64))
            .collect();
        let ((x0, x1), (_, y1)) = bounds(points.iter().copied());
        let title = format!(
            "FI curve: {} ms steps, threshold {} mV",
            r.params.tdur_ms, r.params.threshold_mv
        );
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, 0.0..y1.max(1.0))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Injection (pA)")
            .y_desc("# Spikes")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                BLUE.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, BLUE.filled())))
            .map_err(err)?;
        Ok(())
    }
}

/// The impedance amplitude profile.
pub struct ImpedanceFigure<'a> {
    /// The ZAP result.
    pub result: &'a ZapResult,
}

impl Figure for ImpedanceFigure<'_> {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let r = self.result;
        let p = &r.profile;
        let raw: Vec<(f64, f64)> = p
            .freq_hz
            .iter()
            .copied()
            .zip(p.impedance_raw_mohm.iter().copied())
            .collect();
        let smooth: Vec<(f64, f64)> = p
            .freq_hz
            .iter()
            .copied()
            .zip(p.impedance_smooth_mohm.iter().copied())
            .collect();
        let ((x0, x1), (_, y1)) = bounds(raw.iter().chain(&smooth).copied());
        let title = format!(
            "Impedance: peak {:.3} Hz, {:.1} MOhm ({}-point average)",
            r.peak_freq_hz, r.peak_impedance_mohm, r.params.smooth
        );
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("Frequency (Hz)")
            .y_desc("Impedance (MOhm)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(err)?;
        let light = RGBColor(150, 150, 220);
        chart
            .draw_series(LineSeries::new(raw, light.stroke_width(1)))
            .map_err(err)?
            .label("|Z| raw")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], light));
        chart
            .draw_series(LineSeries::new(smooth, BLUE.stroke_width(2)))
            .map_err(err)?
            .label(format!("|Z| smoothed ({})", r.params.smooth))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let peak = (r.peak_freq_hz, r.peak_impedance_mohm);
        chart
            .draw_series(std::iter::once(Circle::new(peak, 6, RED.filled())))
            .map_err(err)?
            .label(format!("peak {:.3} Hz", r.peak_freq_hz))
            .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}
