//! The reference cells of ../shared/reference/cells as `CellModel`s, for protocol conformance and
//! benchmarks. Today every cell is rebuilt from NEURON's own `cell_info.json` (sections, pt3d,
//! nseg, Ra, cm and every RANGE PARAMETER per segment, reversal potentials of `ion_style` 8 ions,
//! every GLOBAL, celsius and v_init) plus the cell folder's `.mod` files compiled by our NMODL
//! front-end. When the HOC loader lands, a cell becomes one more `Source::Hoc` line.
#![allow(dead_code)]

use std::path::Path;

use bmtool::cell::mechanism::compiled::register_catalogue;
use bmtool::cell::mechanism::MechanismRegistry;
use bmtool::cell::morphology::{CellModel, Pt3d, SectionId};
use bmtool::cell::nmodl::{Catalogue, CompileOptions};
use serde_json::Value;

/// How a reference cell is built.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// From `reference/cells/<name>/dt0.025/cell_info.json`, with the `.mod` files of
    /// `cells/<folder>/modfiles` (None: built-in mechanisms only).
    CellInfo { mod_folder: Option<&'static str> },
}

/// One reference cell.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceCell {
    /// Folder name under reference/cells.
    pub name: &'static str,
    /// How to build it.
    pub source: Source,
}

/// Every reference cell we can build today.
pub const CELLS: &[ReferenceCell] = &[
    ReferenceCell {
        name: "BallStick_HH",
        source: Source::CellInfo { mod_folder: None },
    },
    ReferenceCell {
        name: "WBInhCell",
        source: Source::CellInfo {
            mod_folder: Some("wb_rtm"),
        },
    },
    ReferenceCell {
        name: "FSI_Cell",
        source: Source::CellInfo {
            mod_folder: Some("bmtool_tutorial"),
        },
    },
    ReferenceCell {
        name: "CP_Cell",
        source: Source::CellInfo {
            mod_folder: Some("bmtool_tutorial"),
        },
    },
    ReferenceCell {
        name: "Cell_Cf",
        source: Source::CellInfo {
            mod_folder: Some("amygdala_feng"),
        },
    },
    ReferenceCell {
        name: "Allen_386049446",
        source: Source::CellInfo {
            mod_folder: Some("allen_386049446"),
        },
    },
    ReferenceCell {
        name: "Allen_386049446_nseg40",
        source: Source::CellInfo {
            mod_folder: Some("allen_386049446"),
        },
    },
];

/// The cell called `name`.
pub fn cell(name: &str) -> ReferenceCell {
    *CELLS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no reference cell {name}"))
}

impl ReferenceCell {
    /// Build the model and its mechanism registry.
    pub fn build(&self, shared: &Path) -> (CellModel, MechanismRegistry) {
        match self.source {
            Source::CellInfo { mod_folder } => {
                let info_path = shared.join(format!(
                    "reference/cells/{}/dt0.025/cell_info.json",
                    self.name
                ));
                let info = super::json(&info_path);
                let mut registry = MechanismRegistry::with_builtins();
                if let Some(folder) = mod_folder {
                    let catalogue =
                        Catalogue::load_dir(shared.join("cells").join(folder).join("modfiles"))
                            .unwrap_or_else(|e| panic!("{folder}: {e}"));
                    let _point_processes_parse_only =
                        register_catalogue(&mut registry, &catalogue, CompileOptions::default());
                }
                (from_cell_info(&info), registry)
            }
        }
    }

    /// `results.json` for one dt (`"0.1"` or `"0.025"`).
    pub fn results(&self, shared: &Path, dt: &str) -> Value {
        super::json(&shared.join(format!("reference/cells/{}/dt{dt}/results.json", self.name)))
    }
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// A `CellModel` from NEURON's `cell_info.json`.
pub fn from_cell_info(info: &Value) -> CellModel {
    let sections = info["sections"].as_array().expect("sections");
    let mut cell = CellModel::new();
    for section in sections {
        add_geometry(&mut cell, section);
    }
    for (index, section) in sections.iter().enumerate() {
        if let Some(parent) = section["parent"].as_str() {
            let parent_id = cell.find_section(parent).expect("parent exists");
            let x = section["parent_x"].as_f64().expect("parent_x");
            cell.connect(SectionId(index), parent_id, x)
                .expect("connect");
        }
    }
    let kinds = &info["mechanism_vars"];
    for (index, section) in sections.iter().enumerate() {
        add_mechanisms(&mut cell, SectionId(index), section, kinds);
    }
    for (name, value) in info["globals"].as_object().expect("globals") {
        let Some(value) = value.as_f64() else {
            continue;
        };
        match name.as_str() {
            "celsius" => cell.celsius_degc = value,
            "v_init" => cell.v_init_mv = value,
            _ => cell.set_global(name, value),
        }
    }
    cell
}

fn add_geometry(cell: &mut CellModel, section: &Value) {
    let id = cell.add_section(section["name"].as_str().expect("name"));
    cell.set_nseg(id, section["nseg"].as_u64().expect("nseg") as usize)
        .expect("nseg");
    cell.set_ra(id, section["Ra"].as_f64().expect("Ra"))
        .expect("Ra");
    let points = section["pt3d"].as_array().expect("pt3d");
    if points.len() > 1 {
        for point in points {
            let p = numbers(point);
            cell.add_pt3d(id, Pt3d::new(p[0], p[1], p[2], p[3]))
                .expect("pt3d");
        }
    } else {
        cell.set_length(id, section["L"].as_f64().expect("L"))
            .expect("L");
        cell.set_diam(id, section["diam_mean"].as_f64().expect("diam"))
            .expect("diam");
    }
}

fn add_mechanisms(cell: &mut CellModel, id: SectionId, section: &Value, kinds: &Value) {
    for mechanism in section["density_mechs"].as_array().expect("density_mechs") {
        cell.insert(id, mechanism.as_str().expect("name"))
            .expect("insert");
    }
    let styles = section["ion_style"].as_object().expect("ion_style");
    for (k, segment) in section["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .enumerate()
    {
        cell.set_segment_range(id, k, "cm", segment["cm"].as_f64().expect("cm"))
            .expect("cm");
        for (mechanism, values) in segment["mechs"].as_object().expect("mechs") {
            let parameters = kinds[mechanism]["parameter"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for name in parameters.iter().filter_map(Value::as_str) {
                if let Some(value) = values[name].as_f64() {
                    cell.set_segment_range(id, k, &format!("{name}_{mechanism}"), value)
                        .expect("parameter");
                }
            }
        }
        // Style 8: the reversal potential is a parameter the template may have set.
        for (ion, values) in segment["ions"].as_object().expect("ions") {
            if styles.get(ion).and_then(Value::as_u64) == Some(8) {
                let name = format!("e{ion}");
                if let Some(value) = values[&name].as_f64() {
                    cell.set_segment_range(id, k, &name, value)
                        .expect("reversal");
                }
            }
        }
    }
}
