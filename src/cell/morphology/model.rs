//! `CellModel`: a whole cell as plain data (sections, inserted mechanisms with per-segment
//! values, point processes, temperature and v_init) and the builder API that the HOC interpreter,
//! the SWC loader and tests use to make one. Checks structure (nseg, L, diam, Ra, loops); it does
//! not know any mechanism's variables, which the solver checks when it instantiates the model.
//!
//! HOC to builder: `create soma` -> [`CellModel::add_section`] (name as NEURON prints it,
//! `soma[0]`); `connect dend(0), soma(1)` -> [`CellModel::connect`]`(dend, soma, 1.0)` (only the
//! child's 0 end may connect); `L`, `diam`, `nseg`, `Ra`, `cm` -> `set_length`, `set_diam`,
//! `set_nseg`, `set_ra`, `set_cm`; `pt3dadd(x, y, z, d)` -> [`CellModel::add_pt3d`] (two or more
//! points make the geometry pt3d-based, L becomes their arc length); `insert hh` ->
//! [`CellModel::insert`]; `gnabar_hh = 0.12` -> [`CellModel::set_range`]; `g_pas(x) = v` ->
//! [`CellModel::set_range_at`], or by segment index with [`CellModel::set_segment_range`];
//! `ena = 50` (an ion variable) -> `set_range` too; `new IClamp(0.5)` + `.amp = ...` ->
//! [`CellModel::add_point_process`] + [`CellModel::set_point_value`]; `celsius`, `v_init` ->
//! fields; mechanism GLOBALs -> [`CellModel::set_global`]. `define_shape()` changes nothing
//! electrical here (see `shape`).

use std::collections::BTreeMap;

use super::error::ModelError;
use super::section::{Connection, InsertedMechanism, Pt3d, RangeValue, Section, SectionId};

/// A point process (IClamp, synapse, ...) placed at (section, x).
#[derive(Debug, Clone, PartialEq)]
pub struct PointProcess {
    /// POINT_PROCESS name (`IClamp`).
    pub mechanism: String,
    /// Section it sits in.
    pub section: SectionId,
    /// Position along the section, 0..=1.
    pub x: f64,
    /// Values set for its RANGE variables (`amp`, `del`, `dur`), by plain name.
    pub values: Vec<(String, f64)>,
}

/// Index of a point process in [`CellModel::point_processes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointProcessId(pub usize);

/// A cell: sections referenced by index, mechanisms by name.
#[derive(Debug, Clone, PartialEq)]
pub struct CellModel {
    /// Sections; a section's index is its [`SectionId`].
    pub sections: Vec<Section>,
    /// Point processes; an entry's index is its [`PointProcessId`].
    pub point_processes: Vec<PointProcess>,
    /// Temperature (NEURON global `celsius`, default 6.3).
    pub celsius_degc: f64,
    /// Initial membrane potential (NEURON global `v_init`, default -65).
    pub v_init_mv: f64,
    /// Mechanism and ion GLOBALs by hoc name (`usetable_hh`, `cai0_ca_ion`).
    pub globals: BTreeMap<String, f64>,
}

impl Default for CellModel {
    fn default() -> Self {
        Self::new()
    }
}

impl CellModel {
    /// An empty cell at NEURON's default celsius (6.3) and v_init (-65).
    pub fn new() -> Self {
        Self {
            sections: Vec::new(),
            point_processes: Vec::new(),
            celsius_degc: 6.3,
            v_init_mv: -65.0,
            globals: BTreeMap::new(),
        }
    }

    /// Add a root section with NEURON's defaults (L 100, diam 500, nseg 1, Ra 35.4, cm 1).
    pub fn add_section(&mut self, name: &str) -> SectionId {
        self.sections.push(Section::new(name));
        SectionId(self.sections.len() - 1)
    }

    /// Add a cylindrical section: name, L (um), diam (um), nseg.
    pub fn add_cylinder(
        &mut self,
        name: &str,
        length_um: f64,
        diam_um: f64,
        nseg: usize,
    ) -> Result<SectionId, ModelError> {
        let id = self.add_section(name);
        self.set_length(id, length_um)?;
        self.set_diam(id, diam_um)?;
        self.set_nseg(id, nseg)?;
        Ok(id)
    }

    /// The section `id`.
    pub fn section(&self, id: SectionId) -> Result<&Section, ModelError> {
        self.sections
            .get(id.0)
            .ok_or(ModelError::UnknownSection { index: id.0 })
    }

