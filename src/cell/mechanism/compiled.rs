//! NMODL-compiled mechanisms as solver mechanisms: the thin layer between a
//! [`CompiledMechanism`] (which owns its own per-instance columns and knows nothing of the tree)
//! and the solver's [`MechanismKernel`] interface (node-indexed voltages and ions, `rhs`/`d`).
//!
//! The compiled columns, kept in [`MechanismData::private`] (allocated once, at `initialize`,
//! from the model's RANGE values, and borrowed in place by every call), are the live values
//! during a run. Each step gathers the node voltages and the ion values the mechanism reads
//! straight into them ([`Ports`]), runs the compiled code in place, adds currents to `rhs`/`d`
//! as nocmodl's `nrn_cur` does (at `v + 0.001`, then at `v`) and scatters written
//! concentrations back to the nodes: nothing else is copied per step. Reads and writes of RANGE
//! values go through [`MechanismKernel::read`] / [`MechanismKernel::write`], so recordings see
//! live values and a value changed during a run (a play) takes effect at the next step, as in
//! NEURON.
//!
//! A density mechanism runs each phase as one program that does this moving itself (see
//! `fused`): loads of `v` and ion values, both BREAKPOINT evaluations, the sums onto `rhs`,
//! `d` and the ion accumulators. The separate passes below remain for point processes, Newton
//! state updates, a run that failed and `--no-jit` (`CompileOptions::fused`).
//!
//! Every value moved is moved unchanged and every sum is formed in the order nocmodl forms it,
//! so the fast paths below change no bit of any result:
//! - lanes move in groups of four: a group on four consecutive nodes (most of a density
//!   mechanism's, as its instances run along each section) is one slice copy or one vector
//!   update of `rhs`/`d`/ion accumulators, the others go node by node;
//! - node voltages come from [`KernelContext::v_lanes`], gathered once per hook call for all
//!   mechanisms on the same nodes;
//! - the `t`, `dt` and `celsius` columns (which no program writes) are refilled only when their
//!   value changed since the last call;
//! - a mechanism with a single current term adds `0 + sign * x` to `rhs`/`d` on the way, with no
//!   pass of its own for the sum.
//!
//! A runtime failure of the compiled code (a STATE that became NaN) cannot be returned through
//! the solver's interface; the adapter then feeds NaN into the membrane current, which the
//! solver reports as a blow-up naming the section and time.

mod fused;

use std::sync::Arc;

use fused::{Fused, NodeArray};

use super::ions::IonSpecies;
use super::{
    GlobalSpec, IonId, IonUse, IonVariable, KernelContext, KernelState, LaneKey, MechanismData,
    MechanismInfo, MechanismKernel, MechanismKind, MechanismRegistry, SplitView, VariableRole,
    VariableSpec,
};
use crate::cell::nmodl::bytecode::{node_bits, padded_len, IoArrays, NO_NODE};
use crate::cell::nmodl::ir::{IonField, MechKind, Role, Storage};
use crate::cell::nmodl::{
    Catalogue, CompileOptions, CompiledMechanism, Env, IonColumns, IonPort, MechanismInstances,
    NmodlError, Ports,
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
    /// The ion ports filled from the nodes before every current evaluation.
    reads: Vec<IonPort>,
    /// Those filled before every state update: the ones its programs may read, and the
    /// concentrations it writes back (scattered after it, so they must hold this step's values).
    state_reads: Vec<IonPort>,
    /// The ion ports written back to the nodes after each state update.
    writes: Vec<IonPort>,
    /// (ion, column) of each ion current the mechanism writes, in ion order.
    ion_currents: Vec<(usize, usize)>,
    /// The only current term, when there is one: (column, sign, its position in `ion_currents`
    /// if it is an ion current).
    single_term: Option<(usize, f64, Option<usize>)>,
    /// A density mechanism's step as programs that load and scatter node values themselves
    /// (see [`fused`]); None for point processes or when switched off.
    fused: Option<Fused>,
}

/// Per-instance work buffers, allocated once per simulation at `initialize` and kept in
/// `MechanismData::private` (borrowed in place by every call: no allocation, no move per step).
#[derive(Clone)]
struct Buffers {
    /// The compiled columns, for [`padded_len`] lanes: lane `i < n` is instance `i`, the extra
    /// lanes repeat instance 0 (so every value they compute is a real one) and are never read.
    inst: MechanismInstances,
    /// Where the lanes sit on the tree.
    lanes: Lanes,
    /// INITIAL only: node voltages per lane.
    v: Vec<f64>,
    /// INITIAL only: per ion, e, i, ci, co per lane.
    ions: Vec<[Vec<f64>; 4]>,
    /// Membrane current per instance at `v + 0.001`.
    shifted: Vec<f64>,
    /// Membrane current per instance at `v`.
    total: Vec<f64>,
    /// Per written ion current (in `CompiledKernel::ion_currents` order): its value at
    /// `v + 0.001`.
    ion_shifted: Vec<Vec<f64>>,
    /// The t, dt and celsius last written into their columns (None: unknown, write them all).
    env: Option<Env>,
    /// Which node list of `KernelContext::v_lanes` is this mechanism's.
    lane_key: LaneKey,
    failed: bool,
    /// The largest node in the fused programs' node columns (None: no such columns or no
    /// fused programs for this data's ions).
    max_node: Option<usize>,
    /// Where the fused programs' ion arrays are.
    ion_arrays: Vec<IonArrayAt>,
}

