//! Mechanism kernel cost per compartment-step, against NEURON 8.2.4's anchor.
//!
//! Reference (../shared/docs/cells.md section 6): CP_Cell (bmtool_tutorial: nax, kdr, kap, ih,
//! cal, can, cadad, kBK, kdmc + pas on 15 compartments) costs 942 ns per compartment-step in
//! NEURON at dt 0.025, everything included (mechanisms, Hines solve, ~2.4 us/step of HOC loop).
//! Here we time only what this crate owns: for every one of those mechanisms on every
//! compartment (more than CP_Cell has: its dendrites lack the calcium channels), one
//! `current_and_conductance` (two BREAKPOINT evaluations) plus one `advance_states` per step.
//! Run: `cargo bench --bench nmodl`. Prints SKIPPED when ../shared is absent.
//!
//! Measured on this 2-core machine (load average about 1), CPU time, ns per compartment-step
//! for the nine mechanisms (NEURON 8.2.4 by `fixtures/nmodl/neuron_reference/bench_neuron.py`,
//! its pas-only cost subtracted; both sides vary by about 20% between runs under load):
//!
//! | compartments | NEURON 8.2.4 | interpreter, libm exp | interpreter, vectorised exp | machine code (default) |
//! |---|---|---|---|---|
//! | 15   | 720 | 560 | 393 | 286 |
//! | 100  | 672 | 497 | 332 | 210 |
//! | 1000 | 806 | 478 | 303 | 184 |
//!
//! Instances are padded as the solver pads them (none for 1 compartment, 4 or 8 lanes up to 8,
//! else a multiple of 16) so the bytecode runs in fixed-width chunks; times are per real compartment.
use bmtool::cell::nmodl::bytecode::padded_len;
use bmtool::cell::nmodl::{
    Catalogue, CompileOptions, CompiledMechanism, Env, IonColumns, MechanismInstances,
};
use std::path::Path;
use std::time::Instant;

const MECHS: &[&str] = &[
    "nax", "kdr", "kap", "ih", "cal", "can", "cadad", "kBK", "kdmc",
];

struct Ion([Vec<f64>; 4]);

fn ion_default(name: &str, n: usize) -> Ion {
    let (e, ci, co) = match name {
        "na" => (50.0, 10.0, 140.0),
        "k" => (-77.0, 54.4, 2.5),
        "ca" => (132.457, 5e-5, 2.0),
        _ => (0.0, 1.0, 1.0),
    };
    Ion([vec![e; n], vec![0.0; n], vec![ci; n], vec![co; n]])
}

/// Runs `f` with the ion columns of `which` (at most two per mechanism here), built on the stack
/// so the timing contains no allocation.
fn with_cols<R>(
    ions: &mut [Ion],
    which: &[usize],
    f: impl FnOnce(&mut [IonColumns<'_>]) -> R,
) -> R {
    fn col(ion: &mut Ion) -> IonColumns<'_> {
        let Ion([e, i, ci, co]) = ion;
        IonColumns { e, i, ci, co }
    }
    match *which {
        [] => f(&mut []),
        [a] => f(&mut [col(&mut ions[a])]),
        [a, b] => {
            let (x, y) = if a < b {
                let (lo, hi) = ions.split_at_mut(b);
                (&mut lo[a], &mut hi[0])
            } else {
                let (lo, hi) = ions.split_at_mut(a);
                (&mut hi[0], &mut lo[b])
            };
            f(&mut [col(x), col(y)])
        }
        _ => panic!("bench mechanisms use at most two ions"),
    }
}

/// Nanoseconds this thread spent on a CPU (Linux `/proc/thread-self/schedstat`), so that other
/// processes sharing the machine do not inflate the numbers; falls back to wall time.
fn cpu_ns() -> Option<u128> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cells/bmtool_tutorial/modfiles");
    if !dir.is_dir() {
        eprintln!("SKIPPED: ../shared not found");
        return;
    }
    let cat = Catalogue::load_dir(&dir).expect("bmtool_tutorial mod folder loads");
    let interpreted = |fast_exp| CompileOptions {
        fast_exp,
        native: false,
        fused: false,
    };
    for (label, opts) in [
        (
            "libm exp (as NEURON), bytecode interpreter",
            interpreted(false),
        ),
        ("vectorised exp, bytecode interpreter", interpreted(true)),
        (
            "vectorised exp, machine code (the default)",
            CompileOptions::default(),
        ),
    ] {
        println!("{label}");
        run(&cat, opts);
    }
}

fn run(cat: &Catalogue, opts: CompileOptions) {
    let compiled: Vec<CompiledMechanism> = MECHS
        .iter()
        .map(|m| {
            CompiledMechanism::compile_with(cat.get(m).expect("present"), opts).expect("compiles")
        })
        .collect();
    let ion_names = ["na", "k", "ca"];
    let ops: usize = compiled.iter().map(|c| c.op_count()).sum();
    if !opts.fast_exp {
        println!("{} mechanisms, {ops} bytecode ops in total", compiled.len());
        for c in &compiled {
            println!("  {:6} {:?}", c.name(), c.program_stats());
        }
    }
    // `cargo bench --bench nmodl -- 15` times one instance count only.
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let counts: Vec<usize> = match only {
        Some(n) => vec![n],
        None => vec![1, 2, 4, 8, 15, 100, 1000],
    };
    for n in counts {
        // The solver pads every mechanism's instances so the bytecode runs in fixed-width chunks;
        // time what it runs, per real compartment.
        let lanes = padded_len(n);
        let mut ions: Vec<Ion> = ion_names.iter().map(|i| ion_default(i, lanes)).collect();
        let which: Vec<Vec<usize>> = compiled
            .iter()
            .map(|c| {
                c.ions()
                    .iter()
                    .map(|i| {
                        ion_names
                            .iter()
                            .position(|x| *x == i.name)
                            .expect("known ion")
                    })
                    .collect()
            })
            .collect();
        let mut insts: Vec<MechanismInstances> =
            compiled.iter().map(|c| c.instantiate(lanes)).collect();
        let v: Vec<f64> = (0..lanes)
            .map(|k| -70.0 + 40.0 * ((k % n) as f64 / n as f64))
            .collect();
        let mut env = Env {
            celsius: 34.0,
            dt: 0.025,
            t: 0.0,
        };
        for (c, (inst, w)) in compiled.iter().zip(insts.iter_mut().zip(&which)) {
            with_cols(&mut ions, w, |io| c.initial(inst, &v, io, &env)).expect("initial");
        }
        let steps = (2_000_000 / n).clamp(200, 40_000);
        let start = Instant::now();
        let cpu0 = cpu_ns();
        for _ in 0..steps {
            for (c, (inst, w)) in compiled.iter().zip(insts.iter_mut().zip(&which)) {
                with_cols(&mut ions, w, |io| {
                    c.current_and_conductance(inst, &v, io, &env)
                })
                .expect("current");
            }
            for (c, (inst, w)) in compiled.iter().zip(insts.iter_mut().zip(&which)) {
                with_cols(&mut ions, w, |io| c.advance_states(inst, &v, io, &env)).expect("states");
            }
            env.t += env.dt;
        }
        let elapsed = match (cpu0, cpu_ns()) {
            (Some(a), Some(b)) => b - a,
            _ => start.elapsed().as_nanos(),
        };
        let ns = elapsed as f64 / (steps * n) as f64;
        println!(
            "n = {n:5}: {ns:8.1} ns (CPU) per compartment-step for {} mechanisms (NEURON CP_Cell, all included: 942)",
            compiled.len()
        );
    }
}
