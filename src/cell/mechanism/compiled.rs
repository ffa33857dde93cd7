//! NMODL-compiled mechanisms as solver mechanisms: the thin layer between a
//! [`CompiledMechanism`] (which owns its own per-instance columns and knows nothing of the tree)
//! and the solver's [`MechanismKernel`] interface (node-indexed voltages and ions, `rhs`/`d`).
//!
//! The compiled columns, kept in [`MechanismData::private`] (allocated once, at `initialize`,
//! from the model's RANGE values), are the live values during a run. Each step gathers the node
//! voltages and the ion values the mechanism reads straight into them ([`Ports`]), runs the
//! compiled code in place, adds currents to `rhs`/`d` as nocmodl's `nrn_cur` does (at `v +
//! 0.001`, then at `v`) and scatters written concentrations back to the nodes: nothing else is
//! copied per step. Reads and writes of RANGE values go through [`MechanismKernel::read`] /
//! [`MechanismKernel::write`], so recordings see live values and a value changed during a run
//! (a play) takes effect at the next step, as in NEURON.
//!
//! A runtime failure of the compiled code (a STATE that became NaN) cannot be returned through
//! the solver's interface; the adapter then feeds NaN into the membrane current, which the
//! solver reports as a blow-up naming the section and time.

use std::sync::Arc;

use super::{
    GlobalSpec, IonUse, IonVariable, KernelContext, MechanismData, MechanismInfo, MechanismKernel,
    MechanismKind, MechanismRegistry, VariableRole, VariableSpec,
};
use crate::cell::nmodl::bytecode::padded_len;
use crate::cell::nmodl::ir::{IonField, MechKind, Role, Storage};
use crate::cell::nmodl::{
    Catalogue, CompileOptions, CompiledMechanism, Env, IonColumns, MechanismInstances, NmodlError,
    Ports,
};

/// A compiled NMODL mechanism registered in the solver.
#[derive(Debug)]
pub struct CompiledKernel {
    compiled: CompiledMechanism,
    info: MechanismInfo,
    /// Compiled column of each RANGE variable, in `info.variables` order (None: no storage).
    range_columns: Vec<Option<usize>>,
    /// Which of them are PARAMETERs (copied into the compiled columns at `initialize`).
    parameters: Vec<usize>,
    /// The columns gathered and scattered around each in-place call.
    ports: Ports,
}

/// Per-instance work buffers, allocated once per simulation at `initialize`.
#[derive(Clone)]
struct Buffers {
    /// The compiled columns, for [`padded_len`] lanes: lane `i < n` is instance `i`, the extra
    /// lanes repeat instance 0 (so every value they compute is a real one) and are never read.
    inst: MechanismInstances,
    /// Node of each lane.
    lanes: Vec<usize>,
    v: Vec<f64>,
    /// Per ion: e, i, ci, co per instance.
    ions: Vec<[Vec<f64>; 4]>,
    /// Membrane current per instance at `v + 0.001`.
    shifted: Vec<f64>,
    /// Membrane current per instance at `v`.
    total: Vec<f64>,
    /// Per ion: its current at `v + 0.001` (empty when the mechanism writes none).
    ion_shifted: Vec<Vec<f64>>,
    failed: bool,
}

