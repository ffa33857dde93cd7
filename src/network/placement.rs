//! Where cells are and which way they point: positions per node group (both the `positions`
//! [N,3] layout and `x`/`y`/`z` datasets; populations stored in a plane get z = 0) and the
//! direction R·v of every cell, with R = Rz·Ry·Rx built from `rotation_angle_{x,y,z}axis`
//! (radians, a missing angle is 0): scipy's `from_euler('xyz', ...)`, which bmtool intends
//! (its own arrays are N×N by mistake). Columnar: flat x, y, z and direction columns per group.

use super::groups::PopulationGroups;
use crate::sonata::{Circuit, SonataError};

/// The cells of one group with their coordinates (µm).
#[derive(Debug, Clone, Default)]
pub struct PlacedGroup {
    pub population: String,
    pub group: String,
    /// Cells in the group before `subset` / `max_cells`.
    pub cells: usize,
    pub node_ids: Vec<u64>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
    /// True when the population has no z (drawn in the plane z = 0).
    pub planar: bool,
    /// Unit directions R·v (filled by [`orient`]).
    pub dx: Vec<f64>,
    pub dy: Vec<f64>,
    pub dz: Vec<f64>,
}

/// Which cells to take.
#[derive(Debug, Clone)]
pub struct PlacementOptions {
    /// Populations by name; empty or `all` means every population.
    pub populations: Vec<String>,
    pub group_by: String,
    /// Keep every `subset`-th cell of each group (1 keeps all).
    pub subset: usize,
    /// Keep only the group with this value.
    pub group: Option<String>,
    /// Keep at most this many cells in all.
    pub max_cells: usize,
}

/// Positions per group of the selected populations. Populations without positions are skipped
/// and named in the returned notes.
pub fn placed_groups(
    circuit: &Circuit,
    opts: &PlacementOptions,
) -> Result<(Vec<PlacedGroup>, Vec<String>), SonataError> {
    let mut notes = Vec::new();
    let names = if opts.populations.is_empty() || opts.populations.iter().any(|p| p == "all") {
        circuit.population_names()
    } else {
        opts.populations.clone()
    };
    let mut out = Vec::new();
    let mut budget = opts.max_cells;
    for name in names {
        let pop = circuit.node_population(&name)?;
        let Some(pos) = pop.positions()? else {
            notes.push(format!("population '{name}' has no positions; skipped"));
            continue;
        };
        let groups = match PopulationGroups::build(pop, &opts.group_by) {
            Ok(g) => g,
            Err(_) => {
                notes.push(format!(
                    "population '{name}' has no '{}'; its groups are node_type_id values",
                    opts.group_by
                ));
                PopulationGroups::build(pop, "node_type_id")?
            }
        };
        let mut placed: Vec<PlacedGroup> = groups
            .values
            .iter()
            .enumerate()
            .map(|(g, v)| PlacedGroup {
                population: name.clone(),
                group: v.clone(),
                cells: groups.sizes[g],
                planar: pos.z.is_none(),
                ..PlacedGroup::default()
            })
            .collect();
        let mut seen = vec![0usize; placed.len()];
        for (row, id) in pop.node_ids.iter().enumerate() {
            let g = groups.group_of(*id) as usize;
            let keep_group = opts
                .group
                .as_ref()
                .is_none_or(|want| *want == placed[g].group);
            let k = seen[g];
            seen[g] += 1;
            if !keep_group
                || !k.is_multiple_of(opts.subset.max(1))
                || budget == 0
                || pos.x[row].is_nan()
            {
                continue;
            }
            budget -= 1;
            let p = &mut placed[g];
            p.node_ids.push(*id);
            p.x.push(pos.x[row]);
            p.y.push(pos.y[row]);
            p.z.push(pos.z.as_ref().map(|z| z[row]).unwrap_or(0.0));
        }
        out.extend(
            placed
                .into_iter()
                .filter(|p| opts.group.as_ref().is_none_or(|want| *want == p.group)),
        );
    }
    if let Some(want) = &opts.group {
        if out.is_empty() {
            notes.push(format!("no group '{want}' among the selected populations"));
        }
    }
    Ok((out, notes))
}

