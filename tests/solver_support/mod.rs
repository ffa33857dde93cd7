//! Shared helpers for the solver tests: BallStick_HH built through the public API with the values
//! of `../shared/cells/ballstick_hh/ballstick.hoc`, and readers for the NEURON reference files in
//! `../shared/reference/cells/BallStick_HH/`.
#![allow(dead_code)]

use std::path::PathBuf;

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::{CellModel, Discretization, SectionId};
use bmtool::cell::protocols::{
    self, run_iclamp, ChirpKind, IclampParams, ProtocolCell, Site, ZapParams,
};
use bmtool::cell::solver::Simulation;

/// `../shared` next to the repository, if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        Some(dir)
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

/// BallStick_HH reference directory for one dt (`"0.025"` or `"0.1"`).
pub fn reference_dir(shared: &std::path::Path, dt: &str) -> PathBuf {
    shared.join(format!("reference/cells/BallStick_HH/dt{dt}"))
}

/// Read a `t_ms,v_mV` trace.
pub fn read_trace(path: &std::path::Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (t, v) = line.split_once(',').expect("two columns");
            (t.parse().expect("t_ms"), v.parse().expect("v_mV"))
        })
        .collect()
}

/// Read `results.json`.
pub fn read_results(dir: &std::path::Path) -> serde_json::Value {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("results.json is JSON")
}

/// The BallStick_HH cell of ballstick.hoc: soma (L = diam = 12.6157, nseg 1, hh with the
/// template's values) and dend (L 200, diam 1, nseg 11, pas g 0.001 e -65) attached at soma(1),
/// Ra 100 and cm 1 everywhere, celsius 6.3, v_init -65.
pub fn ballstick() -> (CellModel, SectionId, SectionId) {
    let mut cell = CellModel::new();
    let soma = cell.add_cylinder("soma[0]", 12.6157, 12.6157, 1).unwrap();
    let dend = cell.add_cylinder("dend[0]", 200.0, 1.0, 11).unwrap();
    cell.connect(dend, soma, 1.0).unwrap();
    for section in [soma, dend] {
        cell.set_ra(section, 100.0).unwrap();
        cell.set_cm(section, 1.0).unwrap();
    }
    cell.insert(soma, "hh").unwrap();
    cell.set_range(soma, "gnabar_hh", 0.12).unwrap();
    cell.set_range(soma, "gkbar_hh", 0.036).unwrap();
    cell.set_range(soma, "gl_hh", 0.0003).unwrap();
    cell.set_range(soma, "el_hh", -54.3).unwrap();
    cell.insert(dend, "pas").unwrap();
    for segment in 0..11 {
        cell.set_segment_range(dend, segment, "g_pas", 0.001)
            .unwrap();
        cell.set_segment_range(dend, segment, "e_pas", -65.0)
            .unwrap();
    }
    cell.celsius_degc = 6.3;
    cell.v_init_mv = -65.0;
    (cell, soma, dend)
}

/// Outcome of one current-clamp run at soma(0.5).
pub struct ClampRun {
    /// v at soma(0.5) at t = 0 and after every step.
    pub v_mv: Vec<f64>,
    /// Spike times (threshold -15 mV, NetCon rule).
    pub spikes_ms: Vec<f64>,
}

/// bmtool's current clamp: IClamp at soma(0.5) (amp nA, del, dur), finitialize(v_init), run to
/// tstop at dt, recording soma v and spikes at -15 mV; through the protocol library.
pub fn run_clamp(
    cell: &CellModel,
    soma: SectionId,
    dt_ms: f64,
    amp_na: f64,
    del_ms: f64,
    dur_ms: f64,
    tstop_ms: f64,
) -> ClampRun {
    let registry = MechanismRegistry::with_builtins();
    let clamp = Clamp {
        amp_na,
        del_ms,
        dur_ms,
        tstop_ms,
    };
    run_clamp_with(cell, soma, &registry, dt_ms, &clamp)
}

