//! Text renderings of single-cell descriptions for `bmtool util cell list` and `info`: aligned
//! tables for people, JSON (NEURON's cell_info.json field names) for programs. Rendering only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Cell, OutputFormat, Table};
use crate::cell::info::{CellInfo, SectionInfo};

/// One row of `cell list`: a template and its size, or why it could not be loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateRow {
    /// Template name.
    pub template: String,
    /// Number of sections.
    pub sections: Option<usize>,
    /// Number of compartments (sum of nseg).
    pub compartments: Option<usize>,
    /// The load error, if any.
    pub error: Option<String>,
}

/// `cell list` as a table.
pub fn template_table(rows: &[TemplateRow]) -> String {
    let mut table = Table::new("", &["template", "sections", "compartments", "note"]);
    for row in rows {
        let count = |n: Option<usize>| n.map(Cell::count).unwrap_or_else(|| Cell::text("-"));
        table.push(vec![
            Cell::text(&row.template),
            count(row.sections),
            count(row.compartments),
            Cell::text(row.error.clone().unwrap_or_default()),
        ]);
    }
    table.render(OutputFormat::Table)
}

/// JSON of any serialisable value, pretty-printed with a final newline.
pub fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// `cell info` as text: a section table, then each section's mechanism parameters (one value
/// when uniform over the segments, else one per segment in `for (x, 0)` order).
pub fn info_table(info: &CellInfo) -> String {
    let mut out = format!(
        "{}: {} sections, {} compartments, membrane area {} um2, celsius {} degC, v_init {} mV\n\n",
        info.template,
        info.n_sections,
        info.total_nseg,
        info.total_area_um2,
        info.celsius,
        info.v_init
    );
    let mut table = Table::new(
        "",
        &[
            "section",
            "parent(x)",
            "nseg",
            "L (um)",
            "diam (um)",
            "area (um2)",
            "Ra (ohm cm)",
            "cm (uF/cm2)",
            "mechanisms",
        ],
    );
    for section in &info.sections {
        table.push(section_row(section).into_iter().map(Cell::Text).collect());
    }
    out.push_str(&table.render(OutputFormat::Table));
    for section in &info.sections {
        out.push('\n');
        out.push_str(&section_parameters(section));
    }
    if !info.globals.is_empty() {
        out.push_str("\nglobals set by the template:");
        for (name, value) in &info.globals {
            out.push_str(&format!(" {name}={value}"));
        }
        out.push('\n');
    }
    out
}

fn section_row(section: &SectionInfo) -> Vec<String> {
    let parent = match (&section.parent, section.parent_x) {
        (Some(parent), Some(x)) => format!("{parent}({x})"),
        _ => "-".to_string(),
    };
    let mut mechanisms = section.density_mechs.join(" ");
    for point in &section.point_processes {
        mechanisms.push_str(&format!(" [{point}]"));
    }
    vec![
        section.name.clone(),
        parent,
        section.nseg.to_string(),
        format!("{}", section.length_um),
        format!("{}", section.diam_mean),
        format!("{}", section.area_um2),
        format!("{}", section.ra_ohm_cm),
        format!("{}", section.cm_mean),
        mechanisms.trim().to_string(),
    ]
}

fn section_parameters(section: &SectionInfo) -> String {
    let mut out = format!("{} ({} segments)\n", section.name, section.nseg);
    let per_segment = |values: Vec<f64>| -> String {
        if values
            .windows(2)
            .all(|w| w[0] == w[1] || (w[0].is_nan() && w[1].is_nan()))
        {
            format!("{}", values.first().copied().unwrap_or(f64::NAN))
        } else {
            let shown: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
            format!("[{}]", shown.join(", "))
        }
    };
    let column =
        |get: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..section.segments.len()).map(get).collect() };
    out.push_str(&format!(
        "  area (um2) {}  diam (um) {}  cm {}\n",
        per_segment(column(&|k| section.segments[k].area_um2)),
        per_segment(column(&|k| section.segments[k].diam)),
        per_segment(column(&|k| section.segments[k].cm)),
    ));
    let mut mechanisms: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if let Some(first) = section.segments.first() {
        for (mechanism, values) in &first.mechs {
            mechanisms.insert(mechanism, values.keys().map(String::as_str).collect());
        }
    }
    for (mechanism, variables) in mechanisms {
        let shown: Vec<String> = variables
            .iter()
            .map(|variable| {
                let values = column(&|k| {
                    section.segments[k].mechs[mechanism]
                        .get(*variable)
                        .copied()
                        .unwrap_or(f64::NAN)
                });
                format!("{variable}={}", per_segment(values))
            })
            .collect();
        out.push_str(&format!("  {mechanism}: {}\n", shown.join(" ")));
    }
    if let Some(first) = section.segments.first() {
        if !first.ions.is_empty() {
            let shown: Vec<String> = first
                .ions
                .keys()
                .map(|name| {
                    let values = column(&|k| section.segments[k].ions[name]);
                    format!("{name}={}", per_segment(values))
                })
                .collect();
            out.push_str(&format!("  ions: {}\n", shown.join(" ")));
        }
    }
    out
}