    fn section_mut(&mut self, id: SectionId) -> Result<&mut Section, ModelError> {
        self.sections
            .get_mut(id.0)
            .ok_or(ModelError::UnknownSection { index: id.0 })
    }

    /// Section id by name.
    pub fn find_section(&self, name: &str) -> Option<SectionId> {
        self.sections
            .iter()
            .position(|s| s.name == name)
            .map(SectionId)
    }

    /// `connect child(0), parent(parent_x)`. Rejects self connections and loops.
    pub fn connect(
        &mut self,
        child: SectionId,
        parent: SectionId,
        parent_x: f64,
    ) -> Result<(), ModelError> {
        let child_name = self.section(child)?.name.clone();
        self.section(parent)?;
        if !(0.0..=1.0).contains(&parent_x) {
            return Err(ModelError::InvalidPosition {
                section: child_name,
                x: parent_x,
            });
        }
        if child == parent {
            return Err(ModelError::SelfConnection {
                section: child_name,
            });
        }
        // Walk up from the parent; a hand-built model may already hold a cycle or a dangling
        // index, so the walk is bounded and indexed with `get`.
        let mut ancestor = Some(parent);
        let mut steps = 0;
        while let Some(id) = ancestor {
            if id == child || steps > self.sections.len() {
                return Err(ModelError::Loop {
                    section: child_name,
                });
            }
            steps += 1;
            ancestor = self
                .sections
                .get(id.0)
                .and_then(|section| section.parent)
                .map(|c| c.parent);
        }
        self.section_mut(child)?.parent = Some(Connection { parent, parent_x });
        Ok(())
    }

