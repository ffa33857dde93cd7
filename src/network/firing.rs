//! Spike counts and firing rates per node group (bmtool's raster and
//! `compute_firing_rate_stats`), kept columnar: the spikes of a window become three flat columns
//! (time, stacked node id, group index) for the raster, and per-group counts for the table.
//! Rates are given two ways because bmtool averages only over cells that fired: over all cells
//! of the group and over firing cells. Reads nothing itself; draws nothing.

use super::groups::PopulationGroups;
use crate::sonata::{Circuit, SonataError, SpikeTrains};

/// What to count.
#[derive(Debug, Clone)]
pub struct RasterOptions {
    /// Only this node population (all populations in the spikes file when None).
    pub population: Option<String>,
    /// Node attribute that splits populations into groups (`pop_name` by default).
    pub group_by: String,
    /// Window; None means the config's run.tstart (or 0) and run.tstop (or the last spike).
    pub tstart_ms: Option<f64>,
    pub tstop_ms: Option<f64>,
}

/// Counts for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFiring {
    pub population: String,
    pub group: String,
    pub cells: usize,
    pub cells_fired: usize,
    pub spikes: usize,
    /// spikes / cells / window (Hz).
    pub rate_all_cells_hz: f64,
    /// spikes / cells that fired / window (Hz): bmtool's mean firing rate.
    pub rate_firing_cells_hz: f64,
}

/// Spikes in the window, one entry per spike, plus per-group counts.
#[derive(Debug, Clone)]
pub struct Raster {
    pub tstart_ms: f64,
    pub tstop_ms: f64,
    pub groups: Vec<GroupFiring>,
    pub time_ms: Vec<f64>,
    /// Node id plus the offset of its population (populations are stacked when there are several).
    pub y: Vec<u64>,
    pub group: Vec<u16>,
    /// (population, first y, id span) for every population drawn.
    pub populations: Vec<(String, u64, u64)>,
    pub warnings: Vec<String>,
}

/// Count and collect the spikes of `trains` against the circuit's populations.
pub fn raster(
    circuit: &Circuit,
    trains: Vec<SpikeTrains>,
    spikes_file: &std::path::Path,
    opts: &RasterOptions,
) -> Result<Raster, SonataError> {
    let mut warnings = Vec::new();
    let tstart = opts
        .tstart_ms
        .or_else(|| circuit.config.number("/run/tstart"))
        .unwrap_or(0.0);
    let last_spike = trains
        .iter()
        .flat_map(|t| t.timestamps_ms.iter().copied())
        .fold(f64::NEG_INFINITY, f64::max);
    let tstop = opts
        .tstop_ms
        .or_else(|| circuit.config.number("/run/tstop"))
        .unwrap_or(if last_spike.is_finite() {
            last_spike
        } else {
            tstart + 1.0
        });
    // A --tstart nan compares false with everything: check it first.
    if !tstart.is_finite() || !tstop.is_finite() || tstop <= tstart {
        return Err(SonataError::data(
            spikes_file,
            "window",
            format!("tstop {tstop} ms must be after tstart {tstart} ms"),
        ));
    }
    let seconds = (tstop - tstart) / 1000.0;
    if let Some(p) = &opts.population {
        circuit.node_population(p)?;
    }
    let mut out = Raster {
        tstart_ms: tstart,
        tstop_ms: tstop,
        groups: Vec::new(),
        time_ms: Vec::new(),
        y: Vec::new(),
        group: Vec::new(),
        populations: Vec::new(),
        warnings: Vec::new(),
    };
    let mut offset = 0u64;
    for train in trains {
        let pop_name = match (&train.population, &opts.population) {
            (Some(p), Some(want)) if p != want => continue,
            (Some(p), _) => p.clone(),
            (None, Some(want)) => want.clone(),
            (None, None) => {
                return Err(SonataError::data(
                    spikes_file,
                    "/spikes",
                    "spikes without a population name: pass --population",
                ))
            }
        };
        let Ok(pop) = circuit.node_population(&pop_name) else {
            warnings.push(format!(
                "spikes of population '{pop_name}' skipped: the model has no such node population"
            ));
            continue;
        };
        let groups = match PopulationGroups::build(pop, &opts.group_by) {
            Ok(g) => g,
            Err(_) => {
                warnings.push(format!(
                    "population '{pop_name}' has no '{}'; its groups are node_type_id values",
                    opts.group_by
                ));
                PopulationGroups::build(pop, "node_type_id")?
            }
        };
        let base = out.groups.len();
        if base + groups.values.len() > u16::MAX as usize {
            return Err(SonataError::data(
                pop.file_path(),
                &format!("/nodes/{pop_name}"),
                format!("too many '{}' groups to draw", groups.attribute),
            ));
        }
        let mut spikes_per_node = vec![0u32; pop.id_span()];
        let mut spikes = vec![0usize; groups.values.len()];
        for (id, t) in train.node_ids.iter().zip(&train.timestamps_ms) {
            if *t < tstart || *t > tstop {
                continue;
            }
            let g = groups.group_of(*id);
            if g == PopulationGroups::NONE {
                return Err(SonataError::data(
                    spikes_file,
                    &format!("/spikes/{pop_name}/node_ids"),
                    format!("node id {id} is not in node population '{pop_name}'"),
                ));
            }
            spikes_per_node[*id as usize] += 1;
            spikes[g as usize] += 1;
            out.time_ms.push(*t);
            out.y.push(offset + id);
            out.group.push((base + g as usize) as u16);
        }
        let mut fired = vec![0usize; groups.values.len()];
        for (id, n) in spikes_per_node.iter().enumerate() {
            if *n > 0 {
                fired[groups.group_of(id as u64) as usize] += 1;
            }
        }
        for (g, value) in groups.values.iter().enumerate() {
            let rate = |cells: usize| {
                if cells == 0 {
                    f64::NAN
                } else {
                    spikes[g] as f64 / cells as f64 / seconds
                }
            };
            out.groups.push(GroupFiring {
                population: pop_name.clone(),
                group: value.clone(),
                cells: groups.sizes[g],
                cells_fired: fired[g],
                spikes: spikes[g],
                rate_all_cells_hz: rate(groups.sizes[g]),
                rate_firing_cells_hz: rate(fired[g]),
            });
        }
        let span = pop.id_span() as u64;
        out.populations.push((pop_name, offset, span));
        offset += span;
    }
    if let (Some(p), true) = (&opts.population, out.populations.is_empty()) {
        return Err(SonataError::data(
            spikes_file,
            "/spikes",
            format!("has no spikes of population '{p}'"),
        ));
    }
    out.warnings = warnings;
    Ok(out)
}
