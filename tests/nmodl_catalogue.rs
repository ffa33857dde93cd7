//! Mechanism folders as namespaces and the `util cell mechanisms` listing, on ../shared's cells.
use bmtool::cell::nmodl::listing::{render_json, render_table, summarise};
use bmtool::cell::nmodl::Catalogue;
use std::path::Path;

fn cells_dir() -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cells");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared not found");
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
