//! The compiled-mechanism adapter in the solver: the `t` column is filled only for mechanisms
//! whose blocks mention `t` (or call `at_time`), so both must still see the mid-step time of
//! every step; a mechanism on a section whose instance count is not a multiple of four (the
//! adapter moves lanes in groups of four) must match one on a single compartment.

use bmtool::cell::mechanism::compiled::register_catalogue;
use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::CellModel;
use bmtool::cell::nmodl::{Catalogue, CompileOptions};
use bmtool::cell::solver::Simulation;

const CLOCK: &str = "NEURON { SUFFIX clock RANGE a, b }\nASSIGNED { a b }\n\
BREAKPOINT { a = t  b = at_time(1) }\n";

const LEAKY: &str = "NEURON { SUFFIX leaky NONSPECIFIC_CURRENT i RANGE g, e }\n\
PARAMETER { g = 0.001 (S/cm2) e = -70 (mV) }\nASSIGNED { v (mV) i (mA/cm2) }\n\
BREAKPOINT { i = g*(v - e) }\n";

fn registry(sources: &[(&str, &str)]) -> MechanismRegistry {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in sources {
        std::fs::write(dir.path().join(name), src).unwrap();
    }
    let mut registry = MechanismRegistry::with_builtins();
    let catalogue = Catalogue::load_dir(dir.path()).unwrap();
    let skipped = register_catalogue(&mut registry, &catalogue, CompileOptions::default());
    assert!(skipped.is_empty(), "{skipped:?}");
    registry
}

#[test]
fn a_mechanism_reading_t_sees_the_mid_step_time() {
    let registry = registry(&[("clock.mod", CLOCK), ("leaky.mod", LEAKY)]);
    let mut cell = CellModel::new();
    let soma = cell.add_cylinder("soma", 20.0, 20.0, 3).unwrap();
    cell.insert(soma, "clock").unwrap();
    cell.insert(soma, "leaky").unwrap();
    let mut sim = Simulation::new(&cell, &registry).unwrap();
    let dt = 0.025;
    sim.set_dt(dt).unwrap();
    let a = sim.range_ref(soma, 0.5, "a_clock").unwrap();
    let b = sim.range_ref(soma, 0.5, "b_clock").unwrap();
    sim.finitialize(-65.0).unwrap();
    let mut fired = Vec::new();
    for step in 0..80 {
        let t0 = sim.t_ms();
        sim.step().unwrap();
        let mid = t0 + 0.5 * dt;
        assert!(
            (sim.value(a) - mid).abs() < 1e-12,
            "step {step}: a = {}",
            sim.value(a)
        );
        if sim.value(b) == 1.0 {
            fired.push(step);
        }
    }
    // at_time(1) is 1 in the one step whose mid-step time t satisfies t - dt < 1 - 1e-11 <= t.
    assert_eq!(fired, vec![40]);
}

#[test]
fn seven_instances_match_one() {
    let registry = registry(&[("leaky.mod", LEAKY)]);
    let run = |nseg: usize| {
        let mut cell = CellModel::new();
        let soma = cell.add_cylinder("soma", 20.0, 20.0, nseg).unwrap();
        cell.insert(soma, "leaky").unwrap();
        let mut sim = Simulation::new(&cell, &registry).unwrap();
        let v = sim.range_ref(soma, 0.5, "v").unwrap();
        let record = sim.record(v);
        sim.finitialize(-65.0).unwrap();
        sim.run_until(20.0).unwrap();
        sim.recorded(record).to_vec()
    };
    // A uniform passive cylinder stays uniform: every compartment follows the single one.
    let (one, seven) = (run(1), run(7));
    assert_eq!(one.len(), seven.len());
    for (x, y) in one.iter().zip(&seven) {
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
    assert!((one.last().unwrap() + 70.0).abs() < 0.5, "{one:?}");
}
