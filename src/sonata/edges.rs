//! Edge populations: `/edges/<population>` of a SONATA edges file joined with its edge-types CSV.
//! Opening a population reads only metadata (row count, source and target node populations,
//! group names); the id columns are read on request into an [`EdgeIds`] of flat vectors, and group
//! datasets such as `nsyns` are scattered to row order on request. A 10M-edge file therefore
//! costs three flat `u64` columns, never 10M row structs.

use std::collections::HashMap;
use std::path::Path;

use super::h5::{Column, H5File};
use super::types_csv::{is_truthy, TypesTable};
use super::SonataError;

/// One edge population (metadata; columns are read on request).
#[derive(Debug)]
pub struct EdgePopulation {
    pub name: String,
    file: H5File,
    pub types: TypesTable,
    pub source_population: String,
    pub target_population: String,
    /// Number of edge rows.
    pub len: usize,
    pub group_names: Vec<String>,
}

/// The id columns of an edge population, row-aligned (`edge_type` may be left unread: empty).
#[derive(Debug, Clone, Default)]
pub struct EdgeIds {
    pub source: Vec<u64>,
    pub target: Vec<u64>,
    pub edge_type: Vec<u64>,
}

impl EdgePopulation {
    /// Open population `name` of an edges file.
    pub fn open(file: H5File, name: &str, types: TypesTable) -> Result<Self, SonataError> {
        let base = format!("/edges/{name}");
        let src_path = format!("{base}/source_node_id");
        let tgt_path = format!("{base}/target_node_id");
        let len = first_dim(&file, &src_path)?;
        let tlen = first_dim(&file, &tgt_path)?;
        let type_len = first_dim(&file, &format!("{base}/edge_type_id"))?;
        if tlen != len || type_len != len {
            return Err(SonataError::data(
                file.path(),
                &tgt_path,
                format!(
                    "row counts differ: source_node_id {len}, target_node_id {tlen}, edge_type_id {type_len}"
                ),
            ));
        }
        let (from_name_src, from_name_tgt) = split_pop_name(name);
        let source_population = file
            .attr_string(&src_path, "node_population")?
            .or(from_name_src)
            .ok_or_else(|| {
                SonataError::data(
                    file.path(),
                    &src_path,
                    "has no node_population attribute and the population name is not <source>_to_<target>",
                )
            })?;
        let target_population = file
            .attr_string(&tgt_path, "node_population")?
            .or(from_name_tgt)
            .ok_or_else(|| {
                SonataError::data(
                    file.path(),
                    &tgt_path,
                    "has no node_population attribute and the population name is not <source>_to_<target>",
                )
            })?;
        let group_names = file
            .groups(&base)?
            .into_iter()
            .filter(|g| g.parse::<u32>().is_ok())
            .collect();
        Ok(EdgePopulation {
            name: name.to_string(),
            file,
            types,
            source_population,
            target_population,
            len,
            group_names,
        })
    }

    pub fn file_path(&self) -> &Path {
        self.file.path()
    }

    fn path(&self, dataset: &str) -> String {
        format!("/edges/{}/{dataset}", self.name)
    }

    /// Read source and target ids, and the edge-type ids when `with_types` (in parallel). Edge
    /// types are checked against the types CSV when read; without them `edge_type` is empty.
    pub fn read_ids(&self, with_types: bool) -> Result<EdgeIds, SonataError> {
        let ((source, target), edge_type) = rayon::join(
            || {
                rayon::join(
                    || self.file.read_u64(&self.path("source_node_id")),
                    || self.file.read_u64(&self.path("target_node_id")),
                )
            },
            || {
                if with_types {
                    self.file.read_u64(&self.path("edge_type_id"))
                } else {
                    Ok(Vec::new())
                }
            },
        );
        let ids = EdgeIds {
            source: source?,
            target: target?,
            edge_type: edge_type?,
        };
        if let Some(t) = first_unknown_type(&ids.edge_type, &self.types) {
            return Err(SonataError::data(
                self.file.path(),
                &self.path("edge_type_id"),
                format!("edge type {t} is not in {}", self.types.file.display()),
            ));
        }
        Ok(ids)
    }

