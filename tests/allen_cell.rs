//! The Allen perisomatic cell 386049446 (SWC + fit JSON in ../shared/cells/allen_386049446),
//! built natively, against what bmtool 0.8.7 + bmtk + NEURON 8.2.4 built
//! (../shared/reference/cells/Allen_386049446/*/cell_info.json): the same 42 sections with the
//! same parents, nseg, L, diameters and areas (to 1e-6 relative) and every mechanism parameter;
//! then the 1 s current clamp (traces/cc1s_250pA_fullres.csv) within 0.1 mV before the first spike
//! with the same spike count, at dt 0.025 and 0.1.

mod common;
mod solver_support;

use std::path::{Path, PathBuf};

use bmtool::cell::allen;
use bmtool::cell::mechanism::compiled::register_catalogue;
use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::nmodl::{Catalogue, CompileOptions};
use bmtool::cell::solver::Simulation;
use serde_json::Value;

fn inputs(shared: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let dir = shared.join("cells/allen_386049446");
    (
        dir.join("Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc"),
        dir.join("386049446_fit.json"),
        dir.join("modfiles"),
    )
}

fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[test]
fn sections_geometry_and_parameters_equal_neuron() {
    let Some(shared) =
        common::shared_or_skip("allen sections_geometry_and_parameters_equal_neuron")
    else {
        return;
    };
    let (swc, fit, modfiles) = inputs(&shared);
    let cell = allen::load(&swc, &fit).unwrap();
    let model = &cell.model;
    let info = common::json(&shared.join("reference/cells/Allen_386049446/dt0.025/cell_info.json"));
    let sections = info["sections"].as_array().unwrap();
    assert_eq!(model.sections.len(), sections.len());
    assert_eq!(
        model.celsius_degc,
        info["globals"]["celsius"].as_f64().unwrap()
    );
    for (k, reference) in sections.iter().enumerate() {
        let name = short(reference["name"].as_str().unwrap());
        let ours = &model.sections[k];
        assert_eq!(ours.name, name, "section order");
        let parent = ours.parent.map(|c| model.sections[c.parent.0].name.clone());
        assert_eq!(
            parent.as_deref(),
            reference["parent"].as_str().map(short),
            "{name} parent"
        );
        if let Some(x) = reference["parent_x"].as_f64() {
            assert_eq!(ours.parent.unwrap().parent_x, x, "{name} parent_x");
        }
        solver_support::close(
            ours.length(),
            reference["L"].as_f64().unwrap(),
            &format!("{name} L"),
        );
        solver_support::close(
            ours.ra_ohm_cm,
            reference["Ra"].as_f64().unwrap(),
            &format!("{name} Ra"),
        );
        let mut ours_mechs: Vec<&str> = ours.mechanisms.iter().map(|m| m.name.as_str()).collect();
        ours_mechs.sort();
        let want: Vec<&str> = reference["density_mechs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(ours_mechs, want, "{name} mechanisms");
    }
    // Per segment: x, area, diam, ri; then after finitialize every RANGE value (the fit's and the
    // mod files' defaults), every ion variable and ion_style, with the shared comparison code.
    assert_eq!(solver_support::check_segment_geometry(model, &info), 42);
    let mut registry = MechanismRegistry::with_builtins();
    register_catalogue(
        &mut registry,
        &Catalogue::load_dir(&modfiles).unwrap(),
        CompileOptions::default(),
    );
    let (compared, _unexposed) =
        solver_support::check_state_after_finitialize(model, &registry, &info);
    assert!(compared > 42 * 3, "only {compared} values compared");
}

fn clamp(shared: &Path, dt: &str) -> (Vec<f64>, Vec<f64>, Value) {
    let (swc, fit, modfiles) = inputs(shared);
    let mut model = allen::load(&swc, &fit).unwrap().model;
    let dir = shared.join(format!("reference/cells/Allen_386049446/dt{dt}"));
    let results = common::json(&dir.join("results.json"));
    let p = &results["protocols"]["CurrentClamp_1s"]["params"];
    let soma = model.find_section("soma[0]").unwrap();
    let stim = model.add_point_process("IClamp", soma, 0.5).unwrap();
    model
        .set_point_value(stim, "del", p["inj_delay"].as_f64().unwrap())
        .unwrap();
    model
        .set_point_value(stim, "dur", p["inj_dur"].as_f64().unwrap())
        .unwrap();
    model
        .set_point_value(stim, "amp", p["inj_amp"].as_f64().unwrap() / 1000.0)
        .unwrap();
    model.v_init_mv = results["v_init"].as_f64().unwrap();
    model.celsius_degc = results["celsius"].as_f64().unwrap();
    let mut registry = MechanismRegistry::with_builtins();
    let skipped = register_catalogue(
        &mut registry,
        &Catalogue::load_dir(&modfiles).unwrap(),
        CompileOptions::default(),
    );
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut sim = Simulation::new(&model, &registry).unwrap();
    let dt_ms = results["dt"].as_f64().unwrap();
    sim.set_dt(dt_ms).unwrap();
    let v = sim.range_ref(soma, 0.5, "v").unwrap();
    let rec = sim.record(v);
    let det = sim
        .add_spike_detector(soma, 0.5, p["threshold"].as_f64().unwrap())
        .unwrap();
    sim.finitialize(model.v_init_mv).unwrap();
    sim.run_until(p["tstop"].as_f64().unwrap()).unwrap();
    (
        sim.recorded(rec).to_vec(),
        sim.spike_times(det).to_vec(),
        results,
    )
}

fn check_clamp(dt: &str) {
    let Some(shared) = common::shared_or_skip("allen current clamp") else {
        return;
    };
    let (v, spikes, results) = clamp(&shared, dt);
    let want = &results["protocols"]["CurrentClamp_1s"]["results"];
    let first = want["spike_times_ms"][0].as_f64().unwrap();
    let trace = std::fs::read_to_string(shared.join(format!(
        "reference/cells/Allen_386049446/dt{dt}/traces/cc1s_250pA_fullres.csv"
    )))
    .unwrap();
    let dt_ms = results["dt"].as_f64().unwrap();
    let mut max_dv: f64 = 0.0;
    for line in trace.lines().skip(1) {
        let (t, vr) = line.split_once(',').unwrap();
        let (t, vr): (f64, f64) = (t.parse().unwrap(), vr.parse().unwrap());
        if t >= first {
            break;
        }
        let k = (t / dt_ms).round() as usize;
        max_dv = max_dv.max((v[k] - vr).abs());
    }
    eprintln!(
        "Allen dt {dt}: max |dV| before the first spike {max_dv:.2e} mV, spikes {} vs {}",
        spikes.len(),
        want["nspks"]
    );
    assert!(max_dv < 0.1, "max |dV| {max_dv}");
    assert_eq!(spikes.len() as u64, want["nspks"].as_u64().unwrap());
}

#[test]
fn current_clamp_1s_matches_neuron_at_dt_0_1() {
    check_clamp("0.1");
}

#[test]
fn current_clamp_1s_matches_neuron_at_dt_0_025() {
    check_clamp("0.025");
}

#[test]
fn bad_swc_files_name_the_line() {
    use bmtool::cell::morphology::swc::SwcMorphology;
    let p = Path::new("cell.swc");
    let cases = [
        ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 7\n", "cell.swc:2", "parent 7"),
        (
            "1 1 0 0 0 5 -1\n2 3 0 1x 0 1 1\n",
            "cell.swc:2",
            "not a number",
        ),
        ("1 3 0 0 0 5 2\n2 3 0 10 0 1 1\n", "cell.swc:", "cycle"),
        ("1 3 0 0 0 5 -1\n2 3 0 10 0 1 1\n", "cell.swc", "no soma"),
        ("1 1 0 0 0 5 -1\n1 3 0 10 0 1 1\n", "cell.swc:2", "twice"),
        (
            "1 1 0 0 0 5 -1\n2 3 0 0 0 1 3\n3 3 0 10 0 1 1\n",
            "cell.swc:2",
            "comes later",
        ),
    ];
    for (text, place, words) in cases {
        let e = SwcMorphology::parse(p, text).unwrap_err().to_string();
        assert!(e.contains(place) && e.contains(words), "{e}");
    }
}