/// R·v with R = Rz(az)·Ry(ay)·Rx(ax) (extrinsic rotations about x, then y, then z).
pub fn rotate(v: [f64; 3], ax: f64, ay: f64, az: f64) -> [f64; 3] {
    let (sx, cx) = ax.sin_cos();
    let (sy, cy) = ay.sin_cos();
    let (sz, cz) = az.sin_cos();
    // Rx
    let a = [v[0], cx * v[1] - sx * v[2], sx * v[1] + cx * v[2]];
    // Ry
    let b = [cy * a[0] + sy * a[2], a[1], -sy * a[0] + cy * a[2]];
    // Rz
    [cz * b[0] - sz * b[1], sz * b[0] + cz * b[1], b[2]]
}

/// Fill the direction columns of `groups` from the rotation angles of their populations.
/// Returns the populations that have no rotation angle at all (their cells point along v).
pub fn orient(
    circuit: &Circuit,
    groups: &mut [PlacedGroup],
    init_vector: [f64; 3],
) -> Result<Vec<String>, SonataError> {
    let mut without = Vec::new();
    let mut pops: Vec<String> = groups.iter().map(|g| g.population.clone()).collect();
    pops.dedup();
    for name in pops {
        let pop = circuit.node_population(&name)?;
        let mut angles = Vec::new();
        for axis in ["x", "y", "z"] {
            angles.push(pop.attribute_f64(&format!("rotation_angle_{axis}axis"))?);
        }
        if angles.iter().all(Option::is_none) {
            without.push(name.clone());
        }
        let angle = |k: usize, row: usize| {
            angles[k]
                .as_ref()
                .map(|a| a[row])
                .filter(|a| a.is_finite())
                .unwrap_or(0.0)
        };
        for g in groups.iter_mut().filter(|g| g.population == name) {
            for id in &g.node_ids {
                let row = pop.row_of(*id).unwrap_or(0);
                let d = rotate(init_vector, angle(0, row), angle(1, row), angle(2, row));
                g.dx.push(d[0]);
                g.dy.push(d[1]);
                g.dz.push(d[2]);
            }
        }
    }
    Ok(without)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_of_x_matches_the_closed_form() {
        // R·(1,0,0) = (cos ay cos az, cos ay sin az, -sin ay) for any ax.
        for (ax, ay, az) in [
            (0.0, 0.0, 0.0),
            (0.3, 1.1, 2.5),
            (1.0, -0.7, 4.0),
            (2.0, 3.0, 0.1),
        ] {
            let d = rotate([1.0, 0.0, 0.0], ax, ay, az);
            let f: [f64; 3] = [
                f64::cos(ay) * f64::cos(az),
                f64::cos(ay) * f64::sin(az),
                -f64::sin(ay),
            ];
            for k in 0..3 {
                assert!(
                    (d[k] - f[k]).abs() < 1e-12,
                    "{ax} {ay} {az}: {d:?} vs {f:?}"
                );
            }
        }
    }

    #[test]
    fn quarter_turns_move_axes_as_expected() {
        let h = std::f64::consts::FRAC_PI_2;
        let close = |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(rotate([0.0, 1.0, 0.0], h, 0.0, 0.0), [0.0, 0.0, 1.0]));
        assert!(close(rotate([0.0, 0.0, 1.0], 0.0, h, 0.0), [1.0, 0.0, 0.0]));
        assert!(close(rotate([1.0, 0.0, 0.0], 0.0, 0.0, h), [0.0, 1.0, 0.0]));
        // Rx first, then Rz: (0,1,0) -> (0,0,1) -> (0,0,1).
        assert!(close(rotate([0.0, 1.0, 0.0], h, 0.0, h), [0.0, 0.0, 1.0]));
    }
}