impl CompiledKernel {
    /// Wrap a compiled mechanism.
    pub fn new(compiled: CompiledMechanism) -> Self {
        let mech = compiled.mechanism();
        let mut variables = Vec::new();
        let mut range_names = Vec::new();
        let mut parameters = Vec::new();
        let mut globals = Vec::new();
        for v in &mech.vars {
            match (v.storage, v.role) {
                (Storage::Instance, Role::Parameter | Role::Assigned | Role::State)
                    if v.range || v.role == Role::State =>
                {
                    let role = match v.role {
                        Role::Parameter => VariableRole::Parameter,
                        Role::State => VariableRole::State,
                        _ => VariableRole::Assigned,
                    };
                    if role == VariableRole::Parameter {
                        parameters.push(variables.len());
                    }
                    let default = if role == VariableRole::Parameter {
                        v.default
                    } else {
                        0.0
                    };
                    variables.push(VariableSpec::new(&v.name, role, default));
                    range_names.push(v.name.clone());
                }
                (Storage::Global, Role::Parameter) => globals.push(GlobalSpec {
                    name: v.name.clone(),
                    default: v.default,
                }),
                _ => {}
            }
        }
        let ions = mech
            .ions
            .iter()
            .map(|ion| IonUse {
                ion: ion.name.clone(),
                valence: ion.valence,
                read: ion.read.iter().map(|f| ion_variable(*f)).collect(),
                write: ion.write.iter().map(|f| ion_variable(*f)).collect(),
            })
            .collect();
        let info = MechanismInfo {
            name: mech.name.clone(),
            kind: if mech.kind == MechKind::Density {
                MechanismKind::Density
            } else {
                MechanismKind::Point
            },
            // The compiled total current is already outward-positive (electrode currents are
            // subtracted by the compiler), so the solver must not flip it again.
            electrode_current: false,
            variables,
            globals,
            ions,
        };
        let range_columns = range_names
            .iter()
            .map(|name| compiled.range_index(name).ok())
            .collect();
        let ports = compiled.ports();
        CompiledKernel {
            compiled,
            info,
            range_columns,
            parameters,
            ports,
        }
    }

