//! Per-segment geometry and post-`finitialize` state of BallStick_HH against NEURON 8.2.4's
//! `cell_info.json` (../shared/reference/cells/BallStick_HH/dt0.025): areas, diameters, ri,
//! every hh/pas RANGE value and every ion variable, to 1e-6 relative (the bar the `cell info`
//! command will be held to; NEURON's own values come from single-precision pt3d points, which
//! differ from double-precision L/diam by ~2e-8 relative), and define_shape's 3-D points.

mod solver_support;

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::{define_shape, Discretization};
use bmtool::cell::solver::Simulation;
use solver_support::*;

fn close(ours: f64, reference: f64, what: &str) {
    let scale = reference.abs().max(1e-12);
    let relative = (ours - reference).abs() / scale;
    assert!(
        relative < 1e-6 || (ours - reference).abs() < 1e-15,
        "{what}: ours {ours} vs NEURON {reference} (relative {relative:e})"
    );
}

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
    let disc = Discretization::new(&cell).unwrap();
    let mut total_area = 0.0;
    for section in info["sections"].as_array().unwrap() {
        let name = short_name(section["name"].as_str().unwrap());
        let id = cell.find_section(name).expect("section exists");
        let segments = section["segments"].as_array().unwrap();
        assert_eq!(segments.len(), disc.segments[id.0].len(), "{name} nseg");
        for (ours, reference) in disc.segments[id.0].iter().zip(segments) {
            let what = format!("{name}({})", ours.x);
            close(
                ours.x,
                reference["x"].as_f64().unwrap(),
                &format!("{what} x"),
            );
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
            total_area += ours.area_um2;
        }
    }
    close(
        total_area,
        info["total_area_um2"].as_f64().unwrap(),
        "total area",
    );
}

#[test]
fn state_after_finitialize_matches_cell_info() {
    let Some(info) = reference_info() else { return };
    let (cell, _, _) = ballstick();
    let registry = MechanismRegistry::with_builtins();
    let mut sim = Simulation::new(&cell, &registry).unwrap();
    sim.finitialize(cell.v_init_mv).unwrap();
    let mut checked = 0;
    for section in info["sections"].as_array().unwrap() {
        let name = short_name(section["name"].as_str().unwrap());
        let id = cell.find_section(name).unwrap();
        for segment in section["segments"].as_array().unwrap() {
            let x = segment["x"].as_f64().unwrap();
            let mut expect = |hoc_name: String, value: &serde_json::Value| {
                let var = sim
                    .range_ref(id, x, &hoc_name)
                    .unwrap_or_else(|e| panic!("{e}"));
                close(
                    sim.value(var),
                    value.as_f64().unwrap(),
                    &format!("{name}({x}).{hoc_name}"),
                );
                checked += 1;
            };
            expect("v".to_string(), &segment["v"]);
            for (mechanism, values) in segment["mechs"].as_object().unwrap() {
                for (variable, value) in values.as_object().unwrap() {
                    expect(format!("{variable}_{mechanism}"), value);
                }
            }
            for (_, values) in segment["ions"].as_object().unwrap() {
                for (variable, value) in values.as_object().unwrap() {
                    expect(variable.clone(), value);
                }
            }
        }
        // ion_style integers (8: reversal potential a parameter).
        for (ion, style) in section["ion_style"].as_object().unwrap() {
            let species = sim.ions().find(ion).expect("species exists");
            let node = sim.discretization().node_at(id, 0.5);
            assert_eq!(
                u64::from(sim.ions().species[species.0].style[node]),
                style.as_u64().unwrap(),
                "{name} ion_style {ion}"
            );
        }
    }
    assert!(checked > 50, "only {checked} values compared");
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
