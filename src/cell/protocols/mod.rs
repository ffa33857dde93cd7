//! bmtool 0.8.7's single-cell protocols on the built-in solver: passive properties (simple,
//! single- and double-exponential tau), current clamp, FI sweep and ZAP impedance. Each protocol
//! takes a [`ProtocolCell`] (a `CellModel`, the mechanisms it uses, the injection and recording
//! sites, dt, v_init, celsius), runs the cell exactly as bmtool drives NEURON (an `IClamp` at the
//! injection site, `finitialize(v_init)`, `continuerun(tstop)`, sample indices `int(t/dt)`) and
//! returns a serde-serialisable result holding every parameter and number it derived.
//!
//! Currents are in pA at this API's edge (as bmtool's arguments) and in nA inside (as NEURON's
//! IClamp). Rendering (text, CSV, JSON) lives in `report::protocols`, pictures in `plot`; nothing
//! here prints or draws. Modules: `passive`, `iclamp`, `fi`, `zap`, `fit` (exponential fits with
//! Levenberg-Marquardt), `fft` (rfft impedance and smoothing), `error`.

pub mod error;
pub mod fft;
pub mod fi;
pub mod fit;
pub mod iclamp;
pub mod passive;
pub mod zap;

pub use error::ProtocolError;
pub use fi::{run_fi, FiParams, FiProgress, FiResult};
pub use iclamp::{run_iclamp, IclampParams, IclampResult};
pub use passive::{run_passive, PassiveParams, PassiveResult, TauMethod};
pub use zap::{run_zap, ChirpKind, ZapParams, ZapResult};

use serde::Serialize;

use crate::cell::mechanism::MechanismRegistry;
use crate::cell::morphology::{CellModel, SectionId};
use crate::cell::solver::{DetectorId, RecordId, Simulation, VarRef};

/// A location on the cell: a section and a position 0 <= x <= 1 along it (NEURON's `sec(x)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    /// The section.
    pub section: SectionId,
    /// Position along the section (0..=1).
    pub x: f64,
}

impl Site {
    /// `name(x)`: the section called `name` (`soma`, `soma[0]`, `dend[2]`; `soma` also finds
    /// `soma[0]`, and a template prefix such as `CP_Cell[0].` is ignored).
    pub fn named(model: &CellModel, name: &str, x: f64) -> Result<Self, ProtocolError> {
        if !(0.0..=1.0).contains(&x) {
            return Err(ProtocolError::InvalidPosition {
                section: name.to_string(),
                x,
            });
        }
        let wanted = [name.to_string(), format!("{name}[0]")];
        let short = |full: &str| full.rsplit('.').next().unwrap_or(full).to_string();
        let section = model
            .sections
            .iter()
            .position(|s| wanted.contains(&s.name) || wanted.contains(&short(&s.name)))
            .ok_or_else(|| ProtocolError::UnknownSection {
                name: name.to_string(),
            })?;
        Ok(Self {
            section: SectionId(section),
            x,
        })
    }

    /// bmtool's default site, `soma(0.5)` (the first soma section).
    pub fn soma(model: &CellModel) -> Result<Self, ProtocolError> {
        Self::named(model, "soma", 0.5)
    }

    /// `soma[0](0.5)`-style label for output.
    pub fn label(&self, model: &CellModel) -> String {
        let name = model
            .sections
            .get(self.section.0)
            .map(|s| s.name.rsplit('.').next().unwrap_or(&s.name).to_string())
            .unwrap_or_else(|| format!("section {}", self.section.0));
        format!("{name}({})", self.x)
    }
}

/// A cell ready for protocols: the model, the mechanisms it uses, where current goes in and v is
/// recorded, and the run conditions (bmtool's `Profiler(dt=...)`, `h.v_init`, `h.celsius`).
#[derive(Debug, Clone)]
pub struct ProtocolCell<'a> {
    /// The cell (never modified: each run works on a copy with its IClamp added).
    pub model: &'a CellModel,
    /// Mechanisms (built-ins plus any compiled `.mod` catalogue).
    pub registry: &'a MechanismRegistry,
    /// Where the IClamp goes (default soma(0.5)).
    pub injection: Site,
    /// Where v is recorded and spikes detected (default soma(0.5)).
    pub recording: Site,
    /// Time step (ms, > 0; default 0.025 as NEURON).
    pub dt_ms: f64,
    /// Initial potential (mV; default the model's `v_init_mv`).
    pub v_init_mv: f64,
    /// Temperature (degC; default the model's `celsius_degc`).
    pub celsius_degc: f64,
    /// Cores one run may use (default 1; see [`Simulation::set_threads`]). FI trials always run
    /// one per core instead.
    pub threads: usize,
}

