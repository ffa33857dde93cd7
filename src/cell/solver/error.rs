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
    #[error("the run is numerically unstable: {} at t = {} ms in {section}({x}) (segment {segment}) with dt = {dt_ms} ms; try a smaller dt (e.g. --dt {})", describe_v(*v_mv), round_ms(*t_ms), suggest_dt(*dt_ms))]
    Unstable {
        /// Section where it happened.
        section: String,
        /// Position of the node along the section (0..1): a segment centre, or an end.
        x: f64,
        /// Index of the segment within the section (nseg for the node at x = 1).
        segment: usize,
        /// Time (ms).
        t_ms: f64,
        /// Time step of the run (ms).
        dt_ms: f64,
        /// Offending value (mV).
        v_mv: f64,
    },
}

/// A quarter of `dt_ms`, rounded to 3 significant digits: a step worth trying after a blow-up.
fn suggest_dt(dt_ms: f64) -> f64 {
    let quarter = dt_ms / 4.0;
    if !quarter.is_finite() || quarter <= 0.0 {
        return 0.025;
    }
    let scale = 10f64.powf(quarter.log10().floor() - 2.0);
    (quarter / scale).round() * scale
}

/// "membrane potential is NaN" or "membrane potential reached 1.2e5 mV".
fn describe_v(v_mv: f64) -> String {
    if v_mv.is_nan() {
        "membrane potential is NaN".into()
    } else {
        format!("membrane potential reached {v_mv:.3e} mV (beyond ±1e4 mV)")
    }
}

/// A time without the float noise of summed steps (5.025000000000038 -> 5.025).
fn round_ms(t_ms: f64) -> f64 {
    (t_ms * 1e9).round() / 1e9
}
