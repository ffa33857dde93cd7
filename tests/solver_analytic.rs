//! Analytic checks of the solver that need no reference files: a single passive compartment
//! (time constant cm/g_pas and input resistance 1/(g_pas*area)) and a sealed-end passive cable
//! (input resistance r_a*lambda*coth(L/lambda), converging with nseg).

use std::f64::consts::PI;

use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::CellModel;
use bmtool::cell::solver::Simulation;

const G_PAS_S_CM2: f64 = 5e-4;
const CM_UF_CM2: f64 = 1.0;

/// Run a passive cell with an IClamp of `amp_na` starting at `del_ms` at (section 0, `x`); returns
/// v at `x` at t = 0 and after every step.
fn clamp_trace(
    cell: &CellModel,
    x: f64,
    amp_na: f64,
    del_ms: f64,
    tstop_ms: f64,
    dt_ms: f64,
) -> Vec<f64> {
    let mut cell = cell.clone();
    let section = cell.find_section("cable").unwrap();
    let clamp = cell.add_point_process("IClamp", section, x).unwrap();
    cell.set_point_value(clamp, "amp", amp_na).unwrap();
    cell.set_point_value(clamp, "del", del_ms).unwrap();
    cell.set_point_value(clamp, "dur", 1e9).unwrap();
    let mut sim = Simulation::new(&cell, &MechanismRegistry::with_builtins()).unwrap();
    sim.set_dt(dt_ms).unwrap();
    let v = sim.range_ref(section, x, "v").unwrap();
    let record = sim.record(v);
    sim.finitialize(-65.0).unwrap();
    sim.run_until(tstop_ms).unwrap();
    sim.recorded(record).to_vec()
}

fn passive_cable(length_um: f64, diam_um: f64, nseg: usize, ra_ohm_cm: f64) -> CellModel {
    let mut cell = CellModel::new();
    let cable = cell
        .add_cylinder("cable", length_um, diam_um, nseg)
        .unwrap();
    cell.set_ra(cable, ra_ohm_cm).unwrap();
    cell.set_cm(cable, CM_UF_CM2).unwrap();
    cell.insert(cable, "pas").unwrap();
    cell.set_range(cable, "g_pas", G_PAS_S_CM2).unwrap();
    cell.set_range(cable, "e_pas", -65.0).unwrap();
    cell
}

#[test]
fn single_compartment_tau_and_input_resistance() {
    // 20 x 20 um cylinder: area = pi*d*L (um2); R_in = 1/(g*area*1e-8) ohm; tau = cm/g.
    let (length, diam, dt, del) = (20.0, 20.0, 0.025, 10.0);
    let cell = passive_cable(length, diam, 1, 100.0);
    let amp_na = -0.01;
    let trace = clamp_trace(&cell, 0.5, amp_na, del, 200.0, dt);
    let area_cm2 = PI * diam * length * 1e-8;
    let r_in_mohm = 1.0 / (G_PAS_S_CM2 * area_cm2) * 1e-6;
    let tau_ms = CM_UF_CM2 * 1e-3 / G_PAS_S_CM2;
    let v_rest = trace[0];
    let dv_ss = amp_na * r_in_mohm;
    // Steady state of implicit Euler is exact: tolerance is float round-off.
    let dv_end = trace.last().unwrap() - v_rest;
    assert!(
        (dv_end / dv_ss - 1.0).abs() < 1e-9,
        "R_in: {dv_end} vs {dv_ss} mV"
    );
    // Implicit Euler shrinks the distance to steady state by 1/(1 + dt/tau) per step, so the
    // ratio of successive distances gives tau exactly (again up to round-off).
    let onset = (del / dt).round() as usize;
    let v_inf = v_rest + dv_ss;
    for k in [onset + 1, onset + 40, onset + 200] {
        let ratio = (v_inf - trace[k + 1]) / (v_inf - trace[k]);
        let tau_estimate = dt / (1.0 / ratio - 1.0);
        assert!(
            (tau_estimate / tau_ms - 1.0).abs() < 1e-6,
            "tau {tau_estimate} vs {tau_ms} ms at step {k}"
        );
    }
    // Nothing moves before the current starts (IClamp tests t at mid-step: first felt at `del`).
    assert!((trace[onset] - v_rest).abs() < 1e-12);
    assert!((trace[onset + 1] - v_rest).abs() > 1e-6);
}

#[test]
fn sealed_end_cable_input_resistance_converges_with_nseg() {
    // Finite cable, current into x = 0, sealed at x = 1: R_in = r_a*lambda*coth(L/lambda) with
    // r_a = 4 Ra/(pi d^2) (ohm/cm) and lambda = sqrt(d Rm/(4 Ra)) (cm), Rm = 1/g_pas.
    let (length_um, diam_um, ra) = (500.0, 2.0, 100.0);
    let d_cm = diam_um * 1e-4;
    let lambda_cm = (d_cm / (4.0 * ra * G_PAS_S_CM2)).sqrt();
    let r_a_ohm_cm = 4.0 * ra / (PI * d_cm * d_cm);
    let l_over_lambda = length_um * 1e-4 / lambda_cm;
    let r_in_mohm = r_a_ohm_cm * lambda_cm / l_over_lambda.tanh() * 1e-6;
    let amp_na = 0.05;
    let mut errors = Vec::new();
    for nseg in [1, 3, 9, 27, 81] {
        let cell = passive_cable(length_um, diam_um, nseg, ra);
        // 300 ms = 30 membrane time constants: transients are below 1e-12 of the step.
        let trace = clamp_trace(&cell, 0.0, amp_na, 1.0, 300.0, 0.025);
        let r_model = (trace.last().unwrap() - trace[0]) / amp_na;
        errors.push((r_model / r_in_mohm - 1.0).abs());
    }
    eprintln!(
        "sealed-end cable R_in {r_in_mohm:.4} MOhm; relative errors for nseg 1..81: {errors:?}"
    );
    // Second-order spatial convergence: tripling nseg divides the error by ~9.
    for pair in errors.windows(2) {
        assert!(
            pair[1] < pair[0] / 5.0,
            "no second-order convergence: {errors:?}"
        );
    }
    assert!(errors[4] < 1e-4, "nseg 81 still off by {:e}", errors[4]);
}