    /// Set `nseg` (>= 1); per-segment values are re-sampled as NEURON does.
    pub fn set_nseg(&mut self, id: SectionId, nseg: usize) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if nseg < 1 {
            return Err(ModelError::InvalidNseg {
                section: section.name.clone(),
                nseg,
            });
        }
        let old = section.nseg;
        section.cm_uf_cm2.resample(old, nseg);
        for mechanism in &mut section.mechanisms {
            for (_, value) in &mut mechanism.values {
                value.resample(old, nseg);
            }
        }
        for (_, value) in &mut section.ion_values {
            value.resample(old, nseg);
        }
        section.nseg = nseg;
        Ok(())
    }

    /// Set L (um, > 0).
    pub fn set_length(&mut self, id: SectionId, length_um: f64) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if !(length_um > 0.0 && length_um.is_finite()) {
            return Err(ModelError::InvalidLength {
                section: section.name.clone(),
                length_um,
            });
        }
        section.length_um = length_um;
        Ok(())
    }

    /// Set diam (um, > 0) of a cylindrical section.
    pub fn set_diam(&mut self, id: SectionId, diam_um: f64) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if !(diam_um > 0.0 && diam_um.is_finite()) {
            return Err(ModelError::InvalidDiameter {
                section: section.name.clone(),
                diam_um,
            });
        }
        section.diam_um = diam_um;
        Ok(())
    }

    /// Set Ra (ohm cm, > 0).
    pub fn set_ra(&mut self, id: SectionId, ra_ohm_cm: f64) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if !(ra_ohm_cm > 0.0 && ra_ohm_cm.is_finite()) {
            return Err(ModelError::InvalidRa {
                section: section.name.clone(),
                ra_ohm_cm,
            });
        }
        section.ra_ohm_cm = ra_ohm_cm;
        Ok(())
    }

    /// Set cm (uF/cm2) in every segment.
    pub fn set_cm(&mut self, id: SectionId, cm_uf_cm2: f64) -> Result<(), ModelError> {
        self.section_mut(id)?.cm_uf_cm2 = RangeValue::Uniform(cm_uf_cm2);
        Ok(())
    }

    /// Append a 3-D point (`pt3dadd`); two or more points make the geometry pt3d-based.
    pub fn add_pt3d(&mut self, id: SectionId, point: Pt3d) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if point.diam_um.is_nan() || point.diam_um < 0.0 {
            return Err(ModelError::InvalidDiameter {
                section: section.name.clone(),
                diam_um: point.diam_um,
            });
        }
        section.pt3d.push(point);
        Ok(())
    }

    /// `insert <name>`: add a density mechanism (no-op if already inserted).
    pub fn insert(&mut self, id: SectionId, mechanism: &str) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if section.mechanism(mechanism).is_none() {
            section.mechanisms.push(InsertedMechanism {
                name: mechanism.to_string(),
                values: Vec::new(),
            });
        }
        Ok(())
    }

    /// Set a range variable by hoc name in every segment: `gnabar_hh`, `g_pas`, `cm`.
    pub fn set_range(&mut self, id: SectionId, name: &str, value: f64) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        if name == "cm" {
            section.cm_uf_cm2 = RangeValue::Uniform(value);
            return Ok(());
        }
        match split_range_name(section, name) {
            Some((mechanism, variable)) => {
                *section.mechanisms[mechanism].value_mut(&variable, value) =
                    RangeValue::Uniform(value);
            }
            None => *ion_value_mut(section, name)? = RangeValue::Uniform(value),
        }
        Ok(())
    }

    /// Set a range variable by hoc name in one segment (0-based, `for (x, 0)` order).
    pub fn set_segment_range(
        &mut self,
        id: SectionId,
        segment: usize,
        name: &str,
        value: f64,
    ) -> Result<(), ModelError> {
        let section = self.section_mut(id)?;
        let nseg = section.nseg;
        if segment >= nseg {
            return Err(ModelError::SegmentOutOfRange {
                section: section.name.clone(),
                segment,
                nseg,
            });
        }
        if name == "cm" {
            section.cm_uf_cm2.set_segment(segment, nseg, value);
            return Ok(());
        }
        match split_range_name(section, name) {
            Some((mechanism, variable)) => section.mechanisms[mechanism]
                .value_mut(&variable, f64::NAN)
                .set_segment(segment, nseg, value),
            None => ion_value_mut(section, name)?.set_segment(segment, nseg, value),
        }
        Ok(())
    }

    /// Set a range variable at position x (the segment containing x), like `g_pas(0.3) = ...`.
    pub fn set_range_at(
        &mut self,
        id: SectionId,
        x: f64,
        name: &str,
        value: f64,
    ) -> Result<(), ModelError> {
        let section = self.section(id)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(ModelError::InvalidPosition {
                section: section.name.clone(),
                x,
            });
        }
        let segment = super::section::segment_index(x, section.nseg);
        self.set_segment_range(id, segment, name, value)
    }

    /// Place a point process at (section, x).
    pub fn add_point_process(
        &mut self,
        mechanism: &str,
        id: SectionId,
        x: f64,
    ) -> Result<PointProcessId, ModelError> {
        let section = self.section(id)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(ModelError::InvalidPosition {
                section: section.name.clone(),
                x,
            });
        }
        self.point_processes.push(PointProcess {
            mechanism: mechanism.to_string(),
            section: id,
            x,
            values: Vec::new(),
        });
        Ok(PointProcessId(self.point_processes.len() - 1))
    }

    /// Set a point process variable (`amp`, `del`, `dur`).
    pub fn set_point_value(
        &mut self,
        id: PointProcessId,
        name: &str,
        value: f64,
    ) -> Result<(), ModelError> {
        let point = self
            .point_processes
            .get_mut(id.0)
            .ok_or(ModelError::UnknownPointProcess { index: id.0 })?;
        match point.values.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => point.values.push((name.to_string(), value)),
        }
        Ok(())
    }

    /// Set a GLOBAL by hoc name (`usetable_hh`, `nai0_na_ion`).
    pub fn set_global(&mut self, name: &str, value: f64) {
        self.globals.insert(name.to_string(), value);
    }

    /// Check the whole model: nseg, lengths, diameters, Ra, connections (no loops), point
    /// process locations. Models built through the setters pass; hand-built ones may not.
    pub fn validate(&self) -> Result<(), ModelError> {
        for section in &self.sections {
            check_section(section)?;
            if let Some(connection) = section.parent {
                if connection.parent.0 >= self.sections.len() {
                    return Err(ModelError::UnknownSection {
                        index: connection.parent.0,
                    });
                }
                if !(0.0..=1.0).contains(&connection.parent_x) {
                    return Err(ModelError::InvalidPosition {
                        section: section.name.clone(),
                        x: connection.parent_x,
                    });
                }
            }
        }
        for point in &self.point_processes {
            let section = self.section(point.section)?;
            if !(0.0..=1.0).contains(&point.x) {
                return Err(ModelError::InvalidPosition {
                    section: section.name.clone(),
                    x: point.x,
                });
            }
        }
        for (index, section) in self.sections.iter().enumerate() {
            let mut steps = 0;
            let mut ancestor = section.parent.map(|c| c.parent);
            while let Some(id) = ancestor {
                if id.0 == index {
                    return Err(if steps == 0 {
                        ModelError::SelfConnection {
                            section: section.name.clone(),
                        }
                    } else {
                        ModelError::Loop {
                            section: section.name.clone(),
                        }
                    });
                }
                steps += 1;
                if steps > self.sections.len() {
                    return Err(ModelError::Loop {
                        section: section.name.clone(),
                    });
                }
                ancestor = self.sections[id.0].parent.map(|c| c.parent);
            }
        }
        Ok(())
    }
}

