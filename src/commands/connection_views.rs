//! The `plot connection` views that are not one number per group pair: `prob` (probability
//! against distance), `histogram` (connections per target cell), `property-histogram-matrix`
//! and `network-graph` (Graphviz DOT and a drawing).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::cli::plot::{ConnectionArgs, MeasureCommand, PlotArgs};
use crate::network::edge_values::{per_target_counts, property_sets, property_values, PairValues};
use crate::network::probability::{probability_matrix, ProbabilityMatrix};
use crate::plot::graph::GroupGraphFigure;
use crate::plot::histogram::{GridFigure, Panel};
use crate::report::table::render_all;
use crate::report::{Cell, OutputFormat, Table};
use crate::sonata::Circuit;

use super::{print, AppError};

pub fn run(plot_args: &PlotArgs, args: &ConnectionArgs) -> Result<(), AppError> {
    if let Some(path) = &args.save_file {
        crate::plot::Format::of(path)?;
        crate::output::check_destination(path, args.force)?;
    }
    let circuit = Circuit::load(&plot_args.config)?;
    let opts = super::connection::options(args);
    if crate::network::matrix::group_axes(&circuit, &opts)?
        .wanted
        .is_empty()
    {
        eprintln!("note: no edges connect the selected populations");
    }
    match &args.measure {
        MeasureCommand::Prob { axis, bins, line } => {
            let axes = parse_axes(axis)?;
            if *bins == 0 {
                return Err(AppError::Usage("--bins must be at least 1".into()));
            }
            let m = probability_matrix(&circuit, &opts, axes, *bins)?;
            notes(&m.warnings);
            print(&render_all(&[probability_table(&m)], args.format));
            let panels = probability_panels(&m, *line);
            save(args, "Distance Probability Matrix", |title| GridFigure {
                title,
                row_labels: &m.row_labels,
                col_labels: &m.col_labels,
                panels: &panels,
                x_desc: format!("distance along {axis} (µm)"),
                y_desc: "P(connected)".into(),
            })
        }
        MeasureCommand::Histogram {
            source_group,
            target_group,
        } => {
            let counts = per_target_counts(&circuit, &opts, source_group, target_group)?;
            let stats = Stats::of(&counts.iter().map(|c| *c as f64).collect::<Vec<_>>());
            print(&render_all(
                &histogram_tables(&counts, &stats, source_group, target_group),
                args.format,
            ));
            let panels = vec![vec![Some(count_panel(&counts, &stats))]];
            let rows = [source_group.clone()];
            let cols = [target_group.clone()];
            save(
                args,
                &format!("Connections per target cell, {source_group} -> {target_group}"),
                |title| GridFigure {
                    title,
                    row_labels: &rows,
                    col_labels: &cols,
                    panels: &panels,
                    x_desc: "connections received".into(),
                    y_desc: "# of cells".into(),
                },
            )
        }
        MeasureCommand::PropertyHistogramMatrix {
            edge_property,
            bins,
        } => {
            let v = property_values(&circuit, &opts, edge_property)?;
            notes(&v.warnings);
            print(&render_all(
                &[property_table(&v, edge_property)],
                args.format,
            ));
            let panels: Vec<Vec<Option<Panel>>> = v
                .cells
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|vals| value_panel(vals, (*bins).max(1)))
                        .collect()
                })
                .collect();
            save(args, &format!("{edge_property} histograms"), |title| {
                GridFigure {
                    title,
                    row_labels: &v.row_labels,
                    col_labels: &v.col_labels,
                    panels: &panels,
                    x_desc: edge_property.clone(),
                    y_desc: "edges".into(),
                }
            })
        }
        MeasureCommand::NetworkGraph { edge_property, dot } => {
            let sets = property_sets(&circuit, &opts, edge_property)?;
            notes(&sets.warnings);
            let (nodes, edges) = group_graph(&sets);
            let dot_text = to_dot(&nodes, &edges, edge_property);
            if let Some(path) = dot {
                crate::output::write_atomic(path, dot_text.as_bytes(), args.force)?;
                eprintln!("saved {}", path.display());
            }
            match args.format {
                OutputFormat::Table => print(&dot_text),
                f => print(&render_all(&[graph_table(&sets)], f)),
            }
            save(args, "Network Graph", |title| GroupGraphFigure {
                title,
                nodes: &nodes,
                edges: &edges,
            })
        }
        _ => Err(AppError::Internal(
            "a matrix measure reached the connection views".into(),
        )),
    }
}

