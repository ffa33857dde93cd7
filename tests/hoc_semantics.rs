//! The HOC interpreter on fixtures we wrote (fixtures/hoc/): every semantic of
//! ../shared/docs/cells.md section 2.2, with expected values stated in the fixture's comments
//! (known by how it was written), and the error cases: one `file:line: message` line, exit 2,
//! never a panic or a hang.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bmtool::cell::hoc::{load_cell, HocError, HocSource, LoadOptions, LoadedCell};
use bmtool::cell::mechanism::folder::CellMechanisms;
use bmtool::cell::morphology::RangeValue;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hoc")
        .join(name)
}

fn load(file: &str, template: &str) -> Result<LoadedCell, HocError> {
    let mechanisms = CellMechanisms::builtins();
    let files = [fixture(file)];
    let source = HocSource {
        files: &files,
        mechanisms: &mechanisms,
    };
    load_cell(source, template, LoadOptions::default())
}

fn semantics() -> LoadedCell {
    load("semantics.hoc", "Semantics").unwrap_or_else(|e| panic!("{e}"))
}

fn section<'a>(cell: &'a LoadedCell, name: &str) -> &'a bmtool::cell::morphology::Section {
    let id = cell
        .section(name)
        .unwrap_or_else(|| panic!("no section {name}"));
    &cell.model.sections[id.0]
}

fn value(cell: &LoadedCell, name: &str, mechanism: &str, variable: &str) -> RangeValue {
    section(cell, name)
        .mechanism(mechanism)
        .and_then(|m| m.value(variable))
        .cloned()
        .unwrap_or_else(|| panic!("{name} {variable}_{mechanism} not set"))
}

#[test]
fn template_body_runs_once_and_instance_variables_start_at_zero() {
    let cell = semantics();
    let names: Vec<&str> = cell
        .model
        .sections
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Semantics[0].soma[0]",
            "Semantics[0].dend[0]",
            "Semantics[0].s[0]",
            "Semantics[0].s[1]",
            "Semantics[0].s[2]"
        ]
    );
    assert_eq!(section(&cell, "s[0]").length_um, 10.0, "n reads 0 in init");
}

#[test]
fn forall_covers_only_the_objects_sections() {
    assert_eq!(section(&semantics(), "s[1]").nseg, 5);
}

#[test]
fn range_assignment_without_x_sets_the_whole_section() {
    let cell = semantics();
    let g = value(&cell, "dend[0]", "pas", "g");
    let last_x = 5.0 / 6.0;
    assert_eq!(
        g,
        RangeValue::PerSegment(vec![0.001 * last_x, 0.001 * last_x, 0.002])
    );
    let e = value(&cell, "dend[0]", "pas", "e");
    assert_eq!(e.at(0), -60.0 - 30.0 / 6.0);
    assert_eq!(e.at(1), -60.0 - 30.0 * 0.5);
    assert_eq!(e.at(2), -60.0 - 30.0 * last_x);
}

#[test]
fn statements_share_lines_and_section_prefixes_take_every_form() {
    let cell = semantics();
    let soma = section(&cell, "soma[0]");
    assert_eq!((soma.length_um, soma.diam_um, soma.nseg), (20.0, 20.0, 1));
    assert_eq!(
        value(&cell, "soma[0]", "hh", "gnabar"),
        RangeValue::Uniform(0.2)
    );
    assert_eq!(
        value(&cell, "soma[0]", "hh", "gkbar"),
        RangeValue::Uniform(0.01)
    );
    let ena = soma.ion_values.iter().find(|(n, _)| n == "ena").unwrap();
    assert_eq!(ena.1, RangeValue::Uniform(60.0));
    assert_eq!(soma.ra_ohm_cm, 123.0, "strcmp, issection and else");
}

#[test]
fn object_variables_globals_procedures_and_objects() {
    let cell = semantics();
    assert_eq!(
        cell.model.celsius_degc, 22.0,
        "celsius set in a template is global"
    );
    let s2 = section(&cell, "s[2]");
    assert_eq!(
        value(&cell, "s[2]", "pas", "g"),
        RangeValue::Uniform(0.0004)
    );
    assert_eq!(value(&cell, "s[2]", "pas", "e"), RangeValue::Uniform(70.0));
    assert_eq!(s2.cm_uf_cm2, RangeValue::Uniform(2.0));
    assert!(
        (s2.length() - 5.0).abs() < 1e-6,
        "pt3d length {}",
        s2.length()
    );
    let s1 = section(&cell, "s[1]");
    assert!((s1.diam_um - 1.6).abs() < 1e-12, "distance: {}", s1.diam_um);
    assert_eq!(s1.length_um, 10.0, "func with local and for i = a, b");
    assert_eq!(
        s1.ra_ohm_cm, 200.0,
        "obfunc returning a template from a sibling file"
    );
    assert_eq!(section(&cell, "s[0]").cm_uf_cm2, RangeValue::Uniform(3.0));
    assert_eq!(
        section(&cell, "dend[0]").ra_ohm_cm,
        50.0,
        "access and ismembrane"
    );
    let clamp = &cell.model.point_processes[0];
    assert_eq!(clamp.mechanism, "IClamp");
    assert_eq!(
        clamp.values,
        vec![
            ("amp".into(), 0.25),
            ("del".into(), 5.0),
            ("dur".into(), 2.0)
        ]
    );
    assert_eq!(cell.spike_sources.len(), 1);
    assert_eq!(cell.spike_sources[0].threshold_mv, -20.0);
    assert_eq!(
        cell.spike_sources[0].section,
        cell.section("soma[0]").unwrap()
    );
    let dend = cell.section("dend[0]").unwrap();
    let s0 = &cell.model.sections[cell.section("s[0]").unwrap().0];
    assert_eq!(s0.parent.map(|c| (c.parent, c.parent_x)), Some((dend, 1.0)));
}

