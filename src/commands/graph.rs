//! `bmtool graph {stats, export-csv, plot}`: build the cell graph, print its counts, write the
//! per-cell table or draw it.

use crate::cli::graph::{GraphArgs, GraphCommand};
use crate::network::graph::{cell_graph, CellGraph};
use crate::plot::graph::CellGraphFigure;
use crate::report::table::render_all;
use crate::report::{Cell, Table};
use crate::sonata::Circuit;

use super::{print, AppError};

pub fn run(args: &GraphArgs) -> Result<(), AppError> {
    match &args.command {
        GraphCommand::ExportCsv { out } => crate::output::check_destination(out, args.force)?,
        GraphCommand::Plot { out, .. } => {
            crate::plot::Format::of(out)?;
            crate::output::check_destination(out, args.force)?;
        }
        GraphCommand::Stats => {}
    }
    let circuit = Circuit::load(&args.config)?;
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let graph = cell_graph(
        &circuit,
        &split(&args.sources),
        &split(&args.targets),
        &args.label,
    )?;
    for w in &graph.warnings {
        eprintln!("note: {w}");
    }
    print(&render_all(&stats_tables(&graph), args.format));
    match &args.command {
        GraphCommand::Stats => {}
        GraphCommand::ExportCsv { out } => {
            crate::output::write_atomic(out, node_connections_csv(&graph).as_bytes(), args.force)?;
            eprintln!("saved {}", out.display());
        }
        GraphCommand::Plot {
            out,
            title,
            max_edges,
        } => {
            let mut position = vec![None; graph.node_count()];
            for (name, first, _) in &graph.populations {
                let pop = circuit.node_population(name)?;
                match pop.positions()? {
                    Some(p) => {
                        for row in 0..pop.len() {
                            let z = p.z.as_ref().map(|z| z[row]).unwrap_or(0.0);
                            if p.x[row].is_finite() {
                                position[first + row] = Some([p.x[row], p.y[row], z]);
                            }
                        }
                    }
                    None => eprintln!("note: population '{name}' has no positions; not drawn"),
                }
            }
            let edges: Vec<(usize, usize)> = if graph.edges.len() <= *max_edges {
                graph
                    .edges
                    .iter()
                    .map(|k| ((k >> 32) as usize, (k & 0xffff_ffff) as usize))
                    .collect()
            } else {
                eprintln!(
                    "note: {} edges are more than --max-edges {max_edges}; drawing cells only",
                    graph.edges.len()
                );
                Vec::new()
            };
            let in_degree = graph.in_degree();
            crate::plot::save(
                out,
                &CellGraphFigure {
                    title: title.clone().unwrap_or_else(|| "Cell graph".into()),
                    position: &position,
                    in_degree: &in_degree,
                    edges: &edges,
                },
                args.force,
            )?;
            eprintln!("saved {}", out.display());
        }
    }
    Ok(())
}

/// Totals, then nodes per population.
pub fn stats_tables(g: &CellGraph) -> Vec<Table> {
    let mut totals = Table::new(
        "Cell graph (nodes are <population>:<node_id>; edges are connected cell pairs)",
        &["nodes", "edges", "edge_populations"],
    );
    totals.push(vec![
        Cell::count(g.node_count()),
        Cell::count(g.edges.len()),
        Cell::text(g.edge_populations.join(" ")),
    ]);
    let mut pops = Table::new("Nodes per population", &["population", "nodes"]);
    for (name, _, n) in &g.populations {
        pops.push(vec![Cell::text(name), Cell::count(*n)]);
    }
    vec![totals, pops]
}

/// bmtool's export_node_connections_to_csv: `node, Node Label, <label> incoming Connections...`,
/// with node names unique across populations.
pub fn node_connections_csv(g: &CellGraph) -> String {
    let counts = g.incoming_by_label();
    let nl = g.labels.len();
    let mut out = String::from("node,Node Label");
    for l in &g.labels {
        out.push(',');
        out.push_str(&crate::report::table::csv_field(&format!(
            "{l} incoming Connections"
        )));
    }
    out.push('\n');
    for node in 0..g.node_count() {
        out.push_str(&g.name(node));
        out.push(',');
        out.push_str(&crate::report::table::csv_field(
            &g.labels[g.label[node] as usize],
        ));
        for l in 0..nl {
            out.push_str(&format!(",{}", counts[node * nl + l]));
        }
        out.push('\n');
    }
    out
}