fn notes(warnings: &[String]) {
    for w in warnings {
        eprintln!("note: {w}");
    }
}

/// Save the figure `make(title)` when --save-file was given.
fn save<F: crate::plot::Figure>(
    args: &ConnectionArgs,
    default_title: &str,
    make: impl FnOnce(String) -> F,
) -> Result<(), AppError> {
    if let Some(path) = &args.save_file {
        let title = args
            .title
            .clone()
            .unwrap_or_else(|| default_title.to_string());
        crate::plot::save(path, &make(title), args.force)?;
        eprintln!("saved {}", path.display());
    }
    Ok(())
}

/// "x,y,z" -> which axes count.
pub fn parse_axes(text: &str) -> Result<[bool; 3], AppError> {
    let mut axes = [false; 3];
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match part {
            "x" => axes[0] = true,
            "y" => axes[1] = true,
            "z" => axes[2] = true,
            other => {
                return Err(AppError::Usage(format!(
                    "--axis: '{other}' is not x, y or z"
                )))
            }
        }
    }
    if axes == [false; 3] {
        return Err(AppError::Usage(
            "--axis needs at least one of x, y, z".into(),
        ));
    }
    Ok(axes)
}

fn probability_table(m: &ProbabilityMatrix) -> Table {
    let mut t = Table::new(
        "Distance Probability Matrix (probability = connections / possible cell pairs per bin; \
         a pair with several edge rows counts each row, as bmtool does)",
        &[
            "source",
            "target",
            "bin_start_um",
            "bin_end_um",
            "connections",
            "pairs",
            "probability",
        ],
    );
    for (r, row) in m.cells.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let Some(h) = cell else { continue };
            let p = h.probability();
            for (b, pb) in p.iter().enumerate() {
                t.push(vec![
                    Cell::text(&m.row_labels[r]),
                    Cell::text(&m.col_labels[c]),
                    Cell::Float(h.edges[b], 2),
                    Cell::Float(h.edges[b + 1], 2),
                    Cell::Int(h.connected[b] as i64),
                    Cell::Int(h.pairs[b] as i64),
                    Cell::Float(*pb, 4),
                ]);
            }
        }
    }
    t
}

fn probability_panels(m: &ProbabilityMatrix, line: bool) -> Vec<Vec<Option<Panel>>> {
    m.cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    cell.as_ref().map(|h| Panel {
                        bars: h
                            .probability()
                            .iter()
                            .enumerate()
                            .map(|(b, p)| (h.edges[b], h.edges[b + 1], *p))
                            .collect(),
                        line,
                        note: None,
                    })
                })
                .collect()
        })
        .collect()
}