/// Where the lanes of the compiled columns sit on the tree.
#[derive(Clone)]
struct Lanes {
    /// Node of each lane (padding lanes: instance 0's node).
    node: Vec<usize>,
    /// Number of instances; the lanes past it are padding.
    n: usize,
    /// The lanes in groups of four from lane 0 (a single lane forms none): a group on four
    /// consecutive nodes (most of a density mechanism's, whose instances run along each
    /// section) moves as one slice, with no per-lane index.
    quads: Vec<Quad>,
}

/// Four consecutive lanes.
#[derive(Clone, Copy)]
enum Quad {
    /// On nodes `k..k + 4`.
    Run(usize),
    /// On these nodes.
    Nodes([usize; 4]),
}

impl Quad {
    fn new(nodes: [usize; 4]) -> Self {
        let k = nodes[0];
        if nodes == [k, k + 1, k + 2, k + 3] {
            Quad::Run(k)
        } else {
            Quad::Nodes(nodes)
        }
    }
}

impl Lanes {
    fn new(node: &[usize]) -> Self {
        let n = node.len();
        let lane = |i: usize| node.get(if i < n { i } else { 0 }).copied().unwrap_or(0);
        let node: Vec<usize> = (0..padded_len(n)).map(lane).collect();
        let quads = node
            .chunks_exact(4)
            .map(|q| Quad::new([q[0], q[1], q[2], q[3]]))
            .collect();
        Lanes { node, n, quads }
    }

    /// The groups made only of instances (none of padding).
    fn instance_quads(&self) -> &[Quad] {
        &self.quads[..self.n / 4]
    }

    /// `col[lane] = source[node of lane]` for every lane.
    fn gather(&self, col: &mut [f64], source: &[f64]) {
        let (groups, rest) = col.as_chunks_mut::<4>();
        for (dst, q) in groups.iter_mut().zip(&self.quads) {
            match *q {
                Quad::Run(k) => dst.copy_from_slice(&source[k..k + 4]),
                Quad::Nodes(nodes) => {
                    for (x, k) in dst.iter_mut().zip(nodes) {
                        *x = source[k];
                    }
                }
            }
        }
        let rest_nodes = &self.node[4 * self.quads.len()..];
        for (x, &k) in rest.iter_mut().zip(rest_nodes) {
            *x = source[k];
        }
    }

    /// `target[node of instance i] = col[i]` for every instance.
    fn scatter(&self, target: &mut [f64], col: &[f64]) {
        let (groups, _) = col.as_chunks::<4>();
        for (src, q) in groups.iter().zip(self.instance_quads()) {
            match *q {
                Quad::Run(k) => target[k..k + 4].copy_from_slice(src),
                Quad::Nodes(nodes) => {
                    for (&x, k) in src.iter().zip(nodes) {
                        target[k] = x;
                    }
                }
            }
        }
        let done = 4 * self.instance_quads().len();
        for i in done..self.n.min(col.len()) {
            target[self.node[i]] = col[i];
        }
    }

    /// For every instance `i` on node `k`, `each(&mut a[k], &mut b[k], x[i], y[i])`, in
    /// instance order.
    #[inline]
    fn update(
        &self,
        a: &mut [f64],
        b: &mut [f64],
        x: &[f64],
        y: &[f64],
        each: impl Fn(&mut f64, &mut f64, f64, f64),
    ) {
        let b = &mut b[..a.len()];
        let (x4, y4) = (x.as_chunks::<4>().0, y.as_chunks::<4>().0);
        for ((x, y), q) in x4.iter().zip(y4).zip(self.instance_quads()) {
            match *q {
                Quad::Run(k) => {
                    let (a, b) = (&mut a[k..k + 4], &mut b[k..k + 4]);
                    for j in 0..4 {
                        each(&mut a[j], &mut b[j], x[j], y[j]);
                    }
                }
                Quad::Nodes(nodes) => {
                    for (j, k) in nodes.into_iter().enumerate() {
                        each(&mut a[k], &mut b[k], x[j], y[j]);
                    }
                }
            }
        }
        let done = 4 * self.instance_quads().len();
        for i in done..self.n.min(x.len()).min(y.len()) {
            let k = self.node[i];
            each(&mut a[k], &mut b[k], x[i], y[i]);
        }
    }

