//! SONATA element reports (BMTK `membrane_report`: voltage, calcium, any recorded variable):
//! `/report/<population>/data` [T, n_elements] and `mapping/{node_ids, index_pointer,
//! element_ids, time}`. Columns are not in node-id order in real files, so every lookup goes
//! through `mapping/node_ids` and `index_pointer` (node k owns columns
//! `index_pointer[k]..index_pointer[k+1]`). Only the requested time rows are read. This module
//! reads; statistics and drawing belong to the commands and `plot`.

use std::path::Path;

use super::h5::H5File;
use super::SonataError;

/// Values read from `data` at a time (32 MiB of f64).
const BLOCK_VALUES: usize = 4 << 20;

/// An open report population (mapping read, data left on disk).
#[derive(Debug)]
pub struct ElementReport {
    file: H5File,
    pub population: String,
    /// The `variable` attribute of `data` (e.g. `v`, `cai`), when present.
    pub variable: Option<String>,
    pub units: Option<String>,
    pub node_ids: Vec<u64>,
    pub index_pointer: Vec<u64>,
    pub element_ids: Vec<u64>,
    pub t_start_ms: f64,
    pub dt_ms: f64,
    /// Rows (time samples) and columns (elements) of `data`.
    pub n_steps: usize,
    pub n_columns: usize,
}

/// The traces of some nodes over a time window: `values[k]` belongs to `node_ids[k]` and has one
/// sample per entry of `time_ms`.
#[derive(Debug, Clone)]
pub struct Traces {
    pub time_ms: Vec<f64>,
    pub node_ids: Vec<u64>,
    pub values: Vec<Vec<f64>>,
}

impl ElementReport {
    /// Population names under `/report` of a report file.
    pub fn populations(path: &Path) -> Result<Vec<String>, SonataError> {
        let file = H5File::open(path)?;
        if !file.has_group("/report") {
            return Err(SonataError::data(
                path,
                "/report",
                "group not found: not a SONATA element report",
            ));
        }
        Ok(file.groups("/report")?)
    }

