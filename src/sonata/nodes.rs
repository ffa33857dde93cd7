//! Node populations: `/nodes/<population>` of a SONATA nodes file joined with its node-types CSV.
//! Columnar: the id, type and group columns are read once as flat vectors; per-node attributes
//! (`positions`, `x`/`y`/`z`, rotation angles, any group dataset) are read on demand and scattered
//! to node order through `node_group_id` / `node_group_index`. A population may have several
//! groups with different datasets, or none at all (virtual populations).

use std::collections::HashMap;
use std::path::Path;

use super::h5::{Column, H5File};
use super::types_csv::TypesTable;
use super::SonataError;

/// One node population.
#[derive(Debug)]
pub struct NodePopulation {
    pub name: String,
    file: H5File,
    pub types: TypesTable,
    /// `node_id` per row (0..N when the file has no `node_id` dataset).
    pub node_ids: Vec<u64>,
    pub node_type_ids: Vec<u64>,
    pub node_group_ids: Vec<u32>,
    pub node_group_index: Vec<u64>,
    /// Group ids present (numeric sub-groups of the population), sorted.
    pub group_names: Vec<String>,
    row_of_id: RowIndex,
}

/// node_id -> row, dense when the ids are 0..N in order.
#[derive(Debug)]
enum RowIndex {
    Identity(usize),
    Map(HashMap<u64, usize>),
}

/// 3-D positions of every node (NaN where a node's group has none); `z` is None for populations
/// stored in a plane (only `x`/`y`).
#[derive(Debug, Clone)]
pub struct Positions {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Option<Vec<f64>>,
}

impl NodePopulation {
    /// Read population `name` from an open nodes file.
    pub fn load(file: H5File, name: &str, types: TypesTable) -> Result<Self, SonataError> {
        let base = format!("/nodes/{name}");
        let node_type_ids = file.read_u64(&format!("{base}/node_type_id"))?;
        let n = node_type_ids.len();
        let node_ids = if file.has_dataset(&format!("{base}/node_id")) {
            file.read_u64(&format!("{base}/node_id"))?
        } else {
            (0..n as u64).collect()
        };
        let (node_group_ids, node_group_index) =
            if file.has_dataset(&format!("{base}/node_group_id")) {
                let ids = file.read_u64(&format!("{base}/node_group_id"))?;
                let index = file.read_u64(&format!("{base}/node_group_index"))?;
                (ids.into_iter().map(|g| g as u32).collect(), index)
            } else {
                (vec![0; n], (0..n as u64).collect())
            };
        for (what, len) in [
            ("node_id", node_ids.len()),
            ("node_group_id", node_group_ids.len()),
            ("node_group_index", node_group_index.len()),
        ] {
            if len != n {
                return Err(SonataError::data(
                    file.path(),
                    &format!("{base}/{what}"),
                    format!("has {len} rows but node_type_id has {n}"),
                ));
            }
        }
        let span = node_ids.iter().max().map(|m| *m + 1).unwrap_or(0);
        if span > u32::MAX as u64 || span > 16 * n as u64 + (1 << 20) {
            return Err(SonataError::data(
                file.path(),
                &format!("{base}/node_id"),
                format!(
                    "node ids run up to {} for {n} nodes; ids must be below 2^32 and not far \
                     above the node count",
                    span - 1
                ),
            ));
        }
        if let Some(missing) = node_type_ids.iter().find(|t| !types.has_type(**t)) {
            return Err(SonataError::data(
                file.path(),
                &format!("{base}/node_type_id"),
                format!("node type {missing} is not in {}", types.file.display()),
            ));
        }
        let group_names: Vec<String> = file
            .groups(&base)?
            .into_iter()
            .filter(|g| g.parse::<u32>().is_ok())
            .collect();
        if file.has_dataset(&format!("{base}/node_group_id")) {
            check_group_ids(&file, &base, &node_group_ids, &group_names)?;
        }
        let row_of_id = RowIndex::build(&node_ids);
        Ok(NodePopulation {
            name: name.to_string(),
            file,
            types,
            node_ids,
            node_type_ids,
            node_group_ids,
            node_group_index,
            group_names,
            row_of_id,
        })
    }

