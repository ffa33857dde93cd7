//! The HOC loader never panics or hangs on damaged input: every reference HOC file of
//! ../shared/cells, with one character deleted or the text cut at 60 places each, loads or
//! fails with an ordinary error (the interpreter thread turns a panic into an "internal error",
//! which this test rejects).

mod common;

use bmtool::cell::hoc::{load_cell, template_names, HocSource, LoadOptions};
use bmtool::cell::mechanism::folder::CellMechanisms;

const FILES: [&str; 4] = [
    "cells/wb_rtm/cell_templates.hoc",
    "cells/bmtool_tutorial/templates.hoc",
    "cells/amygdala_feng/feng.hoc",
    "cells/ballstick_hh/ballstick.hoc",
];

#[test]
fn damaged_reference_files_give_errors_not_panics() {
    let Some(shared) = common::shared_or_skip("damaged_reference_files_give_errors_not_panics")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mechanisms = CellMechanisms::builtins();
    let mut variants = 0;
    for file in FILES {
        let text = std::fs::read_to_string(shared.join(file)).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let step = (chars.len() / 60).max(1);
        for cut in (0..chars.len()).step_by(step) {
            let deleted: String = chars[..cut].iter().chain(&chars[cut + 1..]).collect();
            let truncated: String = chars[..cut].iter().collect();
            for damaged in [deleted, truncated] {
                let path = dir.path().join("damaged.hoc");
                std::fs::write(&path, damaged).unwrap();
                let files = [path];
                let source = HocSource {
                    files: &files,
                    mechanisms: &mechanisms,
                };
                let names = match template_names(source) {
                    Ok(names) => names,
                    Err(e) => {
                        assert!(
                            !e.to_string().contains("internal error"),
                            "{file} cut {cut}: {e}"
                        );
                        continue;
                    }
                };
                for name in names {
                    if let Err(e) = load_cell(source, &name, LoadOptions::default()) {
                        assert!(
                            !e.to_string().contains("internal error"),
                            "{file} cut {cut}: {e}"
                        );
                    }
                }
                variants += 1;
            }
        }
    }
    assert!(variants > 100, "only {variants} variants parsed");
}