    /// Open population `population` of the report at `path` (the only or first one when None).
    pub fn open(path: &Path, population: Option<&str>) -> Result<Self, SonataError> {
        let pops = Self::populations(path)?;
        let population = match population {
            Some(p) if pops.iter().any(|q| q == p) => p.to_string(),
            Some(p) => {
                return Err(SonataError::data(
                    path,
                    "/report",
                    format!("has no population '{p}' (it has: {})", pops.join(", ")),
                ))
            }
            None => pops
                .first()
                .cloned()
                .ok_or_else(|| SonataError::data(path, "/report", "has no population"))?,
        };
        let file = H5File::open(path)?;
        let base = format!("/report/{population}");
        let data = format!("{base}/data");
        let shape = file.shape(&data)?;
        let (n_steps, n_columns) = match shape.as_slice() {
            [t, n] => (*t as usize, *n as usize),
            [t] => (*t as usize, 1),
            _ => {
                return Err(SonataError::data(
                    path,
                    &data,
                    format!("expected 2 dimensions, found {shape:?}"),
                ))
            }
        };
        let node_ids = file.read_u64(&format!("{base}/mapping/node_ids"))?;
        let ptr_path = format!("{base}/mapping/index_pointer");
        let index_pointer = if file.has_dataset(&ptr_path) {
            file.read_u64(&ptr_path)?
        } else {
            (0..=node_ids.len() as u64).collect()
        };
        let element_ids_path = format!("{base}/mapping/element_ids");
        let element_ids = if file.has_dataset(&element_ids_path) {
            file.read_u64(&element_ids_path)?
        } else {
            vec![0; n_columns]
        };
        let time_path = format!("{base}/mapping/time");
        let time = file.read_f64(&time_path)?;
        let [t_start_ms, _t_stop_ms, dt_ms] = time[..] else {
            return Err(SonataError::data(
                path,
                &time_path,
                "must hold [tstart, tstop, dt]",
            ));
        };
        if index_pointer.len() != node_ids.len() + 1
            || index_pointer.windows(2).any(|w| w[0] > w[1])
            || index_pointer
                .last()
                .is_some_and(|l| *l as usize > n_columns)
        {
            return Err(SonataError::data(
                path,
                &ptr_path,
                format!("must rise from 0 to at most {n_columns} with one entry per node plus one"),
            ));
        }
        let variable = file.attr_string(&data, "variable")?;
        let units = file.attr_string(&data, "units")?;
        Ok(ElementReport {
            file,
            population,
            variable,
            units,
            node_ids,
            index_pointer,
            element_ids,
            t_start_ms,
            dt_ms,
            n_steps,
            n_columns,
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The first `data` column of `node_id` (its first recorded element, the soma for BMTK
    /// soma reports), or None when the report does not record that node.
    pub fn column_of(&self, node_id: u64) -> Option<usize> {
        let k = self.node_ids.iter().position(|n| *n == node_id)?;
        let (a, b) = (self.index_pointer[k], self.index_pointer[k + 1]);
        (b > a).then_some(a as usize)
    }

    /// Sample times of rows `first..first+count`.
    pub fn time_of(&self, row: usize) -> f64 {
        self.t_start_ms + row as f64 * self.dt_ms
    }

    /// Row range of samples with `from_ms <= t <= to_ms`.
    pub fn rows_between(&self, from_ms: f64, to_ms: f64) -> std::ops::Range<usize> {
        if self.dt_ms <= 0.0 || self.n_steps == 0 {
            return 0..self.n_steps;
        }
        let eps = self.dt_ms * 1e-6;
        let first = ((from_ms - self.t_start_ms - eps) / self.dt_ms)
            .ceil()
            .max(0.0) as usize;
        let last = ((to_ms - self.t_start_ms + eps) / self.dt_ms).floor();
        let end = if last < 0.0 {
            0
        } else {
            (last.min(self.n_steps as f64 - 1.0) as usize + 1).min(self.n_steps)
        };
        first.min(end)..end
    }

    /// The traces of `node_ids` (first element of each) over `rows`.
    pub fn read(
        &self,
        node_ids: &[u64],
        rows: std::ops::Range<usize>,
    ) -> Result<Traces, SonataError> {
        self.read_in_blocks(node_ids, rows, BLOCK_VALUES)
    }

    fn read_in_blocks(
        &self,
        node_ids: &[u64],
        rows: std::ops::Range<usize>,
        block_values: usize,
    ) -> Result<Traces, SonataError> {
        let data = format!("/report/{}/data", self.population);
        let mut columns = Vec::with_capacity(node_ids.len());
        for id in node_ids {
            let col = self.column_of(*id).ok_or_else(|| {
                SonataError::data(
                    self.path(),
                    &format!("/report/{}/mapping/node_ids", self.population),
                    format!(
                        "node {id} is not in this report ({} nodes recorded)",
                        self.node_ids.len()
                    ),
                )
            })?;
            columns.push(col);
        }
        // Rows are read in blocks of at most BLOCK_VALUES values, keeping only the wanted
        // columns, so a report with many nodes never sits in memory whole.
        let count = rows.len();
        let block = (block_values / self.n_columns.max(1)).max(1);
        let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(count); columns.len()];
        let mut start = rows.start;
        while start < rows.end {
            let n = block.min(rows.end - start);
            let flat = self.file.read_f64_rows(&data, start as u64, n as u64)?;
            if flat.len() != n * self.n_columns {
                return Err(SonataError::data(
                    self.path(),
                    &data,
                    format!(
                        "read {} values for {n} rows of {} columns",
                        flat.len(),
                        self.n_columns
                    ),
                ));
            }
            for (k, c) in columns.iter().enumerate() {
                values[k].extend((0..n).map(|r| flat[r * self.n_columns + c]));
            }
            start += n;
        }
        Ok(Traces {
            time_ms: rows.map(|r| self.time_of(r)).collect(),
            node_ids: node_ids.to_vec(),
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sonata::h5::{Data, H5Tree};

    #[test]
    fn block_reads_equal_one_read_and_follow_the_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.h5");
        // 7 samples, columns for nodes [3, 1]; value = 10 * node + sample.
        let mut data = Vec::new();
        for r in 0..7 {
            data.extend([30.0 + r as f64, 10.0 + r as f64]);
        }
        let mut t = H5Tree::new();
        t.dataset("/report/p/data", Data::F64(data, vec![7, 2]))
            .dataset("/report/p/mapping/node_ids", Data::U64(vec![3, 1]))
            .dataset("/report/p/mapping/index_pointer", Data::U64(vec![0, 1, 2]))
            .dataset(
                "/report/p/mapping/time",
                Data::F64(vec![5.0, 5.7, 0.1], vec![3]),
            );
        t.write(&path, true).unwrap();
        let r = ElementReport::open(&path, None).unwrap();
        assert_eq!(r.rows_between(5.2, 5.45), 2..5);
        let whole = r.read(&[1, 3], 1..6).unwrap();
        for block in [2, 3, 5] {
            let parts = r.read_in_blocks(&[1, 3], 1..6, block).unwrap();
            assert_eq!(parts.values, whole.values);
        }
        assert_eq!(whole.values[0], vec![11.0, 12.0, 13.0, 14.0, 15.0]);
        assert_eq!(whole.values[1], vec![31.0, 32.0, 33.0, 34.0, 35.0]);
        assert!((whole.time_ms[0] - 5.1).abs() < 1e-12);
        assert!(r.read(&[2], 0..1).is_err());
    }
}
