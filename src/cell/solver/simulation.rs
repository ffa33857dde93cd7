//! The stepper: per-node voltages, the matrix, mechanism slots and ions of one cell, advanced
//! with NEURON's fixed staggered step. See the `solver` module doc for the step.

use crate::cell::mechanism::{
    CurrentConvention, IonStore, KernelContext, MechanismRegistry, VoltageLanes,
};
use crate::cell::morphology::{CellModel, Discretization, PointProcessId, SectionId};

use super::build::{assign_global, instantiate, MechanismSlot};
use super::error::SimError;
use super::hines;
use super::record::{DetectorId, IonField, Play, RecordId, Recording, SpikeDetector, VarRef};

mod split;

/// Blow-up guard: a node's |v| beyond this (or NaN) stops a run with [`SimError::Unstable`].
pub const V_LIMIT_MV: f64 = 1e4;

/// A cell ready to run.
#[derive(Debug, Clone)]
pub struct Simulation {
    disc: Discretization,
    section_names: Vec<String>,
    v_mv: Vec<f64>,
    rhs: Vec<f64>,
    d: Vec<f64>,
    slots: Vec<MechanismSlot>,
    ions: IonStore,
    /// Lane-ordered voltages shared by the kernels of one hook call.
    v_lanes: VoltageLanes,
    point_instances: Vec<(usize, usize)>,
    point_sections: Vec<SectionId>,
    t_ms: f64,
    dt_ms: f64,
    celsius_degc: f64,
    v_init_mv: f64,
    step_index: usize,
    recordings: Vec<Recording>,
    plays: Vec<Play>,
    detectors: Vec<SpikeDetector>,
    /// Threads a run may use (see [`Simulation::set_threads`]).
    threads: usize,
    /// Steps taken on two cores so far.
    split_steps: usize,
}

impl Simulation {
    /// Discretise `model` and instantiate its mechanisms from `registry`. dt defaults to 0.025 ms.
    pub fn new(model: &CellModel, registry: &MechanismRegistry) -> Result<Self, SimError> {
        let disc = Discretization::new(model)?;
        let instantiated = instantiate(model, &disc, registry)?;
        let n = disc.n_nodes();
        Ok(Self {
            section_names: model.sections.iter().map(|s| s.name.clone()).collect(),
            v_mv: vec![model.v_init_mv; n],
            rhs: vec![0.0; n],
            d: vec![0.0; n],
            slots: instantiated.slots,
            ions: instantiated.ions,
            v_lanes: VoltageLanes::default(),
            point_instances: instantiated.point_instances,
            point_sections: model.point_processes.iter().map(|p| p.section).collect(),
            t_ms: 0.0,
            dt_ms: 0.025,
            celsius_degc: model.celsius_degc,
            v_init_mv: model.v_init_mv,
            step_index: 0,
            recordings: Vec::new(),
            plays: Vec::new(),
            detectors: Vec::new(),
            threads: 1,
            split_steps: 0,
            disc,
        })
    }

    /// The compartments (areas, resistances, node layout).
    pub fn discretization(&self) -> &Discretization {
        &self.disc
    }

    /// Ion species and their per-node values and styles.
    pub fn ions(&self) -> &IonStore {
        &self.ions
    }

    /// Current time (ms).
    pub fn t_ms(&self) -> f64 {
        self.t_ms
    }

    /// Time step (ms).
    pub fn dt_ms(&self) -> f64 {
        self.dt_ms
    }

