//! The table of mechanism types a simulation can instantiate, by name. It starts with NEURON's
//! built-ins (`pas`, `hh`, `IClamp`); the NMODL front-end registers compiled `.mod` mechanisms
//! here. It must not hold per-cell data.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::MechanismKernel;

/// Mechanism kernels by SUFFIX / POINT_PROCESS name, iterated in registration order.
#[derive(Debug, Clone, Default)]
pub struct MechanismRegistry {
    order: Vec<String>,
    kernels: BTreeMap<String, Arc<dyn MechanismKernel>>,
}

impl MechanismRegistry {
    /// An empty registry (no built-ins).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry holding NEURON's built-in `pas`, `hh` and `IClamp`.
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        crate::cell::solver::builtin::register_all(&mut registry);
        registry
    }

    /// Add (or replace) a mechanism type under its `info().name`.
    pub fn register(&mut self, kernel: Arc<dyn MechanismKernel>) {
        let name = kernel.info().name.clone();
        if !self.kernels.contains_key(&name) {
            self.order.push(name.clone());
        }
        self.kernels.insert(name, kernel);
    }

    /// The kernel registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn MechanismKernel>> {
        self.kernels.get(name)
    }

    /// Registration index of `name` (the order in which currents are evaluated).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.order.iter().position(|n| n == name)
    }

    /// Names in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }
}