    /// Edge types whose `is_gap_junction` column is true in the edge-types CSV.
    pub fn gap_junction_types(&self) -> Vec<u64> {
        self.types
            .ids()
            .filter(|id| is_truthy(self.types.get(*id, "is_gap_junction")))
            .collect()
    }

    /// Group dataset `column` scattered to row order; rows whose group lacks it get None.
    /// `Ok(None)` when no group has the dataset.
    pub fn group_column_f64(&self, column: &str) -> Result<Option<Vec<Option<f64>>>, SonataError> {
        let mut per_group: HashMap<u32, Column> = HashMap::new();
        for g in &self.group_names {
            let path = self.path(&format!("{g}/{column}"));
            if self.file.has_dataset(&path) {
                per_group.insert(g.parse().unwrap_or(0), self.file.read_column(&path)?);
            }
        }
        if per_group.is_empty() {
            return Ok(None);
        }
        let (group_ids, group_index) = self.group_ids()?;
        self.check_group_index(column, &per_group, &group_ids, &group_index)?;
        let mut out = Vec::with_capacity(self.len);
        for (gid, idx) in group_ids.iter().zip(&group_index) {
            let value = per_group.get(&(*gid as u32)).and_then(|col| {
                let i = *idx as usize;
                (i < col.len()).then(|| col.number(i)).flatten()
            });
            out.push(value);
        }
        Ok(Some(out))
    }

    /// Group dataset `column` scattered to row order as text; rows whose group lacks it get None.
    fn group_column_text(&self, column: &str) -> Result<Option<Vec<Option<String>>>, SonataError> {
        let mut per_group: HashMap<u32, Column> = HashMap::new();
        for g in &self.group_names {
            let path = self.path(&format!("{g}/{column}"));
            if self.file.has_dataset(&path) {
                per_group.insert(g.parse().unwrap_or(0), self.file.read_column(&path)?);
            }
        }
        if per_group.is_empty() {
            return Ok(None);
        }
        let (group_ids, group_index) = self.group_ids()?;
        self.check_group_index(column, &per_group, &group_ids, &group_index)?;
        Ok(Some(
            group_ids
                .iter()
                .zip(&group_index)
                .map(|(gid, idx)| {
                    per_group.get(&(*gid as u32)).and_then(|col| {
                        let i = *idx as usize;
                        (i < col.len()).then(|| col.text(i))
                    })
                })
                .collect(),
        ))
    }

    /// An edge property per row as text: the row's group dataset when it has one (h5 values
    /// take precedence, as in bmtool), else the edge-types CSV value of its type (`NULL` and
    /// empty count as missing). `edge_type` must be the rows' edge_type_id column. `Ok(None)`
    /// when neither the h5 groups nor the CSV have the property.
    pub fn property_text(
        &self,
        column: &str,
        edge_type: &[u64],
    ) -> Result<Option<Vec<Option<String>>>, SonataError> {
        let h5 = self.group_column_text(column)?;
        let csv = self.types.column_index(column);
        if h5.is_none() && csv.is_none() {
            return Ok(None);
        }
        Ok(Some(
            (0..self.len)
                .map(|r| {
                    h5.as_ref().and_then(|v| v[r].clone()).or_else(|| {
                        let c = csv?;
                        let v = self.types.value(*edge_type.get(r)?, c)?;
                        (!v.is_empty() && v != "NULL").then(|| v.to_string())
                    })
                })
                .collect(),
        ))
    }

    /// An edge property per row as a number (NaN where missing or not a number); see
    /// [`property_text`](Self::property_text). CSV values are parsed once per edge type.
    pub fn property_f64(
        &self,
        column: &str,
        edge_type: &[u64],
    ) -> Result<Option<Vec<f64>>, SonataError> {
        let h5 = self.group_column_f64(column)?;
        let csv = self.types.column_index(column);
        if h5.is_none() && csv.is_none() {
            return Ok(None);
        }
        let per_type: HashMap<u64, f64> = match csv {
            Some(c) => self
                .types
                .ids()
                .map(|id| {
                    let v = self.types.value(id, c).and_then(|v| v.trim().parse().ok());
                    (id, v.unwrap_or(f64::NAN))
                })
                .collect(),
            None => HashMap::new(),
        };
        let from_csv = |r: usize| {
            edge_type
                .get(r)
                .and_then(|t| per_type.get(t))
                .copied()
                .unwrap_or(f64::NAN)
        };
        Ok(Some(
            (0..self.len)
                .map(|r| match &h5 {
                    Some(v) => v[r].unwrap_or_else(|| from_csv(r)),
                    None => from_csv(r),
                })
                .collect(),
        ))
    }

