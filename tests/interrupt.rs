//! Ctrl-C during a long run: bmtool exits with code 130 and leaves neither the requested output
//! nor a `.partial` temporary in the folder it was writing to.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Send SIGINT to `child` after `delay`, then wait (at most 30 s) for it to end.
fn interrupt(mut child: Child, delay: Duration) -> Option<i32> {
    std::thread::sleep(delay);
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("the kill command runs");
    assert!(sent.success(), "kill -INT failed");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for bmtool") {
            return status.code();
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("bmtool did not stop within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The names of every file left in `dir`.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the folder exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn ctrl_c_during_an_fi_sweep_leaves_no_picture() {
    let work = tempfile::tempdir().unwrap();
    let cell = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cell/templates.hoc");
    // A fine dt and long steps make the sweep last far longer than the delay below.
    let child = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["util", "cell", "--hoc"])
        .arg(&cell)
        .args([
            "fi",
            "--dt",
            "0.001",
            "--tdur",
            "2000",
            "--save-file",
            "out.png",
        ])
        .args(["--trace-csv", "trace.csv"])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = interrupt(child, Duration::from_millis(1500));
    assert_eq!(code, Some(130), "exit code after Ctrl-C");
    let left = files_in(work.path());
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn ctrl_c_during_a_network_build_leaves_no_folder() {
    let work = tempfile::tempdir().unwrap();
    // Enough cells and a distance rule that the build takes a few seconds (about 2.6 s on one
    // core); the signal comes while connecting, while writing, or after the end.
    let spec = r#"
seed = 1
[[nodes]]
network = "net"
pop_name = "PN"
N = 6000
model_type = "point_neuron"
model_template = "nrn:IntFire1"
positions = { shape = "cylinder", center = [0, 0, 0], radius = 400, height = 400 }

[[edges]]
name = "PN-PN"
source = { network = "net", pop_name = "PN" }
target = { network = "net", pop_name = "PN" }
syn_weight = 0.02
delay = 1.0
dynamics_params = "exc.json"
model_template = "exp2syn"
[edges.connector]
type = "unidirection"
p = { function = "gaussian", stdev = 120.0, max_dist = 300.0, ptotal = 0.1 }
"#;
    std::fs::write(work.path().join("spec.toml"), spec).unwrap();
    for delay_ms in [400, 1500, 2300] {
        let _ = std::fs::remove_dir_all(work.path().join("model"));
        let child = Command::new(env!("CARGO_BIN_EXE_bmtool"))
            .args(["connectors", "build", "spec.toml", "--output", "model"])
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let code = interrupt(child, Duration::from_millis(delay_ms));
        let mut left = files_in(work.path());
        left.sort();
        // A build that finished before the signal is complete, never partial.
        let expected = match code {
            Some(0) => vec!["model".to_string(), "spec.toml".to_string()],
            Some(130) => vec!["spec.toml".to_string()],
            other => panic!("exit code {other:?} after Ctrl-C at {delay_ms} ms"),
        };
        assert_eq!(left, expected, "files left after Ctrl-C at {delay_ms} ms");
    }
}
