//! Text output for pipelines and people: aligned tables, CSV and JSON renderings of results.
//! Rendering only: the numbers come from `network` (and later `cell`); nothing here computes.

pub mod cell;
pub mod connectors;
pub mod progress;
pub mod protocols;
pub mod table;

use crate::network::Matrix;
pub use table::{Cell, Table};

/// Output formats for numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned table for reading.
    Table,
    /// Comma-separated values (matrices: one row per cell, long format).
    Csv,
    /// JSON with every value at full precision.
    Json,
}

/// The value of one matrix cell as shown in a table or a heat map.
pub fn cell_text(m: &Matrix, r: usize, c: usize) -> String {
    if let Some(notes) = &m.notes {
        return notes[r][c].clone();
    }
    let v = m.values[r][c];
    let main = if m.integer {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    match &m.spread {
        Some(s) => format!("{main}\n±{:.2}", s[r][c]),
        None => main,
    }
}

/// Render a matrix in `format`.
pub fn matrix(m: &Matrix, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => matrix_table(m),
        OutputFormat::Csv => matrix_csv(m),
        OutputFormat::Json => serde_json::to_string_pretty(m).unwrap_or_default() + "\n",
    }
}

fn matrix_table(m: &Matrix) -> String {
    let one_line = |r: usize, c: usize| cell_text(m, r, c).replace('\n', " ");
    let mut columns: Vec<Vec<String>> = Vec::new();
    let mut first = vec!["source \\ target".to_string()];
    first.extend(m.row_labels.iter().cloned());
    columns.push(first);
    for (c, label) in m.col_labels.iter().enumerate() {
        let mut col = vec![label.clone()];
        col.extend((0..m.row_labels.len()).map(|r| one_line(r, c)));
        columns.push(col);
    }
    let widths: Vec<usize> = columns
        .iter()
        .map(|col| col.iter().map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("{}\n", m.title);
    for row in 0..=m.row_labels.len() {
        let mut line = String::new();
        for (k, col) in columns.iter().enumerate() {
            let cell = &col[row];
            let pad = widths[k] - cell.chars().count();
            if k == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

use table::csv_field;

fn matrix_csv(m: &Matrix) -> String {
    let mut out = String::from("source,target,value");
    if m.spread.is_some() {
        out.push_str(",std");
    }
    if m.notes.is_some() {
        out.push_str(",text");
    }
    out.push('\n');
    for (r, source) in m.row_labels.iter().enumerate() {
        for (c, target) in m.col_labels.iter().enumerate() {
            out.push_str(&format!(
                "{},{},{}",
                csv_field(source),
                csv_field(target),
                m.values[r][c]
            ));
            if let Some(s) = &m.spread {
                out.push_str(&format!(",{}", s[r][c]));
            }
            if let Some(n) = &m.notes {
                out.push_str(&format!(",{}", csv_field(&n[r][c])));
            }
            out.push('\n');
        }
    }
    out
}
