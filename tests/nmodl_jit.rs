//! Machine code agrees with the bytecode interpreter bit for bit on every program of every real
//! mechanism: the example cell's and the fixtures' mod files always, the 44 files of
//! ../shared/cells when present (skipped loudly otherwise).
use bmtool::cell::nmodl::bytecode::{Op, Program};
use bmtool::cell::nmodl::jit;
use bmtool::cell::nmodl::Catalogue;
use std::path::{Path, PathBuf};

fn mod_folders() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![
        root.join("examples/cell/modfiles"),
        root.join("fixtures/nmodl"),
    ];
    let shared = root.join("../shared/cells");
    match std::fs::read_dir(&shared) {
        Ok(cells) => {
            let mut dirs: Vec<PathBuf> = cells
                .flatten()
                .map(|e| e.path().join("modfiles"))
                .filter(|p| p.is_dir())
                .collect();
            dirs.sort();
            out.extend(dirs);
        }
        Err(_) => eprintln!(
            "\n*** SKIPPED: ../shared/cells not found; only the repository's mod files ***\n"
        ),
    }
    out
}

/// Values spread over what mechanisms see (voltages, rates, concentrations), plus zeros.
fn fill(buf: &mut [f64], seed: &mut u64) {
    for x in buf.iter_mut() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (*seed >> 11) as f64 / (1u64 << 53) as f64;
        *x = match *seed % 7 {
            0 => 0.0,
            1 => u * 1e-3,
            _ => u * 160.0 - 100.0,
        };
    }
}

/// Columns read by uniform ops: the compiler only makes an op uniform when its inputs (literals,
/// `t`, `dt`, `celsius`, GLOBALs) hold one value in every lane, so the test data does too.
fn uniform_inputs(prog: &Program) -> Vec<usize> {
    let mut out = Vec::new();
    for op in prog.ops() {
        match *op {
            Op::UniformBin { a, b, .. } => out.extend([a as usize, b as usize]),
            Op::UniformUn { a, .. } => out.push(a as usize),
            _ => {}
        }
    }
    out.retain(|&s| s < prog.n_live());
    out
}

fn check(name: &str, entry: &str, prog: &Program, seed: &mut u64) {
    for n in [4, 8, 16, 32] {
        let mut buf = vec![0.0; prog.n_slots() * n];
        fill(&mut buf, seed);
        for s in uniform_inputs(prog) {
            let lane0 = buf[s * n];
            buf[s * n..(s + 1) * n].fill(lane0);
        }
        let mut expect = buf.clone();
        prog.run_interpreted(&mut expect, n);
        prog.run(&mut buf, n);
        for s in 0..prog.n_live() {
            for i in 0..n {
                let (x, y) = (buf[s * n + i], expect[s * n + i]);
                assert!(
                    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                    "{name} {entry}: column {s} lane {i} of {n}: native {x:e}, interpreter {y:e}"
                );
            }
        }
    }
}

#[test]
fn every_mechanism_program_runs_the_same_natively() {
    if !jit::available() {
        eprintln!("\n*** SKIPPED: this CPU has no AVX2; the interpreter runs everything ***\n");
        return;
    }
    let mut seed = 7;
    let mut programs = 0;
    for dir in mod_folders() {
        // One catalogue per file: the fixtures folder also holds deliberately broken files.
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mod"))
            .collect();
        files.sort();
        for file in files {
            let mut cat = Catalogue::default();
            let Ok(src) = std::fs::read_to_string(&file) else {
                continue;
            };
            if cat.add_source(&file, &src).is_err() {
                continue;
            }
            programs += check_catalogue(&cat, &mut seed);
        }
    }
    eprintln!("{programs} programs compared");
    assert!(programs >= 20, "only {programs} programs found");
}

fn check_catalogue(cat: &Catalogue, seed: &mut u64) -> usize {
    let mut programs = 0;
    {
        for name in cat.names() {
            let Some(Ok(mech)) = cat.compile(name) else {
                continue;
            };
            for (entry, prog) in mech.programs() {
                if prog.is_empty() {
                    continue;
                }
                assert!(prog.is_native(), "{name} {entry} was not translated");
                check(name, &entry, prog, seed);
                programs += 1;
            }
        }
    }
    programs
}
