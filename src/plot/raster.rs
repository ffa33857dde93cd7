//! The spike raster: one dot per spike at (time, node id), one tab10 colour per group, a legend,
//! time in ms. Spikes are binned to the pixels of the plot area first, so two million spikes cost
//! one pass over the columns and at most one draw per pixel, in PNG and SVG alike.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, legend, Figure, FONT};
use crate::network::firing::Raster;

/// A raster ready to draw.
pub struct RasterFigure<'a> {
    pub raster: &'a Raster,
    pub title: String,
}

const EMPTY: u16 = u16::MAX;

impl Figure for RasterFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let r = self.raster;
        let y_max = r
            .populations
            .iter()
            .map(|(_, first, span)| first + span)
            .max()
            .unwrap_or(1)
            .max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(15)
            .margin_right(200)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(r.tstart_ms..r.tstop_ms, -0.5f64..(y_max as f64 - 0.5))
            .map_err(e)?;
        let y_desc = if r.populations.len() > 1 {
            "Node ID (populations stacked)"
        } else {
            "Node ID"
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("Time (ms)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(y_desc)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(e)?;
        let area = chart.plotting_area();
        let (xr, yr) = area.get_pixel_range();
        let (w, h) = ((xr.end - xr.start).max(1), (yr.end - yr.start).max(1));
        let mut grid = vec![EMPTY; (w * h) as usize];
        let sx = w as f64 / (r.tstop_ms - r.tstart_ms);
        let sy = h as f64 / y_max as f64;
        for k in 0..r.time_ms.len() {
            let px = ((r.time_ms[k] - r.tstart_ms) * sx) as i32;
            let py = h - 1 - ((r.y[k] as f64 + 0.5) * sy) as i32;
            if (0..w).contains(&px) && (0..h).contains(&py) {
                grid[(py * w + px) as usize] = r.group[k];
            }
        }
        // Few spikes: 3x3 dots so they are visible; many: single pixels.
        let dot = if r.time_ms.len() < 100_000 { 1 } else { 0 };
        if dot == 0 {
            // Runs of same-coloured pixels along a row become one rectangle (small SVGs).
            for py in 0..h {
                let row = &grid[(py * w) as usize..((py + 1) * w) as usize];
                let mut px = 0;
                while px < w {
                    let g = row[px as usize];
                    let mut end = px + 1;
                    while end < w && row[end as usize] == g {
                        end += 1;
                    }
                    if g != EMPTY {
                        let (x0, y) = (xr.start + px, yr.start + py);
                        root.draw(&Rectangle::new(
                            [(x0, y), (x0 + (end - px), y + 1)],
                            colour(g as usize).filled(),
                        ))
                        .map_err(e)?;
                    }
                    px = end;
                }
            }
        } else {
            for (i, g) in grid.iter().enumerate() {
                if *g == EMPTY {
                    continue;
                }
                let (px, py) = (xr.start + i as i32 % w, yr.start + i as i32 / w);
                root.draw(&Rectangle::new(
                    [(px - dot, py - dot), (px + dot, py + dot)],
                    colour(*g as usize).filled(),
                ))
                .map_err(e)?;
            }
        }
        let entries: Vec<(String, RGBColor)> = r
            .groups
            .iter()
            .enumerate()
            .map(|(k, g)| {
                let label = if r.populations.len() > 1 {
                    format!("{}_{}", g.population, g.group)
                } else {
                    g.group.clone()
                };
                (label, colour(k))
            })
            .collect();
        let (width, _) = self.size();
        legend(root, (width as i32 - 10, 60), Some("Population"), &entries)
    }
}
