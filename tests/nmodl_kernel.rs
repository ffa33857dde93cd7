//! The compiled bytecode against closed forms: NEURON's hh rate functions and linear ODEs with
//! analytic solutions, for every integration method.
use bmtool::cell::nmodl::{
    parser::parse, sema::analyse, CompileOptions, CompiledMechanism, Env, IonColumns,
    MechanismInstances,
};
use std::path::Path;

fn compile_fixture(name: &str) -> CompiledMechanism {
    compile_fixture_with(name, CompileOptions::default())
}

fn compile_fixture_with(name: &str, options: CompileOptions) -> CompiledMechanism {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/nmodl")
        .join(name);
    let src = std::fs::read_to_string(&path).unwrap();
    let m = analyse(&parse(&path.display().to_string(), &src).unwrap()).unwrap();
    CompiledMechanism::compile_with(&m, options).unwrap()
}

/// hh's closed-form rates (Hodgkin & Huxley 1952 as in NEURON's hh.mod), q10 = 3^((T-6.3)/10).
fn vtrap(x: f64, y: f64) -> f64 {
    if (x / y).abs() < 1e-6 {
        y * (1.0 - x / y / 2.0)
    } else {
        x / ((x / y).exp() - 1.0)
    }
}
fn hh_rates(v: f64, celsius: f64) -> [(f64, f64); 3] {
    let q10 = 3f64.powf((celsius - 6.3) / 10.0);
    let inf_tau = |a: f64, b: f64| (a / (a + b), 1.0 / (q10 * (a + b)));
    [
        inf_tau(
            0.1 * vtrap(-(v + 40.0), 10.0),
            4.0 * (-(v + 65.0) / 18.0).exp(),
        ),
        inf_tau(
            0.07 * (-(v + 65.0) / 20.0).exp(),
            1.0 / ((-(v + 35.0) / 10.0).exp() + 1.0),
        ),
        inf_tau(
            0.01 * vtrap(-(v + 55.0), 10.0),
            0.125 * (-(v + 65.0) / 80.0).exp(),
        ),
    ]
}

/// Owned ion columns for tests.
struct Ion {
    e: Vec<f64>,
    i: Vec<f64>,
    ci: Vec<f64>,
    co: Vec<f64>,
}
impl Ion {
    fn new(n: usize, e: f64, ci: f64, co: f64) -> Self {
        Ion {
            e: vec![e; n],
            i: vec![0.0; n],
            ci: vec![ci; n],
            co: vec![co; n],
        }
    }
}
fn cols(ions: &mut [Ion]) -> Vec<IonColumns<'_>> {
    ions.iter_mut()
        .map(|x| IonColumns {
            e: &mut x.e,
            i: &mut x.i,
            ci: &mut x.ci,
            co: &mut x.co,
        })
        .collect()
}