    /// Fresh buffers for the instances in `data`, with PARAMETERs and GLOBALs copied in.
    fn buffers(&self, data: &MechanismData) -> Buffers {
        let n = padded_len(data.len());
        let inst = self.compiled.instantiate(n);
        let lanes = (0..n).map(|i| data.node[lane_source(data, i)]).collect();
        let mut b = Buffers {
            inst,
            lanes,
            v: vec![0.0; n],
            ions: (0..self.info.ions.len())
                .map(|_| [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]])
                .collect(),
            shifted: vec![0.0; data.len()],
            total: vec![0.0; data.len()],
            ion_shifted: self
                .ports
                .ion_currents
                .iter()
                .map(|c| {
                    if c.is_some() {
                        vec![0.0; data.len()]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            failed: false,
        };
        for (k, g) in self.info.globals.iter().enumerate() {
            // Names come from the compiled mechanism itself, so they resolve.
            let _ = self
                .compiled
                .set_global(&mut b.inst, &g.name, data.globals[k]);
        }
        b
    }

    fn copy_parameters_in(&self, data: &MechanismData, b: &mut Buffers) {
        for &k in &self.parameters {
            if let Some(index) = self.range_columns[k] {
                let column = self.compiled.column_mut(&mut b.inst, index);
                for (i, x) in column.iter_mut().enumerate() {
                    *x = data.columns[k][lane_source(data, i)];
                }
            }
        }
    }

    fn copy_columns_out(&self, data: &mut MechanismData, b: &Buffers, role: VariableRole) {
        for (k, spec) in self.info.variables.iter().enumerate() {
            if let (true, Some(index)) = (spec.role == role, self.range_columns[k]) {
                let n = data.columns[k].len();
                data.columns[k].copy_from_slice(&self.compiled.column(&b.inst, index)[..n]);
            }
        }
    }

    /// Run one compiled entry point with node values gathered into separate buffers (INITIAL,
    /// once per run; steps use the in-place path).
    fn call(
        &self,
        data: &mut MechanismData,
        ctx: &mut KernelContext,
        entry: impl Fn(
            &CompiledMechanism,
            &mut MechanismInstances,
            &[f64],
            &mut [IonColumns<'_>],
            &Env,
        ) -> Result<(), NmodlError>,
    ) -> Box<Buffers> {
        // The same box goes back into `data.private` after the call: no allocation per step.
        let mut b = self.take_buffers(data);
        self.copy_parameters_in(data, &mut b);
        for (i, node) in b.lanes.iter().enumerate() {
            b.v[i] = ctx.v_mv[*node];
        }
        for (k, ion) in data.ions.iter().enumerate() {
            let s = &ctx.ions.species[ion.0];
            let [e, cur, ci, co] = &mut b.ions[k];
            for (i, node) in b.lanes.iter().enumerate() {
                e[i] = s.erev[*node];
                cur[i] = s.current[*node];
                ci[i] = s.conc_in[*node];
                co[i] = s.conc_out[*node];
            }
        }
        let env = Env {
            celsius: ctx.celsius_degc,
            dt: ctx.dt_ms,
            t: ctx.t_ms,
        };
        let result = {
            let Buffers { inst, v, ions, .. } = &mut *b;
            with_ion_columns(ions, |cols| entry(&self.compiled, inst, v, cols, &env))
        };
        if result.is_err() {
            b.failed = true;
        }
        self.scatter_written(data, ctx, &b);
        b
    }

    /// Write back the concentrations and reversal potentials the mechanism WRITEs.
    fn scatter_written(&self, data: &MechanismData, ctx: &mut KernelContext, b: &Buffers) {
        for (k, usage) in self.info.ions.iter().enumerate() {
            let s = &mut ctx.ions.species[data.ions[k].0];
            for written in &usage.write {
                let (target, source) = match written {
                    IonVariable::Reversal => (&mut s.erev, &b.ions[k][0]),
                    IonVariable::ConcInside => (&mut s.conc_in, &b.ions[k][2]),
                    IonVariable::ConcOutside => (&mut s.conc_out, &b.ions[k][3]),
                    IonVariable::Current => continue,
                };
                for (i, node) in data.node.iter().enumerate() {
                    target[*node] = source[i];
                }
            }
        }
    }

    fn keep(data: &mut MechanismData, b: Box<Buffers>) {
        data.private.0 = Some(b);
    }

    /// This run's buffers (the same box goes back into `data.private` after the call: no
    /// allocation per step), or fresh ones from the model's values.
    fn take_buffers(&self, data: &mut MechanismData) -> Box<Buffers> {
        match data
            .private
            .0
            .take()
            .and_then(|p| p.into_any().downcast::<Buffers>().ok())
        {
            Some(b) if b.lanes.len() == padded_len(data.len()) => b,
            _ => {
                let mut b = Box::new(self.buffers(data));
                self.copy_parameters_in(data, &mut b);
                b
            }
        }
    }

    fn live<'d>(&self, data: &'d MechanismData) -> Option<&'d Buffers> {
        let b = data
            .private
            .0
            .as_ref()?
            .as_any()
            .downcast_ref::<Buffers>()?;
        (b.lanes.len() == padded_len(data.len())).then_some(b)
    }

    /// This run's buffers with the environment, the ion values read and the node voltages plus
    /// `shift_mv` gathered into the compiled columns: ready for an in-place call.
    fn prepare(
        &self,
        data: &mut MechanismData,
        ctx: &KernelContext,
        shift_mv: f64,
    ) -> (Box<Buffers>, Env) {
        let mut b = self.take_buffers(data);
        let env = Env {
            celsius: ctx.celsius_degc,
            dt: ctx.dt_ms,
            t: ctx.t_ms,
        };
        self.compiled.set_env(&mut b.inst, &env);
        self.gather_ions(data, ctx, &mut b);
        self.gather_v(ctx, &mut b, shift_mv);
        (b, env)
    }

    /// Node voltages plus `shift_mv`, straight into the compiled `v` column.
    fn gather_v(&self, ctx: &KernelContext, b: &mut Buffers, shift_mv: f64) {
        if let Some(col) = self.ports.v {
            let v = self.compiled.column_mut(&mut b.inst, col);
            for (x, node) in v.iter_mut().zip(&b.lanes) {
                *x = ctx.v_mv[*node] + shift_mv;
            }
        }
    }

    /// The ion values the mechanism reads, straight into their compiled columns.
    fn gather_ions(&self, data: &MechanismData, ctx: &KernelContext, b: &mut Buffers) {
        for port in self.ports.ions.iter().filter(|p| p.copy_in) {
            let s = &ctx.ions.species[data.ions[port.ion].0];
            let source = match port.field {
                IonField::E => &s.erev,
                IonField::I => &s.current,
                IonField::Ci => &s.conc_in,
                IonField::Co => &s.conc_out,
            };
            let col = self.compiled.column_mut(&mut b.inst, port.column);
            for (x, node) in col.iter_mut().zip(&b.lanes) {
                *x = source[*node];
            }
        }
    }

    /// Ion values the mechanism writes, from the compiled columns back to the nodes.
    fn scatter(&self, data: &MechanismData, ctx: &mut KernelContext, b: &Buffers) {
        for port in self.ports.ions.iter().filter(|p| p.copy_out) {
            let s = &mut ctx.ions.species[data.ions[port.ion].0];
            let target = match port.field {
                IonField::E => &mut s.erev,
                IonField::I => continue,
                IonField::Ci => &mut s.conc_in,
                IonField::Co => &mut s.conc_out,
            };
            let col = self.compiled.column(&b.inst, port.column);
            for (x, node) in col.iter().zip(&data.node) {
                target[*node] = *x;
            }
        }
    }

    /// Outward membrane current per instance: the current terms summed in their order, as the
    /// compiled mechanism sums them.
    fn sum_currents(&self, inst: &MechanismInstances, out: &mut [f64]) {
        out.fill(0.0);
        for &(col, sign) in &self.ports.current_terms {
            for (o, x) in out.iter_mut().zip(self.compiled.column(inst, col)) {
                *o += sign * x;
            }
        }
    }
}

/// Borrow the per-ion buffers as `IonColumns` without allocating (mechanisms use at most a few
/// ions; more than four is refused as a runtime failure).
fn with_ion_columns(
    ions: &mut [[Vec<f64>; 4]],
    run: impl FnOnce(&mut [IonColumns<'_>]) -> Result<(), NmodlError>,
) -> Result<(), NmodlError> {
    fn cols(b: &mut [Vec<f64>; 4]) -> IonColumns<'_> {
        let [e, i, ci, co] = b;
        IonColumns { e, i, ci, co }
    }
    match ions {
        [] => run(&mut []),
        [a] => run(&mut [cols(a)]),
        [a, b] => run(&mut [cols(a), cols(b)]),
        [a, b, c] => run(&mut [cols(a), cols(b), cols(c)]),
        [a, b, c, d] => run(&mut [cols(a), cols(b), cols(c), cols(d)]),
        _ => Err(NmodlError::Runtime {
            file: String::new(),
            msg: "a mechanism may use at most four ions".into(),
        }),
    }
}

/// The instance whose values lane `i` holds: itself, or instance 0 for padding lanes.
fn lane_source(data: &MechanismData, i: usize) -> usize {
    if i < data.len() {
        i
    } else {
        0
    }
}

fn ion_variable(f: IonField) -> IonVariable {
    match f {
        IonField::E => IonVariable::Reversal,
        IonField::I => IonVariable::Current,
        IonField::Ci => IonVariable::ConcInside,
        IonField::Co => IonVariable::ConcOutside,
    }
}

impl MechanismKernel for CompiledKernel {
    fn info(&self) -> &MechanismInfo {
        &self.info
    }

    fn initialize(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        // New buffers every initialize: a run starts from the model's values.
        data.private.0 = None;
        let b = self.call(data, ctx, CompiledMechanism::initial);
        self.copy_columns_out(data, &b, VariableRole::State);
        self.copy_columns_out(data, &b, VariableRole::Assigned);
        Self::keep(data, b);
    }

    /// nocmodl's `nrn_cur`: the BREAKPOINT currents at `v + 0.001` then at `v` (so ASSIGNED
    /// values are those at `v`), `g = (i(v + 0.001) - i(v)) / 0.001`, per ion likewise.
    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let (mut b, _) = self.prepare(data, ctx, 0.001);
        self.compiled.current_in_place(&mut b.inst);
        {
            let Buffers {
                inst,
                shifted,
                ion_shifted,
                ..
            } = &mut *b;
            self.sum_currents(inst, shifted);
            for (k, col) in self.ports.ion_currents.iter().enumerate() {
                if let Some(col) = *col {
                    let n = ion_shifted[k].len();
                    ion_shifted[k].copy_from_slice(&self.compiled.column(inst, col)[..n]);
                }
            }
        }
        self.gather_v(ctx, &mut b, 0.0);
        self.compiled.current_in_place(&mut b.inst);
        {
            let Buffers { inst, total, .. } = &mut *b;
            self.sum_currents(inst, total);
        }
        let poison = if b.failed { f64::NAN } else { 0.0 };
        let density = !ctx.convention.point && !ctx.convention.electrode;
        for ((node, &current), &shifted) in data.node.iter().zip(&b.total).zip(&b.shifted) {
            let g = (shifted - current) / 0.001;
            if density {
                // `add_current` for an outward density current, without its branches.
                ctx.rhs[*node] -= current + poison;
                ctx.d[*node] += g;
            } else {
                ctx.add_current(*node, current + poison, g);
            }
        }
        for (k, col) in self.ports.ion_currents.iter().enumerate() {
            let Some(col) = *col else { continue };
            let (current, shifted) = (self.compiled.column(&b.inst, col), &b.ion_shifted[k]);
            if ctx.convention.point {
                for (i, node) in data.node.iter().enumerate() {
                    let didv = (shifted[i] - current[i]) / 0.001;
                    ctx.add_ion_current(data.ions[k], *node, current[i], didv);
                }
                continue;
            }
            // `add_ion_current` for a density mechanism (scale 1).
            let species = &mut ctx.ions.species[data.ions[k].0];
            for ((node, &i), &shifted) in data.node.iter().zip(current).zip(shifted) {
                species.current[*node] += i;
                species.dcurrent_dv[*node] += (shifted - i) / 0.001;
            }
        }
        Self::keep(data, b);
    }

    fn advance(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let (mut b, env) = self.prepare(data, ctx, 0.0);
        if self.compiled.advance_in_place(&mut b.inst, &env).is_err() {
            b.failed = true;
        }
        self.scatter(data, ctx, &b);
        Self::keep(data, b);
    }

    fn read(&self, data: &MechanismData, variable: usize, instance: usize) -> f64 {
        match (self.live(data), self.range_columns[variable]) {
            (Some(b), Some(col)) => self.compiled.column(&b.inst, col)[instance],
            _ => data.columns[variable][instance],
        }
    }

    fn write(&self, data: &mut MechanismData, variable: usize, instance: usize, value: f64) {
        data.columns[variable][instance] = value;
        let col = self.range_columns[variable];
        if let (Some(b), Some(col)) = (data.private.0.as_mut(), col) {
            if let Some(b) = b.as_any_mut().downcast_mut::<Buffers>() {
                if b.lanes.len() == padded_len(data.node.len()) {
                    self.compiled.column_mut(&mut b.inst, col)[instance] = value;
                }
            }
        }
    }
}

/// Compile every mechanism of `catalogue` and register it; mechanisms that cannot run (for
/// example VERBATIM point processes) are left out and returned with the reason, so that a cell
/// that uses one gets an error naming it while cells that do not still load.
pub fn register_catalogue(
    registry: &mut MechanismRegistry,
    catalogue: &Catalogue,
    options: CompileOptions,
) -> Vec<(String, NmodlError)> {
    let mut skipped = Vec::new();
    for name in catalogue.names() {
        match catalogue.compile_with(name, options) {
            Some(Ok(compiled)) => registry.register(Arc::new(CompiledKernel::new(compiled))),
            Some(Err(e)) => skipped.push((name.to_string(), e)),
            None => {}
        }
    }
    skipped
}
