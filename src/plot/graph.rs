//! Graph pictures. [`GroupGraphFigure`]: bmtool's network graph, one node per cell group on a
//! circle (networkx's shell layout), an arrow per (source group, target group, property value)
//! with the value in red beside it, self-connections as loops. [`CellGraphFigure`]: the cell
//! graph in 3-D, cells coloured by the number of cells that connect to them (viridis, with a
//! colour bar), edges drawn faintly when there are few enough to see.

use std::f64::consts::PI;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, FONT};

/// Group-level graph: node labels and labelled directed edges (indices into `nodes`).
pub struct GroupGraphFigure<'a> {
    pub title: String,
    pub nodes: &'a [String],
    pub edges: &'a [(usize, usize, String)],
}

const NODE_R: i32 = 46;

impl Figure for GroupGraphFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 1200)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            self.title.clone(),
            (600, 26),
            (FONT, 22).into_font().color(&BLACK).pos(centre),
        ))
        .map_err(e)?;
        let n = self.nodes.len().max(1);
        let (cx, cy, radius) = (600.0, 620.0, 440.0);
        let at: Vec<(f64, f64)> = (0..n)
            .map(|k| {
                let a = 2.0 * PI * k as f64 / n as f64;
                if self.nodes.len() == 1 {
                    (cx, cy)
                } else {
                    (cx + radius * a.cos(), cy + radius * a.sin())
                }
            })
            .collect();
        let red = RGBColor(0xd6, 0x27, 0x28);
        // Parallel edges between the same pair are spread along the line.
        let mut seen: Vec<((usize, usize), i32)> = Vec::new();
        for (s, t, label) in self.edges {
            let k = match seen.iter_mut().find(|(p, _)| *p == (*s, *t)) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.1
                }
                None => {
                    seen.push(((*s, *t), 0));
                    0
                }
            };
            let label_style = (FONT, 13).into_font().color(&red).pos(centre);
            if s == t {
                let (x, y) = at[*s];
                let (dx, dy) = ((x - cx) / radius, (y - cy) / radius);
                let (lx, ly) = if self.nodes.len() == 1 {
                    (x, y - 55.0)
                } else {
                    (x + dx * 66.0, y + dy * 66.0)
                };
                root.draw(&Circle::new(
                    (lx as i32, ly as i32),
                    24,
                    BLACK.stroke_width(1),
                ))
                .map_err(e)?;
                root.draw(&Text::new(
                    label.clone(),
                    (lx as i32, (ly - 34.0 - 15.0 * k as f64) as i32),
                    label_style,
                ))
                .map_err(e)?;
                continue;
            }
            let (x0, y0) = at[*s];
            let (x1, y1) = at[*t];
            let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt().max(1.0);
            let (ux, uy) = ((x1 - x0) / len, (y1 - y0) / len);
            // Offset each direction sideways so A->B and B->A do not overlap.
            let (ox, oy) = (-uy * 6.0, ux * 6.0);
            let r = NODE_R as f64;
            let a = (x0 + ux * r + ox, y0 + uy * r + oy);
            let b = (x1 - ux * r + ox, y1 - uy * r + oy);
            let p = |q: (f64, f64)| (q.0 as i32, q.1 as i32);
            root.draw(&PathElement::new(vec![p(a), p(b)], BLACK.stroke_width(1)))
                .map_err(e)?;
            let head = |side: f64| {
                (
                    b.0 - ux * 14.0 + side * -uy * 6.0,
                    b.1 - uy * 14.0 + side * ux * 6.0,
                )
            };
            root.draw(&Polygon::new(
                vec![p(b), p(head(1.0)), p(head(-1.0))],
                BLACK.filled(),
            ))
            .map_err(e)?;
            // Labels sit nearer the target, so A->B and B->A labels do not meet.
            let mid = (
                a.0 + (b.0 - a.0) * 0.65 + ox * 2.0,
                a.1 + (b.1 - a.1) * 0.65 + oy * 2.0 + 15.0 * k as f64,
            );
            root.draw(&Text::new(label.clone(), p(mid), label_style))
                .map_err(e)?;
        }
        for (k, name) in self.nodes.iter().enumerate() {
            let (x, y) = (at[k].0 as i32, at[k].1 as i32);
            root.draw(&Circle::new((x, y), NODE_R, WHITE.filled()))
                .map_err(e)?;
            root.draw(&Circle::new((x, y), NODE_R, BLACK.stroke_width(1)))
                .map_err(e)?;
            root.draw(&Text::new(
                name.clone(),
                (x, y),
                (FONT, 11).into_font().color(&BLACK).pos(centre),
            ))
            .map_err(e)?;
        }
        Ok(())
    }
}