    /// [`update`](Self::update) on four node arrays at once.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn update4(
        &self,
        a: &mut [f64],
        b: &mut [f64],
        c: &mut [f64],
        d: &mut [f64],
        x: &[f64],
        y: &[f64],
        each: impl Fn([&mut f64; 4], f64, f64),
    ) {
        let n = a.len();
        let (b, c, d) = (&mut b[..n], &mut c[..n], &mut d[..n]);
        let (x4, y4) = (x.as_chunks::<4>().0, y.as_chunks::<4>().0);
        for ((x, y), q) in x4.iter().zip(y4).zip(self.instance_quads()) {
            match *q {
                Quad::Run(k) => {
                    let (a, b) = (&mut a[k..k + 4], &mut b[k..k + 4]);
                    let (c, d) = (&mut c[k..k + 4], &mut d[k..k + 4]);
                    for j in 0..4 {
                        each([&mut a[j], &mut b[j], &mut c[j], &mut d[j]], x[j], y[j]);
                    }
                }
                Quad::Nodes(nodes) => {
                    for (j, k) in nodes.into_iter().enumerate() {
                        each([&mut a[k], &mut b[k], &mut c[k], &mut d[k]], x[j], y[j]);
                    }
                }
            }
        }
        let done = 4 * self.instance_quads().len();
        for i in done..self.n.min(x.len()).min(y.len()) {
            let k = self.node[i];
            each([&mut a[k], &mut b[k], &mut c[k], &mut d[k]], x[i], y[i]);
        }
    }

    /// For every instance, `sum[node] += i` and `diff[node] += (shifted - i) / 0.001`:
    /// `add_ion_current` of a density ion current without its branches.
    fn add(&self, sum: &mut [f64], diff: &mut [f64], current: &[f64], shifted: &[f64]) {
        self.update(sum, diff, current, shifted, |s, d, i, shifted| {
            *s += i;
            *d += (shifted - i) / 0.001;
        });
    }

    /// For every instance, `rhs[node] -= i + poison` and `d[node] += (shifted - i) / 0.001`:
    /// `add_current` of an outward density current without its branches.
    fn add_membrane(
        &self,
        rhs: &mut [f64],
        d: &mut [f64],
        current: &[f64],
        shifted: &[f64],
        poison: f64,
    ) {
        self.update(rhs, d, current, shifted, |r, d, i, shifted| {
            *r -= i + poison;
            *d += (shifted - i) / 0.001;
        });
    }
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
        let reads: Vec<IonPort> = ports.ions.iter().filter(|p| p.copy_in).copied().collect();
        let state_reads = reads
            .iter()
            .filter(|p| p.in_state_update || p.copy_out)
            .copied()
            .collect();
        let writes = ports
            .ions
            .iter()
            .filter(|p| p.copy_out && p.field != IonField::I)
            .copied()
            .collect();
        let ion_currents: Vec<(usize, usize)> = ports
            .ion_currents
            .iter()
            .enumerate()
            .filter_map(|(k, col)| col.map(|col| (k, col)))
            .collect();
        let single_term = match ports.current_terms.as_slice() {
            &[(col, sign)] => Some((col, sign, ion_currents.iter().position(|c| c.1 == col))),
            _ => None,
        };
        CompiledKernel {
            compiled,
            info,
            range_columns,
            parameters,
            ports,
            reads,
            state_reads,
            writes,
            ion_currents,
            single_term,
            fused: None,
        }
        .with_fused()
    }

    /// Builds the fused programs of a density mechanism (compiled to machine code when its own
    /// programs are).
    fn with_fused(mut self) -> Self {
        if self.info.kind != MechanismKind::Density {
            return self;
        }
        let native = self.compiled.programs().iter().any(|(_, p)| p.is_native());
        self.fused = Fused::new(&self).map(|mut f| {
            if native {
                f.current.compile_native();
                if let Some(p) = &mut f.advance {
                    p.compile_native();
                }
            }
            let programs = [("current", Some(&f.current)), ("state", f.advance.as_ref())];
            for (phase, p) in programs {
                if let Some(p) = p {
                    p.name_for_profiler(&format!("{}:fused-{phase}", self.info.name));
                }
            }
            f
        });
        self
    }

    /// Without the fused programs: every step through the separate passes.
    fn without_fused(mut self) -> Self {
        self.fused = None;
        self
    }

    /// Fresh buffers for the instances in `data`, with PARAMETERs and GLOBALs copied in.
    fn fresh(&self, data: &MechanismData) -> Buffers {
        let lanes = Lanes::new(&data.node);
        let n = lanes.node.len();
        let extra = self.fused.as_ref().map_or(0, |f| f.extra);
        let mut b = Buffers {
            inst: self.compiled.instantiate_with_extra(n, extra),
            lanes,
            v: vec![0.0; n],
            ions: (0..self.info.ions.len())
                .map(|_| [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]])
                .collect(),
            shifted: vec![0.0; data.len()],
            total: vec![0.0; data.len()],
            ion_shifted: vec![vec![0.0; data.len()]; self.ion_currents.len()],
            env: None,
            lane_key: LaneKey::default(),
            failed: false,
            max_node: None,
            ion_arrays: Vec::new(),
        };
        for (k, g) in self.info.globals.iter().enumerate() {
            // Names come from the compiled mechanism itself, so they resolve.
            let _ = self
                .compiled
                .set_global(&mut b.inst, &g.name, data.globals[k]);
        }
        self.copy_parameters_in(data, &mut b);
        if let Some(f) = &self.fused {
            let lanes = &b.lanes;
            let column = self.compiled.column_mut(&mut b.inst, f.node);
            for (x, &node) in column.iter_mut().zip(&lanes.node) {
                *x = node_bits(node);
            }
            let column = self.compiled.column_mut(&mut b.inst, f.write_node);
            for (i, (x, &node)) in column.iter_mut().zip(&lanes.node).enumerate() {
                *x = if i < lanes.n {
                    node_bits(node)
                } else {
                    NO_NODE
                };
            }
            let column = self.compiled.column_mut(&mut b.inst, f.runs);
            column.fill(NO_NODE);
            for (g, q) in lanes.instance_quads().iter().enumerate() {
                if let Quad::Run(first) = *q {
                    column[4 * g] = node_bits(first);
                }
            }
            if let Some(at) = ion_arrays_at(&f.arrays, &data.ions) {
                b.ion_arrays = at;
                b.max_node = lanes.node.iter().copied().max();
            }
        }
        b
    }

    /// The fused program `pick` of this mechanism on `b`, with the node arrays: false (nothing
    /// run) when there is none for this call (a point process, a failed run) so that the
    /// separate passes run instead.
    fn run_fused(
        &self,
        b: &mut Buffers,
        ctx: &mut KernelContext,
        pick: impl Fn(&Fused) -> Option<&crate::cell::nmodl::bytecode::Program>,
    ) -> bool {
        let Some(prog) = self.fused.as_ref().and_then(pick) else {
            return false;
        };
        if b.failed || !density(ctx) {
            return false;
        }
        self.set_env(b, env_of(ctx));
        let mut arrays = IoArrays::new();
        if !node_arrays(ctx, &b.ion_arrays, &mut arrays)
            || b.max_node.is_none_or(|m| m >= arrays.min_len())
        {
            return false;
        }
        // SAFETY: the node columns were filled in `fresh` with this mechanism's nodes (all
        // below `max_node`, checked against every array just above; padding lanes NO_NODE in
        // the scatter column) and nothing writes them after: programs cannot (Program::with_io)
        // and `write`/`copy_parameters_in` touch only RANGE columns. `node_arrays` gives every
        // array the fused programs name, writable but `v`, which no fused program scatters to.
        unsafe { b.inst.run_io_unchecked(prog, &mut arrays) }
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

    /// INITIAL, with node values gathered into separate buffers (once per run; steps use the
    /// in-place path).
    fn initial(&self, b: &mut Buffers, ions: &[IonId], ctx: &mut KernelContext) {
        let Buffers {
            inst,
            lanes,
            v,
            ions: columns,
            ..
        } = b;
        lanes.gather(v, ctx.v_mv);
        for (ion, [e, cur, ci, co]) in ions.iter().zip(columns.iter_mut()) {
            let s = &ctx.ions.species[ion.0];
            lanes.gather(e, &s.erev);
            lanes.gather(cur, &s.current);
            lanes.gather(ci, &s.conc_in);
            lanes.gather(co, &s.conc_out);
        }
        let env = env_of(ctx);
        let result = with_ion_columns(columns, |cols| self.compiled.initial(inst, v, cols, &env));
        if result.is_err() {
            b.failed = true;
        }
        // INITIAL filled the t, dt and celsius columns its own way.
        b.env = None;
        self.scatter_written(b, ions, ctx);
    }

    /// Write back the concentrations and reversal potentials the mechanism WRITEs (INITIAL).
    fn scatter_written(&self, b: &Buffers, ions: &[IonId], ctx: &mut KernelContext) {
        for (k, usage) in self.info.ions.iter().enumerate() {
            let s = &mut ctx.ions.species[ions[k].0];
            for written in &usage.write {
                let (target, source) = match written {
                    IonVariable::Reversal => (&mut s.erev, &b.ions[k][0]),
                    IonVariable::ConcInside => (&mut s.conc_in, &b.ions[k][2]),
                    IonVariable::ConcOutside => (&mut s.conc_out, &b.ions[k][3]),
                    IonVariable::Current => continue,
                };
                b.lanes.scatter(target, source);
            }
        }
    }

    /// Run `f` on this run's buffers, borrowed in place (made from the model's values first if
    /// there are none), with the species of each USEION.
    fn with_buffers<R>(
        &self,
        data: &mut MechanismData,
        f: impl FnOnce(&mut Buffers, &[IonId]) -> R,
    ) -> Option<R> {
        let lanes = padded_len(data.len());
        if let Some(b) = live_mut(&mut data.private, lanes) {
            return Some(f(b, &data.ions));
        }
        let b = self.fresh(data);
        data.private.0 = Some(Box::new(b));
        live_mut(&mut data.private, lanes).map(|b| f(b, &data.ions))
    }

    fn live<'d>(&self, data: &'d MechanismData) -> Option<&'d Buffers> {
        let b = data
            .private
            .0
            .as_ref()?
            .as_any()
            .downcast_ref::<Buffers>()?;
        (b.lanes.node.len() == padded_len(data.len())).then_some(b)
    }

    /// The environment, the ion values read and the node voltages plus `shift_mv` into the
    /// compiled columns: ready for an in-place current evaluation.
    fn prepare(&self, b: &mut Buffers, ions: &[IonId], ctx: &mut KernelContext, shift_mv: f64) {
        self.set_env(b, env_of(ctx));
        self.gather_ions(&self.reads, b, ions, ctx);
        self.set_v(b, ctx, shift_mv);
    }

    /// The t, dt and celsius columns the mechanism reads, each rewritten only when its value
    /// changed (no program writes them).
    fn set_env(&self, b: &mut Buffers, env: Env) {
        let last = b.env.replace(env);
        let [t, dt, celsius] = self.ports.env;
        self.refresh(&mut b.inst, t, env.t, last.map(|e| e.t));
        self.refresh(&mut b.inst, dt, env.dt, last.map(|e| e.dt));
        self.refresh(&mut b.inst, celsius, env.celsius, last.map(|e| e.celsius));
    }

    /// Fill column `col` (if the mechanism has it) with `x` unless it holds `old` and `old` is
    /// `x` to the bit.
    #[inline]
    fn refresh(&self, inst: &mut MechanismInstances, col: Option<usize>, x: f64, old: Option<f64>) {
        match (col, old) {
            (Some(_), Some(old)) if old.to_bits() == x.to_bits() => {}
            (Some(col), _) => self.compiled.column_mut(inst, col).fill(x),
            (None, _) => {}
        }
    }

    /// Node voltages plus `shift_mv`, straight into the compiled `v` column.
    fn set_v(&self, b: &mut Buffers, ctx: &mut KernelContext, shift_mv: f64) {
        if let Some(col) = self.ports.v {
            let v = ctx.v_lanes.gather(&b.lanes.node, ctx.v_mv, &mut b.lane_key);
            map_into(self.compiled.column_mut(&mut b.inst, col), v, |v| {
                v + shift_mv
            });
        }
    }

    /// The ion values the mechanism reads, straight into their compiled columns.
    fn gather_ions(&self, ports: &[IonPort], b: &mut Buffers, ions: &[IonId], ctx: &KernelContext) {
        for port in ports {
            let s = &ctx.ions.species[ions[port.ion].0];
            let source = match port.field {
                IonField::E => &s.erev,
                IonField::I => &s.current,
                IonField::Ci => &s.conc_in,
                IonField::Co => &s.conc_out,
            };
            let col = self.compiled.column_mut(&mut b.inst, port.column);
            b.lanes.gather(col, source);
        }
    }

    /// Ion values the mechanism writes, from the compiled columns back to the nodes.
    fn scatter(&self, b: &Buffers, ions: &[IonId], ctx: &mut KernelContext) {
        for port in &self.writes {
            let s = &mut ctx.ions.species[ions[port.ion].0];
            let target = match port.field {
                IonField::E => &mut s.erev,
                IonField::I => continue,
                IonField::Ci => &mut s.conc_in,
                IonField::Co => &mut s.conc_out,
            };
            b.lanes
                .scatter(target, self.compiled.column(&b.inst, port.column));
        }
    }

    /// Outward membrane current per instance: the current terms summed in their order, as the
    /// compiled mechanism sums them (from 0, so the first term is `0 + sign * x`).
    fn sum_currents(&self, inst: &MechanismInstances, out: &mut [f64]) {
        let Some(((first, sign), rest)) = self.ports.current_terms.split_first() else {
            out.fill(0.0);
            return;
        };
        map_into(out, self.compiled.column(inst, *first), |x| 0.0 + sign * x);
        for &(col, sign) in rest {
            accumulate(out, self.compiled.column(inst, col), |o, x| o + sign * x);
        }
    }

    /// nocmodl's `nrn_cur` on this run's buffers (see [`MechanismKernel::current`]).
    fn current_on(&self, b: &mut Buffers, ions: &[IonId], ctx: &mut KernelContext) {
        if self.run_fused(b, ctx, |f| Some(&f.current)) {
            return;
        }
        let single = self.single_term.filter(|_| density(ctx));
        self.prepare(b, ions, ctx, 0.001);
        self.compiled.current_in_place(&mut b.inst);
        match single {
            // The raw ion current kept below serves as the term.
            Some((_, _, Some(_))) => {}
            Some((col, _, None)) => copy_instances(&mut b.shifted, &b.inst, &self.compiled, col),
            None => self.sum_currents(&b.inst, &mut b.shifted),
        }
        for (&(_, col), shifted) in self.ion_currents.iter().zip(&mut b.ion_shifted) {
            copy_instances(shifted, &b.inst, &self.compiled, col);
        }
        self.set_v(b, ctx, 0.0);
        self.compiled.current_in_place(&mut b.inst);
        match single {
            Some((col, sign, Some(j))) => self.add_single_ion_term(b, ions, ctx, (col, sign), j),
            Some((col, sign, None)) => self.add_single_term(b, ctx, col, sign),
            None => self.add_membrane_current(b, ctx),
        }
        let fused = single.and_then(|s| s.2);
        self.add_ion_currents(b, ions, ctx, fused);
    }

    /// [`add_single_term`](Self::add_single_term) for a term that is ion current `j`, with the
    /// ion's accumulators (`add_ion_current`) updated in the same pass.
    fn add_single_ion_term(
        &self,
        b: &Buffers,
        ions: &[IonId],
        ctx: &mut KernelContext,
        (col, sign): (usize, f64),
        j: usize,
    ) {
        let poison = if b.failed { f64::NAN } else { 0.0 };
        let (Some(&(k, _)), Some(raw)) = (self.ion_currents.get(j), b.ion_shifted.get(j)) else {
            return;
        };
        let x = self.compiled.column(&b.inst, col);
        let species = &mut ctx.ions.species[ions[k].0];
        let (rhs, d) = (&mut *ctx.rhs, &mut *ctx.d);
        let (c, dc) = (&mut species.current, &mut species.dcurrent_dv);
        b.lanes
            .update4(rhs, d, c, dc, x, raw, |[r, d, c, dc], x, raw| {
                let (i, shifted) = (0.0 + sign * x, 0.0 + sign * raw);
                *r -= i + poison;
                *d += (shifted - i) / 0.001;
                *c += x;
                *dc += (raw - x) / 0.001;
            });
    }

    /// A density mechanism's only current term `x` at `v` and its conductance onto `rhs`/`d`,
    /// with the sums `0 + sign * x` (at `v` and, from the raw copy in `b.shifted`, at
    /// `v + 0.001`) formed on the way: no pass of their own.
    fn add_single_term(&self, b: &Buffers, ctx: &mut KernelContext, col: usize, sign: f64) {
        let poison = if b.failed { f64::NAN } else { 0.0 };
        let x = self.compiled.column(&b.inst, col);
        b.lanes
            .update(ctx.rhs, ctx.d, x, &b.shifted, |r, d, x, raw| {
                let (i, shifted) = (0.0 + sign * x, 0.0 + sign * raw);
                *r -= i + poison;
                *d += (shifted - i) / 0.001;
            });
    }

    /// The total at `v` and its numerical conductance onto `rhs`/`d`.
    fn add_membrane_current(&self, b: &mut Buffers, ctx: &mut KernelContext) {
        let poison = if b.failed { f64::NAN } else { 0.0 };
        let density = density(ctx);
        self.sum_currents(&b.inst, &mut b.total);
        if density {
            b.lanes
                .add_membrane(ctx.rhs, ctx.d, &b.total, &b.shifted, poison);
            return;
        }
        for ((node, &current), &shifted) in b.lanes.node.iter().zip(&b.total).zip(&b.shifted) {
            let g = (shifted - current) / 0.001;
            ctx.add_current(*node, current + poison, g);
        }
    }

    /// Each written ion current at `v` (but number `done`, already added) and its `di/dv` onto
    /// the species' accumulators.
    fn add_ion_currents(
        &self,
        b: &Buffers,
        ions: &[IonId],
        ctx: &mut KernelContext,
        done: Option<usize>,
    ) {
        let currents = self.ion_currents.iter().zip(&b.ion_shifted).enumerate();
        for (_, (&(k, col), shifted)) in currents.filter(|(j, _)| Some(*j) != done) {
            let current = self.compiled.column(&b.inst, col);
            if ctx.convention.point {
                for ((node, &i), &shifted) in b.lanes.node.iter().zip(current).zip(shifted) {
                    let didv = (shifted - i) / 0.001;
                    ctx.add_ion_current(ions[k], *node, i, didv);
                }
                continue;
            }
            let species = &mut ctx.ions.species[ions[k].0];
            b.lanes.add(
                &mut species.current,
                &mut species.dcurrent_dv,
                current,
                shifted,
            );
        }
    }

    /// nocmodl's `nrn_state` on this run's buffers (see [`MechanismKernel::advance`]).
    fn advance_on(&self, b: &mut Buffers, ions: &[IonId], ctx: &mut KernelContext) {
        if self.run_fused(b, ctx, |f| f.advance.as_ref()) {
            if self.compiled.check_advanced(&b.inst, &env_of(ctx)).is_err() {
                b.failed = true;
            }
            return;
        }
        self.set_env(b, env_of(ctx));
        self.gather_ions(&self.state_reads, b, ions, ctx);
        self.set_v(b, ctx, 0.0);
        if self
            .compiled
            .advance_in_place(&mut b.inst, &env_of(ctx))
            .is_err()
        {
            b.failed = true;
        }
        self.scatter(b, ions, ctx);
    }
}