    pub fn len(&self) -> usize {
        self.node_type_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_type_ids.is_empty()
    }

    pub fn file_path(&self) -> &Path {
        self.file.path()
    }

    /// Row of a node id, if the population has it.
    pub fn row_of(&self, node_id: u64) -> Option<usize> {
        match &self.row_of_id {
            RowIndex::Identity(n) => ((node_id as usize) < *n).then_some(node_id as usize),
            RowIndex::Map(m) => m.get(&node_id).copied(),
        }
    }

    /// Largest node id + 1 (the length of a dense per-id table).
    pub fn id_span(&self) -> usize {
        self.node_ids
            .iter()
            .max()
            .map(|m| *m as usize + 1)
            .unwrap_or(0)
    }

    /// Datasets present in any group (per-node attributes stored in the h5 file).
    pub fn group_columns(&self) -> Result<Vec<String>, SonataError> {
        let mut names = Vec::new();
        for g in &self.group_names {
            for d in self.file.datasets(&format!("/nodes/{}/{g}", self.name))? {
                if !names.contains(&d) {
                    names.push(d);
                }
            }
        }
        Ok(names)
    }

    /// Every attribute a node can be grouped by: the types-CSV columns and the group datasets.
    pub fn attribute_names(&self) -> Result<Vec<String>, SonataError> {
        let mut names = self.types.columns.clone();
        for c in self.group_columns()? {
            if !names.contains(&c) {
                names.push(c);
            }
        }
        Ok(names)
    }

    /// Read group dataset `column` of every group that has it, keyed by group id.
    fn read_group_datasets(&self, column: &str) -> Result<HashMap<u32, Column>, SonataError> {
        let mut out = HashMap::new();
        for g in &self.group_names {
            let path = format!("/nodes/{}/{g}/{column}", self.name);
            if self.file.has_dataset(&path) {
                let gid: u32 = g.parse().unwrap_or(0);
                out.insert(gid, self.file.read_column(&path)?);
            }
        }
        Ok(out)
    }

