//! The connection report of `bmtool connectors build`: per block, requested against realised
//! probabilities (with the standard error of the realised value), the reciprocal fraction and
//! the mean convergence, as a table, CSV or JSON.

use super::OutputFormat;
use crate::network::connectors::{BlockReport, Tally};

/// Render the block reports in `format`.
pub fn block_reports(reports: &[BlockReport], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(reports),
        OutputFormat::Csv => csv(reports),
        OutputFormat::Json => serde_json::to_string_pretty(reports).unwrap_or_default() + "\n",
    }
}

fn prob(x: f64) -> String {
    format!("{x:.4}")
}

fn requested(t: Option<&Tally>) -> String {
    t.map_or("-".into(), |t| prob(t.requested()))
}

fn realised(t: Option<&Tally>) -> String {
    t.map_or("-".into(), |t| {
        format!(
            "{} ±{}",
            prob(t.realised_fraction()),
            prob(t.standard_error())
        )
    })
}

fn table(reports: &[BlockReport]) -> String {
    let header = [
        "block",
        "connector",
        "edges",
        "synapses",
        "p req",
        "p real ±se",
        "p1 req",
        "p1 real ±se",
        "pr req",
        "pr real ±se",
        "recip frac",
        "convergence",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in reports {
        let conv = match r.backward_convergence {
            Some(b) => format!("{:.2} / {:.2}", r.mean_convergence, b),
            None => format!("{:.2}", r.mean_convergence),
        };
        rows.push(vec![
            r.name.clone(),
            r.connector.clone(),
            r.edges.to_string(),
            r.synapses.to_string(),
            requested(r.forward.as_ref()),
            realised(r.forward.as_ref()),
            requested(r.backward.as_ref()),
            realised(r.backward.as_ref()),
            requested(r.reciprocal.as_ref()),
            realised(r.reciprocal.as_ref()),
            r.reciprocal_fraction.map_or("-".into(), prob),
            conv,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("Connection report (p: forward, both directions when recurrent; p1: backward; pr: both ways)\n");
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = " ".repeat(widths[c] - s.chars().count());
                if c == 0 || c == 1 {
                    format!("{s}{pad}")
                } else {
                    format!("{pad}{s}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| v.to_string())
}

fn csv(reports: &[BlockReport]) -> String {
    let mut out = String::from(
        "block,connector,source,target,edges,synapses,pairs,\
         p_requested,p_realised,p_se,p1_requested,p1_realised,p1_se,\
         pr_requested,pr_realised,pr_se,reciprocal_fraction,rho,mean_convergence,backward_convergence\n",
    );
    for r in reports {
        let mut cells = vec![
            csv_field(&r.name),
            r.connector.clone(),
            csv_field(&r.source),
            csv_field(&r.target),
            r.edges.to_string(),
            r.synapses.to_string(),
            r.forward.map_or(String::new(), |t| t.pairs.to_string()),
        ];
        for t in [r.forward, r.backward, r.reciprocal] {
            cells.push(opt(t.map(|t| t.requested())));
            cells.push(opt(t.map(|t| t.realised_fraction())));
            cells.push(opt(t.map(|t| t.standard_error())));
        }
        cells.push(opt(r.reciprocal_fraction));
        cells.push(opt(r.rho));
        cells.push(r.mean_convergence.to_string());
        cells.push(opt(r.backward_convergence));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