/// Where each ion array of a fused program lives: (species, field: 0 `e`, 1 `i`, 2 `ci`,
/// 3 `co`, 4 `di/dv`), resolved once per run in `fresh`.
type IonArrayAt = (usize, u8);

/// Byte offset in [`IonSpecies`] of each field of [`IonArrayAt`].
const FIELD_OFFSETS: [usize; 5] = [
    std::mem::offset_of!(IonSpecies, erev),
    std::mem::offset_of!(IonSpecies, current),
    std::mem::offset_of!(IonSpecies, conc_in),
    std::mem::offset_of!(IonSpecies, conc_out),
    std::mem::offset_of!(IonSpecies, dcurrent_dv),
];

/// The ion arrays `sources` names (after `v`, `rhs`, `d`) for the species of `ions`.
fn ion_arrays_at(sources: &[NodeArray], ions: &[IonId]) -> Option<Vec<IonArrayAt>> {
    let [NodeArray::V, NodeArray::Rhs, NodeArray::D, rest @ ..] = sources else {
        return None;
    };
    rest.iter()
        .map(|source| match *source {
            NodeArray::Ion { k, field } if field < 5 => Some((ions.get(k)?.0, field)),
            _ => None,
        })
        .collect()
}

/// Adds `v`, `rhs`, `d` and the ion arrays at `at` to `arrays`, in that order (false if a
/// species is missing). Straight-line apart from the loop over ion arrays: a branch per array
/// that the CPU cannot predict would cost as much as a mechanism's whole state update.
fn node_arrays<'c>(
    ctx: &'c mut KernelContext<'_>,
    at: &[IonArrayAt],
    arrays: &mut IoArrays<'c>,
) -> bool {
    let fixed = [
        (ctx.v_mv.as_ptr().cast_mut(), ctx.v_mv.len(), false),
        (ctx.rhs.as_mut_ptr(), ctx.rhs.len(), true),
        (ctx.d.as_mut_ptr(), ctx.d.len(), true),
    ];
    let mut ok = true;
    for (ptr, len, writable) in fixed {
        // SAFETY: `v` (shared, only ever loaded), `rhs` and `d` are distinct arrays `ctx`
        // borrows for `'c`; nothing else touches them while the table is used.
        ok &= unsafe { arrays.raw(ptr, len, writable) }.is_some();
    }
    let species = &mut ctx.ions.species;
    for &(index, field) in at {
        let Some(s) = species.get_mut(index) else {
            return false;
        };
        let offset = FIELD_OFFSETS[(field as usize).min(4)];
        // SAFETY: `offset` is that of a `Vec<f64>` field of `IonSpecies` (FIELD_OFFSETS), so
        // this is a pointer to a field of a species borrowed mutably here.
        let a: &mut Vec<f64> =
            unsafe { &mut *(std::ptr::from_mut(s).cast::<u8>().add(offset).cast()) };
        // SAFETY: a field of a species `ctx` borrows mutably for `'c`; a program's arrays are
        // named once each (fused::Arrays) and a mechanism's ions are distinct species, so no
        // two entries overlap.
        ok &= unsafe { arrays.raw(a.as_mut_ptr(), a.len(), true) }.is_some();
    }
    ok
}

