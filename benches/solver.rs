//! Solver speed against NEURON 8.2.4 (`cargo bench --bench solver`). Prints, not asserts:
//! - one compartment with hh, 1 s at dt 0.025 (40 000 steps), recording v every step with a
//!   spike detector, best of 25, beside NEURON's `CC_1s_core_cpu` for the 1-compartment WBInhCell
//!   (../shared/reference/cells/timings.json, clean rerun; 0.096 s) and the speed-up;
//! - cost per compartment per step for a 100-compartment hh cable, beside NEURON's ~0.9 us for
//!   channel-rich cells (CP_Cell's `CC_1s_ns_per_compartment_step` in the same file).

use std::path::PathBuf;
use std::time::Instant;

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::CellModel;
use bmtool::cell::solver::Simulation;

const DT_MS: f64 = 0.025;
const TSTOP_MS: f64 = 1000.0;

fn hh_cell(length_um: f64, diam_um: f64, nseg: usize, amp_na: f64) -> CellModel {
    let mut cell = CellModel::new();
    let soma = cell
        .add_cylinder("soma[0]", length_um, diam_um, nseg)
        .unwrap();
    cell.set_ra(soma, 100.0).unwrap();
    cell.insert(soma, "hh").unwrap();
    let clamp = cell.add_point_process("IClamp", soma, 0.5).unwrap();
    cell.set_point_value(clamp, "del", 100.0).unwrap();
    cell.set_point_value(clamp, "dur", 800.0).unwrap();
    cell.set_point_value(clamp, "amp", amp_na).unwrap();
    cell
}

/// Best wall time (s) of `repeats` runs of finitialize + run to 1 s, the spike count and steps.
fn time_run(cell: &CellModel, repeats: usize) -> (f64, usize, usize) {
    let registry = MechanismRegistry::with_builtins();
    let mut best = f64::INFINITY;
    let mut spikes = 0;
    let mut steps = 0;
    for _ in 0..repeats {
        let mut sim = Simulation::new(cell, &registry).unwrap();
        sim.set_dt(DT_MS).unwrap();
        let soma = cell.find_section("soma[0]").unwrap();
        let v = sim.range_ref(soma, 0.5, "v").unwrap();
        let record = sim.record(v);
        let detector = sim.add_spike_detector(soma, 0.5, -15.0).unwrap();
        let start = Instant::now();
        sim.finitialize(-65.0).unwrap();
        sim.run_until(TSTOP_MS).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        spikes = sim.spike_times(detector).len();
        steps = sim.recorded(record).len() - 1;
    }
    (best, spikes, steps)
}

fn neuron_timings() -> Option<serde_json::Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/cells/timings.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: ../shared not found (NEURON timings unavailable)");
        return None;
    };
    serde_json::from_str(&text).ok()
}

fn main() {
    // Optional filter (`cargo bench --bench solver -- single` or `-- cable`); libtest flags such
    // as `--bench` are ignored.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let timings = neuron_timings();
    let neuron = |cell: &str, key: &str| {
        timings
            .as_ref()
            .and_then(|t| t[cell]["clean_rerun"]["dt0.025"][key].as_f64())
    };

    if wanted("single") {
        single_compartment(&neuron);
    }
    if wanted("cable") {
        cable(&neuron);
    }
}

fn single_compartment(neuron: &dyn Fn(&str, &str) -> Option<f64>) {
    // NEURON's default geometry (L 100, diam 500), as WBInhCell; 10 nA makes hh fire.
    let (seconds, spikes, steps) = time_run(&hh_cell(100.0, 500.0, 1, 10.0), 25);
    println!("1-compartment hh, 1 s at dt {DT_MS} ({steps} steps, {spikes} spikes): {:.4} s = {:.1} ns/step", seconds, seconds / steps as f64 * 1e9);
    match neuron("WBInhCell", "CC_1s_core_cpu") {
        Some(reference) => println!("  NEURON 8.2.4 (WBInhCell, 1 compartment): {reference:.4} s -> {:.1}x faster (target >= 10x)", reference / seconds),
        None => println!("  NEURON reference: unavailable"),
    }
}

fn cable(neuron: &dyn Fn(&str, &str) -> Option<f64>) {
    let nseg = 100;
    let (seconds, spikes, steps) = time_run(&hh_cell(1000.0, 2.0, nseg, 0.5), 5);
    let ns = seconds / (steps as f64 * nseg as f64) * 1e9;
    println!("{nseg}-compartment hh cable, 1 s ({steps} steps, {spikes} spikes): {seconds:.4} s = {ns:.1} ns per compartment-step");
    match neuron("CP_Cell", "CC_1s_ns_per_compartment_step") {
        Some(reference) => println!("  NEURON 8.2.4 (CP_Cell, channel-rich): {reference:.0} ns per compartment-step -> {:.1}x", reference / ns),
        None => println!("  NEURON reference: ~900 ns per compartment-step (channel-rich cells)"),
    }
}
