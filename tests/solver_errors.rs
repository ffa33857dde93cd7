//! User mistakes and numerical blow-ups give typed, one-line errors naming the section (and the
//! time for blow-ups), never a panic.

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::{CellModel, Connection, ModelError, SectionId};
use bmtool::cell::solver::{SimError, Simulation};

fn build(cell: &CellModel) -> Result<Simulation, SimError> {
    Simulation::new(cell, &MechanismRegistry::with_builtins())
}

#[test]
fn bad_dimensions_are_rejected_with_the_section_name() {
    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    let nseg = cell.set_nseg(soma, 0).unwrap_err();
    assert!(matches!(nseg, ModelError::InvalidNseg { .. }));
    assert!(nseg.to_string().contains("soma[0]"));
    assert!(matches!(
        cell.set_length(soma, 0.0),
        Err(ModelError::InvalidLength { .. })
    ));
    assert!(matches!(
        cell.set_diam(soma, -1.0),
        Err(ModelError::InvalidDiameter { .. })
    ));
    assert!(matches!(
        cell.set_diam(soma, f64::NAN),
        Err(ModelError::InvalidDiameter { .. })
    ));
    assert!(cell.add_cylinder("dend[0]", 100.0, 1.0, 0).is_err());
}

#[test]
fn hand_built_models_are_validated_before_running() {
    // The HOC interpreter may fill the plain-data fields directly; the solver re-checks them.
    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.sections[soma.0].nseg = 0;
    let error = build(&cell).unwrap_err();
    assert!(
        matches!(error, SimError::Model(ModelError::InvalidNseg { .. })),
        "{error}"
    );

    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.sections[soma.0].length_um = -5.0;
    assert!(matches!(
        build(&cell),
        Err(SimError::Model(ModelError::InvalidLength { .. }))
    ));

    let mut cell = CellModel::new();
    let a = cell.add_section("a");
    let b = cell.add_section("b");
    cell.sections[a.0].parent = Some(Connection {
        parent: b,
        parent_x: 1.0,
    });
    cell.sections[b.0].parent = Some(Connection {
        parent: a,
        parent_x: 1.0,
    });
    let error = build(&cell).unwrap_err();
    assert!(
        matches!(error, SimError::Model(ModelError::Loop { .. })),
        "{error}"
    );

    let mut cell = CellModel::new();
    let a = cell.add_section("a");
    cell.sections[a.0].parent = Some(Connection {
        parent: a,
        parent_x: 0.5,
    });
    assert!(matches!(
        build(&cell),
        Err(SimError::Model(ModelError::SelfConnection { .. }))
    ));

    let mut cell = CellModel::new();
    let a = cell.add_section("a");
    cell.add_point_process("IClamp", a, 0.5).unwrap();
    cell.point_processes[0].section = SectionId(7);
    assert!(matches!(
        build(&cell),
        Err(SimError::Model(ModelError::UnknownSection { index: 7 }))
    ));
}

#[test]
fn self_connections_and_loops_are_rejected_by_connect() {
    let mut cell = CellModel::new();
    let a = cell.add_section("a");
    let b = cell.add_section("b");
    let c = cell.add_section("c");
    assert!(matches!(
        cell.connect(a, a, 1.0),
        Err(ModelError::SelfConnection { .. })
    ));
    cell.connect(b, a, 1.0).unwrap();
    cell.connect(c, b, 0.5).unwrap();
    let error = cell.connect(a, c, 1.0).unwrap_err();
    assert!(matches!(error, ModelError::Loop { .. }));
    assert!(error.to_string().contains('a'));
}

#[test]
fn unknown_names_are_errors() {
    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    assert!(matches!(
        cell.set_range(soma, "gnabar_hh", 0.1),
        Err(ModelError::UnknownRangeVariable { .. })
    ));
    cell.insert(soma, "nax").unwrap();
    let error = build(&cell).unwrap_err();
    assert!(
        matches!(error, SimError::UnknownMechanism { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("soma[0]") && error.to_string().contains("nax"));

    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.insert(soma, "hh").unwrap();
    cell.set_range(soma, "gfoo_hh", 1.0).unwrap();
    assert!(matches!(
        build(&cell),
        Err(SimError::UnknownVariable { .. })
    ));

    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.insert(soma, "IClamp").unwrap();
    assert!(matches!(
        build(&cell),
        Err(SimError::WrongMechanismKind { .. })
    ));

    let mut cell = CellModel::new();
    cell.add_section("soma[0]");
    cell.set_global("qten_hh", 2.0);
    assert!(matches!(build(&cell), Err(SimError::UnknownGlobal { .. })));

    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    let mut sim = build(&cell).unwrap();
    assert!(matches!(
        sim.range_ref(soma, 0.5, "m_hh"),
        Err(SimError::UnknownRangeVariable { .. })
    ));
    assert!(matches!(sim.set_dt(0.0), Err(SimError::InvalidDt { .. })));
    assert!(matches!(
        sim.set_global("usetable_hh", 1.0),
        Err(SimError::UnknownGlobal { .. })
    ));

    let mut cell = CellModel::new();
    let soma = cell.add_section("soma[0]");
    cell.insert(soma, "hh").unwrap();
    let mut sim = build(&cell).unwrap();
    sim.set_global("usetable_hh", 1.0).unwrap();
    sim.set_global("nai0_na_ion", 12.0).unwrap();
}

#[test]
fn blow_up_names_section_and_time_and_suggests_smaller_dt() {
    let mut cell = CellModel::new();
    let soma = cell.add_cylinder("soma[0]", 10.0, 10.0, 1).unwrap();
    cell.insert(soma, "pas").unwrap();
    let clamp = cell.add_point_process("IClamp", soma, 0.5).unwrap();
    cell.set_point_value(clamp, "amp", 1e6).unwrap();
    cell.set_point_value(clamp, "del", 1.0).unwrap();
    cell.set_point_value(clamp, "dur", 10.0).unwrap();
    let mut sim = build(&cell).unwrap();
    sim.finitialize(-65.0).unwrap();
    let error = sim.run_until(5.0).unwrap_err();
    let SimError::Unstable {
        section,
        t_ms,
        x,
        segment,
        ..
    } = &error
    else {
        panic!("expected a blow-up, got {error}");
    };
    assert_eq!(section, "soma[0]");
    assert_eq!((*segment, *x), (0, 0.5), "the one segment's centre node");
    assert!((1.0..1.1).contains(t_ms), "blow-up reported at t = {t_ms}");
    let message = error.to_string();
    assert!(
        message.contains("soma[0](0.5)") && message.contains("smaller dt"),
        "{message}"
    );
}

#[test]
fn simulations_can_move_between_threads() {
    // FI sweeps run one simulation per thread (rayon): Simulation must be Send + Sync.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Simulation>();
    assert_send_sync::<MechanismRegistry>();
}