impl<'a> ProtocolCell<'a> {
    /// Defaults: inject and record at soma(0.5), dt 0.025 ms, the model's v_init and celsius.
    pub fn new(
        model: &'a CellModel,
        registry: &'a MechanismRegistry,
    ) -> Result<Self, ProtocolError> {
        let soma = Site::soma(model)?;
        Ok(Self {
            model,
            registry,
            injection: soma,
            recording: soma,
            dt_ms: 0.025,
            v_init_mv: model.v_init_mv,
            celsius_degc: model.celsius_degc,
            threads: 1,
        })
    }

    /// The same cell, each single run on up to `threads` cores.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// The same cell at another dt.
    pub fn with_dt(mut self, dt_ms: f64) -> Self {
        self.dt_ms = dt_ms;
        self
    }

    /// Where-and-how lines shared by every protocol's output.
    pub fn conditions(&self) -> RunConditions {
        RunConditions {
            injection: self.injection.label(self.model),
            recording: self.recording.label(self.model),
            dt_ms: self.dt_ms,
            v_init_mv: self.v_init_mv,
            celsius_degc: self.celsius_degc,
        }
    }
}

/// The run conditions as reported with every result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConditions {
    /// Injection site, `soma[0](0.5)`.
    pub injection: String,
    /// Recording site.
    pub recording: String,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Initial potential (mV).
    pub v_init_mv: f64,
    /// Temperature (degC).
    pub celsius_degc: f64,
}

/// A recorded membrane potential: NEURON's `t` (accumulated, so 1499.9999999991835 rather than
/// 1500) and `v` at the recording site, at t = 0 and after every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    /// Time of each sample (ms).
    pub t_ms: Vec<f64>,
    /// Membrane potential (mV).
    pub v_mv: Vec<f64>,
}

/// bmtool's sample index `int(t / dt)` (truncation, including its float quirks).
pub fn sample_index(t_ms: f64, dt_ms: f64) -> usize {
    (t_ms / dt_ms) as usize
}

/// One IClamp: amplitude (nA), onset and duration (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clamp {
    pub(crate) amp_na: f64,
    pub(crate) delay_ms: f64,
    pub(crate) dur_ms: f64,
}

/// A simulation with an IClamp at the injection site, v and t recorded at the recording site and
/// an optional spike detector: the common rig of every protocol.
#[derive(Debug, Clone)]
pub(crate) struct Rig {
    pub(crate) sim: Simulation,
    pub(crate) amp: VarRef,
    v: RecordId,
    t: RecordId,
    detector: Option<DetectorId>,
    v_init_mv: f64,
    dt_ms: f64,
}

impl Rig {
    /// Build the rig on a copy of the cell.
    pub(crate) fn new(
        cell: &ProtocolCell,
        clamp: Clamp,
        threshold_mv: Option<f64>,
    ) -> Result<Self, ProtocolError> {
        check_dt(cell.dt_ms)?;
        let mut model = cell.model.clone();
        let point = model.add_point_process("IClamp", cell.injection.section, cell.injection.x)?;
        model.set_point_value(point, "amp", clamp.amp_na)?;
        model.set_point_value(point, "del", clamp.delay_ms)?;
        model.set_point_value(point, "dur", clamp.dur_ms)?;
        let mut sim = Simulation::new(&model, cell.registry)?;
        sim.set_dt(cell.dt_ms)?;
        sim.set_celsius(cell.celsius_degc);
        sim.set_threads(cell.threads);
        let amp = sim.point_ref(point, "amp")?;
        let site = cell.recording;
        let v_ref = sim.range_ref(site.section, site.x, "v")?;
        let v = sim.record(v_ref);
        let t = sim.record(VarRef::Time);
        let detector = match threshold_mv {
            Some(threshold) => Some(sim.add_spike_detector(site.section, site.x, threshold)?),
            None => None,
        };
        Ok(Self {
            sim,
            amp,
            v,
            t,
            detector,
            v_init_mv: cell.v_init_mv,
            dt_ms: cell.dt_ms,
        })
    }