/// An IClamp step: amplitude (nA), delay, duration and run length (ms).
#[derive(Debug, Clone, Copy)]
pub struct Clamp {
    /// Amplitude (nA).
    pub amp_na: f64,
    /// Onset (ms).
    pub del_ms: f64,
    /// Duration (ms).
    pub dur_ms: f64,
    /// Run length (ms).
    pub tstop_ms: f64,
}

/// [`run_clamp`] with the mechanisms of `registry`.
pub fn run_clamp_with(
    cell: &CellModel,
    soma: SectionId,
    registry: &MechanismRegistry,
    dt_ms: f64,
    clamp: &Clamp,
) -> ClampRun {
    let Clamp {
        amp_na,
        del_ms,
        dur_ms,
        tstop_ms,
    } = *clamp;
    let protocol = at_soma(cell, registry, soma, dt_ms);
    let params = IclampParams {
        inj_amp_pa: amp_na * 1e3,
        inj_delay_ms: del_ms,
        inj_dur_ms: dur_ms,
        tstop_ms,
        threshold_mv: -15.0,
    };
    let result = run_iclamp(&protocol, &params).unwrap_or_else(|e| panic!("{e}"));
    ClampRun {
        v_mv: result.trace.v_mv,
        spikes_ms: result.spike_times_ms,
    }
}

fn at_soma<'a>(
    cell: &'a CellModel,
    registry: &'a MechanismRegistry,
    soma: SectionId,
    dt_ms: f64,
) -> ProtocolCell<'a> {
    let mut protocol = ProtocolCell::new(cell, registry)
        .expect("the cell has a soma")
        .with_dt(dt_ms);
    let site = Site {
        section: soma,
        x: 0.5,
    };
    protocol.injection = site;
    protocol.recording = site;
    protocol
}

/// ZAP protocol parameters (results.json `ZAP*` params, amplitude converted to nA).
#[derive(Debug, Clone, Copy)]
pub struct Zap {
    /// Chirp amplitude (nA).
    pub amp_na: f64,
    /// Injection start (ms).
    pub delay_ms: f64,
    /// Injection length (ms).
    pub dur_ms: f64,
    /// Run length (ms).
    pub tstop_ms: f64,
    /// Start frequency (Hz).
    pub fstart_hz: f64,
    /// End frequency (Hz).
    pub fend_hz: f64,
}

/// bmtool's ZAP (`singlecell.ZAP.zap_current`) through the protocol library: a linear chirp
/// from `fstart` to `fend` Hz of amplitude `amp_na`, played step-wise into an IClamp at
/// soma(0.5). Returns soma v at t = 0 and after every step.
pub fn run_zap(cell: &CellModel, soma: SectionId, dt_ms: f64, zap: &Zap) -> Vec<f64> {
    let registry = MechanismRegistry::with_builtins();
    let protocol = at_soma(cell, &registry, soma, dt_ms);
    let params = ZapParams {
        inj_amp_pa: zap.amp_na * 1e3,
        inj_delay_ms: zap.delay_ms,
        inj_dur_ms: zap.dur_ms,
        tstop_ms: zap.tstop_ms,
        fstart_hz: zap.fstart_hz,
        fend_hz: zap.fend_hz,
        chirp: ChirpKind::Linear,
        smooth: 9,
        threshold_mv: -15.0,
    };
    let result = protocols::run_zap(&protocol, &params).unwrap_or_else(|e| panic!("{e}"));
    result.trace.v_mv
}

/// Max |ours - reference| over reference rows with t < `until_ms`, where reference row k is our
/// sample `k * stride`.
pub fn max_abs_diff(ours: &[f64], reference: &[(f64, f64)], stride: usize, until_ms: f64) -> f64 {
    reference
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| *t < until_ms)
        .map(|(k, (_, v))| (ours[k * stride] - v).abs())
        .fold(0.0, f64::max)
}

