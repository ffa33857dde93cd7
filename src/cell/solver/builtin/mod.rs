//! NEURON's built-in mechanisms, written against the same [`MechanismKernel`] interface that
//! NMODL-compiled mechanisms use: `pas` (passive.mod), `hh` (hh.mod) and `IClamp` (stim.mod).

pub mod hh;
pub mod iclamp;
pub mod pas;

use std::sync::Arc;

use crate::cell::mechanism::{MechanismKernel, MechanismRegistry};

/// Register `pas`, `hh` and `IClamp` (in NEURON's order: pas before hh before point processes).
pub fn register_all(registry: &mut MechanismRegistry) {
    let kernels: [Arc<dyn MechanismKernel>; 3] = [
        Arc::new(pas::Pas::new()),
        Arc::new(hh::Hh::new()),
        Arc::new(iclamp::IClamp::new()),
    ];
    for kernel in kernels {
        registry.register(kernel);
    }
}

/// NEURON's step for the numerical dI/dV (mV).
pub const DV_MV: f64 = 0.001;
