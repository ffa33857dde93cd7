//! Mechanism folders as namespaces and the `util cell mechanisms` listing, on ../shared's cells.
use bmtool::cell::nmodl::listing::{render_json, render_table, summarise};
use bmtool::cell::nmodl::Catalogue;
use std::path::Path;

fn cells_dir() -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cells");
    if p.is_dir() {
        Some(p)
    } else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"
*** SKIPPED: ../shared not found ***
",
        );
        None
    }
}

#[test]
fn each_cell_folder_loads_as_one_namespace() {
    let Some(cells) = cells_dir() else { return };
    let mut leaks = 0;
    for cell in [
        "allen_386049446",
        "amygdala_feng",
        "bmtool_tutorial",
        "wb_rtm",
    ] {
        let cat = Catalogue::load_dir(cells.join(cell).join("modfiles")).unwrap();
        if cat.get("leak").is_some() {
            leaks += 1;
        }
    }
    // Three different leak.mod files, one per folder, never clash.
    assert_eq!(leaks, 3);
}

#[test]
fn listing_reports_kinds_ions_and_parameters() {
    let Some(cells) = cells_dir() else { return };
    let cat = Catalogue::load_dir(cells.join("allen_386049446/modfiles")).unwrap();
    let rows = summarise(&cat);
    let nats = rows.iter().find(|r| r.name == "NaTs").unwrap();
    assert_eq!(nats.kind, "density");
    assert_eq!(nats.ions[0].ion, "na");
    assert_eq!(nats.ions[0].read, vec!["ena"]);
    assert_eq!(nats.ions[0].write, vec!["ina"]);
    // NaTs.mod: RANGE gbar with PARAMETER gbar = 0.00001 (S/cm2); mvhalf = -40 (mV) is GLOBAL.
    let gbar = nats
        .range_parameters
        .iter()
        .find(|p| p.name == "gbar_NaTs")
        .unwrap();
    assert_eq!(gbar.default, 0.00001);
    assert_eq!(gbar.units.as_deref(), Some("S/cm2"));
    let mvhalf = nats
        .global_parameters
        .iter()
        .find(|p| p.name == "mvhalf_NaTs")
        .unwrap();
    assert_eq!(mvhalf.default, -40.0);
    assert!(nats.unsupported.is_none());
    // CaDynamics: FARADAY = (faraday) (coulombs) is a constant, not a parameter; it writes cai.
    let cad = rows.iter().find(|r| r.name == "CaDynamics").unwrap();
    assert_eq!(cad.ions[0].write, vec!["cai"]);
    assert!(cad
        .range_parameters
        .iter()
        .all(|p| !p.name.starts_with("FARADAY")));
    let json = render_json(&rows);
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back.as_array().unwrap().len(), rows.len());
    let table = render_table(&rows);
    assert!(
        table.contains("NaTs") && table.contains("gbar_NaTs=0.00001 (S/cm2)"),
        "{table}"
    );
}

#[test]
fn custom_ions_get_their_valence_from_the_folder() {
    let Some(cells) = cells_dir() else { return };
    let cat = Catalogue::load_dir(cells.join("amygdala_feng/modfiles")).unwrap();
    assert_eq!(cat.valence("cas"), Some(2.0));
    let cat = Catalogue::load_dir(cells.join("wb_rtm/modfiles")).unwrap();
    assert_eq!(cat.valence("leak"), Some(1.0));
    let parse_only: Vec<String> =
        summarise(&Catalogue::load_dir(cells.join("amygdala_feng/modfiles")).unwrap())
            .into_iter()
            .filter(|r| r.unsupported.is_some())
            .map(|r| r.name)
            .collect();
    assert_eq!(parse_only, vec!["Gfluct_exc", "Gfluct_inh"]);
}

