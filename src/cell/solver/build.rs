//! Instantiation: turns a [`CellModel`] plus a [`MechanismRegistry`] into the flat arrays the
//! stepper works on: one [`MechanismData`] per mechanism type in use (instances in node order,
//! values set by the model), ion species with their per-node styles, and GLOBAL values. All name
//! checks happen here, so stepping never fails on a name.

use std::sync::Arc;

use crate::cell::mechanism::ions::{STYLE_CI_WRITTEN, STYLE_CO_WRITTEN, STYLE_EINIT};
use crate::cell::mechanism::{
    CurrentConvention, IonStore, IonVariable, MechanismData, MechanismKernel, MechanismKind,
    MechanismRegistry,
};
use crate::cell::morphology::discretize::section_order;
use crate::cell::morphology::{CellModel, Discretization};

use super::error::SimError;

/// One mechanism type in use and its instances.
#[derive(Debug, Clone)]
pub(crate) struct MechanismSlot {
    pub(crate) kernel: Arc<dyn MechanismKernel>,
    pub(crate) data: MechanismData,
    pub(crate) convention: CurrentConvention,
}

/// Mechanism slots, ions, and where each point process landed.
pub(crate) struct Instantiated {
    pub(crate) slots: Vec<MechanismSlot>,
    pub(crate) ions: IonStore,
    /// (slot, instance) of each point process, by `PointProcessId`.
    pub(crate) point_instances: Vec<(usize, usize)>,
}

fn kind_name(kind: MechanismKind) -> &'static str {
    match kind {
        MechanismKind::Density => "density mechanism",
        MechanismKind::Point => "point process",
    }
}

/// Build slots for every registered mechanism the model uses, in registration order.
pub(crate) fn instantiate(
    model: &CellModel,
    disc: &Discretization,
    registry: &MechanismRegistry,
) -> Result<Instantiated, SimError> {
    check_names(model, registry)?;
    let mut slots = Vec::new();
    let mut point_instances = vec![(0, 0); model.point_processes.len()];
    for name in registry.names() {
        // `names()` only yields registered names, so `get` succeeds.
        let kernel = registry.get(name).expect("name comes from the registry");
        let info = kernel.info();
        let mut data = MechanismData::new(info);
        match info.kind {
            MechanismKind::Density => add_density_instances(model, disc, kernel, &mut data)?,
            MechanismKind::Point => {
                for (index, point) in model.point_processes.iter().enumerate() {
                    if point.mechanism != info.name {
                        continue;
                    }
                    let node = disc.node_at(point.section, point.x);
                    let instance = data.push_instance(info, node);
                    for (variable, value) in &point.values {
                        let column = info.variable_index(variable).ok_or_else(|| {
                            SimError::UnknownVariable {
                                section: model.sections[point.section.0].name.clone(),
                                mechanism: info.name.clone(),
                                variable: variable.clone(),
                            }
                        })?;
                        data.columns[column][instance] = *value;
                    }
                    point_instances[index] = (slots.len(), instance);
                }
            }
        }
        if data.is_empty() {
            continue;
        }
        slots.push(MechanismSlot {
            convention: CurrentConvention::of(info),
            kernel: kernel.clone(),
            data,
        });
    }
    let mut ions = attach_ions(&mut slots, disc.n_nodes())?;
    apply_ion_values(model, disc, &mut ions)?;
    let mut instantiated = Instantiated {
        slots,
        ions,
        point_instances,
    };
    apply_globals(model, registry, &mut instantiated)?;
    Ok(instantiated)
}

/// Every mechanism named in the model must be registered, with the right kind.
fn check_names(model: &CellModel, registry: &MechanismRegistry) -> Result<(), SimError> {
    let check = |section: &str, mechanism: &str, expected: MechanismKind| {
        let kernel = registry
            .get(mechanism)
            .ok_or_else(|| SimError::UnknownMechanism {
                section: section.to_string(),
                mechanism: mechanism.to_string(),
            })?;
        let actual = kernel.info().kind;
        if actual != expected {
            return Err(SimError::WrongMechanismKind {
                section: section.to_string(),
                mechanism: mechanism.to_string(),
                actual: kind_name(actual),
                expected: kind_name(expected),
            });
        }
        Ok(())
    };
    for section in &model.sections {
        for inserted in &section.mechanisms {
            check(&section.name, &inserted.name, MechanismKind::Density)?;
        }
    }
    for point in &model.point_processes {
        let section = &model.sections[point.section.0].name;
        check(section, &point.mechanism, MechanismKind::Point)?;
    }
    Ok(())
}

/// One instance per segment of each section where the mechanism is inserted, in node order.
fn add_density_instances(
    model: &CellModel,
    disc: &Discretization,
    kernel: &Arc<dyn MechanismKernel>,
    data: &mut MechanismData,
) -> Result<(), SimError> {
    let info = kernel.info();
    for id in section_order(model) {
        let section = &model.sections[id.0];
        let Some(inserted) = section.mechanism(&info.name) else {
            continue;
        };
        let mut columns = Vec::with_capacity(inserted.values.len());
        for (variable, value) in &inserted.values {
            let column =
                info.variable_index(variable)
                    .ok_or_else(|| SimError::UnknownVariable {
                        section: section.name.clone(),
                        mechanism: info.name.clone(),
                        variable: variable.clone(),
                    })?;
            columns.push((column, value));
        }
        let nodes = disc.sections[id.0];
        for segment in 0..section.nseg {
            let instance = data.push_instance(info, nodes.segment_node(segment));
            for (column, value) in &columns {
                let value = value.at(segment);
                // NaN marks "not set in this segment": keep the mechanism default.
                if !value.is_nan() {
                    data.columns[*column][instance] = value;
                }
            }
        }
    }
    Ok(())
}

