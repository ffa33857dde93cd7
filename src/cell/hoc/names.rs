//! What a HOC name means to NEURON's mechanism tables: `gbar_nap` is RANGE `gbar` of density
//! mechanism `nap`, `ehd_hd` a GLOBAL of `hd`, `ena`/`cai`/`eleak` ion variables of species the
//! loaded mechanisms use, `na_ion` an ion mechanism. Answers come from the solver's
//! [`MechanismRegistry`] (built-ins plus compiled mod files); this module does not compile or run
//! mechanisms, and a name it does not know is left to the interpreter (per-object variable).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cell::mechanism::folder::CellMechanisms;
use crate::cell::mechanism::ions::species_defaults;
use crate::cell::mechanism::{MechanismInfo, MechanismKind, MechanismRegistry};

/// Name lookups against the mechanisms a cell may use.
#[derive(Debug)]
pub struct MechanismNames<'a> {
    registry: &'a MechanismRegistry,
    folder: Option<PathBuf>,
    unavailable: &'a [(String, String)],
    ions: BTreeSet<String>,
}

/// An ion variable: `e<ion>`, `<ion>i` or `<ion>o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IonField {
    /// Reversal potential (mV).
    Reversal,
    /// Inside concentration (mM).
    Inside,
    /// Outside concentration (mM).
    Outside,
}

impl<'a> MechanismNames<'a> {
    /// Lookups against a cell's mechanisms.
    pub fn new(mechanisms: &'a CellMechanisms) -> Self {
        Self::with_registry(
            &mechanisms.registry,
            mechanisms.folder.as_deref(),
            &mechanisms.unavailable,
        )
    }

    /// Lookups against `registry`; `folder` is the mod folder searched and `unavailable` the
    /// mechanisms found there that cannot run (both named in errors).
    pub fn with_registry(
        registry: &'a MechanismRegistry,
        folder: Option<&Path>,
        unavailable: &'a [(String, String)],
    ) -> Self {
        let mut ions: BTreeSet<String> = ["na", "k", "ca"].iter().map(|s| s.to_string()).collect();
        for name in registry.names() {
            if let Some(kernel) = registry.get(name) {
                ions.extend(kernel.info().ions.iter().map(|ion| ion.ion.clone()));
            }
        }
        Self {
            registry,
            folder: folder.map(Path::to_path_buf),
            unavailable,
            ions,
        }
    }

    /// Why mechanism `name` is missing: it cannot run, or where it was looked for.
    pub fn missing(&self, name: &str) -> String {
        match self.unavailable.iter().find(|(n, _)| n == name) {
            Some((_, reason)) => format!("it is in the mod folder but cannot run: {reason}"),
            None => self.searched(),
        }
    }

    /// Where mechanisms were looked for, for error messages.
    pub fn searched(&self) -> String {
        match &self.folder {
            Some(folder) => format!(
                "not built in (pas, hh, IClamp) and not in mod folder {}",
                folder.display()
            ),
            None => "not built in (pas, hh, IClamp) and no mod folder was given".to_string(),
        }
    }

    /// The mechanism called `name`, of either kind.
    pub fn mechanism(&self, name: &str) -> Option<&MechanismInfo> {
        self.registry.get(name).map(|kernel| kernel.info())
    }

    /// A density mechanism (`SUFFIX`) called `name`.
    pub fn density(&self, name: &str) -> Option<&MechanismInfo> {
        self.mechanism(name)
            .filter(|info| info.kind == MechanismKind::Density)
    }

    /// A point process called `name`.
    pub fn point_process(&self, name: &str) -> Option<&MechanismInfo> {
        self.mechanism(name)
            .filter(|info| info.kind == MechanismKind::Point)
    }

    /// `na_ion`, `ca_ion`, ...: an ion mechanism of a known species.
    pub fn is_ion_mechanism(&self, name: &str) -> bool {
        name.strip_suffix("_ion")
            .is_some_and(|ion| self.ions.contains(ion))
    }

    /// Species known to the loaded mechanisms.
    pub fn ions(&self) -> impl Iterator<Item = &str> {
        self.ions.iter().map(String::as_str)
    }

    /// `gbar_nap` -> (`nap`, `gbar`) when `nap` is a density mechanism with RANGE `gbar`.
    pub fn range(&self, name: &str) -> Option<(String, String)> {
        self.split(name).find_map(|(variable, suffix)| {
            let info = self.density(suffix)?;
            info.variable_index(variable)
                .map(|_| (suffix.to_string(), variable.to_string()))
        })
    }

    /// Default of a GLOBAL by hoc name (`ehd_hd`, `q10_kap`, `cai0_ca_ion`).
    pub fn global_default(&self, name: &str) -> Option<f64> {
        if let Some(value) = self.ion_global_default(name) {
            return Some(value);
        }
        self.split(name).find_map(|(variable, suffix)| {
            let info = self.mechanism(suffix)?;
            let index = info.global_index(variable)?;
            Some(info.globals[index].default)
        })
    }

    /// `nai0_na_ion`, `cao0_ca_ion`: initial concentrations of known species.
    fn ion_global_default(&self, name: &str) -> Option<f64> {
        let rest = name.strip_suffix("_ion")?;
        let (variable, ion) = rest.rsplit_once('_')?;
        if !self.ions.contains(ion) {
            return None;
        }
        let (_, inside, outside, _) = species_defaults(ion);
        if variable == format!("{ion}i0") {
            Some(inside)
        } else if variable == format!("{ion}o0") {
            Some(outside)
        } else {
            None
        }
    }

    /// `ena` -> (`na`, Reversal), `cai` -> (`ca`, Inside) for known species.
    pub fn ion_variable(&self, name: &str) -> Option<(String, IonField)> {
        if let Some(ion) = name.strip_prefix('e') {
            if self.ions.contains(ion) {
                return Some((ion.to_string(), IonField::Reversal));
            }
        }
        for (suffix, field) in [('i', IonField::Inside), ('o', IonField::Outside)] {
            if let Some(ion) = name.strip_suffix(suffix) {
                if self.ions.contains(ion) {
                    return Some((ion.to_string(), field));
                }
            }
        }
        None
    }

    /// NEURON's default of an ion variable.
    pub fn ion_default(&self, ion: &str, field: IonField) -> f64 {
        let (reversal, inside, outside, _) = species_defaults(ion);
        match field {
            IonField::Reversal => reversal,
            IonField::Inside => inside,
            IonField::Outside => outside,
        }
    }

    /// Every (variable, suffix) split of `name` at an underscore.
    fn split<'n>(&self, name: &'n str) -> impl Iterator<Item = (&'n str, &'n str)> {
        name.char_indices()
            .filter(|(_, c)| *c == '_')
            .map(move |(i, _)| (&name[..i], &name[i + 1..]))
            .filter(|(variable, suffix)| !variable.is_empty() && !suffix.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_resolve() {
        let registry = MechanismRegistry::with_builtins();
        let names = MechanismNames::with_registry(&registry, None, &[]);
        assert_eq!(
            names.range("gnabar_hh"),
            Some(("hh".to_string(), "gnabar".to_string()))
        );
        assert_eq!(names.range("gbar_nap"), None);
        assert_eq!(
            names.ion_variable("ena"),
            Some(("na".to_string(), IonField::Reversal))
        );
        assert_eq!(names.ion_variable("eleak"), None);
        assert!(names.is_ion_mechanism("ca_ion"));
        assert_eq!(names.global_default("nai0_na_ion"), Some(10.0));
        assert!(names.point_process("IClamp").is_some());
    }
}
