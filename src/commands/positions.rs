//! `bmtool plot positions` and `bmtool plot cell rotation`: cells placed (and oriented) per
//! group, printed per group (positions) or per cell (rotations with --format csv|json), drawn
//! as a 3-D scene.

use crate::cli::plot::{OutputArgs, PlotArgs, PositionsArgs, RotationArgs};
use crate::network::placement::{self, PlacedGroup, PlacementOptions};
use crate::plot::positions::Scene3d;
use crate::report::{Cell, OutputFormat, Table};
use crate::sonata::Circuit;

use super::{finish, AppError};

pub fn run_positions(plot_args: &PlotArgs, args: &PositionsArgs) -> Result<(), AppError> {
    super::check_save_file(&args.output)?;
    let circuit = Circuit::load(&plot_args.config)?;
    let opts = PlacementOptions {
        populations: split(&args.populations),
        group_by: args.group_by.clone(),
        subset: args.subset.max(1),
        group: None,
        max_cells: usize::MAX,
    };
    let (groups, notes) = placement::placed_groups(&circuit, &opts)?;
    let title = title(&args.output, "Cell 3D Positions");
    finish(
        &notes,
        &[positions_table(&groups)],
        &args.output,
        &Scene3d {
            groups: &groups,
            title,
            arrows: None,
            head_ratio: 0.0,
        },
    )
}

pub fn run_rotation(plot_args: &PlotArgs, args: &RotationArgs) -> Result<(), AppError> {
    super::check_save_file(&args.output)?;
    let init = parse_vector(&args.init_vector)?;
    if !(args.quiver_length.is_finite() && args.quiver_length > 0.0) {
        return Err(AppError::Usage(
            "--quiver-length must be a positive number".into(),
        ));
    }
    let circuit = Circuit::load(&plot_args.config)?;
    let opts = PlacementOptions {
        populations: split(&args.populations),
        group_by: args.group_by.clone(),
        subset: 1,
        group: args.group.clone(),
        max_cells: args.max_cells,
    };
    let (mut groups, mut notes) = placement::placed_groups(&circuit, &opts)?;
    for pop in placement::orient(&circuit, &mut groups, init)? {
        notes.push(format!(
            "population '{pop}' has no rotation_angle_*axis; its cells point along the initial vector"
        ));
    }
    let table = if args.output.format == OutputFormat::Table {
        rotation_summary(&groups)
    } else {
        rotation_table(&groups)
    };
    let title = title(&args.output, "Cell 3D Rotations");
    finish(
        &notes,
        &[table],
        &args.output,
        &Scene3d {
            groups: &groups,
            title,
            arrows: Some(args.quiver_length),
            head_ratio: args.arrow_length_ratio.clamp(0.0, 1.0),
        },
    )
}

fn title(out: &OutputArgs, default: &str) -> String {
    out.title.clone().unwrap_or_else(|| default.to_string())
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// "1,0,0" -> a non-zero vector.
pub fn parse_vector(text: &str) -> Result<[f64; 3], AppError> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            AppError::Usage(format!(
                "--init-vector: '{text}' is not three numbers x,y,z"
            ))
        })?;
    match parts[..] {
        [x, y, z] if (x * x + y * y + z * z) > 0.0 && [x, y, z].iter().all(|v| v.is_finite()) => {
            Ok([x, y, z])
        }
        _ => Err(AppError::Usage(format!(
            "--init-vector: '{text}' must be three numbers x,y,z, not all zero"
        ))),
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn positions_table(groups: &[PlacedGroup]) -> Table {
    let mut t = Table::new(
        "Cell positions per group (µm; populations without z are in the plane z = 0)",
        &[
            "population",
            "group",
            "cells",
            "drawn",
            "mean_x",
            "mean_y",
            "mean_z",
            "has_z",
        ],
    );
    for g in groups {
        t.push(vec![
            Cell::text(&g.population),
            Cell::text(&g.group),
            Cell::count(g.cells),
            Cell::count(g.x.len()),
            Cell::Float(mean(&g.x), 3),
            Cell::Float(mean(&g.y), 3),
            Cell::Float(mean(&g.z), 3),
            Cell::text(if g.planar { "no" } else { "yes" }),
        ]);
    }
    t
}

fn rotation_summary(groups: &[PlacedGroup]) -> Table {
    let mut t = Table::new(
        "Cell directions per group (mean of the unit vectors R·v; --format csv|json lists every cell)",
        &["population", "group", "cells", "drawn", "mean_dx", "mean_dy", "mean_dz"],
    );
    for g in groups {
        t.push(vec![
            Cell::text(&g.population),
            Cell::text(&g.group),
            Cell::count(g.cells),
            Cell::count(g.dx.len()),
            Cell::Float(mean(&g.dx), 3),
            Cell::Float(mean(&g.dy), 3),
            Cell::Float(mean(&g.dz), 3),
        ]);
    }
    t
}

fn rotation_table(groups: &[PlacedGroup]) -> Table {
    let mut t = Table::new(
        "Cell directions",
        &[
            "population",
            "group",
            "node_id",
            "x",
            "y",
            "z",
            "dx",
            "dy",
            "dz",
        ],
    );
    for g in groups {
        for i in 0..g.dx.len() {
            t.push(vec![
                Cell::text(&g.population),
                Cell::text(&g.group),
                Cell::Int(g.node_ids[i] as i64),
                Cell::Float(g.x[i], 3),
                Cell::Float(g.y[i], 3),
                Cell::Float(g.z[i], 3),
                Cell::Float(g.dx[i], 6),
                Cell::Float(g.dy[i], 6),
                Cell::Float(g.dz[i], 6),
            ]);
        }
    }
    t
}
