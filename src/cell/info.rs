//! What `bmtool util cell info` reports about a cell: each section's name, parent, nseg, L,
//! diam, area, Ra, cm, 3-D point count, mechanisms, and per segment the geometry and every
//! PARAMETER of every inserted mechanism (the value the model sets, else the mechanism's
//! default) plus ion variables the model sets. Field names follow NEURON's `cell_info.json`
//! (../shared/reference/cells/<cell>/) so the two can be compared directly. Plain data, computed
//! without running the cell; rendering lives in `report`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cell::mechanism::{MechanismRegistry, VariableRole};
use crate::cell::morphology::{define_shape, CellModel, Discretization, ModelError, Section};

/// A cell's description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellInfo {
    /// Template (or model) name.
    pub template: String,
    /// Temperature after loading (degC).
    pub celsius: f64,
    /// v_init (mV).
    pub v_init: f64,
    /// Number of sections.
    pub n_sections: usize,
    /// Number of compartments (sum of nseg).
    pub total_nseg: usize,
    /// Membrane area of the whole cell (um2).
    pub total_area_um2: f64,
    /// Sections in model order.
    pub sections: Vec<SectionInfo>,
    /// Mechanism GLOBALs the model sets, by hoc name.
    pub globals: BTreeMap<String, f64>,
}

/// One section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionInfo {
    /// Name as NEURON prints it.
    pub name: String,
    /// Parent section name, if connected.
    pub parent: Option<String>,
    /// Position along the parent.
    pub parent_x: Option<f64>,
    /// Number of segments.
    pub nseg: usize,
    /// Length (um).
    #[serde(rename = "L")]
    pub length_um: f64,
    /// Mean segment diameter (um).
    pub diam_mean: f64,
    /// Axial resistivity (ohm cm).
    #[serde(rename = "Ra")]
    pub ra_ohm_cm: f64,
    /// Mean specific capacitance (uF/cm2).
    pub cm_mean: f64,
    /// 3-D points after define_shape.
    pub n3d: usize,
    /// Membrane area (um2).
    pub area_um2: f64,
    /// Density mechanisms, sorted by name.
    pub density_mechs: Vec<String>,
    /// Point processes placed in this section.
    pub point_processes: Vec<String>,
    /// Segments in `for (x, 0)` order.
    pub segments: Vec<SegmentInfo>,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentInfo {
    /// Centre position.
    pub x: f64,
    /// Membrane area (um2).
    pub area_um2: f64,
    /// Diameter (um).
    pub diam: f64,
    /// Specific capacitance (uF/cm2).
    pub cm: f64,
    /// Axial resistance from the parent node (MOhm).
    #[serde(rename = "ri_MOhm")]
    pub ri_mohm: f64,
    /// PARAMETER values by mechanism and variable name (suffix removed).
    pub mechs: BTreeMap<String, BTreeMap<String, f64>>,
    /// Ion variables the model sets (`ena`, `eca`, `eleak`).
    pub ions: BTreeMap<String, f64>,
}

/// A cell that cannot be described.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InfoError {
    /// Structure problem.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A mechanism the registry does not hold.
    #[error("section {section}: unknown mechanism {mechanism}")]
    UnknownMechanism {
        /// Section.
        section: String,
        /// Mechanism.
        mechanism: String,
    },
}

/// Describe `model`; mechanism defaults come from `registry`.
pub fn cell_info(
    model: &CellModel,
    registry: &MechanismRegistry,
    template: &str,
) -> Result<CellInfo, InfoError> {
    let disc = Discretization::new(model)?;
    let shapes = define_shape(model, &disc);
    let mut sections = Vec::with_capacity(model.sections.len());
    for (index, section) in model.sections.iter().enumerate() {
        let geometry = &disc.segments[index];
        let mut segments = Vec::with_capacity(section.nseg);
        for (k, segment) in geometry.iter().enumerate() {
            segments.push(SegmentInfo {
                x: segment.x,
                area_um2: segment.area_um2,
                diam: segment.diam_um,
                cm: section.cm_uf_cm2.at(k),
                ri_mohm: segment.ri_mohm,
                mechs: mechanism_values(section, k, registry)?,
                ions: section
                    .ion_values
                    .iter()
                    .map(|(name, value)| (name.clone(), value.at(k)))
                    .collect(),
            });
        }
        let n = segments.len() as f64;
        let mut density_mechs: Vec<String> =
            section.mechanisms.iter().map(|m| m.name.clone()).collect();
        density_mechs.sort();
        sections.push(SectionInfo {
            name: section.name.clone(),
            parent: section
                .parent
                .map(|c| model.sections[c.parent.0].name.clone()),
            parent_x: section.parent.map(|c| c.parent_x),
            nseg: section.nseg,
            length_um: section.length(),
            diam_mean: segments.iter().map(|s| s.diam).sum::<f64>() / n,
            ra_ohm_cm: section.ra_ohm_cm,
            cm_mean: segments.iter().map(|s| s.cm).sum::<f64>() / n,
            n3d: shapes[index].len(),
            area_um2: segments.iter().map(|s| s.area_um2).sum(),
            density_mechs,
            point_processes: model
                .point_processes
                .iter()
                .filter(|p| p.section.0 == index)
                .map(|p| p.mechanism.clone())
                .collect(),
            segments,
        });
    }
    Ok(CellInfo {
        template: template.to_string(),
        celsius: model.celsius_degc,
        v_init: model.v_init_mv,
        n_sections: sections.len(),
        total_nseg: sections.iter().map(|s| s.nseg).sum(),
        total_area_um2: sections.iter().map(|s| s.area_um2).sum(),
        sections,
        globals: model.globals.clone(),
    })
}

/// Every PARAMETER of every mechanism in `section` at segment `k` (set value or default), plus
/// any other variable the model sets.
fn mechanism_values(
    section: &Section,
    k: usize,
    registry: &MechanismRegistry,
) -> Result<BTreeMap<String, BTreeMap<String, f64>>, InfoError> {
    let mut mechs = BTreeMap::new();
    for inserted in &section.mechanisms {
        let kernel = registry
            .get(&inserted.name)
            .ok_or_else(|| InfoError::UnknownMechanism {
                section: section.name.clone(),
                mechanism: inserted.name.clone(),
            })?;
        let mut values = BTreeMap::new();
        for spec in &kernel.info().variables {
            if spec.role == VariableRole::Parameter {
                values.insert(spec.name.clone(), spec.default);
            }
        }
        for (name, value) in &inserted.values {
            values.insert(name.clone(), value.at(k));
        }
        mechs.insert(inserted.name.clone(), values);
    }
    Ok(mechs)
}