// Relative tolerance for bytecode vs the same formula in Rust: both use libm exp/pow on the same
// operands in the same order, so only rounding differences from operand order remain.
const REL: f64 = 1e-12;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn hh_initial_currents_and_cnexp_step_match_closed_form() {
    let hh = compile_fixture("hh.mod");
    assert_eq!(hh.name(), "hh_test");
    let v0 = [-65.0, -40.0, -55.0, 10.0]; // -40 and -55 hit vtrap's 0/0 branch
    let n = v0.len();
    let celsius = 6.3;
    let mut inst = hh.instantiate(n);
    let mut ions = vec![
        Ion::new(n, 50.0, 10.0, 140.0),
        Ion::new(n, -77.0, 54.4, 2.5),
    ];
    let env = Env {
        celsius,
        dt: 0.025,
        t: 0.0,
    };
    hh.initial(&mut inst, &v0, &mut cols(&mut ions), &env)
        .unwrap();
    for (k, &v) in v0.iter().enumerate() {
        let r = hh_rates(v, celsius);
        for (g, (inf, _)) in ["m", "h", "n"].iter().zip(r) {
            let got = hh.range(&inst, g).unwrap()[k];
            assert!(close(got, inf, REL), "{g}({v}) = {got}, closed form {inf}");
        }
    }
    // Currents at v0 with the initial gates.
    hh.breakpoint_current(&mut inst, &v0, &mut cols(&mut ions), &env)
        .unwrap();
    for (k, &v) in v0.iter().enumerate() {
        let [(m, _), (h, _), (nn, _)] = hh_rates(v, celsius);
        let ina = 0.12 * m * m * m * h * (v - 50.0);
        let ik = 0.036 * nn.powi(4) * (v + 77.0);
        let il = 0.0003 * (v + 54.3);
        assert!(close(inst.ion_current[0][k], ina, REL));
        assert!(close(inst.ion_current[1][k], ik, REL));
        assert!(
            close(inst.current[k], ina + ik + il, 1e-11),
            "{} vs {}",
            inst.current[k],
            ina + ik + il
        );
    }
    // One cnexp step at a new voltage: x(dt) = inf + (x0 - inf) exp(-dt/tau), exact for fixed v.
    let v1 = [-20.0, 0.0, -80.0, 30.0];
    let m0: Vec<f64> = hh.range(&inst, "m").unwrap().to_vec();
    hh.advance_states(&mut inst, &v1, &mut cols(&mut ions), &env)
        .unwrap();
    for (k, &v) in v1.iter().enumerate() {
        let (inf, tau) = hh_rates(v, celsius)[0];
        let want = inf + (m0[k] - inf) * (-env.dt / tau).exp();
        let got = hh.range(&inst, "m_hh_test").unwrap()[k];
        assert!(
            close(got, want, 1e-10),
            "m after step at {v}: {got} vs {want}"
        );
    }
}

#[test]
fn conductance_is_neuron_difference_quotient() {
    let hh = compile_fixture("hh.mod");
    let n = 2;
    let v = [-65.0, -50.0];
    let mut inst = hh.instantiate(n);
    let mut ions = vec![
        Ion::new(n, 50.0, 10.0, 140.0),
        Ion::new(n, -77.0, 54.4, 2.5),
    ];
    let env = Env {
        celsius: 6.3,
        dt: 0.025,
        t: 0.0,
    };
    hh.initial(&mut inst, &v, &mut cols(&mut ions), &env)
        .unwrap();
    hh.current_and_conductance(&mut inst, &v, &mut cols(&mut ions), &env)
        .unwrap();
    // The current is linear in v at fixed gates, so (i(v+0.001) - i(v))/0.001 = gna + gk + gl.
    for (k, &vk) in v.iter().enumerate() {
        let [(m, _), (h, _), (nn, _)] = hh_rates(vk, 6.3);
        let g = 0.12 * m * m * m * h + 0.036 * nn.powi(4) + 0.0003;
        assert!(
            close(inst.conductance[k], g, 1e-8),
            "{} vs {g}",
            inst.conductance[k]
        );
    }
}

fn run_linear(file: &str, steps: usize, dt: f64) -> (CompiledMechanism, MechanismInstances) {
    let mech = compile_fixture(file);
    let mut inst = mech.instantiate(3);
    mech.range_mut(&mut inst, "k")
        .unwrap()
        .copy_from_slice(&[0.5, 1.0, 4.0]);
    let v = [0.0; 3];
    let mut env = Env {
        celsius: 6.3,
        dt,
        t: 0.0,
    };
    mech.initial(&mut inst, &v, &mut [], &env).unwrap();
    for _ in 0..steps {
        mech.advance_states(&mut inst, &v, &mut [], &env).unwrap();
        env.t += dt;
    }
    (mech, inst)
}

