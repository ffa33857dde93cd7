//! Errors while building or running a simulation: model structure, unknown mechanisms or
//! variables, and numerical blow-ups. Each names the section (and time) in one line.

use thiserror::Error;

use crate::cell::morphology::ModelError;

/// Anything that stops a simulation from being built or from running.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// The cell's structure is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A mechanism name not in the registry.
    #[error("section {section}: unknown mechanism {mechanism}")]
    UnknownMechanism {
        /// Section where it is used.
        section: String,
        /// Mechanism name.
        mechanism: String,
    },
    /// A density mechanism placed as a point process or the reverse.
    #[error("section {section}: {mechanism} is a {actual}, not a {expected}")]
    WrongMechanismKind {
        /// Section where it is used.
        section: String,
        /// Mechanism name.
        mechanism: String,
        /// What the mechanism is.
        actual: &'static str,
        /// What the model used it as.
        expected: &'static str,
    },
    /// A variable that the mechanism does not have.
    #[error("section {section}: {mechanism} has no variable {variable}")]
    UnknownVariable {
        /// Section concerned.
        section: String,
        /// Mechanism name.
        mechanism: String,
        /// Variable name.
        variable: String,
    },
    /// A GLOBAL name that no mechanism or ion has.
    #[error("unknown global {name}")]
    UnknownGlobal {
        /// The hoc name.
        name: String,
    },
    /// Two USEION statements disagree on a valence.
    #[error("ion {ion} declared with valence {first} and {second}")]
    ValenceConflict {
        /// Species.
        ion: String,
        /// First valence seen.
        first: f64,
        /// Conflicting valence.
        second: f64,
    },
    /// A species whose reversal potential needs Nernst but has no valence.
    #[error("ion {ion} needs a VALENCE in some USEION to compute its reversal potential")]
    MissingValence {
        /// Species.
        ion: String,
    },
    /// A range variable that does not exist at that location.
    #[error("section {section}: no range variable {name} at x = {x}")]
    UnknownRangeVariable {
        /// Section name.
        section: String,
        /// Variable name.
        name: String,
        /// Position.
        x: f64,
    },
    /// dt <= 0 or not finite.
    #[error("dt must be > 0 ms, got {dt_ms}")]
    InvalidDt {
        /// Value given.
        dt_ms: f64,
    },
    /// The membrane potential became NaN or exceeded 1e4 mV in magnitude.
    #[error("membrane potential {v_mv} mV in section {section} at t = {t_ms} ms is NaN or beyond 1e4 mV; the run is numerically unstable, try a smaller dt")]
    Unstable {
        /// Section where it happened.
        section: String,
        /// Time (ms).
        t_ms: f64,
        /// Offending value (mV).
        v_mv: f64,
    },
}
