//! A plain result table (named columns, typed cells) rendered as an aligned table, CSV or JSON.
//! Every non-matrix result (spike rates, report statistics, node-type summaries, graph counts,
//! distance probabilities) is turned into one or more of these by its command; this file only
//! formats, it never computes.

use serde_json::{json, Map, Value as Json};

use super::OutputFormat;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number printed with `decimals` places in tables, at full precision in CSV and JSON.
    Float(f64, usize),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    pub fn count(n: usize) -> Self {
        Cell::Int(n as i64)
    }

    /// The cell as a table shows it.
    pub fn shown(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x, _) if x.is_nan() => "nan".into(),
            Cell::Float(x, d) => format!("{x:.d$}", d = *d),
        }
    }

    fn exact(&self) -> String {
        match self {
            Cell::Text(s) => csv_field(s),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x, _) if x.is_nan() => String::new(),
            Cell::Float(x, _) => format!("{x}"),
        }
    }

    fn json(&self) -> Json {
        match self {
            Cell::Text(s) => json!(s),
            Cell::Int(n) => json!(n),
            Cell::Float(x, _) if x.is_finite() => json!(x),
            Cell::Float(..) => Json::Null,
        }
    }
}

/// A titled table; `notes` are printed under it in table form only.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Render in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Table => self.aligned(),
            OutputFormat::Csv => self.csv(),
            OutputFormat::Json => {
                serde_json::to_string_pretty(&self.json()).unwrap_or_default() + "\n"
            }
        }
    }

    fn aligned(&self) -> String {
        let shown: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::shown).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &shown {
            for (k, s) in row.iter().enumerate() {
                if k < widths.len() {
                    widths[k] = widths[k].max(s.chars().count());
                }
            }
        }
        let line = |cells: &[String], numeric: &dyn Fn(usize) -> bool| {
            let mut out = String::new();
            for (k, s) in cells.iter().enumerate() {
                let pad = " ".repeat(
                    widths.get(k).copied().unwrap_or(0)
                        - s.chars().count().min(widths.get(k).copied().unwrap_or(0)),
                );
                if k > 0 {
                    out.push_str("  ");
                }
                if numeric(k) {
                    out.push_str(&pad);
                    out.push_str(s);
                } else {
                    out.push_str(s);
                    out.push_str(&pad);
                }
            }
            out.trim_end().to_string() + "\n"
        };
        let is_numeric = |k: usize| {
            self.rows
                .first()
                .and_then(|r| r.get(k))
                .is_some_and(|c| !matches!(c, Cell::Text(_)))
        };
        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&self.title);
            out.push('\n');
        }
        out.push_str(&line(&self.columns, &is_numeric));
        for row in &shown {
            out.push_str(&line(row, &is_numeric));
        }
        for n in &self.notes {
            out.push_str(n);
            out.push('\n');
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = self
            .columns
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for row in &self.rows {
            out.push_str(&row.iter().map(Cell::exact).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }

    /// `{"title": ..., "rows": [{column: value, ...}, ...]}`.
    pub fn json(&self) -> Json {
        let rows: Vec<Json> = self
            .rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                for (c, v) in self.columns.iter().zip(r) {
                    m.insert(c.clone(), v.json());
                }
                Json::Object(m)
            })
            .collect();
        json!({"title": self.title, "rows": rows})
    }
}

/// Several tables in one output: tables one after another, CSV sections separated by a blank
/// line, or one JSON array.
pub fn render_all(tables: &[Table], format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let all: Vec<Json> = tables.iter().map(Table::json).collect();
            serde_json::to_string_pretty(&all).unwrap_or_default() + "\n"
        }
        _ => tables
            .iter()
            .map(|t| t.render(format))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_three_formats() {
        let mut t = Table::new("Rates", &["group", "cells", "rate_hz"]);
        t.push(vec![
            Cell::text("PN, a"),
            Cell::count(3),
            Cell::Float(1.23456, 2),
        ]);
        assert_eq!(
            t.render(OutputFormat::Csv),
            "group,cells,rate_hz\n\"PN, a\",3,1.23456\n"
        );
        assert!(t
            .render(OutputFormat::Table)
            .contains("PN, a      3     1.23"));
        let j: Json = serde_json::from_str(&t.render(OutputFormat::Json)).unwrap();
        assert_eq!(j["rows"][0]["cells"], 3);
    }
}