    /// The per-node text value of `column`: the node's group dataset when it has one, else the
    /// types-CSV value of its node type. `Ok(None)` when no group and no CSV has the column.
    pub fn attribute_text(&self, column: &str) -> Result<Option<Vec<Option<String>>>, SonataError> {
        if column == "node_type_id" {
            return Ok(Some(
                self.node_type_ids
                    .iter()
                    .map(|t| Some(t.to_string()))
                    .collect(),
            ));
        }
        if column == "node_id" {
            return Ok(Some(
                self.node_ids.iter().map(|t| Some(t.to_string())).collect(),
            ));
        }
        let groups = self.read_group_datasets(column)?;
        let csv_col = self.types.column_index(column);
        if groups.is_empty() && csv_col.is_none() {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(self.len());
        for row in 0..self.len() {
            let from_group = groups.get(&self.node_group_ids[row]).and_then(|col| {
                let i = self.node_group_index[row] as usize;
                (i < col.len()).then(|| col.text(i))
            });
            let value = from_group.or_else(|| {
                csv_col.and_then(|c| {
                    self.types
                        .value(self.node_type_ids[row], c)
                        .map(str::to_string)
                })
            });
            values.push(value);
        }
        Ok(Some(values))
    }

    /// The per-node numeric value of `column` (NaN where missing or not a number).
    pub fn attribute_f64(&self, column: &str) -> Result<Option<Vec<f64>>, SonataError> {
        let groups = self.read_group_datasets(column)?;
        let csv_col = self.types.column_index(column);
        if groups.is_empty() && csv_col.is_none() {
            return Ok(None);
        }
        let values = (0..self.len())
            .map(|row| {
                groups
                    .get(&self.node_group_ids[row])
                    .and_then(|col| {
                        let i = self.node_group_index[row] as usize;
                        (i < col.len()).then(|| col.number(i)).flatten()
                    })
                    .or_else(|| {
                        csv_col
                            .and_then(|c| self.types.value(self.node_type_ids[row], c))
                            .and_then(|v| v.parse().ok())
                    })
                    .unwrap_or(f64::NAN)
            })
            .collect();
        Ok(Some(values))
    }

    /// Node positions from a `positions` [N,3] dataset or from `x`/`y`/`z` datasets; None when
    /// the population has no positions at all (virtual cells).
    pub fn positions(&self) -> Result<Option<Positions>, SonataError> {
        let n = self.len();
        let mut x = vec![f64::NAN; n];
        let mut y = vec![f64::NAN; n];
        let mut z = vec![f64::NAN; n];
        let mut found = false;
        let mut has_z = false;
        for g in &self.group_names {
            let gid: u32 = g.parse().unwrap_or(0);
            let base = format!("/nodes/{}/{g}", self.name);
            let rows = || (0..n).filter(move |r| self.node_group_ids[*r] == gid);
            if self.file.has_dataset(&format!("{base}/positions")) {
                let path = format!("{base}/positions");
                let shape = self.file.shape(&path)?;
                let width = shape.get(1).copied().unwrap_or(1) as usize;
                if width > 3 {
                    return Err(SonataError::data(
                        self.file.path(),
                        &path,
                        format!("has {width} columns; positions are [N, 3] (or [N, 2])"),
                    ));
                }
                let flat = self.file.read_f64(&path)?;
                for r in rows() {
                    let i = self.node_group_index[r] as usize;
                    if (i + 1) * width > flat.len() {
                        return Err(SonataError::data(
                            self.file.path(),
                            &path,
                            format!("node_group_index {i} is past the end"),
                        ));
                    }
                    x[r] = flat[i * width];
                    y[r] = if width > 1 { flat[i * width + 1] } else { 0.0 };
                    if width > 2 {
                        z[r] = flat[i * width + 2];
                        has_z = true;
                    }
                }
                found = true;
                continue;
            }
            let mut axes = [None, None, None];
            for (k, axis) in ["x", "y", "z"].iter().enumerate() {
                let path = format!("{base}/{axis}");
                if self.file.has_dataset(&path) {
                    axes[k] = Some(self.file.read_f64(&path)?);
                }
            }
            if axes[0].is_none() && axes[1].is_none() {
                continue;
            }
            found = true;
            has_z |= axes[2].is_some();
            for r in rows() {
                let i = self.node_group_index[r] as usize;
                let pick = |a: &Option<Vec<f64>>| a.as_ref().and_then(|v| v.get(i).copied());
                x[r] = pick(&axes[0]).unwrap_or(0.0);
                y[r] = pick(&axes[1]).unwrap_or(0.0);
                if let Some(v) = pick(&axes[2]) {
                    z[r] = v;
                }
            }
        }
        if !found {
            return Ok(None);
        }
        Ok(Some(Positions {
            x,
            y,
            z: has_z.then_some(z),
        }))
    }
}

impl RowIndex {
    fn build(ids: &[u64]) -> Self {
        if ids.iter().enumerate().all(|(i, id)| *id == i as u64) {
            RowIndex::Identity(ids.len())
        } else {
            RowIndex::Map(ids.iter().enumerate().map(|(i, id)| (*id, i)).collect())
        }
    }
}

/// Every `node_group_id` must name a group (`/nodes/<pop>/<id>`) the population has.
fn check_group_ids(
    file: &H5File,
    base: &str,
    node_group_ids: &[u32],
    group_names: &[String],
) -> Result<(), SonataError> {
    let known: Vec<u32> = group_names.iter().filter_map(|g| g.parse().ok()).collect();
    match node_group_ids.iter().find(|g| !known.contains(g)) {
        Some(missing) => Err(SonataError::data(
            file.path(),
            &format!("{base}/node_group_id"),
            format!("node group {missing} does not exist under {base}"),
        )),
        None => Ok(()),
    }
}
