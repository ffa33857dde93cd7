//! Raster speed: `bmtool plot raster --save-file raster.png` as a whole process (config load,
//! spikes read, per-group counts, PNG written), median of 5, on the networks that
//! `../shared/bench/make_big_network.py` writes (see the header of benches/network.rs; the big
//! one has 2M spikes in output/spikes.h5). The Python reference in ../shared/README.md is bmtool's
//! raster PNG on the medium network: 0.33 s of work plus 1.2 s of imports.
//!
//! Run with `cargo build --release && cargo bench --bench raster`.

use std::path::PathBuf;
use std::time::Instant;

use bmtool::network::firing::{raster, RasterOptions};
use bmtool::sonata::{read_spikes, Circuit};

const PYTHON_WORK_S: f64 = 0.33;
const PYTHON_IMPORTS_S: f64 = 1.2;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let base = std::env::var_os("BMTOOL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/bmtool-bench"));
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/bmtool");
    if !bin.exists() {
        eprintln!("*** SKIPPED: build the release binary first (cargo build --release) ***");
        return;
    }
    let out_dir = tempfile::tempdir().expect("temporary folder");
    println!(
        "{:<8} {:>9} {:>12} {:>12} {:>14} {:>12}",
        "network", "spikes", "read+count", "whole CLI", "Python work", "Python total"
    );
    for size in ["medium", "big"] {
        let config = base.join(size).join("simulation_config.json");
        if !config.exists() {
            eprintln!("*** SKIPPED {size}: {} not found ***", config.display());
            continue;
        }
        let circuit = Circuit::load(&config).expect("load");
        let spikes = circuit
            .config
            .output_file("spikes_file")
            .expect("spikes_file");
        let opts = RasterOptions {
            population: None,
            group_by: "pop_name".into(),
            tstart_ms: None,
            tstop_ms: None,
        };
        let mut n = 0;
        let counted = median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let r = raster(
                        &circuit,
                        read_spikes(&spikes).expect("spikes"),
                        &spikes,
                        &opts,
                    )
                    .expect("raster");
                    n = r.time_ms.len();
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let png = out_dir.path().join(format!("{size}.png"));
        let whole = median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let out = std::process::Command::new(&bin)
                        .args(["plot", "--config"])
                        .arg(&config)
                        .args(["raster", "--force", "--save-file"])
                        .arg(&png)
                        .output()
                        .expect("run bmtool");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let python = if size == "medium" {
            (
                format!("{PYTHON_WORK_S:.2} s"),
                format!("{:.2} s", PYTHON_WORK_S + PYTHON_IMPORTS_S),
            )
        } else {
            ("not measured".into(), "".into())
        };
        println!(
            "{size:<8} {n:>9} {:>10.3} s {:>10.3} s {:>14} {:>12}",
            counted, whole, python.0, python.1
        );
    }
}
