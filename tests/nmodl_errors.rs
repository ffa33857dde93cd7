//! Error messages: one line with file:line[:col], for syntax errors, unknown names, duplicate
//! mechanism names, undefined ions, recursion and unsupported blocks; and no panic on garbage.
use bmtool::cell::nmodl::{
    parser::parse, sema::analyse, Catalogue, CompiledMechanism, Env, NmodlError,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/nmodl")
        .join(name)
}

fn load(name: &str) -> Result<CompiledMechanism, NmodlError> {
    let p = fixture(name);
    let src = std::fs::read_to_string(&p).unwrap();
    let m = analyse(&parse(&p.display().to_string(), &src)?)?;
    CompiledMechanism::compile(&m)
}

#[test]
fn syntax_error_names_file_line_col() {
    let e = load("syntax_error.mod").unwrap_err().to_string();
    // `g = (1 + 2` then `}` on line 5 col 1.
    assert!(e.contains("syntax_error.mod:5:1: syntax error"), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn unknown_name_is_located() {
    let e = load("unknown_name.mod").unwrap_err();
    assert!(matches!(e, NmodlError::UnknownName { .. }), "{e}");
    assert!(
        e.to_string()
            .ends_with("unknown_name.mod:5:16: unknown name erev"),
        "{e}"
    );
}

#[test]
fn duplicate_suffix_names_both_files() {
    let e = Catalogue::load_dir(fixture("dup")).unwrap_err().to_string();
    assert!(
        e.contains("a.mod") && e.contains("b.mod") && e.contains("same"),
        "{e}"
    );
}

#[test]
fn ion_without_valence_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("badion.mod"), dir.path().join("badion.mod")).unwrap();
    let e = Catalogue::load_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("badion.mod") && e.contains("USEION xyz"), "{e}");
}

#[test]
fn recursion_is_refused_not_overflowed() {
    let e = load("recursive.mod").unwrap_err().to_string();
    assert!(e.contains("recursive call of f"), "{e}");
}

#[test]
fn unsupported_block_names_file_and_block() {
    let src = "NEURON { SUFFIX kin }\nSTATE { a b }\nBREAKPOINT { SOLVE scheme METHOD sparse }\n\
               KINETIC scheme { COMPARTMENT 2 { a b }\n ~ a <-> b (1, 2) }\n";
    let m = analyse(&parse("kin.mod", src).unwrap()).unwrap();
    let e = CompiledMechanism::compile(&m).unwrap_err().to_string();
    assert!(
        e.starts_with("kin.mod:4: unsupported: COMPARTMENT (in DERIVATIVE scheme)"),
        "{e}"
    );
    let src = "NEURON { SUFFIX ev }\nINITIAL { net_send(0, 1) }\n";
    let m = analyse(&parse("ev.mod", src).unwrap()).unwrap();
    let e = CompiledMechanism::compile(&m).unwrap_err().to_string();
    assert!(
        e.starts_with("ev.mod:2: unsupported: call to net_send (in INITIAL)"),
        "{e}"
    );
    let src = "NEURON { SUFFIX vb }\nINITIAL { foo() }\nPROCEDURE foo() {\nVERBATIM\nreturn 0;\nENDVERBATIM\n}\n";
    let m = analyse(&parse("vb.mod", src).unwrap()).unwrap();
    let e = CompiledMechanism::compile(&m).unwrap_err().to_string();
    assert!(
        e.starts_with("vb.mod:4: unsupported: VERBATIM (in INITIAL <- PROCEDURE foo)"),
        "{e}"
    );
}