/// An outward density current: `rhs -= i`, `d += g`, unscaled.
fn density(ctx: &KernelContext) -> bool {
    !ctx.convention.point && !ctx.convention.electrode
}

/// The instances' values of column `col` into `out` (one per instance).
fn copy_instances(out: &mut [f64], inst: &MechanismInstances, c: &CompiledMechanism, col: usize) {
    let n = out.len();
    out.copy_from_slice(&c.column(inst, col)[..n]);
}

/// `out[i] = f(x[i])` (slices as arguments, so that the loop vectorises without overlap checks).
#[inline]
fn map_into(out: &mut [f64], x: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = f(x);
    }
}

/// `out[i] = f(out[i], x[i])`, likewise.
#[inline]
fn accumulate(out: &mut [f64], x: &[f64], f: impl Fn(f64, f64) -> f64) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = f(*o, x);
    }
}

/// The buffers in `private`, if they are this kernel's for `lanes` lanes.
fn live_mut(private: &mut KernelState, lanes: usize) -> Option<&mut Buffers> {
    let b = private.0.as_mut()?.as_any_mut().downcast_mut::<Buffers>()?;
    (b.lanes.node.len() == lanes).then_some(b)
}

fn env_of(ctx: &KernelContext) -> Env {
    Env {
        celsius: ctx.celsius_degc,
        dt: ctx.dt_ms,
        t: ctx.t_ms,
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
        let mut b = Box::new(self.fresh(data));
        self.initial(&mut b, &data.ions, ctx);
        self.copy_columns_out(data, &b, VariableRole::State);
        self.copy_columns_out(data, &b, VariableRole::Assigned);
        data.private.0 = Some(b);
    }

    /// nocmodl's `nrn_cur`: the BREAKPOINT currents at `v + 0.001` then at `v` (so ASSIGNED
    /// values are those at `v`), `g = (i(v + 0.001) - i(v)) / 0.001`, per ion likewise.
    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        self.with_buffers(data, |b, ions| self.current_on(b, ions, ctx));
    }

    fn split_view(&self, data: &mut MechanismData) -> Option<SplitView> {
        let f = self.fused.as_ref()?;
        let advance = f.advance.clone()?;
        let lanes = padded_len(data.len());
        let b = live_mut(&mut data.private, lanes)?;
        let n = b.lanes.node.len();
        let splittable = !b.failed
            && b.max_node.is_some()
            && self.ports.env[0].is_none()
            && f.current.is_native()
            && advance.is_native()
            && b.lanes.n == n
            && n.is_multiple_of(4);
        splittable.then(|| SplitView {
            current: f.current.clone(),
            advance,
            buf: b.inst.as_mut_ptr(),
            n,
            node: b.lanes.node.clone(),
            ion_arrays: b.ion_arrays.clone(),
            states: self.compiled.state_columns(),
        })
    }

    fn split_check(&self, data: &mut MechanismData, t_ms: f64) -> bool {
        let lanes = padded_len(data.len());
        let Some(b) = live_mut(&mut data.private, lanes) else {
            return false;
        };
        let env = Env {
            t: t_ms,
            ..b.env.unwrap_or(Env {
                celsius: 0.0,
                dt: 0.0,
                t: t_ms,
            })
        };
        if self.compiled.check_advanced(&b.inst, &env).is_err() {
            b.failed = true;
        }
        !b.failed
    }

    fn advance(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        self.with_buffers(data, |b, ions| self.advance_on(b, ions, ctx));
    }

    fn read(&self, data: &MechanismData, variable: usize, instance: usize) -> f64 {
        match (self.live(data), self.range_columns[variable]) {
            (Some(b), Some(col)) => self.compiled.column(&b.inst, col)[instance],
            _ => data.columns[variable][instance],
        }
    }

    fn write(&self, data: &mut MechanismData, variable: usize, instance: usize, value: f64) {
        data.columns[variable][instance] = value;
        let lanes = padded_len(data.len());
        if let (Some(b), Some(col)) = (
            live_mut(&mut data.private, lanes),
            self.range_columns[variable],
        ) {
            self.compiled.column_mut(&mut b.inst, col)[instance] = value;
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
            Some(Ok(compiled)) => {
                let kernel = CompiledKernel::new(compiled);
                let kernel = if options.fused {
                    kernel
                } else {
                    kernel.without_fused()
                };
                registry.register(Arc::new(kernel))
            }
            Some(Err(e)) => skipped.push((name.to_string(), e)),
            None => {}
        }
    }
    skipped
}