#[test]
fn cnexp_is_exact_on_linear_odes() {
    // x' = -k x + c has x(t) = c/k + (x0 - c/k) e^{-kt}; cnexp is exact for constant a, c.
    let (dt, steps) = (0.1, 50);
    let (mech, inst) = run_linear("linear.mod", steps, dt);
    let t = dt * steps as f64;
    for (i, k) in [0.5f64, 1.0, 4.0].into_iter().enumerate() {
        let want = 2.0 / k + (1.0 - 2.0 / k) * (-k * t).exp();
        let x = mech.range(&inst, "x").unwrap()[i];
        let z = mech.range(&inst, "z").unwrap()[i];
        assert!(close(x, want, 1e-12), "x: {x} vs {want}");
        assert!(close(z, want, 1e-12), "z: {z} vs {want}");
        // y' = c: forward Euler, exact for a constant rate.
        let y = mech.range(&inst, "y").unwrap()[i];
        assert!(close(y, 1.0 + 2.0 * t, 1e-12), "y: {y}");
    }
    assert_eq!(
        mech.solves()[0].method,
        Some(bmtool::cell::nmodl::solvers::Method::Cnexp)
    );
}

#[test]
fn global_switches_branch_inside_derivative() {
    let (dt, steps) = (0.1, 20);
    let mech = compile_fixture("linear.mod");
    let mut inst = mech.instantiate(1);
    mech.set_global(&mut inst, "clamp_lin", 1.0).unwrap();
    let env = Env {
        celsius: 6.3,
        dt,
        t: 0.0,
    };
    mech.initial(&mut inst, &[0.0], &mut [], &env).unwrap();
    for _ in 0..steps {
        mech.advance_states(&mut inst, &[0.0], &mut [], &env)
            .unwrap();
    }
    // drive = 0: x' = -0.5 x, x = e^{-0.5 t}.
    let want = (-0.5 * dt * steps as f64).exp();
    assert!(close(mech.range(&inst, "x").unwrap()[0], want, 1e-12));
}

#[test]
fn euler_and_derivimplicit_match_their_recurrences() {
    let (dt, steps) = (0.1, 30);
    let (e, ei) = run_linear("linear_euler.mod", steps, dt);
    let (b, bi) = run_linear("linear_implicit.mod", steps, dt);
    for (i, k) in [0.5f64, 1.0, 4.0].into_iter().enumerate() {
        // Forward Euler: x_{n+1} = x_n + dt (c - k x_n); backward: x_{n+1} = (x_n + dt c)/(1 + k dt).
        let (mut xf, mut xb) = (1.0f64, 1.0f64);
        for _ in 0..steps {
            xf += dt * (2.0 - k * xf);
            xb = (xb + dt * 2.0) / (1.0 + k * dt);
        }
        let got_f = e.range(&ei, "x").unwrap()[i];
        let got_b = b.range(&bi, "x").unwrap()[i];
        assert!(close(got_f, xf, 1e-12), "euler {got_f} vs {xf}");
        // Newton on a linear system converges in one step up to the finite-difference Jacobian.
        assert!(close(got_b, xb, 1e-7), "derivimplicit {got_b} vs {xb}");
    }
}

#[test]
fn nonlinear_cnexp_falls_back_to_derivimplicit() {
    let mech = compile_fixture("nonlinear.mod");
    assert_eq!(
        mech.solves()[0].method,
        Some(bmtool::cell::nmodl::solvers::Method::DerivImplicit)
    );
    let mut inst = mech.instantiate(1);
    let dt = 0.1;
    let env = Env {
        celsius: 6.3,
        dt,
        t: 0.0,
    };
    mech.initial(&mut inst, &[0.0], &mut [], &env).unwrap();
    mech.advance_states(&mut inst, &[0.0], &mut [], &env)
        .unwrap();
    // Backward Euler on x' = -x^2 from 1: x1 + dt x1^2 = 1.
    let want = (-1.0 + (1.0 + 4.0 * dt).sqrt()) / (2.0 * dt);
    let got = mech.range(&inst, "x").unwrap()[0];
    assert!(close(got, want, 1e-9), "{got} vs {want}");
}