    /// Let runs use two cores (`threads` >= 2) when the cell qualifies: its nodes split in two
    /// halves, each thread running every mechanism in order on its own half, with results
    /// identical to one thread's (see `simulation::split`). For one long run on an otherwise
    /// idle machine; runs already spread over the cores (an FI sweep) should keep the default 1.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads;
    }

    /// How many steps so far ran split between two cores (see [`set_threads`](Self::set_threads)).
    pub fn split_steps_taken(&self) -> usize {
        self.split_steps
    }

    /// Set the time step (ms, > 0).
    pub fn set_dt(&mut self, dt_ms: f64) -> Result<(), SimError> {
        if !(dt_ms > 0.0 && dt_ms.is_finite()) {
            return Err(SimError::InvalidDt { dt_ms });
        }
        self.dt_ms = dt_ms;
        Ok(())
    }

    /// Temperature (degC).
    pub fn celsius_degc(&self) -> f64 {
        self.celsius_degc
    }

    /// Set the temperature (degC); takes effect at the next current or state evaluation.
    pub fn set_celsius(&mut self, celsius_degc: f64) {
        self.celsius_degc = celsius_degc;
    }

    /// Set a GLOBAL of a mechanism or ion in use by hoc name (`usetable_hh`, `cai0_ca_ion`);
    /// takes effect at the next kernel call (concentration globals at the next `finitialize`).
    pub fn set_global(&mut self, name: &str, value: f64) -> Result<(), SimError> {
        if assign_global(&mut self.slots, &mut self.ions, name, value) {
            Ok(())
        } else {
            Err(SimError::UnknownGlobal {
                name: name.to_string(),
            })
        }
    }

    /// The model's `v_init` (mV).
    pub fn v_init_mv(&self) -> f64 {
        self.v_init_mv
    }

    /// Membrane potential per node (mV).
    pub fn v_mv(&self) -> &[f64] {
        &self.v_mv
    }

    // ----- variable references -------------------------------------------------------------

    /// Reference to a range variable at (section, x): `v`, `<var>_<mechanism>` (`m_hh`,
    /// `g_pas`), or an ion variable (`ina`, `ena`, `nai`, `nao`, `dina_dv_`).
    pub fn range_ref(&self, section: SectionId, x: f64, name: &str) -> Result<VarRef, SimError> {
        let section_name = self
            .section_names
            .get(section.0)
            .cloned()
            .ok_or(crate::cell::morphology::ModelError::UnknownSection { index: section.0 })?;
        let unknown = || SimError::UnknownRangeVariable {
            section: section_name.clone(),
            name: name.to_string(),
            x,
        };
        if !(0.0..=1.0).contains(&x) {
            return Err(unknown());
        }
        let node = self.disc.node_at(section, x);
        if name == "v" {
            return Ok(VarRef::Voltage { node });
        }
        if let Some(var) = self.ion_ref(name, node) {
            return Ok(var);
        }
        for (mechanism, slot) in self.slots.iter().enumerate() {
            let info = slot.kernel.info();
            let Some(variable) = name.strip_suffix(&format!("_{}", info.name)) else {
                continue;
            };
            let Some(column) = info.variable_index(variable) else {
                continue;
            };
            if let Some(instance) = slot.data.node.iter().position(|&n| n == node) {
                return Ok(VarRef::Mechanism {
                    mechanism,
                    variable: column,
                    instance,
                });
            }
        }
        Err(unknown())
    }

    fn ion_ref(&self, name: &str, node: usize) -> Option<VarRef> {
        for (index, species) in self.ions.species.iter().enumerate() {
            let ion = &species.name;
            let field = if *name == format!("e{ion}") {
                IonField::Reversal
            } else if *name == format!("{ion}i") {
                IonField::ConcInside
            } else if *name == format!("{ion}o") {
                IonField::ConcOutside
            } else if *name == format!("i{ion}") {
                IonField::Current
            } else if *name == format!("di{ion}_dv_") {
                IonField::DCurrentDv
            } else {
                continue;
            };
            if species.present[node] {
                return Some(VarRef::Ion {
                    species: crate::cell::mechanism::IonId(index),
                    field,
                    node,
                });
            }
        }
        None
    }

    /// Reference to a variable of a point process (`amp`, `i`).
    pub fn point_ref(&self, point: PointProcessId, name: &str) -> Result<VarRef, SimError> {
        let (Some(&(mechanism, instance)), Some(section)) = (
            self.point_instances.get(point.0),
            self.point_sections.get(point.0),
        ) else {
            return Err(crate::cell::morphology::ModelError::UnknownPointProcess {
                index: point.0,
            }
            .into());
        };
        let info = self.slots[mechanism].kernel.info();
        let variable = info
            .variable_index(name)
            .ok_or_else(|| SimError::UnknownVariable {
                section: self.section_names[section.0].clone(),
                mechanism: info.name.clone(),
                variable: name.to_string(),
            })?;
        Ok(VarRef::Mechanism {
            mechanism,
            variable,
            instance,
        })
    }

    /// Current value of a variable.
    pub fn value(&self, var: VarRef) -> f64 {
        match var {
            VarRef::Time => self.t_ms,
            VarRef::Voltage { node } => self.v_mv[node],
            VarRef::Mechanism {
                mechanism,
                variable,
                instance,
            } => {
                let slot = &self.slots[mechanism];
                slot.kernel.read(&slot.data, variable, instance)
            }
            VarRef::Ion {
                species,
                field,
                node,
            } => {
                let s = &self.ions.species[species.0];
                match field {
                    IonField::Reversal => s.erev[node],
                    IonField::ConcInside => s.conc_in[node],
                    IonField::ConcOutside => s.conc_out[node],
                    IonField::Current => s.current[node],
                    IonField::DCurrentDv => s.dcurrent_dv[node],
                }
            }
        }
    }

    /// Assign a variable (`Time` is ignored).
    pub fn set_value(&mut self, var: VarRef, value: f64) {
        match var {
            VarRef::Time => {}
            VarRef::Voltage { node } => self.v_mv[node] = value,
            VarRef::Mechanism {
                mechanism,
                variable,
                instance,
            } => {
                let slot = &mut self.slots[mechanism];
                slot.kernel.write(&mut slot.data, variable, instance, value);
            }
            VarRef::Ion {
                species,
                field,
                node,
            } => {
                let s = &mut self.ions.species[species.0];
                let target = match field {
                    IonField::Reversal => &mut s.erev,
                    IonField::ConcInside => &mut s.conc_in,
                    IonField::ConcOutside => &mut s.conc_out,
                    IonField::Current => &mut s.current,
                    IonField::DCurrentDv => &mut s.dcurrent_dv,
                };
                target[node] = value;
            }
        }
    }

    // ----- recording, playing, spikes --------------------------------------------------------

    /// Record `var` at t = 0 (from the next `finitialize`) and after every step.
    pub fn record(&mut self, var: VarRef) -> RecordId {
        self.recordings.push(Recording {
            var,
            values: Vec::new(),
        });
        RecordId(self.recordings.len() - 1)
    }

    /// The samples of a recording.
    pub fn recorded(&self, id: RecordId) -> &[f64] {
        &self.recordings[id.0].values
    }

    /// Drive `var` step-wise: `values[n]` during the step from t_n (`Vector.play(&var, dt)`).
    pub fn play(&mut self, var: VarRef, values: Vec<f64>) {
        self.plays.push(Play { var, values });
    }

    /// Detect upward crossings of `threshold_mv` by v at (section, x), NEURON `NetCon` style.
    pub fn add_spike_detector(
        &mut self,
        section: SectionId,
        x: f64,
        threshold_mv: f64,
    ) -> Result<DetectorId, SimError> {
        let VarRef::Voltage { node } = self.range_ref(section, x, "v")? else {
            unreachable!("range_ref(\"v\") always gives a voltage reference");
        };
        self.detectors.push(SpikeDetector {
            node,
            threshold_mv,
            above: false,
            times_ms: Vec::new(),
        });
        Ok(DetectorId(self.detectors.len() - 1))
    }

    /// Spike times of a detector (ms): step times t_n plus NEURON's 1e-10 ms.
    pub fn spike_times(&self, id: DetectorId) -> &[f64] {
        &self.detectors[id.0].times_ms
    }

    // ----- running ------------------------------------------------------------------------------

    /// NEURON's `finitialize(v_init)`: t = 0, v = v_init, plays at their first value, ions and
    /// INITIAL blocks, one current evaluation, then the t = 0 samples.
    pub fn finitialize(&mut self, v_init_mv: f64) -> Result<(), SimError> {
        self.t_ms = 0.0;
        self.step_index = 0;
        self.v_mv.fill(v_init_mv);
        self.apply_plays();
        for species in &mut self.ions.species {
            species.initialize(self.celsius_degc);
        }
        self.run_kernels(Hook::Initialize);
        self.setup_matrix();
        self.check_voltages()?;
        for detector in &mut self.detectors {
            detector.reset(self.v_mv[detector.node]);
        }
        for index in 0..self.recordings.len() {
            let value = self.value(self.recordings[index].var);
            let recording = &mut self.recordings[index];
            recording.values.clear();
            recording.values.push(value);
        }
        Ok(())
    }

    /// One fixed step from t_n to t_n + dt (NEURON `fadvance` with `secondorder = 0`).
    pub fn step(&mut self) -> Result<(), SimError> {
        for detector in &mut self.detectors {
            detector.check(self.v_mv[detector.node], self.t_ms);
        }
        self.apply_plays();
        self.t_ms += 0.5 * self.dt_ms;
        self.setup_matrix();
        hines::solve(
            &mut self.d,
            &mut self.rhs,
            &self.disc.a,
            &self.disc.b,
            &self.disc.parent,
            self.disc.n_roots,
        );
        for (v, dv) in self.v_mv.iter_mut().zip(&self.rhs) {
            *v += dv;
        }
        self.t_ms += 0.5 * self.dt_ms;
        self.advance_states();
        self.step_index += 1;
        self.check_voltages()?;
        for index in 0..self.recordings.len() {
            let value = self.value(self.recordings[index].var);
            self.recordings[index].values.push(value);
        }
        Ok(())
    }

    /// Step while t < `tstop_ms - dt/2` (stdrun's `continuerun`). t accumulates two half steps per
    /// step exactly as NEURON's does, so step times match NEURON's to the last bit.
    pub fn run_until(&mut self, tstop_ms: f64) -> Result<(), SimError> {
        // Reserve the samples up front so the loop does not reallocate (capped: a very long run
        // grows its recordings as it goes instead of failing on one huge request).
        const MAX_RESERVE: f64 = (1u64 << 24) as f64;
        let expected = ((tstop_ms - self.t_ms) / self.dt_ms)
            .ceil()
            .clamp(0.0, MAX_RESERVE) as usize;
        for recording in &mut self.recordings {
            recording.values.reserve(expected + 1);
        }
        let stop_ms = tstop_ms - self.dt_ms / 2.0;
        if self.threads >= 2 {
            self.run_split(stop_ms)?;
        }
        while self.t_ms < stop_ms {
            self.step()?;
        }
        Ok(())
    }

    fn apply_plays(&mut self) {
        for index in 0..self.plays.len() {
            if let Some(value) = self.plays[index].value_at(self.step_index) {
                self.set_value(self.plays[index].var, value);
            }
        }
    }

    /// `setup_tree_matrix`: ion accumulators, mechanism currents, capacitance, axial terms.
    fn setup_matrix(&mut self) {
        self.rhs.fill(0.0);
        self.d.fill(0.0);
        for species in &mut self.ions.species {
            species.begin_step(self.celsius_degc);
        }
        self.run_kernels(Hook::Current);
        add_capacitance_and_axial(
            &self.disc,
            self.dt_ms,
            &self.v_mv,
            &mut self.rhs,
            &mut self.d,
        );
    }

    fn advance_states(&mut self) {
        self.run_kernels(Hook::Advance);
    }

    /// Call one hook of every mechanism type, in registration order, with this step's context.
    fn run_kernels(&mut self, hook: Hook) {
        self.v_lanes.invalidate();
        let mut ctx = KernelContext {
            t_ms: self.t_ms,
            dt_ms: self.dt_ms,
            celsius_degc: self.celsius_degc,
            v_mv: &self.v_mv,
            v_lanes: &mut self.v_lanes,
            area_um2: &self.disc.area_um2,
            diam_um: &self.disc.diam_um,
            ions: &mut self.ions,
            rhs: &mut self.rhs,
            d: &mut self.d,
            convention: CurrentConvention {
                point: false,
                electrode: false,
            },
        };
        for slot in &mut self.slots {
            ctx.convention = slot.convention;
            match hook {
                Hook::Initialize => slot.kernel.initialize(&mut slot.data, &mut ctx),
                Hook::Current => slot.kernel.current(&mut slot.data, &mut ctx),
                Hook::Advance => slot.kernel.advance(&mut slot.data, &mut ctx),
            }
        }
    }

    /// Stop at a NaN or runaway voltage, naming a segment centre when one is bad (the zero-area
    /// end nodes only follow their neighbours). The plain scan runs every step; the search for
    /// a centre only once something is wrong.
    fn check_voltages(&self) -> Result<(), SimError> {
        let is_bad = |v: f64| v.is_nan() || v.abs() > V_LIMIT_MV;
        let Some(first) = self.v_mv.iter().position(|v| is_bad(*v)) else {
            return Ok(());
        };
        let centre = |node: &usize| {
            let (_, _, x) = self.disc.location_of(*node);
            x > 0.0 && x < 1.0
        };
        let node = (0..self.v_mv.len())
            .filter(centre)
            .find(|node| is_bad(self.v_mv[*node]))
            .unwrap_or(first);
        let (section, segment, x) = self.disc.location_of(node);
        Err(SimError::Unstable {
            section: self.section_names[section.0].clone(),
            x,
            segment,
            t_ms: self.t_ms,
            dt_ms: self.dt_ms,
            v_mv: self.v_mv[node],
        })
    }
}

