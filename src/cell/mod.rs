//! Single cells: morphology, the cable solver, NMODL mechanisms, HOC templates and protocols.
pub mod nmodl;
