//! Replays the minimised crashers the fuzzers found (`fuzz/regressions/<target>/*`, committed)
//! through the same harness the fuzz targets use (`fuzz/harness.rs`), so every fixed crash,
//! hang or blow-up stays fixed in CI without running a fuzzer. Each input must return (an
//! `Err` is the expected outcome) without a panic, and within [`TIME_LIMIT`]: the fuzzers ran
//! with `-timeout=10`, and a fixed hang now ends in milliseconds, so a generous limit only
//! catches a regression, not a slow machine.
//!
//! How the fuzzers are run and what they found: docs/reliability.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

/// Longest time one regression input may take (release build).
const TIME_LIMIT: Duration = Duration::from_secs(5);

#[test]
fn fuzz_regressions_return_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for target in harness::TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("read regression input");
            let start = Instant::now();
            assert!(harness::run(target, &data), "unknown target {target}");
            let took = start.elapsed();
            assert!(
                took < TIME_LIMIT,
                "{}: took {took:?} (limit {TIME_LIMIT:?})",
                file.display()
            );
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} fuzz regression inputs");
}

/// The harness accepts the seeds a user would give (a smoke test that the replay path reads
/// real inputs, not only crashers).
#[test]
fn harness_accepts_repository_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = [
        ("nmodl_parse", "examples/cell/modfiles/na_demo.mod"),
        ("hoc_parse", "examples/cell/templates.hoc"),
        ("config_read", "examples/tiny_net/simulation_config.json"),
        ("h5_open", "examples/tiny_net/network/cortex_nodes.h5"),
    ];
    for (target, file) in cases {
        let data = std::fs::read(root.join(file)).expect("example input");
        assert!(harness::run(target, &data), "unknown target {target}");
    }
    let swc = b"1 1 0 0 0 5 -1\n2 3 0 5 0 1 1\n3 3 0 10 0 1 2\n";
    assert!(harness::run("swc_read", swc));
}
