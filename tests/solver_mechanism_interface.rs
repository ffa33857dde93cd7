//! The mechanism interface as the NMODL compiler will use it: user mechanisms registered at run
//! time, a calcium pool that WRITEs `cai` (NEURON ion_style 247: Nernst `eca` every step), a
//! channel on a custom ion `leak` (style 8: `eleak` a parameter the section sets), and a GLOBAL
//! set by hoc name. References: NEURON's `eion.cpp` rules (ion_style values as cell_info.json of
//! CP_Cell / WBInhCell report them) and the Nernst equation; tolerances are float round-off.

use std::sync::Arc;

use bmtool::cell::mechanism::ions::nernst_mv;
use bmtool::cell::mechanism::{
    GlobalSpec, IonUse, IonVariable, KernelContext, MechanismData, MechanismInfo, MechanismKernel,
    MechanismKind, MechanismRegistry, VariableRole, VariableSpec,
};
use bmtool::cell::morphology::CellModel;
use bmtool::cell::solver::Simulation;

const DV: f64 = 0.001;

fn ion(name: &str, valence: Option<f64>, read: &[IonVariable], write: &[IonVariable]) -> IonUse {
    IonUse {
        ion: name.to_string(),
        valence,
        read: read.to_vec(),
        write: write.to_vec(),
    }
}

/// `ica = gcabar*(v - eca)`; USEION ca READ eca WRITE ica VALENCE 2.
#[derive(Debug)]
struct CaChannel(MechanismInfo);

impl CaChannel {
    fn new() -> Self {
        Self(MechanismInfo {
            name: "cachan".into(),
            kind: MechanismKind::Density,
            electrode_current: false,
            variables: vec![VariableSpec::new("gcabar", VariableRole::Parameter, 1e-3)],
            globals: vec![],
            ions: vec![ion(
                "ca",
                Some(2.0),
                &[IonVariable::Reversal],
                &[IonVariable::Current],
            )],
        })
    }
}

impl MechanismKernel for CaChannel {
    fn info(&self) -> &MechanismInfo {
        &self.0
    }
    fn initialize(&self, _: &mut MechanismData, _: &mut KernelContext) {}
    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let ca = data.ions[0];
        for (k, &node) in data.node.iter().enumerate() {
            let (v, eca) = (ctx.v_mv[node], ctx.ions.species[ca.0].erev[node]);
            let i = |v: f64| data.columns[0][k] * (v - eca);
            let (i_plus, i_v) = (i(v + DV), i(v));
            ctx.add_ion_current(ca, node, i_v, (i_plus - i_v) / DV);
            ctx.add_current(node, i_v, (i_plus - i_v) / DV);
        }
    }
    fn advance(&self, _: &mut MechanismData, _: &mut KernelContext) {}
}

/// `cai' = -gamma*ica - (cai - cainf)/tau` (forward Euler), USEION ca READ ica WRITE cai;
/// GLOBAL tau.
#[derive(Debug)]
struct CaPool(MechanismInfo);

impl CaPool {
    fn new() -> Self {
        Self(MechanismInfo {
            name: "capool".into(),
            kind: MechanismKind::Density,
            electrode_current: false,
            variables: vec![
                VariableSpec::new("gamma", VariableRole::Parameter, 1.0),
                VariableSpec::new("cainf", VariableRole::Parameter, 5e-5),
            ],
            globals: vec![GlobalSpec {
                name: "tau".into(),
                default: 80.0,
            }],
            ions: vec![ion(
                "ca",
                None,
                &[IonVariable::Current],
                &[IonVariable::ConcInside],
            )],
        })
    }
}

impl MechanismKernel for CaPool {
    fn info(&self) -> &MechanismInfo {
        &self.0
    }
    fn initialize(&self, _: &mut MechanismData, _: &mut KernelContext) {}
    fn current(&self, _: &mut MechanismData, _: &mut KernelContext) {}
    fn advance(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let ca = &mut ctx.ions.species[data.ions[0].0];
        let tau = data.globals[0];
        for (k, &node) in data.node.iter().enumerate() {
            let cai = ca.conc_in[node];
            let dcai = -data.columns[0][k] * ca.current[node] - (cai - data.columns[1][k]) / tau;
            ca.conc_in[node] = cai + ctx.dt_ms * dcai;
        }
    }
}

/// `ileak = g*(v - eleak)`; USEION leak READ eleak WRITE ileak VALENCE 1.
#[derive(Debug)]
struct Leak(MechanismInfo);

impl Leak {
    fn new() -> Self {
        Self(MechanismInfo {
            name: "leakchan".into(),
            kind: MechanismKind::Density,
            electrode_current: false,
            variables: vec![VariableSpec::new("g", VariableRole::Parameter, 1e-4)],
            globals: vec![],
            ions: vec![ion(
                "leak",
                Some(1.0),
                &[IonVariable::Reversal],
                &[IonVariable::Current],
            )],
        })
    }
}