/// `ours` equals NEURON's `reference` to 1e-6 relative (the bar for geometry and parameters:
/// NEURON's own values come from single-precision pt3d points, ~2e-8 relative off doubles), or
/// both are within 1e-15 of each other.
pub fn close(ours: f64, reference: f64, what: &str) {
    let scale = reference.abs().max(1e-12);
    let relative = (ours - reference).abs() / scale;
    assert!(
        relative < 1e-6 || (ours - reference).abs() < 1e-15,
        "{what}: ours {ours} vs NEURON {reference} (relative {relative:e})"
    );
}

/// Our section for a cell_info.json name: the full NEURON name (`BallStick_HH[0].soma[0]`,
/// as the HOC loader names sections) or its last part (`soma[0]`, hand-built cells).
pub fn section_for(cell: &CellModel, neuron_name: &str) -> SectionId {
    let short = neuron_name.rsplit('.').next().unwrap_or(neuron_name);
    cell.find_section(neuron_name)
        .or_else(|| cell.find_section(short))
        .unwrap_or_else(|| panic!("no section {neuron_name}"))
}

/// Every segment's x, area, diam and ri against cell_info.json `sections[].segments`, and the
/// total area; returns the number of segments compared.
pub fn check_segment_geometry(cell: &CellModel, info: &serde_json::Value) -> usize {
    let disc = Discretization::new(cell).unwrap();
    let mut total_area = 0.0;
    let mut compared = 0;
    for section in info["sections"].as_array().unwrap() {
        let name = section["name"].as_str().unwrap();
        let id = section_for(cell, name);
        let segments = section["segments"].as_array().unwrap();
        assert_eq!(segments.len(), disc.segments[id.0].len(), "{name} nseg");
        for (ours, reference) in disc.segments[id.0].iter().zip(segments) {
            let what = format!("{name}({})", ours.x);
            for (value, key) in [
                (ours.x, "x"),
                (ours.area_um2, "area_um2"),
                (ours.diam_um, "diam"),
                (ours.ri_mohm, "ri_MOhm"),
            ] {
                close(
                    value,
                    reference[key].as_f64().unwrap(),
                    &format!("{what} {key}"),
                );
            }
            total_area += ours.area_um2;
            compared += 1;
        }
    }
    close(
        total_area,
        info["total_area_um2"].as_f64().unwrap(),
        "total area",
    );
    compared
}

/// After `finitialize(v_init)`: v, every RANGE value of every mechanism and every ion variable
/// of every segment, and each section's ion_style, against cell_info.json. Returns the number
/// of values compared and the names the solver does not expose (a mechanism's share of an ion
/// current, such as `ik_kdrinter`).
pub fn check_state_after_finitialize(
    cell: &CellModel,
    registry: &MechanismRegistry,
    info: &serde_json::Value,
) -> (usize, Vec<String>) {
    let mut sim = Simulation::new(cell, registry).unwrap();
    sim.finitialize(cell.v_init_mv).unwrap();
    let mut checked = 0;
    let mut unreferenced = Vec::new();
    for section in info["sections"].as_array().unwrap() {
        let name = section["name"].as_str().unwrap();
        let id = section_for(cell, name);
        for segment in section["segments"].as_array().unwrap() {
            let x = segment["x"].as_f64().unwrap();
            let mut expect = |hoc_name: String, value: &serde_json::Value| {
                let var = match sim.range_ref(id, x, &hoc_name) {
                    Ok(var) => var,
                    // A mechanism's own share of an ion current (`ik_kdrinter`) is summed into
                    // the ion by the compiled-mechanism adapter and not kept as a column.
                    Err(_) if is_ion_current_share(&hoc_name) => {
                        unreferenced.push(hoc_name);
                        return;
                    }
                    Err(e) => panic!("{e}"),
                };
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
    unreferenced.sort();
    unreferenced.dedup();
    (checked, unreferenced)
}

/// `ik_kdrinter`, `ica_cal`, `ileak_leak`: an ion current `i<ion>` of a density mechanism.
fn is_ion_current_share(hoc_name: &str) -> bool {
    hoc_name.starts_with('i') && hoc_name.contains('_')
}