    /// Set the IClamp amplitude (nA) for the next run.
    pub(crate) fn set_amp_na(&mut self, amp_na: f64) {
        self.sim.set_value(self.amp, amp_na);
    }

    /// `finitialize(v_init)` then `continuerun(tstop)`.
    pub(crate) fn run(&mut self, tstop_ms: f64) -> Result<(), ProtocolError> {
        check_steps(tstop_ms, self.dt_ms)?;
        self.sim.finitialize(self.v_init_mv)?;
        self.sim.run_until(tstop_ms)?;
        Ok(())
    }

    /// `continuerun(tstop)` from where the rig stopped: `run(a)` then `resume(b)` takes exactly
    /// the steps of `run(b)`, so a common beginning can be simulated once and continued on
    /// clones.
    pub(crate) fn resume(&mut self, tstop_ms: f64) -> Result<(), ProtocolError> {
        self.sim.run_until(tstop_ms)?;
        Ok(())
    }

    /// Recorded v (mV).
    pub(crate) fn v_mv(&self) -> &[f64] {
        self.sim.recorded(self.v)
    }

    /// Recorded t (ms).
    pub(crate) fn t_ms(&self) -> &[f64] {
        self.sim.recorded(self.t)
    }

    /// Spike times of the last run (ms; empty without a detector).
    pub(crate) fn spikes_ms(&self) -> &[f64] {
        match self.detector {
            Some(id) => self.sim.spike_times(id),
            None => &[],
        }
    }

    /// The recorded trace, copied out.
    pub(crate) fn trace(&self) -> Trace {
        Trace {
            t_ms: self.t_ms().to_vec(),
            v_mv: self.v_mv().to_vec(),
        }
    }
}

/// The most time steps one protocol run may take: 1e7 (e.g. 250 s at dt = 0.025 ms). The
/// recorded trace alone is 160 MB at that length.
pub const MAX_STEPS: usize = 10_000_000;

/// Reject a run of more than [`MAX_STEPS`] steps before it starts.
pub(crate) fn check_steps(tstop_ms: f64, dt_ms: f64) -> Result<(), ProtocolError> {
    let steps = tstop_ms / dt_ms;
    if steps > MAX_STEPS as f64 {
        return Err(ProtocolError::TooManySteps {
            tstop_ms,
            dt_ms,
            steps,
            limit: MAX_STEPS,
        });
    }
    Ok(())
}

pub(crate) fn check_dt(dt_ms: f64) -> Result<(), ProtocolError> {
    if dt_ms > 0.0 && dt_ms.is_finite() {
        Ok(())
    } else {
        Err(ProtocolError::InvalidDt { dt_ms })
    }
}

/// Reject negative or non-finite times and an injection window ending after tstop.
pub(crate) fn check_window(
    protocol: &'static str,
    delay_ms: f64,
    dur_ms: f64,
    tstop_ms: f64,
) -> Result<(), ProtocolError> {
    for (name, value) in [
        ("inj_delay", delay_ms),
        ("inj_dur", dur_ms),
        ("tstop", tstop_ms),
    ] {
        if !(value >= 0.0 && value.is_finite()) {
            return Err(ProtocolError::InvalidParameter {
                protocol,
                name,
                value,
                reason: "must be a finite time >= 0 ms",
            });
        }
    }
    if delay_ms + dur_ms > tstop_ms {
        return Err(ProtocolError::WindowExceedsTstop {
            protocol,
            window_end_ms: delay_ms + dur_ms,
            tstop_ms,
        });
    }
    Ok(())
}

/// pA (API edge) to nA (IClamp).
pub(crate) fn pa_to_na(amp_pa: f64) -> f64 {
    amp_pa * 1e-3
}
