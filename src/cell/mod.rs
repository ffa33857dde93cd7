//! Single cells: morphology, the cable solver, NMODL mechanisms, HOC templates and protocols.
pub mod allen;
pub mod hoc;
pub mod info;
pub mod mechanism;
pub mod morphology;
pub mod nmodl;
pub mod protocols;
pub mod solver;