/// NaV.mod (bio_net): a 12-state KINETIC scheme (METHOD sparse) whose INITIAL solves a LINEAR
/// block. References: the LINEAR solution sums to 1 (its last equation); the kinetic scheme is
/// closed, so backward Euler keeps the sum at 1; at fixed v the scheme's equilibrium is a fixed
/// point of backward Euler. (The file's LINEAR block is not exactly the scheme's equilibrium: its
/// I3 equation uses `I4*bi3` where the scheme has `b13`, so the states relax from it first.)
#[test]
fn nav_kinetic_scheme_conserves_and_reaches_equilibrium() {
    use bmtool::cell::nmodl::{CompiledMechanism, Env, IonColumns};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/models/bio_net/components/mechanisms/modfiles");
    if !dir.is_dir() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"
*** SKIPPED: ../shared not found ***
",
        );
        return;
    }
    let cat = Catalogue::load_dir(&dir).unwrap();
    let nav: CompiledMechanism = cat.compile("NaV").unwrap().unwrap();
    let names = [
        "C1", "C2", "C3", "C4", "C5", "O", "I1", "I2", "I3", "I4", "I5", "I6",
    ];
    let v = [-65.0, -40.0];
    let mut inst = nav.instantiate(2);
    let (mut e, mut i, mut ci, mut co) =
        (vec![50.0; 2], vec![0.0; 2], vec![10.0; 2], vec![140.0; 2]);
    let env = Env {
        celsius: 34.0,
        dt: 1.0,
        t: 0.0,
    };
    let mut ions = [IonColumns {
        e: &mut e,
        i: &mut i,
        ci: &mut ci,
        co: &mut co,
    }];
    nav.initial(&mut inst, &v, &mut ions, &env).unwrap();
    let snapshot = |inst: &bmtool::cell::nmodl::MechanismInstances| -> Vec<Vec<f64>> {
        names
            .iter()
            .map(|n| nav.range(inst, n).unwrap().to_vec())
            .collect()
    };
    let s0 = snapshot(&inst);
    for k in 0..2 {
        let total: f64 = s0.iter().map(|c| c[k]).sum();
        assert!((total - 1.0).abs() < 1e-9, "sum of states {total}");
    }
    for _ in 0..3000 {
        nav.advance_states(&mut inst, &v, &mut ions, &env).unwrap();
    }
    let s1 = snapshot(&inst);
    for k in 0..2 {
        let total: f64 = s1.iter().map(|c| c[k]).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "sum of states after 3 s: {total}"
        );
    }
    for _ in 0..10 {
        nav.advance_states(&mut inst, &v, &mut ions, &env).unwrap();
    }
    let s2 = snapshot(&inst);
    for (a, b) in s1.iter().flatten().zip(s2.iter().flatten()) {
        assert!((a - b).abs() < 1e-9, "equilibrium {a} moved to {b}");
    }
}

/// Allen's CaDynamics end to end through the ion columns: READ ica, WRITE cai (a STATE), with
/// FARADAY = (faraday) (coulombs) = 96485.33212 C/mol. For a constant ica the ODE is linear,
/// cai(t) = b + (cai0 - b) e^{-t/decay} with b = minCai - 1e4 ica gamma decay / (2 F depth),
/// which cnexp reproduces exactly; the new cai must land in the ion's `ci` column.
#[test]
fn cadynamics_reads_ica_and_writes_cai_through_ion_columns() {
    use bmtool::cell::nmodl::{Env, IonColumns};
    let Some(cells) = cells_dir() else { return };
    let cat = Catalogue::load_dir(cells.join("allen_386049446/modfiles")).unwrap();
    let cad = cat.compile("CaDynamics").unwrap().unwrap();
    let n = 2;
    let mut inst = cad.instantiate(n);
    let ica = [-0.001, -0.0005]; // mA/cm2, inward
    let (mut e, mut i, mut ci, mut co) =
        (vec![131.0; n], ica.to_vec(), vec![5e-5; n], vec![2.0; n]);
    let env = Env {
        celsius: 34.0,
        dt: 0.025,
        t: 0.0,
    };
    {
        let mut ions = [IonColumns {
            e: &mut e,
            i: &mut i,
            ci: &mut ci,
            co: &mut co,
        }];
        cad.initial(&mut inst, &[-65.0; 2], &mut ions, &env)
            .unwrap();
    }
    assert_eq!(ci, vec![1e-4; n], "INITIAL cai = minCai written to the ion");
    let steps = 400;
    for _ in 0..steps {
        let mut ions = [IonColumns {
            e: &mut e,
            i: &mut i,
            ci: &mut ci,
            co: &mut co,
        }];
        cad.advance_states(&mut inst, &[-65.0; 2], &mut ions, &env)
            .unwrap();
    }
    let faraday = 96485.33212331001;
    let t = steps as f64 * env.dt;
    for k in 0..n {
        let b = 1e-4 - 1e4 * ica[k] * 0.05 * 80.0 / (2.0 * faraday * 0.1);
        let want = b + (1e-4 - b) * (-t / 80.0).exp();
        assert!(
            (ci[k] - want).abs() <= 1e-12 * want,
            "cai {} vs {want}",
            ci[k]
        );
    }
    assert_eq!(e, vec![131.0; n], "eca is not this mechanism's to change");
}
