//! Per-segment geometry and post-`finitialize` state of BallStick_HH against NEURON 8.2.4's
//! `cell_info.json` (../shared/reference/cells/BallStick_HH/dt0.025): areas, diameters, ri,
//! every hh/pas RANGE value and every ion variable, to 1e-6 relative (the bar the `cell info`
//! command will be held to; NEURON's own values come from single-precision pt3d points, which
//! differ from double-precision L/diam by ~2e-8 relative), and define_shape's 3-D points. The
//! geometry of all seven reference cells (Allen SWC morphologies included) is rebuilt from their
//! cell_info.json pt3d and checked the same way.

mod solver_support;

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::{define_shape, Discretization};
use solver_support::*;

fn reference_info() -> Option<serde_json::Value> {
    let shared = shared_dir()?;
    let path = reference_dir(&shared, "0.025").join("cell_info.json");
    let text = std::fs::read_to_string(&path).expect("cell_info.json readable");
    Some(serde_json::from_str(&text).expect("cell_info.json is JSON"))
}

fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[test]
fn segment_geometry_matches_cell_info() {
    let Some(info) = reference_info() else { return };
    let (cell, _, _) = ballstick();
    assert_eq!(check_segment_geometry(&cell, &info), 12);
}

#[test]
fn state_after_finitialize_matches_cell_info() {
    let Some(info) = reference_info() else { return };
    let (cell, _, _) = ballstick();
    let (checked, unreferenced) =
        check_state_after_finitialize(&cell, &MechanismRegistry::with_builtins(), &info);
    assert!(checked > 50, "only {checked} values compared");
    assert!(unreferenced.is_empty(), "not compared: {unreferenced:?}");
}

#[test]
fn define_shape_points_match_neuron() {
    let Some(info) = reference_info() else { return };
    let (cell, _, _) = ballstick();
    let disc = Discretization::new(&cell).unwrap();
    let shapes = define_shape(&cell, &disc);
    for section in info["sections"].as_array().unwrap() {
        let name = short_name(section["name"].as_str().unwrap());
        let id = cell.find_section(name).unwrap();
        let reference = section["pt3d"].as_array().unwrap();
        assert_eq!(shapes[id.0].len(), reference.len(), "{name} n3d");
        for (ours, point) in shapes[id.0].iter().zip(reference) {
            let p: Vec<f64> = point
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            for (a, b) in [ours.x_um, ours.y_um, ours.z_um, ours.diam_um]
                .iter()
                .zip(&p)
            {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{name} pt3d {a} vs {b}"
                );
            }
        }
    }
}

/// Rebuild a cell's geometry from its cell_info.json (sections, parents, nseg, Ra, pt3d) and
/// compare every segment's area, diam and ri with NEURON's. For the Allen cells this checks the
/// pt3d frustum integration (`diam_from_list`) on a real tapering SWC morphology.
fn check_pt3d_geometry(cell_name: &str) {
    let Some(shared) = shared_dir() else { return };
    let path = shared.join(format!(
        "reference/cells/{cell_name}/dt0.025/cell_info.json"
    ));
    let text = std::fs::read_to_string(&path).expect("cell_info.json readable");
    let info: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let sections = info["sections"].as_array().unwrap();
    let mut cell = bmtool::cell::morphology::CellModel::new();
    for section in sections {
        let name = section["name"].as_str().unwrap();
        let id = cell.add_section(name);
        let nseg = section["nseg"].as_u64().unwrap() as usize;
        cell.set_nseg(id, nseg).unwrap();
        cell.set_ra(id, section["Ra"].as_f64().unwrap()).unwrap();
        let points = section["pt3d"].as_array().unwrap();
        if points.len() > 1 {
            for point in points {
                let p: Vec<f64> = point
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                cell.add_pt3d(
                    id,
                    bmtool::cell::morphology::Pt3d::new(p[0], p[1], p[2], p[3]),
                )
                .unwrap();
            }
        } else {
            cell.set_length(id, section["L"].as_f64().unwrap()).unwrap();
            cell.set_diam(id, section["diam_mean"].as_f64().unwrap())
                .unwrap();
        }
    }
    for (index, section) in sections.iter().enumerate() {
        if let Some(parent) = section["parent"].as_str() {
            let parent_id = cell.find_section(parent).expect("parent exists");
            let x = section["parent_x"].as_f64().unwrap();
            cell.connect(bmtool::cell::morphology::SectionId(index), parent_id, x)
                .unwrap();
        }
    }
    let disc = Discretization::new(&cell).unwrap();
    let mut compared = 0;
    let mut worst: f64 = 0.0;
    for (index, section) in sections.iter().enumerate() {
        let name = section["name"].as_str().unwrap();
        for (ours, reference) in disc.segments[index]
            .iter()
            .zip(section["segments"].as_array().unwrap())
        {
            let what = format!("{cell_name} {name}({})", ours.x);
            for (a, key) in [
                (ours.area_um2, "area_um2"),
                (ours.diam_um, "diam"),
                (ours.ri_mohm, "ri_MOhm"),
            ] {
                let b = reference[key].as_f64().unwrap();
                worst = worst.max((a - b).abs() / b.abs());
            }
            close(
                ours.area_um2,
                reference["area_um2"].as_f64().unwrap(),
                &format!("{what} area"),
            );
            close(
                ours.diam_um,
                reference["diam"].as_f64().unwrap(),
                &format!("{what} diam"),
            );
            close(
                ours.ri_mohm,
                reference["ri_MOhm"].as_f64().unwrap(),
                &format!("{what} ri"),
            );
            compared += 1;
        }
    }
    assert_eq!(compared, info["total_nseg"].as_u64().unwrap() as usize);
    eprintln!(
        "{cell_name}: {compared} segments, worst relative difference in area/diam/ri {worst:.1e}"
    );
}

#[test]
fn allen_pt3d_geometry_matches_cell_info() {
    check_pt3d_geometry("Allen_386049446");
}

#[test]
fn allen_nseg40_pt3d_geometry_matches_cell_info() {
    check_pt3d_geometry("Allen_386049446_nseg40");
}

#[test]
fn template_cells_geometry_matches_cell_info() {
    for cell in [
        "CP_Cell",
        "Cell_Cf",
        "FSI_Cell",
        "WBInhCell",
        "BallStick_HH",
    ] {
        check_pt3d_geometry(cell);
    }
}
