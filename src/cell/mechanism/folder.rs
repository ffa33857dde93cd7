//! The mechanisms a cell may use: NEURON's built-ins (`pas`, `hh`, `IClamp`) plus every
//! mechanism compiled from one mod folder (one namespace, as `nrnivmodl` builds it). Remembers
//! the folder and the mechanisms found there that cannot run, so loaders can name both in
//! errors. Compiling is the NMODL front-end's job; this only wires it to the registry.

use std::path::{Path, PathBuf};

use super::compiled::register_catalogue;
use super::MechanismRegistry;
use crate::cell::nmodl::{Catalogue, CompileOptions, NmodlError};

/// A registry and where its compiled mechanisms came from.
#[derive(Debug, Clone)]
pub struct CellMechanisms {
    /// Built-ins plus the folder's compiled mechanisms.
    pub registry: MechanismRegistry,
    /// The mod folder searched, if any.
    pub folder: Option<PathBuf>,
    /// Mechanisms of the folder that parse but cannot run, with the reason.
    pub unavailable: Vec<(String, String)>,
}

impl CellMechanisms {
    /// Only NEURON's built-ins.
    pub fn builtins() -> Self {
        Self {
            registry: MechanismRegistry::with_builtins(),
            folder: None,
            unavailable: Vec::new(),
        }
    }

    /// Built-ins plus every `.mod` file of `folder` (when given), compiled with the default
    /// options.
    pub fn load(folder: Option<&Path>) -> Result<Self, NmodlError> {
        Self::load_with(folder, CompileOptions::default())
    }

    /// [`load`](Self::load) with explicit compile options.
    pub fn load_with(folder: Option<&Path>, options: CompileOptions) -> Result<Self, NmodlError> {
        let mut mechanisms = Self::builtins();
        if let Some(folder) = folder {
            let catalogue = Catalogue::load_dir(folder)?;
            mechanisms.unavailable =
                register_catalogue(&mut mechanisms.registry, &catalogue, options)
                    .into_iter()
                    .map(|(name, error)| (name, error.to_string()))
                    .collect();
            mechanisms.folder = Some(folder.to_path_buf());
        }
        Ok(mechanisms)
    }
}