#[test]
fn current_injected_at_the_zero_area_end_node_crosses_a_half_segment() {
    // An IClamp at x = 1 sits on the zero-area end node (area 100, so no rescaling of the nA) and
    // reaches the segment centre through the half-segment resistance
    // r = 1e-2*Ra*(L/2)/(pi d^2/4) MOhm: at steady state v(1) - v(0.5) = I*r, and v(0.5) is the
    // same as for an injection at the centre (1/(g*area)).
    let (length, diam, ra) = (20.0, 20.0, 150.0);
    let cell = passive_cable(length, diam, 1, ra);
    let amp_na = 0.02;
    let run = |x: f64, at: f64| {
        let mut cell = cell.clone();
        let section = cell.find_section("cable").unwrap();
        let clamp = cell.add_point_process("IClamp", section, x).unwrap();
        cell.set_point_value(clamp, "amp", amp_na).unwrap();
        cell.set_point_value(clamp, "dur", 1e9).unwrap();
        let mut sim = Simulation::new(&cell, &MechanismRegistry::with_builtins()).unwrap();
        let v = sim.range_ref(section, at, "v").unwrap();
        sim.finitialize(-65.0).unwrap();
        sim.run_until(100.0).unwrap();
        sim.value(v)
    };
    let r_half_mohm = 1e-2 * ra * (length / 2.0) / (PI * diam * diam / 4.0);
    let r_in_mohm = 1.0 / (G_PAS_S_CM2 * PI * diam * length * 1e-8) * 1e-6;
    let (v_end, v_centre) = (run(1.0, 1.0), run(1.0, 0.5));
    assert!(((v_end - v_centre) / (amp_na * r_half_mohm) - 1.0).abs() < 1e-9);
    assert!(((v_centre + 65.0) / (amp_na * r_in_mohm) - 1.0).abs() < 1e-9);
    assert!((run(0.5, 0.5) - v_centre).abs() < 1e-9);
}

#[test]
fn branched_tree_obeying_rall_matches_its_equivalent_cylinder() {
    // A parent cylinder (d0) with two identical daughters (d1 = d0/2^(2/3), so d0^1.5 = 2 d1^1.5)
    // of equal electrotonic length is equivalent to one sealed cylinder of diameter d0 and the
    // summed electrotonic length X (Rall 1959): R_in = r_a0*lambda0*coth(X). Exercises the Hines
    // elimination with two children on one node.
    let (ra, d0_um, l0_um) = (100.0, 2.0, 300.0);
    let d1_um = d0_um / 2f64.powf(2.0 / 3.0);
    let lambda_um = |d_um: f64| (d_um * 1e-4 / (4.0 * ra * G_PAS_S_CM2)).sqrt() * 1e4;
    let (lambda0, lambda1) = (lambda_um(d0_um), lambda_um(d1_um));
    let l1_um = 0.4 * lambda1;
    let x_total = l0_um / lambda0 + 0.4;
    let d0_cm = d0_um * 1e-4;
    let r_a0 = 4.0 * ra / (PI * d0_cm * d0_cm);
    let r_in_mohm = r_a0 * lambda0 * 1e-4 / x_total.tanh() * 1e-6;

    let mut cell = passive_cable(l0_um, d0_um, 61, ra);
    let trunk = cell.find_section("cable").unwrap();
    for name in ["dend[0]", "dend[1]"] {
        let branch = cell.add_cylinder(name, l1_um, d1_um, 61).unwrap();
        cell.connect(branch, trunk, 1.0).unwrap();
        cell.set_ra(branch, ra).unwrap();
        cell.insert(branch, "pas").unwrap();
        cell.set_range(branch, "g_pas", G_PAS_S_CM2).unwrap();
        cell.set_range(branch, "e_pas", -65.0).unwrap();
    }
    let amp_na = 0.05;
    let trace = clamp_trace(&cell, 0.0, amp_na, 1.0, 300.0, 0.025);
    let r_model = (trace.last().unwrap() - trace[0]) / amp_na;
    let error = (r_model / r_in_mohm - 1.0).abs();
    eprintln!("Rall tree R_in {r_model:.5} MOhm vs equivalent cylinder {r_in_mohm:.5} (rel. error {error:.1e})");
    // Spatial discretisation error at nseg 61 (second order, see the sealed-end test).
    assert!(error < 1e-4, "relative error {error:e}");
}