impl MechanismKernel for Leak {
    fn info(&self) -> &MechanismInfo {
        &self.0
    }
    fn initialize(&self, _: &mut MechanismData, _: &mut KernelContext) {}
    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let leak = data.ions[0];
        for (k, &node) in data.node.iter().enumerate() {
            let (v, e) = (ctx.v_mv[node], ctx.ions.species[leak.0].erev[node]);
            let i = |v: f64| data.columns[0][k] * (v - e);
            let (i_plus, i_v) = (i(v + DV), i(v));
            ctx.add_ion_current(leak, node, i_v, (i_plus - i_v) / DV);
            ctx.add_current(node, i_v, (i_plus - i_v) / DV);
        }
    }
    fn advance(&self, _: &mut MechanismData, _: &mut KernelContext) {}
}

fn registry() -> MechanismRegistry {
    let mut registry = MechanismRegistry::with_builtins();
    registry.register(Arc::new(CaChannel::new()));
    registry.register(Arc::new(CaPool::new()));
    registry.register(Arc::new(Leak::new()));
    registry
}

#[test]
fn written_concentration_drives_nernst_every_step_and_custom_ions_are_parameters() {
    let mut cell = CellModel::new();
    let soma = cell.add_cylinder("soma[0]", 20.0, 20.0, 1).unwrap();
    for mechanism in ["cachan", "capool", "leakchan"] {
        cell.insert(soma, mechanism).unwrap();
    }
    cell.set_range(soma, "eleak", -70.0).unwrap();
    cell.set_range(soma, "gamma_capool", 0.05).unwrap();
    cell.set_global("tau_capool", 20.0);
    cell.celsius_degc = 34.0;
    let clamp = cell.add_point_process("IClamp", soma, 0.5).unwrap();
    cell.set_point_value(clamp, "del", 5.0).unwrap();
    cell.set_point_value(clamp, "dur", 50.0).unwrap();
    cell.set_point_value(clamp, "amp", 0.2).unwrap();

    let mut sim = Simulation::new(&cell, &registry()).unwrap();
    let node = sim.discretization().node_at(soma, 0.5);
    let ca = sim.ions().find("ca").unwrap();
    let leak = sim.ions().find("leak").unwrap();
    assert_eq!(
        sim.ions().species[ca.0].style[node],
        247,
        "ca written -> style 247"
    );
    assert_eq!(
        sim.ions().species[leak.0].style[node],
        8,
        "leak read -> style 8"
    );

    let eca = sim.record(sim.range_ref(soma, 0.5, "eca").unwrap());
    let cai = sim.record(sim.range_ref(soma, 0.5, "cai").unwrap());
    let eleak = sim.record(sim.range_ref(soma, 0.5, "eleak").unwrap());
    let ileak = sim.record(sim.range_ref(soma, 0.5, "ileak").unwrap());
    let v = sim.record(sim.range_ref(soma, 0.5, "v").unwrap());
    sim.finitialize(-65.0).unwrap();
    sim.run_until(60.0).unwrap();

    let (eca, cai) = (sim.recorded(eca), sim.recorded(cai));
    // finitialize: cinit sets cai = cai0_ca_ion = 5e-5 mM, einit gives Nernst at 34 degC.
    assert_eq!(cai[0], 5e-5);
    assert!((eca[0] - nernst_mv(5e-5, 2.0, 2.0, 34.0)).abs() < 1e-12);
    // Each step recomputes eca from the cai left by the previous step's state update.
    for n in 1..eca.len() {
        let expected = nernst_mv(cai[n - 1], 2.0, 2.0, 34.0);
        assert!(
            (eca[n] - expected).abs() < 1e-12,
            "step {n}: eca {} vs {expected}",
            eca[n]
        );
    }
    assert!(
        cai.iter().cloned().fold(0.0, f64::max) > 1.5e-4,
        "calcium entered"
    );
    // The custom ion keeps the value the section set, and its current is g*(v - eleak) in the
    // mid-step evaluation (v of the previous sample).
    assert!(sim.recorded(eleak).iter().all(|&e| e == -70.0));
    let (ileak, v) = (sim.recorded(ileak), sim.recorded(v));
    for n in 1..ileak.len() {
        assert!((ileak[n] - 1e-4 * (v[n - 1] + 70.0)).abs() < 1e-15);
    }
}

#[test]
fn unknown_valence_for_a_nernst_ion_is_an_error() {
    #[derive(Debug)]
    struct Writer(MechanismInfo);
    impl MechanismKernel for Writer {
        fn info(&self) -> &MechanismInfo {
            &self.0
        }
        fn initialize(&self, _: &mut MechanismData, _: &mut KernelContext) {}
        fn current(&self, _: &mut MechanismData, _: &mut KernelContext) {}
        fn advance(&self, _: &mut MechanismData, _: &mut KernelContext) {}
    }
    let mut registry = MechanismRegistry::with_builtins();
    registry.register(Arc::new(Writer(MechanismInfo {
        name: "caspool".into(),
        kind: MechanismKind::Density,
        electrode_current: false,
        variables: vec![],
        globals: vec![],
        ions: vec![ion("cas", None, &[], &[IonVariable::ConcInside])],
    })));
    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.insert(soma, "caspool").unwrap();
    let error = Simulation::new(&cell, &registry).unwrap_err();
    assert!(error.to_string().contains("cas"), "{error}");
}
