//! Report traces: one line per node against time in ms (membrane voltage, calcium, any
//! recorded variable), tab10 colours and a legend naming the nodes.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, legend, Figure, FONT};
use crate::sonata::reports::Traces;

/// Traces ready to draw.
pub struct TracesFigure<'a> {
    pub traces: &'a Traces,
    pub title: String,
    /// Y axis label, e.g. "v (mV)".
    pub y_desc: String,
}

/// Legend entries beyond this are summarised in one line.
const MAX_LEGEND: usize = 12;

impl Figure for TracesFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let t = self.traces;
        let (t0, t1) = match (t.time_ms.first(), t.time_ms.last()) {
            (Some(a), Some(b)) if b > a => (*a, *b),
            (Some(a), _) => (*a, *a + 1.0),
            _ => (0.0, 1.0),
        };
        let finite = t.values.iter().flatten().copied().filter(|v| v.is_finite());
        let lo = finite.clone().fold(f64::INFINITY, f64::min);
        let hi = finite.fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + pad)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(15)
            .margin_right(170)
            .x_label_area_size(45)
            .y_label_area_size(90)
            .build_cartesian_2d(t0..t1, lo..hi)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("Time (ms)")
            .y_desc(&self.y_desc)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| short(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(e)?;
        for (k, values) in t.values.iter().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    t.time_ms.iter().copied().zip(values.iter().copied()),
                    colour(k).stroke_width(1),
                ))
                .map_err(e)?;
        }
        let mut entries: Vec<(String, RGBColor)> = t
            .node_ids
            .iter()
            .take(MAX_LEGEND)
            .enumerate()
            .map(|(k, id)| (format!("node {id}"), colour(k)))
            .collect();
        if t.node_ids.len() > MAX_LEGEND {
            entries.push((
                format!("+{} more", t.node_ids.len() - MAX_LEGEND),
                RGBColor(0xff, 0xff, 0xff),
            ));
        }
        let (width, _) = self.size();
        legend(root, (width as i32 - 10, 60), None, &entries)
    }
}

/// A tick label short enough for small values such as calcium concentrations.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() < 0.01 {
        format!("{v:.1e}")
    } else if v.abs() < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}
