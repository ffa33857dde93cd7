//! Every density mechanism of the reference cells, compiled from its `.mod` file in
//! ../shared/cells/<folder>/modfiles, run on one compartment in our solver and compared with
//! NEURON 8.2.4 on the same compartment (fixtures/nmodl_neuron, made by
//! tools/neuron_reference/mechanism_traces.py): max |dV| < 0.1 mV on the 0.5 ms grid before the
//! first spike (the tolerance; after a spike small timing differences grow), and the same
//! number of spikes (threshold -15 mV) over 1 s.

mod common;

use std::path::Path;

use bmtool::cell::mechanism::compiled::register_catalogue;
use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::CellModel;
use bmtool::cell::nmodl::{Catalogue, CompileOptions};
use bmtool::cell::solver::Simulation;
use serde_json::Value;

struct Outcome {
    max_dv_before_spike: f64,
    spikes: usize,
    reference_spikes: usize,
}

fn run_case(registry: &MechanismRegistry, reference: &Value) -> Outcome {
    let suffix = reference["suffix"].as_str().unwrap();
    let mut cell = CellModel::new();
    let soma = cell.add_cylinder("soma", 20.0, 20.0, 1).unwrap();
    cell.set_ra(soma, 100.0).unwrap();
    cell.set_cm(soma, 1.0).unwrap();
    cell.insert(soma, "pas").unwrap();
    cell.set_range(soma, "g_pas", reference["pas"]["g_pas"].as_f64().unwrap())
        .unwrap();
    cell.set_range(soma, "e_pas", reference["pas"]["e_pas"].as_f64().unwrap())
        .unwrap();
    cell.insert(soma, suffix).unwrap();
    for (name, value) in reference["parameters_set"].as_object().unwrap() {
        cell.set_range(soma, name, value.as_f64().unwrap()).unwrap();
    }
    let clamp = cell.add_point_process("IClamp", soma, 0.5).unwrap();
    let iclamp = &reference["iclamp"];
    cell.set_point_value(clamp, "del", iclamp["del_ms"].as_f64().unwrap())
        .unwrap();
    cell.set_point_value(clamp, "dur", iclamp["dur_ms"].as_f64().unwrap())
        .unwrap();
    cell.set_point_value(clamp, "amp", iclamp["amp_na"].as_f64().unwrap())
        .unwrap();
    cell.celsius_degc = reference["celsius"].as_f64().unwrap();
    let v_init = reference["v_init_mv"].as_f64().unwrap();
    cell.v_init_mv = v_init;

    let mut sim = Simulation::new(&cell, registry).unwrap_or_else(|e| panic!("{suffix}: {e}"));
    let dt = reference["dt_ms"].as_f64().unwrap();
    sim.set_dt(dt).unwrap();
    let v = sim.range_ref(soma, 0.5, "v").unwrap();
    let record = sim.record(v);
    let detector = sim
        .add_spike_detector(soma, 0.5, reference["threshold_mv"].as_f64().unwrap())
        .unwrap();
    sim.finitialize(v_init).unwrap();
    sim.run_until(reference["tstop_ms"].as_f64().unwrap())
        .unwrap_or_else(|e| panic!("{suffix}: {e}"));
    let ours = sim.recorded(record);

    let stride = (reference["record_every_ms"].as_f64().unwrap() / dt).round() as usize;
    let neuron: Vec<f64> = reference["v_mv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let neuron_spikes: Vec<f64> = reference["spike_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let until = neuron_spikes.first().copied().unwrap_or(f64::INFINITY);
    let every_ms = reference["record_every_ms"].as_f64().unwrap();
    let max_dv = neuron
        .iter()
        .enumerate()
        .filter(|(k, _)| (*k as f64) * every_ms < until)
        .map(|(k, v)| (ours[k * stride] - v).abs())
        .fold(0.0, f64::max);
    Outcome {
        max_dv_before_spike: max_dv,
        spikes: sim.spike_times(detector).len(),
        reference_spikes: neuron_spikes.len(),
    }
}

fn folder_registry(shared: &Path, folder: &str) -> MechanismRegistry {
    let catalogue = Catalogue::load_dir(shared.join("cells").join(folder).join("modfiles"))
        .unwrap_or_else(|e| panic!("{folder}: {e}"));
    let mut registry = MechanismRegistry::with_builtins();
    let _parse_only_point_processes =
        register_catalogue(&mut registry, &catalogue, CompileOptions::default());
    registry
}

#[test]
fn every_density_mechanism_matches_neuron_on_one_compartment() {
    let Some(shared) =
        common::shared_or_skip("every_density_mechanism_matches_neuron_on_one_compartment")
    else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nmodl_neuron");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut report = String::new();
    for folder in std::fs::read_dir(&fixtures).unwrap() {
        let folder = folder.unwrap().path();
        let name = folder.file_name().unwrap().to_string_lossy().to_string();
        let registry = folder_registry(&shared, &name);
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let reference = common::json(&file);
            let out = run_case(&registry, &reference);
            let label = format!("{name}/{}", reference["suffix"].as_str().unwrap());
            report.push_str(&format!(
                "{label:<28} max|dV| {:.2e} mV  spikes {} / NEURON {}\n",
                out.max_dv_before_spike, out.spikes, out.reference_spikes
            ));
            if out.max_dv_before_spike >= 0.1 || out.spikes != out.reference_spikes {
                failures.push(label);
            }
            checked += 1;
        }
    }
    eprintln!("{report}");
    assert!(checked >= 40, "only {checked} mechanisms checked");
    assert!(
        failures.is_empty(),
        "differ from NEURON: {failures:?}\n{report}"
    );
}
