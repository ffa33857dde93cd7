//! `bmtool plot summary` (alias `cells`): the node types of every population (virtual ones
//! included) with their node counts, and every edge population with its row count.

use crate::cli::plot::{PlotArgs, SummaryArgs};
use crate::plot::tables::TablesFigure;
use crate::report::{Cell, Table};
use crate::sonata::{Circuit, NodePopulation};

use super::{finish, AppError};

/// The columns of bmtool's `cells` table, after node_type_id.
const TYPE_COLUMNS: [&str; 4] = ["pop_name", "model_type", "model_template", "morphology"];

pub fn run(plot_args: &PlotArgs, args: &SummaryArgs) -> Result<(), AppError> {
    super::check_save_file(&args.output)?;
    let circuit = Circuit::load(&plot_args.config)?;
    let mut tables: Vec<Table> = circuit.nodes.iter().map(node_types_table).collect();
    tables.push(edges_table(&circuit));
    let title = args
        .output
        .title
        .clone()
        .unwrap_or_else(|| "Network and node info".into());
    finish(
        &[],
        &tables,
        &args.output,
        &TablesFigure {
            title,
            tables: &tables,
        },
    )
}

/// One row per node type of `pop`, in order of first appearance, with its node count.
pub fn node_types_table(pop: &NodePopulation) -> Table {
    let mut columns = vec!["population", "node_type_id"];
    columns.extend(TYPE_COLUMNS);
    columns.push("count");
    let mut t = Table::new(
        format!("Node population '{}' ({} nodes)", pop.name, pop.len()),
        &columns,
    );
    let mut order: Vec<(u64, usize)> = Vec::new();
    for id in &pop.node_type_ids {
        match order.iter_mut().find(|(t, _)| t == id) {
            Some(entry) => entry.1 += 1,
            None => order.push((*id, 1)),
        }
    }
    for (type_id, count) in order {
        let mut row = vec![Cell::text(&pop.name), Cell::Int(type_id as i64)];
        for c in TYPE_COLUMNS {
            let v = pop.types.get(type_id, c).unwrap_or("");
            row.push(Cell::text(if v == "NULL" { "" } else { v }));
        }
        row.push(Cell::count(count));
        t.push(row);
    }
    t
}

/// Every edge population with its endpoints and row count.
pub fn edges_table(circuit: &Circuit) -> Table {
    let mut t = Table::new(
        "Edge populations",
        &["edge_population", "source", "target", "rows"],
    );
    for e in &circuit.edges {
        t.push(vec![
            Cell::text(&e.name),
            Cell::text(&e.source_population),
            Cell::text(&e.target_population),
            Cell::count(e.len),
        ]);
    }
    t
}