#[test]
fn nan_state_is_reported_with_file_and_line() {
    let mech = compile_fixture("divzero.mod");
    let mut inst = mech.instantiate(2);
    let env = Env {
        celsius: 6.3,
        dt: 0.025,
        t: 0.0,
    };
    mech.initial(&mut inst, &[0.0, 0.0], &mut [], &env).unwrap();
    let err = mech
        .advance_states(&mut inst, &[0.0, 0.0], &mut [], &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("divzero.mod:4:"), "{err}");
    assert!(err.contains("STATE x"), "{err}");
}

/// NEURON's TABLE (FROM -100 TO 100 WITH 200, linear interpolation) vs the direct formulas we
/// run, for hh's rates at 6.3 degC on a 0.01 mV grid.
#[test]
fn table_interpolation_error_of_hh_rates() {
    let (lo, hi, steps) = (-100.0, 100.0, 200usize);
    let dx = (hi - lo) / steps as f64;
    let table: Vec<[(f64, f64); 3]> = (0..=steps)
        .map(|j| hh_rates(lo + j as f64 * dx, 6.3))
        .collect();
    let mut worst_inf: f64 = 0.0;
    let mut worst_tau_rel: f64 = 0.0;
    for s in 0..=20000 {
        let v = lo + s as f64 * 0.01;
        let x = ((v - lo) / dx).clamp(0.0, steps as f64);
        let j = (x.floor() as usize).min(steps - 1);
        let theta = x - j as f64;
        let direct = hh_rates(v, 6.3);
        for g in 0..3 {
            let (i0, t0) = table[j][g];
            let (i1, t1) = table[j + 1][g];
            let (inf, tau) = (i0 + theta * (i1 - i0), t0 + theta * (t1 - t0));
            worst_inf = worst_inf.max((inf - direct[g].0).abs());
            worst_tau_rel = worst_tau_rel.max(((tau - direct[g].1) / direct[g].1).abs());
        }
    }
    eprintln!(
        "hh TABLE vs direct: max |d inf| = {worst_inf:.2e}, max rel d tau = {worst_tau_rel:.2e}"
    );
    // The documented size of the difference (kernel.rs contract): below 1e-2 in the gates.
    assert!(worst_inf < 1e-2 && worst_tau_rel < 1e-2);
}

#[test]
fn row_mode_and_column_mode_agree_bitwise() {
    // A single instance runs op-by-op; more run in fixed-width chunks or column by column
    // (`Program::run`). With libm's exp the arithmetic is the same, so states and currents must be
    // identical; with the vectorised exp, row mode still calls libm's (cheaper one value at a
    // time), which is within 2 ulp of it.
    for (options, tolerance) in [
        (CompileOptions::exact(), 0.0),
        (CompileOptions::default(), 1e-12),
    ] {
        let (one, many) = (hh_run(options, 1), hh_run(options, 64));
        for (a, b) in one.iter().zip(&many) {
            assert!(
                (a - b).abs() <= tolerance * b.abs(),
                "{a} vs {b} ({options:?})"
            );
        }
    }
}

/// h, the membrane current and the conductance of instance 0 of `n` after 10 hh steps.
fn hh_run(options: CompileOptions, n: usize) -> [f64; 3] {
    let hh = compile_fixture_with("hh.mod", options);
    let env = Env {
        celsius: 16.3,
        dt: 0.025,
        t: 0.0,
    };
    let v: Vec<f64> = vec![-40.0; n];
    let mut inst = hh.instantiate(n);
    let mut ions = vec![
        Ion::new(n, 50.0, 10.0, 140.0),
        Ion::new(n, -77.0, 54.4, 2.5),
    ];
    hh.initial(&mut inst, &v, &mut cols(&mut ions), &env)
        .unwrap();
    for _ in 0..10 {
        hh.current_and_conductance(&mut inst, &v, &mut cols(&mut ions), &env)
            .unwrap();
        hh.advance_states(&mut inst, &v, &mut cols(&mut ions), &env)
            .unwrap();
    }
    [
        hh.range(&inst, "h").unwrap()[0],
        inst.current[0],
        inst.conductance[0],
    ]
}

