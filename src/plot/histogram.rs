//! Histograms in a grid: one small chart per (source group, target group), source groups down,
//! target groups across, as bmtool draws its probability and edge-property matrices; a single
//! histogram is a 1x1 grid. Each panel is bars (or a line through the bar tops); the command
//! decides what the bars mean.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, FONT, TAB10};

/// One panel: bars as (left edge, right edge, height).
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub bars: Vec<(f64, f64, f64)>,
    /// A line through the bar centres instead of bars.
    pub line: bool,
    /// Text in the panel's corner (e.g. mean and std).
    pub note: Option<String>,
}

/// A grid of panels.
pub struct GridFigure<'a> {
    pub title: String,
    pub row_labels: &'a [String],
    pub col_labels: &'a [String],
    /// `panels[row][col]`; None leaves the panel empty.
    pub panels: &'a [Vec<Option<Panel>>],
    pub x_desc: String,
    pub y_desc: String,
}

const LEFT: u32 = 150;
const TOP: u32 = 90;

impl GridFigure<'_> {
    fn panel_size(&self) -> (u32, u32) {
        let (nr, nc) = (self.row_labels.len().max(1), self.col_labels.len().max(1));
        if nr == 1 && nc == 1 {
            (800, 500)
        } else {
            (
                (1400 / nc as u32).clamp(170, 320),
                (1000 / nr as u32).clamp(140, 260),
            )
        }
    }
}

impl Figure for GridFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.panel_size();
        let (nr, nc) = (
            self.row_labels.len().max(1) as u32,
            self.col_labels.len().max(1) as u32,
        );
        (LEFT + nc * w + 30, TOP + nr * h + 60)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let (width, height) = self.size();
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            self.title.clone(),
            (width as i32 / 2, 24),
            (FONT, 22).into_font().color(&BLACK).pos(centre),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            format!(
                "x: {}   y: {}   (rows: source, columns: target)",
                self.x_desc, self.y_desc
            ),
            (width as i32 / 2, 52),
            (FONT, 14).into_font().color(&BLACK).pos(centre),
        ))
        .map_err(e)?;
        let (pw, ph) = self.panel_size();
        for (c, label) in self.col_labels.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                ((LEFT + c as u32 * pw + pw / 2) as i32, TOP as i32 - 12),
                (FONT, 13).into_font().color(&BLACK).pos(centre),
            ))
            .map_err(e)?;
        }
        for (r, label) in self.row_labels.iter().enumerate() {
            root.draw(&Text::new(
                label.clone(),
                (LEFT as i32 - 8, (TOP + r as u32 * ph + ph / 2) as i32),
                (FONT, 13)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(e)?;
        }
        for (r, row) in self.panels.iter().enumerate() {
            for (c, panel) in row.iter().enumerate() {
                let x0 = (LEFT + c as u32 * pw) as i32;
                let y0 = (TOP + r as u32 * ph) as i32;
                let area = root.clone().shrink((x0, y0), (pw, ph));
                match panel {
                    Some(p) if !p.bars.is_empty() => draw_panel(&area, p).map_err(e)?,
                    _ => {
                        area.draw(&Rectangle::new(
                            [(4, 4), (pw as i32 - 4, ph as i32 - 4)],
                            RGBColor(0xdd, 0xdd, 0xdd).stroke_width(1),
                        ))
                        .map_err(e)?;
                    }
                }
            }
        }
        let _ = height;
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let lo = p.bars.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let hi = p.bars.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    let top = p
        .bars
        .iter()
        .map(|b| b.2)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(42)
        .build_cartesian_2d(lo..hi, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(4)
        .y_labels(4)
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .label_style((FONT, 10))
        .draw()?;
    let blue = TAB10[0];
    if p.line {
        chart.draw_series(LineSeries::new(
            p.bars
                .iter()
                .filter(|b| b.2.is_finite())
                .map(|b| ((b.0 + b.1) / 2.0, b.2)),
            blue.stroke_width(2),
        ))?;
    } else {
        chart.draw_series(
            p.bars
                .iter()
                .filter(|b| b.2.is_finite())
                .map(|b| Rectangle::new([(b.0, 0.0), (b.1, b.2)], blue.mix(0.8).filled())),
        )?;
    }
    if let Some(note) = &p.note {
        let (w, _) = area.dim_in_pixel();
        area.draw(&Text::new(
            note.clone(),
            (w as i32 - 8, 8),
            (FONT, 11)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Top)),
        ))?;
    }
    Ok(())
}

fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}