// ----- errors ------------------------------------------------------------------------------

/// Run the binary on an error fixture; returns (exit code, stderr).
fn run_cli(file: &str, extra: &[&str]) -> (i32, String) {
    let path = fixture(&format!("errors/{file}"));
    let output = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["util", "cell", "--hoc"])
        .arg(&path)
        .args(extra)
        .arg("info")
        .output()
        .expect("bmtool runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn expect_error(file: &str, line: usize, words: &[&str]) {
    let (code, stderr) = run_cli(file, &[]);
    assert_eq!(code, 2, "{file}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{file}: one line, got {stderr}");
    let location = format!("errors/{file}:{line}: ");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(&location),
        "{file}: {stderr}"
    );
    for word in words {
        assert!(
            stderr.contains(word),
            "{file}: '{word}' missing in {stderr}"
        );
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    expect_error("syntax.hoc", 4, &["unexpected '}'"]);
}

#[test]
fn unknown_mechanism_names_it_and_the_folder() {
    let (code, stderr) = run_cli("unknown_mechanism.hoc", &["--mod-folder", "fixtures/hoc"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown_mechanism.hoc:4: unknown mechanism nosuchchannel"),
        "{stderr}"
    );
    assert!(stderr.contains("fixtures/hoc"), "{stderr}");
}

#[test]
fn nseg_zero_negative_diam_and_loops_are_errors() {
    expect_error("nseg_zero.hoc", 4, &["nseg must be 1..32767, got 0"]);
    expect_error("negative_diam.hoc", 4, &["diam must be > 0"]);
    expect_error("loop.hoc", 5, &["loop"]);
    expect_error(
        "undefined_variable.hoc",
        4,
        &["undefined variable no_such_variable"],
    );
}

#[test]
fn runaway_code_stops_with_an_error() {
    expect_error("endless_loop.hoc", 4, &["endless loop"]);
    expect_error("endless_recursion.hoc", 4, &["nested deeper"]);
}

#[test]
fn unknown_template_lists_the_templates_found() {
    let (code, stderr) = run_cli("two_templates.hoc", &["--template", "C"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no template C") && stderr.contains("templates found: A, B"),
        "{stderr}"
    );
}

#[test]
fn several_templates_without_a_terminal_is_an_error_listing_them() {
    let (code, stderr) = run_cli("two_templates.hoc", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("2 templates found (A, B); choose one with --template NAME"),
        "{stderr}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.hoc");
    let source = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    std::fs::write(&path, source).unwrap();
    let mechanisms = CellMechanisms::builtins();
    let files = [path];
    let source = HocSource {
        files: &files,
        mechanisms: &mechanisms,
    };
    let error = load_cell(source, "T", LoadOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("deep.hoc:1: nesting deeper than"),
        "{error}"
    );
}

#[test]
fn list_prints_each_template_with_sections_and_compartments() {
    let output = Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(["util", "cell", "list", "--hoc"])
        .arg(fixture("semantics.hoc"))
        .output()
        .expect("bmtool runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(row("Semantics ").unwrap()[..3], ["Semantics", "5", "11"]);
    assert_eq!(row("Other").unwrap()[..3], ["Other", "1", "1"]);
}

// ----- cell selection ----------------------------------------------------------------------

fn bmtool(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bmtool"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bmtool runs")
}

#[test]
fn hoc_folder_loads_each_file_once_and_info_json_has_the_sections() {
    let output = bmtool(&[
        "util",
        "cell",
        "--hoc-folder",
        "fixtures/hoc",
        "--template",
        "Semantics",
        "info",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(info["template"], "Semantics");
    assert_eq!(info["n_sections"], 5);
    assert_eq!(info["total_nseg"], 11);
    let dend = &info["sections"][1];
    assert_eq!(dend["name"], "Semantics[0].dend[0]");
    assert_eq!(dend["parent"], "Semantics[0].soma[0]");
    assert_eq!(dend["segments"][2]["mechs"]["pas"]["g"], 0.002);
    assert_eq!(info["sections"][0]["segments"][0]["ions"]["ena"], 60.0);
}

#[test]
fn config_components_name_the_templates_and_mechanisms() {
    let dir = tempfile::tempdir().unwrap();
    let hoc = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hoc");
    let config = serde_json::json!({
        "manifest": {"$COMPONENTS_DIR": hoc.display().to_string()},
        "components": {"templates_dir": "$COMPONENTS_DIR"}
    });
    let path = dir.path().join("simulation_config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let output = bmtool(&["util", "cell", "list", "--config", path.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for template in ["Other", "Semantics", "Helper"] {
        assert!(stdout.contains(template), "{template} missing in {stdout}");
    }
}

#[test]
fn two_cell_sources_are_an_error() {
    let output = bmtool(&[
        "util",
        "cell",
        "--hoc",
        "fixtures/hoc/semantics.hoc",
        "--hoc-folder",
        "fixtures/hoc",
        "list",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only one of"));
}

#[test]
fn a_mechanism_that_cannot_run_is_named_with_the_reason() {
    let Some(shared) =
        common::shared_or_skip("a_mechanism_that_cannot_run_is_named_with_the_reason")
    else {
        return;
    };
    let mod_folder = shared.join("cells/bmtool_tutorial/modfiles");
    let (code, stderr) = run_cli(
        "parse_only_point_process.hoc",
        &["--mod-folder", mod_folder.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("parse_only_point_process.hoc:5: Gfluct2 is not a template or mechanism")
            && stderr.contains("in the mod folder but cannot run"),
        "{stderr}"
    );
}
