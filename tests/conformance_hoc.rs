//! HOC reference cells loaded through the HOC interpreter against NEURON 8.2.4
//! (../shared/reference/cells/<cell>/): `cell info` (section names, parents, nseg, L, diam,
//! area, Ra, cm, mechanisms, every PARAMETER of every segment, set ion reversal potentials and
//! GLOBALs) equals `dt0.025/cell_info.json` to 1e-6 relative (NEURON's geometry comes from
//! single-precision pt3d points, ~2e-8 relative off doubles); the full state after
//! `finitialize` is compared the same way; and the 1 s current clamp of results.json
//! (`CurrentClamp_1s`) gives max |dV| < 0.1 mV before the first spike and the same spike count
//! at dt 0.025 and 0.1 (the bar; NEURON itself moves 6-20 mV RMS between the two dt).

mod common;
mod solver_support;

use std::path::{Path, PathBuf};

use bmtool::cell::hoc::{load_cell, HocSource, LoadOptions, LoadedCell};
use bmtool::cell::info::cell_info;
use bmtool::cell::mechanism::folder::CellMechanisms;
use serde_json::Value;
use solver_support::*;

/// A reference cell: id, folder under ../shared/cells, HOC file.
struct ReferenceCell {
    id: &'static str,
    folder: &'static str,
    file: &'static str,
}

const WB: ReferenceCell = ReferenceCell {
    id: "WBInhCell",
    folder: "wb_rtm",
    file: "cell_templates.hoc",
};

const FSI: ReferenceCell = ReferenceCell {
    id: "FSI_Cell",
    folder: "bmtool_tutorial",
    file: "templates.hoc",
};

const CP: ReferenceCell = ReferenceCell {
    id: "CP_Cell",
    folder: "bmtool_tutorial",
    file: "templates.hoc",
};

const CF: ReferenceCell = ReferenceCell {
    id: "Cell_Cf",
    folder: "amygdala_feng",
    file: "feng.hoc",
};

const BALLSTICK: ReferenceCell = ReferenceCell {
    id: "BallStick_HH",
    folder: "ballstick_hh",
    file: "ballstick.hoc",
};

/// Mechanisms for a cell folder: the built-ins, plus its `modfiles/` compiled (as the CLI
/// loads them).
fn mechanisms_for(folder: &Path) -> CellMechanisms {
    let mod_folder = folder.join("modfiles");
    let mod_folder = mod_folder.is_dir().then_some(mod_folder);
    CellMechanisms::load(mod_folder.as_deref()).unwrap_or_else(|e| panic!("{e}"))
}

/// Load the cell's template with the reference run's celsius and v_init (cell_info globals).
fn load(shared: &Path, cell: &ReferenceCell, info: &Value) -> (LoadedCell, CellMechanisms) {
    let folder = shared.join("cells").join(cell.folder);
    let mechanisms = mechanisms_for(&folder);
    let files = [folder.join(cell.file)];
    let source = HocSource {
        files: &files,
        mechanisms: &mechanisms,
    };
    let options = LoadOptions {
        celsius_degc: info["globals"]["celsius"].as_f64(),
        v_init_mv: info["globals"]["v_init"].as_f64(),
    };
    let loaded = load_cell(source, cell.id, options).unwrap_or_else(|e| panic!("{e}"));
    (loaded, mechanisms)
}

fn reference(shared: &Path, id: &str, dt: &str, file: &str) -> PathBuf {
    shared.join(format!("reference/cells/{id}/dt{dt}/{file}"))
}