fn check_section(section: &Section) -> Result<(), ModelError> {
    let name = || section.name.clone();
    if section.nseg < 1 {
        return Err(ModelError::InvalidNseg {
            section: name(),
            nseg: section.nseg,
        });
    }
    if !(section.ra_ohm_cm > 0.0 && section.ra_ohm_cm.is_finite()) {
        return Err(ModelError::InvalidRa {
            section: name(),
            ra_ohm_cm: section.ra_ohm_cm,
        });
    }
    if section.has_pt3d_geometry() {
        let length_um = section.length();
        if length_um.is_nan() || length_um <= 0.0 {
            return Err(ModelError::InvalidLength {
                section: name(),
                length_um,
            });
        }
        return Ok(());
    }
    if !(section.length_um > 0.0 && section.length_um.is_finite()) {
        return Err(ModelError::InvalidLength {
            section: name(),
            length_um: section.length_um,
        });
    }
    if !(section.diam_um > 0.0 && section.diam_um.is_finite()) {
        return Err(ModelError::InvalidDiameter {
            section: name(),
            diam_um: section.diam_um,
        });
    }
    Ok(())
}

/// The stored value of ion variable `name` (`ena`, `cai`, `cao`), created unset (NaN) if new.
/// Names that cannot be ion variables are errors.
fn ion_value_mut<'a>(
    section: &'a mut Section,
    name: &str,
) -> Result<&'a mut RangeValue, ModelError> {
    if !is_ion_variable_name(name) {
        return Err(ModelError::UnknownRangeVariable {
            section: section.name.clone(),
            name: name.to_string(),
        });
    }
    let index = match section.ion_values.iter().position(|(n, _)| n == name) {
        Some(index) => index,
        None => {
            section
                .ion_values
                .push((name.to_string(), RangeValue::Uniform(f64::NAN)));
            section.ion_values.len() - 1
        }
    };
    Ok(&mut section.ion_values[index].1)
}

/// `e<ion>`, `<ion>i` or `<ion>o` with an ion name of letters and digits.
fn is_ion_variable_name(name: &str) -> bool {
    let ion = if let Some(ion) = name.strip_prefix('e') {
        ion
    } else if let Some(ion) = name.strip_suffix('i').or_else(|| name.strip_suffix('o')) {
        ion
    } else {
        return false;
    };
    !ion.is_empty() && ion.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Split `gnabar_hh` into (index of inserted `hh`, `gnabar`); suffixes may contain `_`.
fn split_range_name(section: &Section, name: &str) -> Option<(usize, String)> {
    section
        .mechanisms
        .iter()
        .enumerate()
        .filter_map(|(index, mechanism)| {
            let suffix = format!("_{}", mechanism.name);
            name.strip_suffix(&suffix)
                .filter(|variable| !variable.is_empty())
                .map(|variable| (index, variable.to_string(), mechanism.name.len()))
        })
        .max_by_key(|(_, _, suffix_len)| *suffix_len)
        .map(|(index, variable, _)| (index, variable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_names_split_on_inserted_suffix() {
        let mut cell = CellModel::new();
        let soma = cell.add_section("soma[0]");
        cell.insert(soma, "Ca_HVA").unwrap();
        cell.set_range(soma, "gbar_Ca_HVA", 1e-3).unwrap();
        let inserted = cell.sections[0].mechanism("Ca_HVA").unwrap();
        assert_eq!(inserted.value("gbar"), Some(&RangeValue::Uniform(1e-3)));
    }

    #[test]
    fn loops_and_self_connections_are_errors() {
        let mut cell = CellModel::new();
        let a = cell.add_section("a");
        let b = cell.add_section("b");
        assert!(matches!(
            cell.connect(a, a, 1.0),
            Err(ModelError::SelfConnection { .. })
        ));
        cell.connect(b, a, 1.0).unwrap();
        assert!(matches!(
            cell.connect(a, b, 1.0),
            Err(ModelError::Loop { .. })
        ));
    }

    #[test]
    fn nseg_resampling_keeps_values_by_segment_centre() {
        let mut value = RangeValue::PerSegment(vec![1.0, 2.0]);
        value.resample(2, 4);
        assert_eq!(value, RangeValue::PerSegment(vec![1.0, 1.0, 2.0, 2.0]));
    }
}