/// Cells at their positions, coloured by in-degree, with optional edges.
pub struct CellGraphFigure<'a> {
    pub title: String,
    /// Position per graph node (None: not drawn).
    pub position: &'a [Option<[f64; 3]>],
    pub in_degree: &'a [u32],
    /// Edges to draw as (source node, target node).
    pub edges: &'a [(usize, usize)],
}

impl Figure for CellGraphFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 850)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let mut r = [(f64::INFINITY, f64::NEG_INFINITY); 3];
        for p in self.position.iter().flatten() {
            for k in 0..3 {
                r[k] = (r[k].0.min(p[k]), r[k].1.max(p[k]));
            }
        }
        let r = r.map(|(lo, hi)| {
            if !lo.is_finite() {
                (-1.0, 1.0)
            } else if hi - lo < 1e-9 {
                (lo - 1.0, hi + 1.0)
            } else {
                (lo, hi)
            }
        });
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(20)
            .margin_right(140)
            .build_cartesian_3d(r[0].0..r[0].1, r[2].0..r[2].1, r[1].0..r[1].1)
            .map_err(e)?;
        chart.with_projection(|mut pb| {
            pb.yaw = 0.6;
            pb.pitch = 0.35;
            pb.scale = 0.85;
            pb.into_matrix()
        });
        chart
            .configure_axes()
            .light_grid_style(BLACK.mix(0.1))
            .max_light_lines(4)
            .label_style((FONT, 12))
            .x_formatter(&|v| format!("{v:.0}"))
            .y_formatter(&|v| format!("{v:.0}"))
            .z_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(e)?;
        super::positions::axis_names(&mut chart, r).map_err(e)?;
        let to_chart = |p: [f64; 3]| (p[0], p[2], p[1]);
        chart
            .draw_series(self.edges.iter().filter_map(|(s, t)| {
                let (a, b) = (self.position[*s]?, self.position[*t]?);
                Some(PathElement::new(
                    vec![to_chart(a), to_chart(b)],
                    RGBColor(0x88, 0x88, 0x88).mix(0.25).stroke_width(1),
                ))
            }))
            .map_err(e)?;
        let max = self.in_degree.iter().copied().max().unwrap_or(0).max(1) as f64;
        chart
            .draw_series(self.position.iter().enumerate().filter_map(|(k, p)| {
                let c = ViridisRGB.get_color((self.in_degree[k] as f64 / max) as f32);
                Some(Circle::new(to_chart((*p)?), 3, c.filled()))
            }))
            .map_err(e)?;
        // Colour bar: in-degree 0..max.
        let (width, _) = self.size();
        let (x, top, bottom) = (width as i32 - 110, 120, 600);
        for k in 0..(bottom - top) {
            let t = 1.0 - k as f64 / (bottom - top) as f64;
            root.draw(&Rectangle::new(
                [(x, top + k), (x + 18, top + k + 1)],
                ViridisRGB.get_color(t as f32).filled(),
            ))
            .map_err(e)?;
        }
        let style = (FONT, 12).into_font().color(&BLACK);
        for k in 0..=4 {
            let t = k as f64 / 4.0;
            let y = bottom - ((bottom - top) as f64 * t) as i32;
            root.draw(&Text::new(
                format!("{:.0}", max * t),
                (x + 24, y - 6),
                style.clone(),
            ))
            .map_err(e)?;
        }
        root.draw(&Text::new("cells connecting in", (x - 30, top - 24), style))
            .map_err(e)?;
        Ok(())
    }
}
