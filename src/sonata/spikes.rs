//! Spike files: SONATA `/spikes/<population>/{timestamps,node_ids}` (with the `sorting`
//! attribute), the old single-population layout `/spikes/{gids,timestamps}`, and the
//! space-separated CSV BMTK writes (`timestamps population node_ids`). Columnar: one flat
//! `node_ids` and one flat `timestamps_ms` vector per population, never a struct per spike.
//! This module reads; counting and drawing belong to `network` and `plot`.

use std::path::Path;

use super::h5::H5File;
use super::SonataError;

/// The spikes of one node population.
#[derive(Debug, Clone, Default)]
pub struct SpikeTrains {
    /// Node population; `None` for the old layout and CSVs without a population column.
    pub population: Option<String>,
    pub node_ids: Vec<u64>,
    pub timestamps_ms: Vec<f64>,
    /// The `sorting` attribute (`by_time`, `by_id`, `by_gid`, `none`) when the file has one.
    pub sorting: Option<String>,
}

impl SpikeTrains {
    pub fn len(&self) -> usize {
        self.node_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.node_ids.is_empty()
    }
}

/// Read every population of a spikes file, `.h5` or `.csv` by extension (anything else is tried
/// as HDF5 first, then as CSV).
pub fn read_spikes(path: &Path) -> Result<Vec<SpikeTrains>, SonataError> {
    if !path.exists() {
        return Err(SonataError::data(path, "/", "spikes file not found"));
    }
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"));
    if is_csv {
        read_csv(path)
    } else {
        read_h5(path)
    }
}

fn read_h5(path: &Path) -> Result<Vec<SpikeTrains>, SonataError> {
    let file = H5File::open(path)?;
    if !file.has_group("/spikes") {
        return Err(SonataError::data(
            path,
            "/spikes",
            "group not found: not a SONATA spikes file",
        ));
    }
    if file.has_dataset("/spikes/timestamps") {
        let ids_path = if file.has_dataset("/spikes/gids") {
            "/spikes/gids"
        } else {
            "/spikes/node_ids"
        };
        let trains = SpikeTrains {
            population: None,
            node_ids: file.read_u64(ids_path)?,
            timestamps_ms: file.read_f64("/spikes/timestamps")?,
            sorting: file.attr_string("/spikes", "sorting")?,
        };
        check_lengths(path, ids_path, &trains)?;
        return Ok(vec![trains]);
    }
    let mut out = Vec::new();
    for pop in file.groups("/spikes")? {
        let base = format!("/spikes/{pop}");
        let ids_path = format!("{base}/node_ids");
        let (node_ids, timestamps_ms) = rayon::join(
            || file.read_u64(&ids_path),
            || file.read_f64(&format!("{base}/timestamps")),
        );
        let trains = SpikeTrains {
            population: Some(pop.clone()),
            node_ids: node_ids?,
            timestamps_ms: timestamps_ms?,
            sorting: file.attr_string(&base, "sorting")?,
        };
        check_lengths(path, &ids_path, &trains)?;
        out.push(trains);
    }
    Ok(out)
}

fn check_lengths(path: &Path, ids_path: &str, t: &SpikeTrains) -> Result<(), SonataError> {
    if t.node_ids.len() != t.timestamps_ms.len() {
        return Err(SonataError::data(
            path,
            ids_path,
            format!(
                "has {} rows but timestamps has {}",
                t.node_ids.len(),
                t.timestamps_ms.len()
            ),
        ));
    }
    Ok(())
}

/// BMTK's spikes CSV: a header naming `timestamps`, `node_ids` and optionally `population`,
/// separated by spaces (or commas).
fn read_csv(path: &Path) -> Result<Vec<SpikeTrains>, SonataError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SonataError::data(path, "/", format!("cannot read: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let split = |l: &str| -> Vec<String> {
        l.split([' ', ',', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let header = split(header);
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (Some(t_col), Some(id_col)) = (col(&["timestamps"]), col(&["node_ids", "gids"])) else {
        return Err(SonataError::line(
            path,
            1,
            "the header must name 'timestamps' and 'node_ids' columns",
        ));
    };
    let pop_col = col(&["population"]);
    let mut out: Vec<SpikeTrains> = Vec::new();
    for (i, line) in lines {
        let fields = split(line);
        let bad = |what: &str| SonataError::line(path, i + 1, what);
        let t: f64 = fields
            .get(t_col)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("timestamps is not a number"))?;
        let id: u64 = fields
            .get(id_col)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("node_ids is not a node id"))?;
        let pop = pop_col.and_then(|c| fields.get(c)).cloned();
        let k = match out.iter().position(|s| s.population == pop) {
            Some(k) => k,
            None => {
                out.push(SpikeTrains {
                    population: pop,
                    ..SpikeTrains::default()
                });
                out.len() - 1
            }
        };
        out[k].node_ids.push(id);
        out[k].timestamps_ms.push(t);
    }
    Ok(out)
}