/// The mechanism hooks of a step (see `mechanism` for when each runs).
/// The rest of `setup_matrix` after the mechanisms' currents: capacitance and axial terms.
fn add_capacitance_and_axial(
    disc: &Discretization,
    dt_ms: f64,
    v: &[f64],
    rhs: &mut [f64],
    d: &mut [f64],
) {
    // Capacitance: cm [uF/cm2] * 0.001 * (1/dt) [S/cm2 per mV step]; 0 on zero-area nodes.
    let cfac = 0.001 * (1.0 / dt_ms);
    for (d, cm) in d.iter_mut().zip(&disc.cm_uf_cm2) {
        *d += cm * cfac;
    }
    // Every array cut to the node count: an index `i < n` then needs no bounds check.
    let n = v.len();
    let (a, b, parent) = (&disc.a[..n], &disc.b[..n], &disc.parent[..n]);
    let (rhs, d) = (&mut rhs[..n], &mut d[..n]);
    for i in disc.n_roots..n {
        let p = parent[i];
        let dv = v[p] - v[i];
        rhs[i] -= b[i] * dv;
        rhs[p] += a[i] * dv;
        d[i] -= b[i];
        d[p] -= a[i];
    }
}

#[derive(Debug, Clone, Copy)]
enum Hook {
    Initialize,
    Current,
    Advance,
}
