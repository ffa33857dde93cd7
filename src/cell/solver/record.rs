//! What the solver samples and drives each step: references to single variables ([`VarRef`]),
//! recordings of them (NEURON's `Vector.record`), step-wise drives (`Vector.play(&var, dt)`), and
//! spike detectors (NEURON's `NetCon` threshold test). Knows nothing of the matrix.

use crate::cell::mechanism::IonId;

/// An ion variable at one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IonField {
    /// `e<ion>` (mV)
    Reversal,
    /// `<ion>i` (mM)
    ConcInside,
    /// `<ion>o` (mM)
    ConcOutside,
    /// `i<ion>` (mA/cm2)
    Current,
    /// `di<ion>_dv_` (S/cm2)
    DCurrentDv,
}

/// One scalar of the simulation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarRef {
    /// Simulation time t (ms).
    Time,
    /// Membrane potential of a node (mV).
    Voltage {
        /// Node index.
        node: usize,
    },
    /// A RANGE column of one mechanism instance.
    Mechanism {
        /// Index of the mechanism type in the simulation.
        mechanism: usize,
        /// Column.
        variable: usize,
        /// Instance.
        instance: usize,
    },
    /// An ion variable at a node.
    Ion {
        /// Species.
        species: IonId,
        /// Which variable.
        field: IonField,
        /// Node index.
        node: usize,
    },
}

/// Handle of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId(pub usize);

/// Handle of a spike detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectorId(pub usize);

/// Samples of one variable at t = 0 (after `finitialize`) and after every step.
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    pub(crate) var: VarRef,
    pub(crate) values: Vec<f64>,
}

/// Values assigned to a variable at the start of each step (`values[n]` for the step from t_n;
/// the last value holds afterwards), as `Vector.play(&var, dt)`.
#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub(crate) var: VarRef,
    pub(crate) values: Vec<f64>,
}

impl Play {
    pub(crate) fn value_at(&self, step: usize) -> Option<f64> {
        self.values.get(step).or(self.values.last()).copied()
    }
}

/// NEURON adds this to a detected spike's time (`PreSyn::check(nt, t, teps = 1e-10)`), so
/// spike times read back from NEURON are t_n + 1e-10 ms.
pub const SPIKE_TIME_EPS_MS: f64 = 1e-10;

/// NEURON's `NetCon` threshold detection on a node's v: at the start of each step, a spike is
/// emitted at t_n + 1e-10 ms when v_n > threshold and the detector was below.
#[derive(Debug, Clone)]
pub(crate) struct SpikeDetector {
    pub(crate) node: usize,
    pub(crate) threshold_mv: f64,
    pub(crate) above: bool,
    pub(crate) times_ms: Vec<f64>,
}

impl SpikeDetector {
    pub(crate) fn reset(&mut self, v_mv: f64) {
        self.above = v_mv > self.threshold_mv;
        self.times_ms.clear();
    }

    pub(crate) fn check(&mut self, v_mv: f64, t_ms: f64) {
        if v_mv > self.threshold_mv {
            if !self.above {
                self.above = true;
                self.times_ms.push(t_ms + SPIKE_TIME_EPS_MS);
            }
        } else {
            self.above = false;
        }
    }
}