#[test]
fn garbage_and_deep_nesting_do_not_panic() {
    let deep = format!(
        "NEURON {{ SUFFIX d }}\nASSIGNED {{ a }}\nINITIAL {{ a = {}1{} }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(parse("deep.mod", &deep).is_err());
    let deep_if = format!("INITIAL {{ {} }}", "if (1) {".repeat(5000));
    assert!(parse("deepif.mod", &deep_if).is_err());
    for src in [
        "",
        "}",
        "NEURON {",
        "COMMENT",
        "VERBATIM x",
        "PARAMETER { a = }",
        "UNITS { (mV) = }",
        "\u{0}\u{1}é",
        "FUNCTION f(",
        "x' = 1",
        "BREAKPOINT { a = 1 (",
        "NEURON { USEION }",
    ] {
        let _ = parse("g.mod", src).and_then(|m| analyse(&m));
    }
}

#[test]
fn branches_and_functions_match_rust() {
    let c = load("branches.mod").unwrap();
    let v = [-90.0, -60.0, -10.0, 10.0, 30.0];
    let mut inst = c.instantiate(v.len());
    c.initial(
        &mut inst,
        &v,
        &mut [],
        &Env {
            celsius: 6.3,
            dt: 0.025,
            t: 0.0,
        },
    )
    .unwrap();
    for (k, &x) in v.iter().enumerate() {
        let (a, b) = if x < -50.0 {
            (if x < -80.0 { 10.0 } else { 20.0 }, 1.0)
        } else if x < 0.0 {
            (30.0, 0.0)
        } else {
            (40.0, -1.0)
        };
        let b2 = |t: bool| if t { 1.0 } else { 0.0 };
        let d = -(2f64.powf(2.0)) + 2f64.powf(3f64.powf(2.0)) + x.max(-60.0) + 1.0 + 2f64.powf(0.5);
        let e = b2(x > 0.0 && x < 20.0) + 10.0 * b2(!(-70.0..=20.0).contains(&x)) + b2(x <= 0.0);
        assert_eq!(c.range(&inst, "a").unwrap()[k], a, "a at {x}");
        assert_eq!(c.range(&inst, "b").unwrap()[k], b, "b at {x}");
        assert_eq!(
            c.range(&inst, "c").unwrap()[k],
            x.abs() * 2.0 + 1.0,
            "c at {x}"
        );
        assert_eq!(c.range(&inst, "d").unwrap()[k], d, "d at {x}");
        assert_eq!(c.range(&inst, "e").unwrap()[k], e, "e at {x}");
    }
}

#[test]
fn function_table_parses_and_refuses_to_run() {
    let src = "NEURON { SUFFIX ft }\nASSIGNED { a }\nFUNCTION_TABLE tau(v (mV)) (ms)\nINITIAL { a = tau(1) }\n";
    let m = analyse(&parse("ft.mod", src).unwrap()).unwrap();
    let e = CompiledMechanism::compile(&m).unwrap_err().to_string();
    assert!(
        e.starts_with("ft.mod:4: unsupported: call to FUNCTION_TABLE tau"),
        "{e}"
    );
}

#[test]
fn deep_call_chains_and_expressions_are_bounded() {
    // 40 FUNCTIONs each calling the next inside 60 parentheses: refused, not a stack overflow.
    let mut src = String::from("NEURON { SUFFIX chain }\nASSIGNED { a }\nINITIAL { a = f0(1) }\n");
    for k in 0..40 {
        src.push_str(&format!(
            "FUNCTION f{k}(x) {{ f{k} = {}f{}(x){} }}\n",
            "(".repeat(60),
            k + 1,
            ")".repeat(60)
        ));
    }
    src.push_str("FUNCTION f40(x) { f40 = x }\n");
    let m = analyse(&parse("chain.mod", &src).unwrap()).unwrap();
    let e = CompiledMechanism::compile(&m).unwrap_err().to_string();
    assert!(e.contains("recursive call"), "{e}");
}

#[test]
fn instances_of_another_mechanism_are_refused() {
    let hh = load("hh.mod").unwrap();
    let lin = load("linear.mod").unwrap();
    let mut other = lin.instantiate(2);
    let env = Env {
        celsius: 6.3,
        dt: 0.025,
        t: 0.0,
    };
    let e = hh
        .advance_states(&mut other, &[0.0, 0.0], &mut [], &env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not created by hh_test"), "{e}");
    assert!(hh.range(&other, "m").is_err());
}

#[test]
fn nan_current_is_reported_with_file_and_line() {
    let src = "NEURON { SUFFIX nanc NONSPECIFIC_CURRENT i RANGE g }\nPARAMETER { g = 0 }\n\
               ASSIGNED { i v }\nBREAKPOINT {\n i = (v - 10)/g\n}\n";
    let m = analyse(&parse("nanc.mod", src).unwrap()).unwrap();
    let c = CompiledMechanism::compile(&m).unwrap();
    let mut inst = c.instantiate(1);
    let env = Env {
        celsius: 6.3,
        dt: 0.025,
        t: 1.5,
    };
    let e = c
        .breakpoint_current(&mut inst, &[10.0], &mut [], &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("nanc.mod:4: BREAKPOINT current of nanc became NaN"),
        "{e}"
    );
}