/// Mean, sample std (ddof 1), median, min, max.
struct Stats {
    n: usize,
    mean: f64,
    std: f64,
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(v: &[f64]) -> Self {
        let n = v.len();
        if n == 0 {
            return Stats {
                n,
                mean: f64::NAN,
                std: f64::NAN,
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            f64::NAN
        };
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Stats {
            n,
            mean,
            std,
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }
}

fn histogram_tables(counts: &[u32], s: &Stats, source: &str, target: &str) -> Vec<Table> {
    let mut summary = Table::new(
        format!("Connections received per target cell, {source} -> {target} (target cells with at least one)"),
        &["target_cells", "mean", "std", "median", "min", "max"],
    );
    summary.push(vec![
        Cell::count(s.n),
        Cell::Float(s.mean, 2),
        Cell::Float(s.std, 2),
        Cell::Float(s.median, 1),
        Cell::Float(s.min, 0),
        Cell::Float(s.max, 0),
    ]);
    let mut freq = Table::new("Histogram", &["connections", "cells"]);
    let mut per: std::collections::BTreeMap<u32, usize> = Default::default();
    for c in counts {
        *per.entry(*c).or_default() += 1;
    }
    for (k, n) in per {
        freq.push(vec![Cell::Int(k as i64), Cell::count(n)]);
    }
    vec![summary, freq]
}

fn count_panel(counts: &[u32], s: &Stats) -> Panel {
    let mut per: std::collections::BTreeMap<u32, usize> = Default::default();
    for c in counts {
        *per.entry(*c).or_default() += 1;
    }
    Panel {
        bars: per
            .into_iter()
            .map(|(k, n)| (k as f64 - 0.4, k as f64 + 0.4, n as f64))
            .collect(),
        line: false,
        note: Some(format!(
            "mean {:.2} std ({:.2}) median {:.1}",
            s.mean, s.std, s.median
        )),
    }
}

fn property_table(v: &PairValues<Vec<f64>>, property: &str) -> Table {
    let mut t = Table::new(
        format!("Edge property '{property}' per group pair"),
        &["source", "target", "edges", "mean", "std", "min", "max"],
    );
    for (r, row) in v.cells.iter().enumerate() {
        for (c, vals) in row.iter().enumerate() {
            if vals.is_empty() {
                continue;
            }
            let s = Stats::of(vals);
            t.push(vec![
                Cell::text(&v.row_labels[r]),
                Cell::text(&v.col_labels[c]),
                Cell::count(s.n),
                Cell::Float(s.mean, 6),
                Cell::Float(s.std, 6),
                Cell::Float(s.min, 6),
                Cell::Float(s.max, 6),
            ]);
        }
    }
    t
}

fn value_panel(vals: &[f64], bins: usize) -> Option<Panel> {
    if vals.is_empty() {
        return None;
    }
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // One repeated value: a narrow range around it, relative to its size.
    let pad = if lo != 0.0 { lo.abs() * 0.1 } else { 0.5 };
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - pad, hi + pad)
    };
    let mut n = vec![0usize; bins];
    for v in vals {
        let b = (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1);
        n[b] += 1;
    }
    let w = (hi - lo) / bins as f64;
    Some(Panel {
        bars: (0..bins)
            .map(|b| (lo + w * b as f64, lo + w * (b + 1) as f64, n[b] as f64))
            .collect(),
        line: false,
        note: None,
    })
}

/// Graph nodes (row labels, then column labels not already present) and one edge per
/// (source group, target group, distinct value).
fn group_graph(sets: &PairValues<BTreeSet<String>>) -> (Vec<String>, Vec<(usize, usize, String)>) {
    let mut nodes: Vec<String> = sets.row_labels.clone();
    for c in &sets.col_labels {
        if !nodes.contains(c) {
            nodes.push(c.clone());
        }
    }
    let index = |l: &String| nodes.iter().position(|n| n == l).unwrap_or(0);
    let mut edges = Vec::new();
    for (r, row) in sets.cells.iter().enumerate() {
        for (c, values) in row.iter().enumerate() {
            for v in values {
                edges.push((
                    index(&sets.row_labels[r]),
                    index(&sets.col_labels[c]),
                    v.clone(),
                ));
            }
        }
    }
    (nodes, edges)
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT text of the group graph.
pub fn to_dot(nodes: &[String], edges: &[(usize, usize, String)], property: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph network {{");
    let _ = writeln!(out, "  // edge labels: distinct {property} values");
    let _ = writeln!(out, "  node [shape=circle];");
    for n in nodes {
        let _ = writeln!(out, "  {};", dot_quote(n));
    }
    for (s, t, label) in edges {
        let _ = writeln!(
            out,
            "  {} -> {} [label={}, fontcolor=red];",
            dot_quote(&nodes[*s]),
            dot_quote(&nodes[*t]),
            dot_quote(label)
        );
    }
    out.push_str("}\n");
    out
}

fn graph_table(sets: &PairValues<BTreeSet<String>>) -> Table {
    let mut t = Table::new("Network graph edges", &["source", "target", "value"]);
    for (r, row) in sets.cells.iter().enumerate() {
        for (c, values) in row.iter().enumerate() {
            for v in values {
                t.push(vec![
                    Cell::text(&sets.row_labels[r]),
                    Cell::text(&sets.col_labels[c]),
                    Cell::text(v),
                ]);
            }
        }
    }
    t
}