    /// Every row whose group stores `column` must point inside that dataset.
    fn check_group_index(
        &self,
        column: &str,
        per_group: &HashMap<u32, Column>,
        group_ids: &[u64],
        group_index: &[u64],
    ) -> Result<(), SonataError> {
        for (gid, idx) in group_ids.iter().zip(group_index) {
            let Some(col) = per_group.get(&(*gid as u32)) else {
                continue;
            };
            if *idx as usize >= col.len() {
                return Err(SonataError::data(
                    self.file.path(),
                    &self.path("edge_group_index"),
                    format!(
                        "index {idx} is past the end of {gid}/{column} ({} rows)",
                        col.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `edge_group_id` and `edge_group_index` (a single implicit group 0 when absent).
    fn group_ids(&self) -> Result<(Vec<u64>, Vec<u64>), SonataError> {
        let gid_path = self.path("edge_group_id");
        if !self.file.has_dataset(&gid_path) {
            return Ok((vec![0; self.len], (0..self.len as u64).collect()));
        }
        let ids = self.file.read_u64(&gid_path)?;
        let index = self.file.read_u64(&self.path("edge_group_index"))?;
        if ids.len() != self.len || index.len() != self.len {
            return Err(SonataError::data(
                self.file.path(),
                &gid_path,
                format!("edge group columns do not have {} rows", self.len),
            ));
        }
        Ok((ids, index))
    }

    /// Synapses per row: `nsyns` where a group stores it, else 1.
    pub fn synapses_per_row(&self) -> Result<Vec<u32>, SonataError> {
        let csv_nsyns = self.types.column_index("nsyns");
        let h5 = self.group_column_f64("nsyns")?;
        if h5.is_none() && csv_nsyns.is_none() {
            return Ok(vec![1; self.len]);
        }
        let ids = if csv_nsyns.is_some() {
            Some(self.file.read_u64(&self.path("edge_type_id"))?)
        } else {
            None
        };
        Ok((0..self.len)
            .map(|r| {
                h5.as_ref()
                    .and_then(|v| v[r])
                    .or_else(|| {
                        let (c, ids) = (csv_nsyns?, ids.as_ref()?);
                        self.types.value(ids[r], c)?.parse().ok()
                    })
                    .map(|n| n.max(0.0) as u32)
                    .unwrap_or(1)
            })
            .collect())
    }
}

/// The first edge type id that the types table does not list (a bitmap over the few type ids,
/// since this runs once per edge row).
fn first_unknown_type(edge_types: &[u64], types: &TypesTable) -> Option<u64> {
    if edge_types.is_empty() {
        return None;
    }
    let Some(max) = types.ids().max() else {
        return edge_types.first().copied();
    };
    if max > 1 << 24 {
        return edge_types.iter().copied().find(|t| !types.has_type(*t));
    }
    let mut known = vec![false; max as usize + 1];
    for id in types.ids() {
        known[id as usize] = true;
    }
    edge_types
        .iter()
        .copied()
        .find(|t| !known.get(*t as usize).copied().unwrap_or(false))
}

fn first_dim(file: &H5File, path: &str) -> Result<usize, SonataError> {
    let shape = file.shape(path)?;
    Ok(shape.first().copied().unwrap_or(0) as usize)
}

/// `a_to_b` -> (a, b), BMTK's default edge population name.
fn split_pop_name(name: &str) -> (Option<String>, Option<String>) {
    match name.split_once("_to_") {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => (Some(a.into()), Some(b.into())),
        _ => (None, None),
    }
}
