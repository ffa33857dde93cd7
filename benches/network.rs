//! Connection-matrix speed on large networks, against the Python bmtool 0.8.7 timings recorded in
//! ../shared/README.md (2-core machine, median of 3).
//!
//! Make the networks first (needs `pip install h5py numpy`):
//!   python ../shared/bench/make_big_network.py --size medium --out /tmp/bmtool-bench/medium
//!   python ../shared/bench/make_big_network.py --size big    --out /tmp/bmtool-bench/big
//! then `cargo bench --bench network` (or set BMTOOL_BENCH_DIR to their parent folder).
//!
//! For each measure it prints our wall time (config load + matrix, median of 3), bmtool's, the
//! speed-up, our time over the plain read of source_node_id, target_node_id and edge_type_id
//! (the floor for any tool), and the peak resident memory of the run.

use std::path::PathBuf;
use std::time::Instant;

use bmtool::network::{connection_matrix, MatrixOptions, Measure, PercentMethod, Stat};
use bmtool::sonata::Circuit;

/// bmtool 0.8.7 seconds: total, percent, convergence, divergence (None: not measured).
const BMTOOL_MEDIUM: [Option<f64>; 4] = [Some(3.7), Some(20.4), Some(3.6), Some(6.3)];
const BMTOOL_BIG: [Option<f64>; 4] = [Some(46.0), Some(155.0), Some(34.0), None];

fn main() {
    let base = std::env::var_os("BMTOOL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/bmtool-bench"));
    let mut ran = false;
    for (size, reference) in [("medium", BMTOOL_MEDIUM), ("big", BMTOOL_BIG)] {
        let config = base.join(size).join("simulation_config.json");
        if !config.exists() {
            eprintln!(
                "*** SKIPPED {size}: {} not found (see the header of benches/network.rs) ***",
                config.display()
            );
            continue;
        }
        ran = true;
        bench_size(size, &config, reference);
    }
    if !ran {
        eprintln!(
            "*** no benchmark network found under {} ***",
            base.display()
        );
    }
    bench_startup();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Peak resident memory since the last reset, in MiB (Linux).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn bench_size(size: &str, config: &std::path::Path, reference: [Option<f64>; 4]) {
    let plain = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let c = Circuit::load(config).expect("load");
                for e in &c.edges {
                    std::hint::black_box(e.read_ids(true).expect("read"));
                }
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!(
        "\n{size} network ({}): plain read of the three id columns {plain:.3} s",
        config.display()
    );
    println!(
        "{:<12} {:>9} {:>10} {:>9} {:>10} {:>9}",
        "measure", "ours (s)", "bmtool (s)", "speed-up", "vs read", "peak MiB"
    );
    let opts = MatrixOptions {
        sids: vec!["pop_name".into()],
        tids: vec!["pop_name".into()],
        ..MatrixOptions::default()
    };
    let measures = [
        ("total", Measure::Total { synfo: 0 }),
        ("percent", Measure::Percent(PercentMethod::Total)),
        ("convergence", Measure::Convergence(Stat::Mean)),
        ("divergence", Measure::Divergence(Stat::Mean)),
    ];
    for ((name, measure), bmtool) in measures.into_iter().zip(reference) {
        reset_peak();
        let ours = median(
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    let c = Circuit::load(config).expect("load");
                    std::hint::black_box(connection_matrix(&c, measure, &opts).expect("matrix"));
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let peak = peak_mib();
        let (b, ratio) = match bmtool {
            Some(b) => (format!("{b:.1}"), format!("{:.0}x", b / ours)),
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "{name:<12} {ours:>9.3} {b:>10} {ratio:>9} {:>9.2}x {peak:>9.0}",
            ours / plain
        );
    }
}

/// `bmtool --help`: process start, target under 20 ms.
fn bench_startup() {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/bmtool");
    if !bin.exists() {
        eprintln!(
            "*** SKIPPED start-up: build the release binary first (cargo build --release) ***"
        );
        return;
    }
    let times: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            let _ = std::process::Command::new(&bin).arg("--help").output();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    println!(
        "\nbmtool --help: {:.1} ms (median of 11; Python bmtool about 2200 ms)",
        median(times)
    );
}