#[test]
fn net_receive_changes_one_instance_then_decays() {
    let syn = compile_fixture("expsyn.mod");
    let mut inst = syn.instantiate(3);
    let env = Env {
        celsius: 6.3,
        dt: 0.1,
        t: 0.0,
    };
    let v = [-65.0; 3];
    syn.initial(&mut inst, &v, &mut [], &env).unwrap();
    syn.net_receive(&mut inst, 1, &[0.004], -65.0, &env)
        .unwrap();
    assert_eq!(syn.range(&inst, "g").unwrap(), &[0.0, 0.004, 0.0]);
    for _ in 0..10 {
        syn.advance_states(&mut inst, &v, &mut [], &env).unwrap();
    }
    // g(t) = w e^{-t/tau}: cnexp is exact for this linear decay.
    let want = 0.004 * (-1.0f64 / 2.0).exp();
    assert!(close(syn.range(&inst, "g").unwrap()[1], want, 1e-12));
    // Point process current in nA, outward positive: i = g (v - e).
    syn.breakpoint_current(&mut inst, &v, &mut [], &env)
        .unwrap();
    assert!(close(inst.current[1], want * -65.0, 1e-12));
    assert!(syn.net_receive(&mut inst, 3, &[1.0], -65.0, &env).is_err());
    assert!(syn
        .net_receive(&mut inst, 0, &[1.0, 2.0], -65.0, &env)
        .is_err());
}

#[test]
fn kinetic_scheme_is_backward_euler_and_linear_block_gives_equilibrium() {
    let k = compile_fixture("kinetic.mod");
    let (kf, kb, dt) = (0.3, 0.1, 0.5);
    let mut inst = k.instantiate(2);
    let env = Env {
        celsius: 6.3,
        dt,
        t: 0.0,
    };
    k.initial(&mut inst, &[0.0, 0.0], &mut [], &env).unwrap();
    // LINEAR: kf a = kb b, a + b = 1 -> a = kb/(kf+kb).
    let a0 = kb / (kf + kb);
    assert!(close(k.range(&inst, "a").unwrap()[0], a0, 1e-12));
    // Off equilibrium: a = 1, b = 0, then backward Euler on a' = -kf a + kb b with a + b = 1:
    // a_{n+1} = (a_n + dt kb) / (1 + dt (kf + kb)).
    k.range_mut(&mut inst, "a").unwrap().fill(1.0);
    k.range_mut(&mut inst, "b").unwrap().fill(0.0);
    let mut a = 1.0f64;
    for _ in 0..20 {
        k.advance_states(&mut inst, &[0.0, 0.0], &mut [], &env)
            .unwrap();
        a = (a + dt * kb) / (1.0 + dt * (kf + kb));
    }
    let (ga, gb) = (
        k.range(&inst, "a").unwrap()[1],
        k.range(&inst, "b").unwrap()[1],
    );
    // Newton with a finite-difference Jacobian on a linear system: converged to ~1e-12.
    assert!(close(ga, a, 1e-9), "{ga} vs {a}");
    assert!((ga + gb - 1.0).abs() < 1e-9, "a + b = {}", ga + gb);
}

#[test]
fn at_time_is_one_in_the_step_containing_the_event() {
    // nrnoc's fixed-step at_time(te): 1 when t - dt < te - 1e-11 <= t.
    let src = "NEURON { SUFFIX at RANGE a }\nASSIGNED { a }\nBREAKPOINT { a = at_time(1) }\n";
    let m = analyse(&parse("at.mod", src).unwrap()).unwrap();
    let c = CompiledMechanism::compile(&m).unwrap();
    let mut inst = c.instantiate(1);
    let dt = 0.025;
    let mut hits = Vec::new();
    for k in 0..80 {
        let env = Env {
            celsius: 6.3,
            dt,
            t: k as f64 * dt,
        };
        c.breakpoint_current(&mut inst, &[0.0], &mut [], &env)
            .unwrap();
        if c.range(&inst, "a").unwrap()[0] == 1.0 {
            hits.push(k);
        }
    }
    assert_eq!(hits, vec![40]);
}
