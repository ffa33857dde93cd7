//! NEURON's `define_shape()` for display and distance: 3-D points for sections that have none
//! (roots start at the origin along +x, each child continues from its parent's connection point;
//! interior branches turn 90 degrees; siblings at one point fan out by +-0.4 rad), and sections
//! that have points translated so they start at their parent's connection point. Electrical
//! geometry never comes from here: areas of sections without pt3d use L and diam.

use super::discretize::{section_order, Discretization};
use super::model::CellModel;
use super::section::Pt3d;

/// 3-D points per section (indexed by section id), as NEURON holds them after `define_shape()`.
/// `disc` must be the discretization of `model` (it supplies the segment diameters).
pub fn define_shape(model: &CellModel, disc: &Discretization) -> Vec<Vec<Pt3d>> {
    let order = section_order(model);
    let mut shapes: Vec<Vec<Pt3d>> = vec![Vec::new(); model.sections.len()];
    for (position, &id) in order.iter().enumerate() {
        let section = &model.sections[id.0];
        let (origin, mut direction, arc) = match section.parent {
            None => (
                (0.0f32, 0.0f32, position as f32 * 100.0),
                (1.0f32, 0.0f32),
                0.0,
            ),
            Some(connection) => {
                let parent = &shapes[connection.parent.0];
                attachment(parent, connection.parent_x)
            }
        };
        if !section.pt3d.is_empty() {
            shapes[id.0] = translated(&section.pt3d, section.parent.map(|_| origin));
            continue;
        }
        if direction.0.abs() < 1e-6 && direction.1.abs() < 1e-6 {
            direction = (1.0, 0.0);
        }
        let mut angle = (direction.1 as f64).atan2(direction.0 as f64) as f32;
        if arc > 0.0 && arc < 1.0 {
            angle += std::f32::consts::FRAC_PI_2;
        }
        angle += sibling_fan(model, id.0, arc);
        let length = section.length();
        let start = (origin.0 as f64, origin.1 as f64);
        let end_x = (start.0 + length * (angle as f64).cos()) as f32 as f64;
        let end_y = (start.1 + length * (angle as f64).sin()) as f32 as f64;
        let z = origin.2 as f64;
        let diam = |segment: usize| disc.segments[id.0][segment].diam_um;
        let nseg = section.nseg;
        let mut points = Vec::with_capacity(nseg + 2);
        points.push(Pt3d::new(start.0, start.1, z, diam(0)));
        for segment in 0..nseg {
            let frac = (segment as f64 + 0.5) / nseg as f64;
            points.push(Pt3d::new(
                start.0 * (1.0 - frac) + end_x * frac,
                start.1 * (1.0 - frac) + end_y * frac,
                z,
                diam(segment),
            ));
        }
        points.push(Pt3d::new(end_x, end_y, z, diam(nseg - 1)));
        shapes[id.0] = points;
    }
    shapes
}

/// Connection point on the parent's first-to-last line, the direction to grow in, and the
/// connection position.
fn attachment(parent: &[Pt3d], parent_x: f64) -> ((f32, f32, f32), (f32, f32), f64) {
    let (Some(first), Some(last)) = (parent.first(), parent.last()) else {
        return ((0.0, 0.0, 0.0), (1.0, 0.0), parent_x);
    };
    let mut direction = (
        (last.x_um - first.x_um) as f32,
        (last.y_um - first.y_um) as f32,
    );
    if parent_x < 0.5 {
        direction = (-direction.0, -direction.1);
    }
    let lerp = |a: f64, b: f64| (b * parent_x + a * (1.0 - parent_x)) as f32;
    let origin = (
        lerp(first.x_um, last.x_um),
        lerp(first.y_um, last.y_um),
        lerp(first.z_um, last.z_um),
    );
    (origin, direction, parent_x)
}

/// Angle offset for the `ich`-th of `nch` siblings attached at the same point.
fn sibling_fan(model: &CellModel, section: usize, arc: f64) -> f32 {
    let Some(connection) = model.sections[section].parent else {
        return 0.0;
    };
    let siblings: Vec<usize> = model
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.parent
                .is_some_and(|c| c.parent == connection.parent && c.parent_x == arc)
        })
        .map(|(index, _)| index)
        .collect();
    let nch = siblings.len() as f32;
    if nch <= 1.0 {
        return 0.0;
    }
    let ich = siblings.iter().position(|&s| s == section).unwrap_or(0) as f32;
    ich / (nch - 1.0) * 0.8 - 0.4
}

fn translated(points: &[Pt3d], origin: Option<(f32, f32, f32)>) -> Vec<Pt3d> {
    let Some(origin) = origin else {
        return points.to_vec();
    };
    let first = points[0];
    let shift = (
        origin.0 as f64 - first.x_um,
        origin.1 as f64 - first.y_um,
        origin.2 as f64 - first.z_um,
    );
    points
        .iter()
        .map(|p| {
            Pt3d::new(
                p.x_um + shift.0,
                p.y_um + shift.1,
                p.z_um + shift.2,
                p.diam_um,
            )
        })
        .collect()
}
