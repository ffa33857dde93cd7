//! `bmtool plot report`: find a report the config names, read the requested nodes through its
//! mapping, print per-node statistics (or the samples as CSV), draw the traces.

use std::path::PathBuf;

use crate::cli::plot::{PlotArgs, ReportArgs};
use crate::plot::traces::TracesFigure;
use crate::report::{Cell, OutputFormat, Table};
use crate::sonata::reports::{ElementReport, Traces};
use crate::sonata::SimulationConfig;

use super::{finish, AppError};

pub fn run(plot_args: &PlotArgs, args: &ReportArgs) -> Result<(), AppError> {
    super::check_save_file(&args.output)?;
    let config =
        SimulationConfig::load(&plot_args.config).map_err(crate::sonata::SonataError::from)?;
    let (name, path) = report_file(&config, args.report.as_deref())?;
    let report = ElementReport::open(&path, args.population.as_deref())?;
    let node_ids = match &args.node_ids {
        Some(list) => parse_ids(list)?,
        None => report.node_ids.clone(),
    };
    let from = args.tstart.unwrap_or(f64::NEG_INFINITY);
    let to = args.tstop.unwrap_or(f64::INFINITY);
    if from.is_nan() || to.is_nan() || to <= from {
        return Err(AppError::Usage(format!(
            "--tstop {to} ms must be after --tstart {from} ms"
        )));
    }
    let traces = report.read(&node_ids, report.rows_between(from, to))?;
    let variable = report.variable.clone().unwrap_or_else(|| name.clone());
    // BMTK writes no units attribute; NEURON's units for its usual variables.
    let units = report.units.clone().or_else(|| match variable.as_str() {
        "v" => Some("mV".into()),
        "cai" | "nai" | "ki" => Some("mM".into()),
        _ => None,
    });
    let y_desc = match units {
        Some(u) => format!("{variable} ({u})"),
        None => variable.clone(),
    };
    let table = if args.output.format == OutputFormat::Csv {
        samples_table(&traces)
    } else {
        stats_table(&traces, &name, &report.population, &variable)
    };
    let title = args
        .output
        .title
        .clone()
        .unwrap_or_else(|| format!("{name}: {variable}, population {}", report.population));
    finish(
        &[],
        &[table],
        &args.output,
        &TracesFigure {
            traces: &traces,
            title,
            y_desc,
        },
    )
}

/// The report called `name` in the config's `reports` (the first membrane report when None),
/// and its file: `file_name` if given, else `<name>.h5`, under output_dir.
pub fn report_file(
    config: &SimulationConfig,
    name: Option<&str>,
) -> Result<(String, PathBuf), AppError> {
    let reports = config
        .json
        .get("reports")
        .and_then(|r| r.as_object())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            AppError::Usage(format!(
                "{}: the config names no reports",
                config.path.display()
            ))
        })?;
    let name = match name {
        Some(n) if reports.contains_key(n) => n.to_string(),
        Some(n) => {
            return Err(AppError::Usage(format!(
                "{}: report '{n}' is not in the config's reports (it has: {})",
                config.path.display(),
                reports.keys().cloned().collect::<Vec<_>>().join(", ")
            )))
        }
        None => {
            let membrane = |r: &serde_json::Value| {
                r.get("module").and_then(|m| m.as_str()) == Some("membrane_report")
            };
            let voltage = |r: &serde_json::Value| {
                r.get("variable_name").and_then(|v| v.as_str()) == Some("v")
            };
            reports
                .iter()
                .find(|(_, r)| membrane(r) && voltage(r))
                .or_else(|| reports.iter().find(|(_, r)| membrane(r)))
                .or_else(|| reports.iter().next())
        }
        .map(|(k, _)| k.clone())
        .unwrap_or_default(),
    };
    let file = reports[&name]
        .get("file_name")
        .and_then(|f| f.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{name}.h5"));
    let file = PathBuf::from(file);
    let path = if file.is_absolute() {
        file
    } else {
        config.output_dir().join(file)
    };
    Ok((name, path))
}

/// "1,2,5" -> [1, 2, 5].
pub fn parse_ids(list: &str) -> Result<Vec<u64>, AppError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| AppError::Usage(format!("--node-ids: '{s}' is not a node id")))
        })
        .collect()
}

fn stats_table(t: &Traces, name: &str, population: &str, variable: &str) -> Table {
    let window = match (t.time_ms.first(), t.time_ms.last()) {
        (Some(a), Some(b)) => format!("{a} to {b} ms"),
        _ => "no samples in the window".into(),
    };
    let mut table = Table::new(
        format!("Report '{name}' ({variable}), population {population}, {window}"),
        &["node_id", "samples", "min", "mean", "max"],
    );
    for (id, values) in t.node_ids.iter().zip(&t.values) {
        let n = values.len();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        let (min, mean, max) = if n == 0 {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            (min, mean, max)
        };
        table.push(vec![
            Cell::Int(*id as i64),
            Cell::count(n),
            Cell::Float(min, 6),
            Cell::Float(mean, 6),
            Cell::Float(max, 6),
        ]);
    }
    table
}

/// Wide samples: `time_ms` then one column per node.
fn samples_table(t: &Traces) -> Table {
    let mut columns = vec!["time_ms".to_string()];
    columns.extend(t.node_ids.iter().map(|id| format!("node_{id}")));
    let mut table = Table {
        columns,
        ..Table::default()
    };
    for (r, time) in t.time_ms.iter().enumerate() {
        let mut row = vec![Cell::Float(*time, 3)];
        row.extend(t.values.iter().map(|v| Cell::Float(v[r], 6)));
        table.push(row);
    }
    table
}
