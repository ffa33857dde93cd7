//! The shipped demo network (examples/demo_net, built by `connectors build` from its spec) works
//! out of the box with the plot commands, before any simulation: `raster` falls back to the
//! Poisson input trains the config names, whose rates the spec sets (thalamus 15 Hz, bg 10 Hz).

use std::process::Command;

#[test]
fn raster_of_an_unsimulated_model_shows_its_inputs() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/demo_net/model/simulation_config.json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["plot", "--config", config, "raster", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("input spike trains"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json[0]["rows"].as_array().unwrap();
    for (group, rate_hz) in [("thal", 15.0), ("bg", 10.0)] {
        let row = rows.iter().find(|r| r["group"] == group).unwrap();
        let rate = row["rate_all_cells_hz"].as_f64().unwrap();
        let cells = row["cells"].as_f64().unwrap();
        // Poisson counts over 1 s: within 4 standard errors of the requested rate.
        let se = (rate_hz / cells).sqrt();
        assert!(
            (rate - rate_hz).abs() < 4.0 * se,
            "{group}: {rate} Hz vs {rate_hz} Hz"
        );
    }
}
