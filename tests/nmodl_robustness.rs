//! Never panic on any input: mutated copies of the real mod files (bytes deleted, duplicated,
//! swapped, truncated) go through parse, analysis, compilation and, when they compile, a few
//! steps of every entry point. Errors are fine; panics and hangs are not.
use bmtool::cell::nmodl::{parser::parse, sema::analyse, CompiledMechanism, Env, IonColumns};
use std::path::Path;

/// xorshift64: deterministic mutations, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(src: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut s = src.to_vec();
    for _ in 0..1 + rng.below(4) {
        if s.is_empty() {
            break;
        }
        let at = rng.below(s.len());
        let len = 1 + rng.below(40).min(s.len() - at - 1);
        match rng.below(5) {
            0 => {
                s.drain(at..at + len);
            }
            1 => {
                let piece: Vec<u8> = s[at..at + len].to_vec();
                let to = rng.below(s.len());
                s.splice(to..to, piece);
            }
            2 => s.truncate(at),
            3 => s[at] = b"{}()=':-+*/^<>~,\n0e.x"[rng.below(21)],
            _ => {
                let to = rng.below(s.len());
                s.swap(at, to);
            }
        }
    }
    s
}

fn exercise(text: &str) {
    let Ok(ast) = parse("fuzz.mod", text) else {
        return;
    };
    let Ok(m) = analyse(&ast) else { return };
    let Ok(c) = CompiledMechanism::compile(&m) else {
        return;
    };
    let n = 2;
    let mut inst = c.instantiate(n);
    let mut store: Vec<[Vec<f64>; 4]> = c
        .ions()
        .iter()
        .map(|_| [vec![1.0; n], vec![0.0; n], vec![1.0; n], vec![2.0; n]])
        .collect();
    let mut cols: Vec<IonColumns<'_>> = store
        .iter_mut()
        .map(|[e, i, ci, co]| IonColumns { e, i, ci, co })
        .collect();
    let env = Env {
        celsius: 6.3,
        dt: 0.025,
        t: 0.0,
    };
    let v = [-65.0, 0.0];
    let _ = c.initial(&mut inst, &v, &mut cols, &env);
    let _ = c.current_and_conductance(&mut inst, &v, &mut cols, &env);
    let _ = c.advance_states(&mut inst, &v, &mut cols, &env);
    let _ = c.net_receive(&mut inst, 0, &[1.0], -65.0, &env);
}

#[test]
fn mutated_real_files_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources: Vec<Vec<u8>> = Vec::new();
    let shared = root.join("../shared/cells");
    if shared.is_dir() {
        for cell in std::fs::read_dir(&shared).unwrap().flatten() {
            let dir = cell.path().join("modfiles");
            for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                sources.push(std::fs::read(f.path()).unwrap());
            }
        }
    } else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"\n*** SKIPPED: ../shared not found (fuzzing the fixtures only) ***\n",
        );
    }
    for f in std::fs::read_dir(root.join("fixtures/nmodl"))
        .unwrap()
        .flatten()
    {
        if f.path().extension().is_some_and(|e| e == "mod") {
            sources.push(std::fs::read(f.path()).unwrap());
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0;
    for src in &sources {
        for _ in 0..400 {
            let m = mutate(src, &mut rng);
            exercise(&String::from_utf8_lossy(&m));
            cases += 1;
        }
    }
    eprintln!("{cases} mutated files survived");
}