/// `cell info` against cell_info.json, section by section and segment by segment.
fn check_cell_info(cell: &ReferenceCell) {
    let Some(shared) = common::shared_or_skip(&format!("conformance_hoc {}", cell.id)) else {
        return;
    };
    let info = common::json(&reference(&shared, cell.id, "0.025", "cell_info.json"));
    let (loaded, mechanisms) = load(&shared, cell, &info);
    let registry = &mechanisms.registry;
    let ours = cell_info(&loaded.model, registry, cell.id).unwrap();
    let sections = info["sections"].as_array().unwrap();
    assert_eq!(ours.sections.len(), sections.len(), "{} sections", cell.id);
    assert_eq!(ours.total_nseg as u64, info["total_nseg"].as_u64().unwrap());
    close(
        ours.total_area_um2,
        info["total_area_um2"].as_f64().unwrap(),
        "total area",
    );
    close(
        ours.celsius,
        info["globals"]["celsius"].as_f64().unwrap(),
        "celsius",
    );
    let mut parameters = 0;
    for (section, reference) in ours.sections.iter().zip(sections) {
        let name = reference["name"].as_str().unwrap();
        assert_eq!(section.name, name);
        assert_eq!(
            section.parent.as_deref(),
            reference["parent"].as_str(),
            "{name} parent"
        );
        assert_eq!(
            section.parent_x,
            reference["parent_x"].as_f64(),
            "{name} parent_x"
        );
        assert_eq!(
            section.nseg as u64,
            reference["nseg"].as_u64().unwrap(),
            "{name} nseg"
        );
        assert_eq!(
            section.n3d as u64,
            reference["n3d"].as_u64().unwrap(),
            "{name} n3d"
        );
        for (value, key) in [
            (section.length_um, "L"),
            (section.diam_mean, "diam_mean"),
            (section.ra_ohm_cm, "Ra"),
            (section.cm_mean, "cm_mean"),
            (section.area_um2, "area_um2"),
        ] {
            close(
                value,
                reference[key].as_f64().unwrap(),
                &format!("{name} {key}"),
            );
        }
        let mechs: Vec<&str> = reference["density_mechs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(section.density_mechs, mechs, "{name} mechanisms");
        let points: Vec<&str> = reference["point_processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(section.point_processes, points, "{name} point processes");
        for (segment, expected) in section
            .segments
            .iter()
            .zip(reference["segments"].as_array().unwrap())
        {
            let at = format!("{name}({})", segment.x);
            for (mechanism, values) in expected["mechs"].as_object().unwrap() {
                let names = info["mechanism_vars"][mechanism]["parameter"]
                    .as_array()
                    .unwrap();
                for variable in names {
                    let variable = variable.as_str().unwrap();
                    let ours = segment.mechs[mechanism][variable];
                    close(
                        ours,
                        values[variable].as_f64().unwrap(),
                        &format!("{at} {variable}_{mechanism}"),
                    );
                    parameters += 1;
                }
            }
            for (ion, style) in reference["ion_style"].as_object().unwrap() {
                if style.as_u64() != Some(8) {
                    continue; // Nernst-computed: not a parameter
                }
                let key = format!("e{ion}");
                let neuron = expected["ions"][ion][&key].as_f64().unwrap();
                let ours = segment
                    .ions
                    .get(&key)
                    .copied()
                    .unwrap_or_else(|| bmtool::cell::mechanism::ions::species_defaults(ion).0);
                close(ours, neuron, &format!("{at} {key}"));
            }
        }
    }
    for (name, value) in &ours.globals {
        close(
            *value,
            info["globals"][name].as_f64().unwrap(),
            &format!("global {name}"),
        );
    }
    assert_eq!(
        check_segment_geometry(&loaded.model, &info),
        ours.total_nseg
    );
    let (state, unreferenced) = check_state_after_finitialize(&loaded.model, registry, &info);
    eprintln!(
        "{}: {} sections, {} segments, {parameters} parameter values and {state} values after finitialize equal NEURON's (not exposed by the solver: {unreferenced:?})",
        cell.id,
        ours.sections.len(),
        ours.total_nseg
    );
}

/// The 1 s current clamp at `dt` against `traces/cc1s_*_fullres.csv` and results.json.
fn check_cc1s(cell: &ReferenceCell, dt: &str) {
    let Some(shared) = common::shared_or_skip(&format!("conformance_hoc {} cc1s", cell.id)) else {
        return;
    };
    let info = common::json(&reference(&shared, cell.id, "0.025", "cell_info.json"));
    let results = common::json(&reference(&shared, cell.id, dt, "results.json"));
    let (loaded, mechanisms) = load(&shared, cell, &info);
    let protocol = &results["protocols"]["CurrentClamp_1s"];
    let param = |name: &str| protocol["params"][name].as_f64().unwrap();
    let reference_spikes: Vec<f64> = protocol["results"]["spike_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let trace_name = format!("traces/cc1s_{}pA_fullres.csv", param("inj_amp"));
    let trace = read_trace(&reference(&shared, cell.id, dt, &trace_name));
    let soma = loaded.section("soma[0]").expect("soma[0]");
    let dt_ms: f64 = dt.parse().unwrap();
    let clamp = Clamp {
        amp_na: param("inj_amp") * 1e-3,
        del_ms: param("inj_delay"),
        dur_ms: param("inj_dur"),
        tstop_ms: param("tstop"),
    };
    let run = run_clamp_with(&loaded.model, soma, &mechanisms.registry, dt_ms, &clamp);
    assert_eq!(run.v_mv.len(), trace.len(), "samples");
    let first_spike = reference_spikes.first().copied().unwrap_or(f64::INFINITY);
    let before = max_abs_diff(&run.v_mv, &trace, 1, first_spike);
    eprintln!(
        "{} dt {dt} cc1s: max |dV| before the first spike {before:.3e} mV; spikes {} (NEURON {})",
        cell.id,
        run.spikes_ms.len(),
        reference_spikes.len()
    );
    assert!(
        before < 0.1,
        "{} dt {dt}: {before} mV before the first spike",
        cell.id
    );
    assert_eq!(
        run.spikes_ms.len(),
        reference_spikes.len(),
        "{} dt {dt} spike count",
        cell.id
    );
}

#[test]
fn ballstick_cell_info_matches_neuron() {
    check_cell_info(&BALLSTICK);
}

#[test]
fn ballstick_cc1s_dt0025_matches_neuron() {
    check_cc1s(&BALLSTICK, "0.025");
}

#[test]
fn ballstick_cc1s_dt01_matches_neuron() {
    check_cc1s(&BALLSTICK, "0.1");
}

macro_rules! reference_cell_tests {
    ($($cell:ident: $info:ident, $dt0025:ident, $dt01:ident;)*) => {$(
        #[test]
        fn $info() {
            check_cell_info(&$cell);
        }

        #[test]
        fn $dt0025() {
            check_cc1s(&$cell, "0.025");
        }

        #[test]
        fn $dt01() {
            check_cc1s(&$cell, "0.1");
        }
    )*};
}

reference_cell_tests! {
    WB: wb_cell_info_matches_neuron, wb_cc1s_dt0025_matches_neuron, wb_cc1s_dt01_matches_neuron;
    FSI: fsi_cell_info_matches_neuron, fsi_cc1s_dt0025_matches_neuron, fsi_cc1s_dt01_matches_neuron;
    CP: cp_cell_info_matches_neuron, cp_cc1s_dt0025_matches_neuron, cp_cc1s_dt01_matches_neuron;
    CF: cf_cell_info_matches_neuron, cf_cc1s_dt0025_matches_neuron, cf_cc1s_dt01_matches_neuron;
}
