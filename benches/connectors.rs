//! Network building speed and memory: 50 000 point cells in a 1000 × 1000 × 200 µm box wired
//! by a distance-dependent unidirectional connector (Gaussian drop-off, pmax 0.1, stdev 100 µm,
//! cut at 250 µm; about 9.7 M edges), then written as a BMTK model directory. Prints the build
//! and write times, CPU time and the peak resident memory (which must stay under 2 GB: the
//! connectors and writer keep flat id columns, never a struct per edge).
//!
//! Against bmtk: bmtk's `NetworkBuilder` cannot build this size in reasonable time (one Python
//! rule call per pair: 2.5 × 10⁹ calls), so it was timed on a scaled-down case with the same
//! density and connector (`SCALED_N` cells in a box scaled in x and y), with bmtk 1.2.0 on this
//! 2-core machine; the bench builds that same case too and prints both. The bmtk script is
//! reproduced at the end of this file.
//!
//! Run: `cargo bench --bench connectors` (set BMTOOL_BENCH_N to change the cell count).
//!
//! Last run (2026-11-26, 2 cores shared with other jobs, load average about 7):
//!   scaled case, 2000 cells: ours 0.31 s (177 656 edges), bmtk 32.1 s (177 899 edges): ~100x
//!   50 000 cells, 9 668 769 edges: build 25.3 s wall (14.1 s CPU), write 12.8 s (7.8 s CPU),
//!   peak memory 703 MiB; bmtk extrapolated by time per pair: about 5.6 h. Wall times swing
//!   with the machine's load (the same build took 6.4 s in a quieter moment); CPU is steadier.

use std::path::Path;
use std::time::Instant;

use bmtool::network::connectors::model_dir::write_model_dir;
use bmtool::network::connectors::{build_network, Spec};

/// The scaled-down case bmtk was timed on, and what it took (2026-11-26, bmtk 1.2.0, Python
/// 3.11, numpy 2; the machine was shared with other jobs, load average about 6 on 2 cores):
/// build 29.7 s + save 2.4 s, peak memory 222 MiB.
const SCALED_N: usize = 2000;
const BMTK_SCALED_SECONDS: f64 = 32.1;
const BMTK_SCALED_EDGES: u64 = 177_899;

/// A spec for `n` cells at 2.5e-4 cells/µm³ in a box 200 µm deep.
fn spec(n: usize) -> Spec {
    let side = (n as f64 / 2.5e-4 / 200.0).sqrt();
    let text = format!(
        r#"
[[nodes]]
network = "cortex"
pop_name = "PN"
N = {n}
model_type = "point_neuron"
positions = {{ shape = "box", min = [0, 0, 0], max = [{side}, {side}, 200] }}
[[edges]]
source = {{ network = "cortex" }}
target = {{ network = "cortex" }}
syn_weight = 0.01
delay = 1.0
connector = {{ type = "unidirection", p = {{ function = "gaussian", pmax = 0.1, stdev = 100.0, max_dist = 250.0 }} }}
"#
    );
    Spec::from_toml(&text, Path::new("bench.toml")).expect("the bench spec is valid")
}

/// (peak resident MiB, CPU seconds) of this process so far (Linux).
fn usage() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: utime and stime are fields 14 and 15 (clock ticks, 100/s).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |k: usize| {
        fields
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (peak, (ticks(11) + ticks(12)) / 100.0)
}

/// Build and write `n` cells; returns (edges, build s, write s, build CPU s, write CPU s).
fn run(n: usize, dir: &Path) -> (u64, f64, f64, f64, f64) {
    let spec = spec(n);
    let (_, cpu0) = usage();
    let t0 = Instant::now();
    let built = build_network(&spec, 1).expect("build");
    let build_s = t0.elapsed().as_secs_f64();
    let (_, cpu1) = usage();
    let edges = built.reports[0].edges;
    let t1 = Instant::now();
    write_model_dir(built, dir, true).expect("write");
    let (_, cpu2) = usage();
    (
        edges,
        build_s,
        t1.elapsed().as_secs_f64(),
        cpu1 - cpu0,
        cpu2 - cpu1,
    )
}

fn main() {
    let n: usize = std::env::var("BMTOOL_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let tmp = std::env::temp_dir().join(format!("bmtool-connectors-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp folder");

    let (e_small, b_small, w_small, _, _) = run(SCALED_N, &tmp.join("scaled"));
    println!(
        "scaled case, {SCALED_N} cells: ours {:.3} s ({e_small} edges: build {b_small:.3} s, write {w_small:.3} s); \
         bmtk NetworkBuilder {BMTK_SCALED_SECONDS:.1} s ({BMTK_SCALED_EDGES} edges) -> {:.0}x",
        b_small + w_small,
        BMTK_SCALED_SECONDS / (b_small + w_small)
    );

    let (edges, build_s, write_s, build_cpu, write_cpu) = run(n, &tmp.join("big"));
    let (peak_mib, _) = usage();
    println!(
        "{n} cells, {edges} edges: build {build_s:.1} s (CPU {build_cpu:.1} s), write {write_s:.1} s \
         (CPU {write_cpu:.1} s), total {:.1} s wall, peak memory {peak_mib:.0} MiB",
        build_s + write_s
    );
    // bmtk's time per candidate pair on the scaled case, times the pairs of this case.
    let pairs_scaled = (SCALED_N * SCALED_N) as f64;
    let bmtk_extrapolated = BMTK_SCALED_SECONDS / pairs_scaled * (n * n) as f64;
    println!(
        "bmtk extrapolated to {n} cells (time per pair x pairs): {:.0} s ({:.1} h)",
        bmtk_extrapolated,
        bmtk_extrapolated / 3600.0
    );
    if peak_mib > 2048.0 {
        println!("*** peak memory above 2 GB ***");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

// The bmtk script (run as `python bmtk_build.py 2000 OUTDIR`):
//
// import sys, time, resource
// import numpy as np
// from bmtk.builder import NetworkBuilder
// N = int(sys.argv[1]); side = (N / 2.5e-4 / 200.0) ** 0.5
// rng = np.random.default_rng(1)
// pos = np.column_stack([rng.uniform(0, side, N), rng.uniform(0, side, N), rng.uniform(0, 200, N)])
// def rule(src, trg):
//     if src.node_id == trg.node_id:
//         return 0
//     r = np.linalg.norm(np.asarray(src['positions']) - np.asarray(trg['positions']))
//     p = 0.1 * np.exp(-r * r / (2 * 100.0 ** 2)) if r <= 250 else 0.0
//     return 1 if rng.random() < p else 0
// t0 = time.time()
// net = NetworkBuilder('cortex')
// net.add_nodes(N=N, pop_name='PN', model_type='point_neuron', positions=pos)
// net.add_edges(source=net.nodes(), target=net.nodes(), connection_rule=rule,
//               iterator='one_to_one', syn_weight=0.01, delay=1.0)
// net.build()
// t1 = time.time()
// net.save(sys.argv[2])
// print(time.time() - t0, net.nedges)
