//! Node-types and edge-types tables: BMTK's space-separated CSV files keyed by `node_type_id` or
//! `edge_type_id`. Values may be double-quoted when they contain spaces, and `NULL` (or `NONE`,
//! `nan`, an empty cell) means "no value". The table is tiny (one row per type), so it is kept as
//! text and looked up by type id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A types-CSV problem, naming the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TypesError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

/// One types table: a column per CSV field, a row per type id.
#[derive(Debug, Clone, Default)]
pub struct TypesTable {
    pub file: PathBuf,
    /// Column names, the id column first.
    pub columns: Vec<String>,
    rows: Vec<(u64, Vec<Option<String>>)>,
    index: HashMap<u64, usize>,
}

impl TypesTable {
    /// Read a types CSV whose first column must be `id_column`.
    pub fn read(path: &Path, id_column: &str) -> Result<Self, TypesError> {
        let err = |line: Option<u64>, message: String| TypesError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(None, e.to_string()))?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b' ')
            .flexible(true)
            .has_headers(true)
            .from_reader(bytes);
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| err(Some(1), e.to_string()))?
            .iter()
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if columns.first().map(String::as_str) != Some(id_column) {
            return Err(err(
                Some(1),
                format!(
                    "header must start with '{id_column}' (space-separated), found '{}'",
                    columns.join(" ")
                ),
            ));
        }
        let mut table = TypesTable {
            file: path.to_path_buf(),
            columns,
            ..Default::default()
        };
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line());
                err(line, e.to_string())
            })?;
            let line = record.position().map(|p| p.line());
            let fields: Vec<&str> = record.iter().filter(|f| !f.is_empty()).collect();
            if fields.is_empty() {
                continue;
            }
            if fields.len() != table.columns.len() {
                return Err(err(
                    line,
                    format!(
                        "{} values for {} columns",
                        fields.len(),
                        table.columns.len()
                    ),
                ));
            }
            let id: u64 = fields[0].trim().parse().map_err(|_| {
                err(
                    line,
                    format!("{id_column} '{}' is not a whole number", fields[0]),
                )
            })?;
            if table.index.contains_key(&id) {
                return Err(err(line, format!("{id_column} {id} appears twice")));
            }
            let values = fields.iter().map(|f| cell_value(f)).collect();
            table.index.insert(id, table.rows.len());
            table.rows.push((id, values));
        }
        Ok(table)
    }

    /// Position of `column`, if the table has it.
    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    pub fn has_type(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    /// The value of column number `col` for type `id` (None for NULL or an unknown type).
    pub fn value(&self, id: u64, col: usize) -> Option<&str> {
        let row = *self.index.get(&id)?;
        self.rows[row].1.get(col)?.as_deref()
    }

    /// The value of `column` for type `id`.
    pub fn get(&self, id: u64, column: &str) -> Option<&str> {
        self.value(id, self.column_index(column)?)
    }

    /// The type ids, in file order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.rows.iter().map(|(id, _)| *id)
    }
}

fn cell_value(field: &str) -> Option<String> {
    let v = field.trim();
    match v {
        "" | "NULL" | "NONE" | "None" | "nan" | "NaN" => None,
        _ => Some(v.to_string()),
    }
}

/// Whether a types-table value means "true" (bmtk writes `True`/`False`, some files `1`/`0`).
pub fn is_truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("true" | "1" | "1.0" | "yes")
    )
}
