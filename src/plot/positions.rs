//! 3-D scenes of cells: a scatter of positions, one colour per group, and optionally one arrow
//! per cell (its rotated direction) for `cell rotation`. Several populations share one scene;
//! populations without z are drawn in the plane z = 0. As in matplotlib's 3-D axes, z is up.

use plotters::coord::ranged3d::Cartesian3d;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, legend, Figure, FONT};
use crate::network::placement::PlacedGroup;

/// A scene ready to draw.
pub struct Scene3d<'a> {
    pub groups: &'a [PlacedGroup],
    pub title: String,
    /// Arrow length in µm; None draws points only.
    pub arrows: Option<f64>,
    /// Arrow head length as a share of the arrow (matplotlib's arrow_length_ratio).
    pub head_ratio: f64,
}

impl Scene3d<'_> {
    /// Data range per axis (points and arrow tips), padded.
    fn ranges(&self) -> [(f64, f64); 3] {
        let mut r = [(f64::INFINITY, f64::NEG_INFINITY); 3];
        let len = self.arrows.unwrap_or(0.0);
        for g in self.groups {
            for i in 0..g.x.len() {
                let p = [g.x[i], g.y[i], g.z[i]];
                let tip = if self.arrows.is_some() && i < g.dx.len() {
                    [
                        p[0] + len * g.dx[i],
                        p[1] + len * g.dy[i],
                        p[2] + len * g.dz[i],
                    ]
                } else {
                    p
                };
                for k in 0..3 {
                    r[k].0 = r[k].0.min(p[k]).min(tip[k]);
                    r[k].1 = r[k].1.max(p[k]).max(tip[k]);
                }
            }
        }
        r.map(|(lo, hi)| {
            if !lo.is_finite() {
                (-1.0, 1.0)
            } else if hi - lo < 1e-9 {
                (lo - 1.0, hi + 1.0)
            } else {
                let pad = (hi - lo) * 0.05;
                (lo - pad, hi + pad)
            }
        })
    }
}

impl Figure for Scene3d<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        root.fill(&WHITE).map_err(e)?;
        let [xr, yr, zr] = self.ranges();
        // plotters' 3-D y axis is vertical: (x, y, z) of the cell -> (x, z, y) of the chart.
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(20)
            .margin_right(180)
            .build_cartesian_3d(xr.0..xr.1, zr.0..zr.1, yr.0..yr.1)
            .map_err(e)?;
        chart.with_projection(|mut pb| {
            pb.yaw = 0.6;
            pb.pitch = 0.35;
            pb.scale = 0.85;
            pb.into_matrix()
        });
        chart
            .configure_axes()
            .light_grid_style(BLACK.mix(0.12))
            .max_light_lines(4)
            .label_style((FONT, 12))
            .x_formatter(&|v| format!("{v:.0}"))
            .y_formatter(&|v| format!("{v:.0}"))
            .z_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(e)?;
        axis_names(&mut chart, [xr, yr, zr]).map_err(e)?;
        let dot = if self.groups.iter().map(|g| g.x.len()).sum::<usize>() > 20_000 {
            1
        } else {
            3
        };
        for (k, g) in self.groups.iter().enumerate() {
            let c = colour(k);
            chart
                .draw_series(
                    (0..g.x.len()).map(|i| Circle::new((g.x[i], g.z[i], g.y[i]), dot, c.filled())),
                )
                .map_err(e)?;
            if let Some(len) = self.arrows {
                chart
                    .draw_series((0..g.dx.len()).map(|i| {
                        let p = [g.x[i], g.y[i], g.z[i]];
                        let d = [g.dx[i], g.dy[i], g.dz[i]];
                        let path: Vec<(f64, f64, f64)> = arrow(p, d, len, self.head_ratio)
                            .into_iter()
                            .map(|q| (q[0], q[2], q[1]))
                            .collect();
                        PathElement::new(path, c.stroke_width(1))
                    }))
                    .map_err(e)?;
            }
        }
        let entries: Vec<(String, RGBColor)> = self
            .groups
            .iter()
            .enumerate()
            .map(|(k, g)| {
                let plane = if g.planar { " (z = 0)" } else { "" };
                (format!("{}_{}{plane}", g.population, g.group), colour(k))
            })
            .collect();
        let (width, height) = self.size();
        let _ = height;
        legend(root, (width as i32 - 10, 60), None, &entries)
    }
}

/// Axis names placed beyond the tick labels of a 3-D chart whose chart axes are (x, z, y) of
/// the cells, given the cells' x, y, z ranges.
pub(crate) fn axis_names<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian3d<RangedCoordf64, RangedCoordf64, RangedCoordf64>>,
    [xr, yr, zr]: [(f64, f64); 3],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let name = (FONT, 15).into_font().color(&BLACK);
    let out = |lo: f64, hi: f64, k: f64| lo + (hi - lo) * k;
    chart.draw_series([
        Text::new(
            "x (µm)",
            ((xr.0 + xr.1) / 2.0, zr.0, out(yr.0, yr.1, 1.25)),
            name.clone(),
        ),
        Text::new(
            "y (µm)",
            (out(xr.0, xr.1, 1.3), zr.0, (yr.0 + yr.1) / 2.0),
            name.clone(),
        ),
        Text::new("z (µm)", (xr.0, out(zr.0, zr.1, 1.12), yr.1), name),
    ])?;
    Ok(())
}

/// The polyline of one arrow: base, tip, one barb, tip, the other barb.
fn arrow(p: [f64; 3], d: [f64; 3], len: f64, head: f64) -> Vec<[f64; 3]> {
    let tip = [p[0] + len * d[0], p[1] + len * d[1], p[2] + len * d[2]];
    // A unit vector across the arrow: d x e for the axis e least parallel to d.
    let e = if d[0].abs() < 0.9 {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    let mut u = [
        d[1] * e[2] - d[2] * e[1],
        d[2] * e[0] - d[0] * e[2],
        d[0] * e[1] - d[1] * e[0],
    ];
    let n = (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt().max(1e-12);
    u = u.map(|c| c / n);
    let h = len * head;
    let barb = |s: f64| {
        [
            tip[0] - h * d[0] + s * 0.5 * h * u[0],
            tip[1] - h * d[1] + s * 0.5 * h * u[1],
            tip[2] - h * d[2] + s * 0.5 * h * u[2],
        ]
    };
    vec![p, tip, barb(1.0), tip, barb(-1.0)]
}
