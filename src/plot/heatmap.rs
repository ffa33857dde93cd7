//! The connection-matrix heat map: one coloured cell per (source group, target group) with its
//! value written in it, source labels down the left, target labels across the bottom, a title and
//! a colour bar, in the viridis colour map bmtool uses.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Figure;
use crate::network::Matrix;
use crate::report::cell_text;

const FONT: &str = "sans-serif";
const CHAR_PX: u32 = 8;

/// A matrix ready to draw.
pub struct Heatmap<'a> {
    pub matrix: &'a Matrix,
    pub title: String,
}

impl Heatmap<'_> {
    fn cell_size(&self) -> (u32, u32) {
        let widest = self
            .matrix
            .values
            .iter()
            .enumerate()
            .flat_map(|(r, row)| (0..row.len()).map(move |c| (r, c)))
            .map(|(r, c)| {
                cell_text(self.matrix, r, c)
                    .lines()
                    .map(|l| l.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(4) as u32;
        let lines = if self.matrix.spread.is_some() { 2 } else { 1 };
        ((widest * CHAR_PX + 16).clamp(56, 260), 22 * lines + 18)
    }

    fn margins(&self) -> (u32, u32) {
        let longest =
            |labels: &[String]| labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u32;
        let left = longest(&self.matrix.row_labels) * CHAR_PX + 60;
        let bottom = longest(&self.matrix.col_labels) * CHAR_PX + 60;
        (left, bottom)
    }
}

const TOP: u32 = 60;
const RIGHT: u32 = 120;

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        let (cw, ch) = self.cell_size();
        let (left, bottom) = self.margins();
        let nr = self.matrix.row_labels.len().max(1) as u32;
        let nc = self.matrix.col_labels.len().max(1) as u32;
        let width = (left + nc * cw + RIGHT).max(420);
        (width, TOP + nr * ch + bottom)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let m = self.matrix;
        let (cw, ch) = self.cell_size();
        let (left, _) = self.margins();
        let (width, _) = self.size();
        let (lo, hi) = value_range(m);
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            self.title.clone(),
            (width as i32 / 2, 24),
            (FONT, 22)
                .into_font()
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(centre),
        ))
        .map_err(e)?;
        for (r, row) in m.values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let x0 = (left + c as u32 * cw) as i32;
                let y0 = (TOP + r as u32 * ch) as i32;
                let t = normalised(*v, lo, hi);
                let fill = ViridisRGB.get_color(t as f32);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw as i32, y0 + ch as i32)],
                    fill.filled(),
                ))
                .map_err(e)?;
                let ink = if t >= 0.9 { BLACK } else { WHITE };
                let text = cell_text(m, r, c);
                let lines: Vec<&str> = text.lines().collect();
                for (k, line) in lines.iter().enumerate() {
                    let dy = (k as i32 * 2 - lines.len() as i32 + 1) * 11;
                    root.draw(&Text::new(
                        line.to_string(),
                        (x0 + cw as i32 / 2, y0 + ch as i32 / 2 + dy),
                        (FONT, 14).into_font().color(&ink).pos(centre),
                    ))
                    .map_err(e)?;
                }
            }
        }
        let label = (FONT, 14).into_font().color(&BLACK);
        for (r, name) in m.row_labels.iter().enumerate() {
            let y = (TOP + r as u32 * ch + ch / 2) as i32;
            root.draw(&Text::new(
                name.clone(),
                (left as i32 - 8, y),
                label.clone().pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(e)?;
        }
        let grid_bottom = (TOP + m.row_labels.len() as u32 * ch) as i32;
        for (c, name) in m.col_labels.iter().enumerate() {
            let x = (left + c as u32 * cw + cw / 2) as i32;
            root.draw(&Text::new(
                name.clone(),
                (x, grid_bottom + 8),
                label
                    .clone()
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(e)?;
        }
        let axis = (FONT, 16).into_font().style(FontStyle::Bold).color(&BLACK);
        root.draw(&Text::new(
            "Source",
            (14, (TOP as i32 + grid_bottom) / 2),
            axis.clone().transform(FontTransform::Rotate270).pos(centre),
        ))
        .map_err(e)?;
        let (_, height) = self.size();
        root.draw(&Text::new(
            "Target",
            (
                (left + m.col_labels.len() as u32 * cw / 2) as i32,
                height as i32 - 16,
            ),
            axis.pos(centre),
        ))
        .map_err(e)?;
        self.colour_bar(
            root,
            left + m.col_labels.len() as u32 * cw + 30,
            grid_bottom,
            lo,
            hi,
        )
    }
}

impl Heatmap<'_> {
    fn colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x: u32,
        bottom: i32,
        lo: f64,
        hi: f64,
    ) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        let top = TOP as i32;
        let steps = (bottom - top).max(1);
        let x = x as i32;
        for k in 0..steps {
            let t = 1.0 - k as f64 / steps as f64;
            let colour = ViridisRGB.get_color(t as f32);
            root.draw(&Rectangle::new(
                [(x, top + k), (x + 18, top + k + 1)],
                colour.filled(),
            ))
            .map_err(e)?;
        }
        root.draw(&Rectangle::new(
            [(x, top), (x + 18, bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(e)?;
        let style = (FONT, 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for k in 0..=4 {
            let t = k as f64 / 4.0;
            let y = bottom - ((bottom - top) as f64 * t) as i32;
            let v = lo + (hi - lo) * t;
            root.draw(&Text::new(tick(v), (x + 24, y), style.clone()))
                .map_err(e)?;
        }
        Ok(())
    }
}

fn tick(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn value_range(m: &Matrix) -> (f64, f64) {
    let finite = m.values.iter().flatten().copied().filter(|v| v.is_finite());
    let hi = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let lo = finite.fold(f64::INFINITY, f64::min).min(0.0);
    if hi.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

fn normalised(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_finite() {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}