/// Create ion species, resolve each slot's USEIONs and apply NEURON's style promotion per node.
fn attach_ions(slots: &mut [MechanismSlot], n_nodes: usize) -> Result<IonStore, SimError> {
    let mut ions = IonStore::default();
    for slot in slots.iter_mut() {
        let info = slot.kernel.info();
        slot.data.ions.clear();
        for usage in &info.ions {
            let id = ions.find_or_add(&usage.ion, n_nodes);
            let species = &mut ions.species[id.0];
            if let Some(valence) = usage.valence {
                match species.valence {
                    Some(existing) if existing != valence => {
                        return Err(SimError::ValenceConflict {
                            ion: usage.ion.clone(),
                            first: existing,
                            second: valence,
                        })
                    }
                    _ => species.valence = Some(valence),
                }
            }
            let reads = |v: IonVariable| usage.read.contains(&v);
            let writes = |v: IonVariable| usage.write.contains(&v);
            let conc_written = writes(IonVariable::ConcInside) || writes(IonVariable::ConcOutside);
            let conc_read = reads(IonVariable::ConcInside) || reads(IonVariable::ConcOutside);
            let conc = if conc_written {
                3
            } else {
                u32::from(conc_read)
            };
            let rev = if writes(IonVariable::Reversal) {
                3
            } else {
                u32::from(reads(IonVariable::Reversal))
            };
            for &node in &slot.data.node {
                if conc == 0 && rev == 0 {
                    species.attach(node);
                    continue;
                }
                species.promote(node, conc, rev);
                if writes(IonVariable::ConcInside) {
                    species.style[node] |= STYLE_CI_WRITTEN;
                }
                if writes(IonVariable::ConcOutside) {
                    species.style[node] |= STYLE_CO_WRITTEN;
                }
            }
            slot.data.ions.push(id);
        }
    }
    for species in &ions.species {
        let needs_nernst = species.style.iter().any(|style| style & STYLE_EINIT != 0);
        if needs_nernst && species.valence.is_none() {
            return Err(SimError::MissingValence {
                ion: species.name.clone(),
            });
        }
    }
    Ok(ions)
}

/// Apply the ion variables sections set (`ena = 50`), at the nodes where the ion is present.
fn apply_ion_values(
    model: &CellModel,
    disc: &Discretization,
    ions: &mut IonStore,
) -> Result<(), SimError> {
    for (index, section) in model.sections.iter().enumerate() {
        for (name, value) in &section.ion_values {
            let target = ions.species.iter_mut().find_map(|species| {
                let ion = species.name.clone();
                if *name == format!("e{ion}") {
                    Some((species, 0))
                } else if *name == format!("{ion}i") {
                    Some((species, 1))
                } else if *name == format!("{ion}o") {
                    Some((species, 2))
                } else {
                    None
                }
            });
            let unknown = || SimError::UnknownVariable {
                section: section.name.clone(),
                mechanism: "ion".to_string(),
                variable: name.clone(),
            };
            let (species, field) = target.ok_or_else(unknown)?;
            let nodes = disc.sections[index];
            if !(0..section.nseg).any(|k| species.present[nodes.segment_node(k)]) {
                return Err(unknown());
            }
            for segment in 0..section.nseg {
                let node = nodes.segment_node(segment);
                let value = value.at(segment);
                if !species.present[node] || value.is_nan() {
                    continue;
                }
                match field {
                    0 => species.erev[node] = value,
                    1 => species.conc_in[node] = value,
                    _ => species.conc_out[node] = value,
                }
            }
        }
    }
    Ok(())
}

/// Set GLOBAL `name` (`<var>_<suffix>`, `<ion>i0_<ion>_ion`, `<ion>o0_<ion>_ion`) among the
/// mechanism types and ions in use; false when nothing has that name.
pub(crate) fn assign_global(
    slots: &mut [MechanismSlot],
    ions: &mut IonStore,
    name: &str,
    value: f64,
) -> bool {
    for species in &mut ions.species {
        let ion = &species.name;
        if name == format!("{ion}i0_{ion}_ion") {
            species.conc_in0_mm = value;
            return true;
        }
        if name == format!("{ion}o0_{ion}_ion") {
            species.conc_out0_mm = value;
            return true;
        }
    }
    for slot in slots {
        let info = slot.kernel.info();
        let index = name
            .strip_suffix(&format!("_{}", info.name))
            .and_then(|global| info.global_index(global));
        if let Some(index) = index {
            slot.data.globals[index] = value;
            return true;
        }
    }
    false
}

/// Apply `CellModel::globals`: `<name>_<suffix>` for mechanisms, `<ion>i0_<ion>_ion` and
/// `<ion>o0_<ion>_ion` for ions. Globals of registered but unused mechanisms are accepted and
/// ignored; names matching nothing are errors.
fn apply_globals(
    model: &CellModel,
    registry: &MechanismRegistry,
    instantiated: &mut Instantiated,
) -> Result<(), SimError> {
    for (name, &value) in &model.globals {
        if assign_global(&mut instantiated.slots, &mut instantiated.ions, name, value)
            || name.ends_with("_ion")
        {
            continue; // assigned, or an ion no mechanism of this cell uses
        }
        let unused_mechanism = registry.names().any(|mechanism| {
            name.strip_suffix(&format!("_{mechanism}"))
                .zip(registry.get(mechanism))
                .is_some_and(|(global, kernel)| kernel.info().global_index(global).is_some())
        });
        if !unused_mechanism {
            return Err(SimError::UnknownGlobal { name: name.clone() });
        }
    }
    Ok(())
}
