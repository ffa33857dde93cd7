//! Why a protocol could not run, one line each: bad parameters (a window past tstop, dt <= 0, a
//! zero amplitude), an unknown site, or the simulation failing (a blow-up names the section and
//! time and suggests a smaller dt). A fit that does not converge is not an error: the passive
//! result reports it and keeps its other numbers.

use thiserror::Error;

use crate::cell::morphology::ModelError;
use crate::cell::solver::SimError;

/// Anything that stops a protocol.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ProtocolError {
    /// dt <= 0 or not finite.
    #[error("dt must be > 0 ms, got {dt_ms}")]
    InvalidDt {
        /// Value given (ms).
        dt_ms: f64,
    },
    /// The injection window ends after the run does.
    #[error("{protocol}: the injection window ends at {window_end_ms} ms (inj_delay + inj_dur), after tstop = {tstop_ms} ms; raise tstop or shorten the injection")]
    WindowExceedsTstop {
        /// Protocol name.
        protocol: &'static str,
        /// inj_delay + inj_dur (ms).
        window_end_ms: f64,
        /// Run length (ms).
        tstop_ms: f64,
    },
    /// A parameter outside its domain.
    #[error("{protocol}: {name} = {value} {reason}")]
    InvalidParameter {
        /// Protocol name.
        protocol: &'static str,
        /// bmtool's parameter name.
        name: &'static str,
        /// Value given.
        value: f64,
        /// What it must be.
        reason: &'static str,
    },
    /// tstop / dt is more steps than one run may take (memory for the recorded trace grows
    /// with it, and the run would seem to hang).
    #[error("tstop = {tstop_ms} ms at dt = {dt_ms} ms is {steps:.0} steps, more than the {limit} one run may take; raise dt or shorten tstop")]
    TooManySteps {
        /// Run length (ms).
        tstop_ms: f64,
        /// Time step (ms).
        dt_ms: f64,
        /// tstop / dt.
        steps: f64,
        /// The most steps allowed.
        limit: usize,
    },
    /// An FI sweep with more trials than is sensible (each trial is a whole run).
    #[error("fi: i_start to i_stop by i_increment is {trials} trials, more than {limit}; raise i_increment or narrow the range")]
    TooManyTrials {
        /// Trials the sweep would run.
        trials: usize,
        /// The most trials allowed.
        limit: usize,
    },
    /// No section of that name.
    #[error("no section named {name} in the cell")]
    UnknownSection {
        /// Name asked for.
        name: String,
    },
    /// x outside 0..=1.
    #[error("position {x} on {section} is outside 0..1")]
    InvalidPosition {
        /// Section name.
        section: String,
        /// Position given.
        x: f64,
    },
    /// The model or the run failed (a blow-up names section and time and suggests a smaller dt).
    #[error(transparent)]
    Simulation(#[from] SimError),
}

impl From<ModelError> for ProtocolError {
    fn from(error: ModelError) -> Self {
        Self::Simulation(SimError::Model(error))
    }
}
