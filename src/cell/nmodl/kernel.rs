//! Compiled mechanisms and their per-instance columns: the API a cable solver calls.
//!
//! # Contract
//! A [`CompiledMechanism`] is compiled once from an [`ir::Mechanism`]; [`CompiledMechanism::instantiate`]
//! makes the struct-of-arrays state for `n` instances (one column per variable, PARAMETER defaults
//! filled in, STATEs 0). Every entry point takes:
//! - `v`: membrane potential per instance (mV), length `n`;
//! - `ions`: one [`IonColumns`] per ion of [`CompiledMechanism::ions`], in that order, each column
//!   of length `n` (the node's values of NEURON's `eion`: `e` mV, `i` total current of that ion
//!   from all mechanisms, `ci`/`co` mM);
//! - [`Env`]: `celsius` (degC), `dt` (ms), `t` (ms).
//!
//! Columns read: `v`, and of each ion the fields the mechanism READs plus the concentrations it
//! WRITEs (NEURON copies `cai` in before every block). Columns written: only concentrations (and
//! reversal potentials) the mechanism WRITEs, after [`initial`](CompiledMechanism::initial) and
//! [`advance_states`](CompiledMechanism::advance_states). Ion *currents* are never written into
//! `IonColumns`; each call of [`breakpoint_current`](CompiledMechanism::breakpoint_current) leaves
//! this mechanism's own contribution in [`MechanismInstances::ion_current`] for the caller to add
//! to the ion's total, and the membrane total in [`MechanismInstances::current`]:
//! - units: density mechanisms mA/cm2, point processes nA (the caller scales by `1e2/area`);
//! - sign: outward positive (NEURON's `rhs -= i`), i.e. the sum of written ion currents and
//!   NONSPECIFIC currents *minus* ELECTRODE currents (IClamp's positive `i` depolarises).
//!
//! NEURON's order is kept: `initial` once after `v` is set; each step, currents at the mid-step
//! (`current_and_conductance` evaluates at `v + 0.001` then at `v`, as nocmodl's `nrn_cur`, and
//! stores `dI/dv`), then `advance_states` with the new `v` (nocmodl's `nrn_state`).
//!
//! Semantics notes: GLOBAL PARAMETERs are one value per [`MechanismInstances`] set by
//! [`CompiledMechanism::set_global`] (an adapter must set it on every instance set to mimic one
//! NEURON global). ASSIGNED variables that NEURON makes GLOBAL (not in RANGE) are per-instance
//! scratch here: NEURON's result is identical whenever, as in every real file, an instance writes
//! them before reading them within a block. TABLE statements are ignored: rates are computed
//! directly, where NEURON (with its default `usetable = 1`) interpolates linearly in a table.
//! Measured on hh's rates at 6.3 degC (`FROM -100 TO 100 WITH 200`, 1 mV grid, checked every
//! 0.01 mV): the table differs from the direct formulas by at most 2.6e-4 in m/h/n_inf and 6.1e-4
//! relative in the time constants (`tests/nmodl_kernel.rs::table_interpolation_error_of_hh_rates`);
//! none of the real cell mechanisms uses TABLE (hh's line is commented out in NEURON 8.2).
//! After `advance_states` every STATE is checked for NaN/inf and a failure names the file and the
//! line of the state's equation.
//!
//! INITIAL may `SOLVE` a LINEAR block (Newton on its equations for its STATEs). Point processes
//! with a NET_RECEIVE block get [`CompiledMechanism::net_receive`], which applies one event to one
//! instance (row mode); events the block would itself emit (`net_send`, `net_event`) are refused
//! at compile time of that entry point only.
//!
//! Verified against NEURON 8.2.4 itself (`tests/nmodl_neuron.rs`): all 41 density mechanisms of
//! the four reference cells plus bio_net's KINETIC NaV, under a voltage-clamp protocol, agree to
//! 1.1e-9 relative (the clamp's own 2e-8 mV error).

use super::bytecode::{IoArrays, Program, Slot};
use super::error::NmodlError;
use super::ir::*;
use super::lower::{allocate, DerivMode, Layout, Lowered, Lowerer};
use super::solvers::{kinetic_to_derivative, linear_unknowns, rewrite, Method, StateUpdate};

/// Simulator scalars every entry point reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Env {
    pub celsius: f64,
    pub dt: f64,
    pub t: f64,
}

/// The node columns of one ion (see the module contract).
#[derive(Debug)]
pub struct IonColumns<'a> {
    pub e: &'a mut [f64],
    pub i: &'a mut [f64],
    pub ci: &'a mut [f64],
    pub co: &'a mut [f64],
}

/// Code-generation choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    /// Use [`super::bytecode::fast_exp`] (within 2 ulp of libm, vectorised) instead of libm's
    /// `exp`, which NEURON's compiled C calls. On by default: exp-heavy mechanisms run about
    /// twice as fast and results differ from libm's in the last bits only; off, the same
    /// operations NEURON performs.
    pub fast_exp: bool,
    /// Translate the programs to machine code ([`super::jit`]) where the CPU allows (x86-64
    /// with AVX2): the same operations, bit-identical results, several times faster than the
    /// bytecode interpreter. On by default.
    pub native: bool,
    /// Let a solver adapter run each density mechanism's step as one program that loads and
    /// scatters node values itself (`mechanism::compiled`'s fused path): the same operations,
    /// bit-identical results, fewer passes. On by default.
    pub fused: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            fast_exp: true,
            native: true,
            fused: true,
        }
    }
}

impl CompileOptions {
    /// Every operation as NEURON's compiled C performs it (libm's `exp`).
    pub fn exact() -> Self {
        Self {
            fast_exp: false,
            ..Self::default()
        }
    }
}

/// How one SOLVE of the BREAKPOINT block is run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SolveInfo {
    pub block: String,
    pub requested: Option<String>,
    pub method: Option<Method>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
enum StateStep {
    Explicit(Program),
    /// Newton on `outputs(states)`: backward Euler on derivatives, or `residual = 0` (LINEAR).
    Implicit {
        prog: Program,
        states: Vec<Slot>,
        outputs: Vec<Slot>,
        residual: bool,
    },
}

#[derive(Debug, Clone)]
struct IonIo {
    /// (field, home slot, copy in, copy out)
    fields: Vec<(IonField, Slot, bool, bool)>,
    /// Home slot of the written current, if any.
    current: Option<Slot>,
}

/// One ion column of an in-place call (see [`CompiledMechanism::ports`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IonPort {
    /// Position of the ion in [`CompiledMechanism::ions`].
    pub ion: usize,
    /// Which of the ion's node values.
    pub field: IonField,
    /// Column index.
    pub column: usize,
    /// Filled from the node before every call.
    pub copy_in: bool,
    /// Written back to the node after INITIAL and each state update.
    pub copy_out: bool,
    /// Some block of the state update (a SOLVEd block or anything it may call) mentions the
    /// variable; when not, no state-update program reads the column.
    pub in_state_update: bool,
}

/// The columns of an in-place call: what a solver adapter gathers and scatters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ports {
    /// Column of `v`, if the mechanism reads it.
    pub v: Option<usize>,
    /// Columns of `t`, `dt` and `celsius` (read-only: no program writes them, so a caller may
    /// leave a column alone while its value is unchanged). `t` is None when no block of the
    /// mechanism mentions it (nor calls `at_time`), so that no program can read it.
    pub env: [Option<usize>; 3],
    /// Ion columns.
    pub ions: Vec<IonPort>,
    /// Per ion (in `ions()` order): the column of the current it writes, if any.
    pub ion_currents: Vec<Option<usize>>,
    /// (column, sign) summed, in this order, into the outward membrane current.
    pub current_terms: Vec<(usize, f64)>,
}

/// A mechanism compiled to columnar bytecode. Cheap to share: instances hold all mutable data.
#[derive(Debug, Clone)]
pub struct CompiledMechanism {
    mech: Mechanism,
    layout: Layout,
    n_slots: usize,
    initial: Vec<StateStep>,
    current: Program,
    steps: Vec<StateStep>,
    solves: Vec<SolveInfo>,
    ion_io: Vec<IonIo>,
    /// Home slots summed into the total current with their sign.
    current_terms: Vec<(Slot, f64)>,
    /// STATEs with instance storage: (slot, var) (zeroed before INITIAL, NaN-checked after steps).
    states: Vec<(Slot, VarId, u32)>,
    /// The slots of `states` as runs of consecutive slots `start..end` (one run when the STATEs
    /// are declared together): the NaN check after each step scans one slice per run.
    state_spans: Vec<(usize, usize)>,
    specials: [Option<Slot>; 4],
    max_implicit: usize,
    /// NET_RECEIVE program and its argument slots, or why it cannot run.
    net_receive: Result<(Program, Vec<Slot>), NmodlError>,
    pub warnings: Vec<String>,
}

/// The per-instance data of one mechanism on `n` instances (compartments or point processes).
#[derive(Debug, Clone)]
pub struct MechanismInstances {
    n: usize,
    buf: Columns,
    /// Total membrane current per instance from the last current evaluation (see contract).
    pub current: Vec<f64>,
    /// dI/dv per instance from the last `current_and_conductance` (mS/cm2 or uS).
    pub conductance: Vec<f64>,
    /// Per ion (in `ions()` order): this mechanism's current, empty when it writes none.
    pub ion_current: Vec<Vec<f64>>,
    /// Per ion: d(ion current)/dv, like NEURON's `_ion_dinadv`.
    pub ion_didv: Vec<Vec<f64>>,
    scratch: Vec<f64>,
}

/// A cache line of column values.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy)]
struct Line([f64; 8]);

/// Column storage starting on a cache line: with 8k lanes per column every group of 8 lanes
/// has lines of its own, so two threads stepping disjoint groups never share one.
#[derive(Debug, Clone)]
struct Columns {
    lines: Vec<Line>,
    len: usize,
}

impl Columns {
    fn zeros(len: usize) -> Self {
        Columns {
            lines: vec![Line([0.0; 8]); len.div_ceil(8)],
            len,
        }
    }

    /// Longer, the new values 0.
    fn grow(&mut self, len: usize) {
        if len > self.len {
            self.lines.resize(len.div_ceil(8), Line([0.0; 8]));
            self.len = len;
        }
    }

    fn as_mut_ptr(&mut self) -> *mut f64 {
        self.lines.as_mut_ptr().cast()
    }
}

impl std::ops::Deref for Columns {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        // SAFETY: `Line` is 8 f64 without padding (repr C), `len <= 8 * lines.len()`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl std::ops::DerefMut for Columns {
    fn deref_mut(&mut self) -> &mut [f64] {
        // SAFETY: as for `deref`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

impl MechanismInstances {
    /// Runs a caller's program with loads and scatters over these instances' columns (see
    /// [`CompiledMechanism::instantiate_with_extra`]), with only the buffer's size checked
    /// (false: too small, nothing run): [`Program::run_io_unchecked`].
    ///
    /// # Safety
    /// As for [`Program::run_io_unchecked`]: the arrays and node columns.
    pub unsafe fn run_io_unchecked(&mut self, prog: &Program, arrays: &mut IoArrays<'_>) -> bool {
        if self.buf.len() < prog.n_slots() * self.n {
            return false;
        }
        // SAFETY: the buffer covers the program's columns; the rest as the caller guarantees.
        unsafe { prog.run_io_unchecked(&mut self.buf, self.n, arrays) };
        true
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The column buffer by pointer (from `Vec::as_mut_ptr`: no reference materialised), for
    /// [`Program::run_io_groups`] from two threads on disjoint groups of lanes.
    pub fn as_mut_ptr(&mut self) -> *mut f64 {
        self.buf.as_mut_ptr()
    }
}

const NEWTON_MAX_ITER: usize = 20;
const NEWTON_TOL: f64 = 1e-9;

impl CompiledMechanism {
    /// Compiles every entry point; an unsupported construct reachable from INITIAL, BREAKPOINT or
    /// a SOLVEd block is an error naming the file, line and block chain.
    pub fn compile(mech: &Mechanism) -> Result<Self, NmodlError> {
        Self::compile_with(mech, CompileOptions::default())
    }

    /// [`compile`](Self::compile) with explicit [`CompileOptions`].
    pub fn compile_with(mech: &Mechanism, opts: CompileOptions) -> Result<Self, NmodlError> {
        let mut c = Self::compile_exact(mech)?;
        let programs = std::iter::once(&mut c.current).chain(
            c.steps
                .iter_mut()
                .chain(c.initial.iter_mut())
                .map(|s| match s {
                    StateStep::Explicit(p) | StateStep::Implicit { prog: p, .. } => p,
                }),
        );
        for p in programs {
            if opts.fast_exp {
                p.use_fast_exp();
            }
            if opts.native {
                p.compile_native();
            }
        }
        for (entry, p) in c.programs() {
            p.name_for_profiler(&format!("{}:{entry}", mech.name));
        }
        Ok(c)
    }

    fn compile_exact(mech: &Mechanism) -> Result<Self, NmodlError> {
        if let Some((what, line)) = mech
            .parse_only
            .iter()
            .find(|(w, _)| w.starts_with("BEFORE") || w.starts_with("AFTER"))
        {
            return Err(NmodlError::Compile {
                file: mech.file.clone(),
                line: *line,
                msg: format!("unsupported: {what} block (it would run around every step)"),
            });
        }
        let mut layout = Layout::new(mech);
        let mut warnings = Vec::new();
        let empty = Callable {
            name: "INITIAL".into(),
            kind: CallableKind::Initial,
            n_args: 0,
            locals: vec![],
            result: None,
            body: vec![],
            line: 0,
        };
        let init_c = mech.initial.as_ref().unwrap_or(&empty);
        let init_l = lower_initial(mech, &mut layout, init_c)?;
        let bp = mech.breakpoint.as_ref();
        let cur_l = match bp {
            Some(b) => {
                Lowerer::new(mech, &mut layout, "BREAKPOINT", DerivMode::Forbid).body(b, true)?
            }
            None => Lowerer::new(mech, &mut layout, "BREAKPOINT", DerivMode::Forbid)
                .body(&empty, true)?,
        };
        let (steps_l, solves) = lower_solves(mech, &mut layout, &mut warnings)?;
        let net_l = lower_net_receive(mech, &mut layout);

        let n_fixed = layout.n_fixed;
        let uniform = uniform_slots(
            mech,
            &layout,
            [&cur_l]
                .into_iter()
                .chain(steps_l.iter().chain(&init_l).map(|s| s.lowered())),
        );
        let alloc = |l: &Lowered| {
            allocate(l, n_fixed, &uniform, &layout.consts).map_err(|e| NmodlError::Runtime {
                file: mech.file.clone(),
                msg: format!("internal: {e}"),
            })
        };
        let (current, s2) = alloc(&cur_l)?;
        let mut n_slots = s2.max(n_fixed as usize);
        let mut max_implicit = 0;
        let mut finish = |lowered: Vec<LoweredStep>| -> Result<Vec<StateStep>, NmodlError> {
            let mut out = Vec::new();
            for s in lowered {
                match s {
                    LoweredStep::Explicit(l) => {
                        let (p, k) = alloc(&l)?;
                        n_slots = n_slots.max(k);
                        out.push(StateStep::Explicit(p));
                    }
                    LoweredStep::Implicit {
                        l,
                        states,
                        outputs,
                        residual,
                    } => {
                        let (p, k) = alloc(&l)?;
                        n_slots = n_slots.max(k);
                        max_implicit = max_implicit.max(states.len());
                        out.push(StateStep::Implicit {
                            prog: p,
                            states,
                            outputs,
                            residual,
                        });
                    }
                }
            }
            Ok(out)
        };
        let steps = finish(steps_l)?;
        let initial = finish(init_l)?;

        let net_receive = match net_l {
            Ok((l, args)) => alloc(&l).map(|(p, k)| {
                n_slots = n_slots.max(k);
                (p, args)
            }),
            Err(e) => Err(e),
        };
        let home = |v: VarId| layout.homes[v];
        let mut ion_io = Vec::new();
        let mut current_terms = Vec::new();
        for ion in &mech.ions {
            let mut io = IonIo {
                fields: vec![],
                current: None,
            };
            for &(field, var) in &ion.vars {
                let Some(slot) = home(var) else { continue };
                let written = ion.write.contains(&field);
                let is_conc = matches!(field, IonField::Ci | IonField::Co | IonField::E);
                let copy_in = ion.read.contains(&field) || (written && is_conc);
                let copy_out = written && is_conc;
                io.fields.push((field, slot, copy_in, copy_out));
                if written && field == IonField::I {
                    io.current = Some(slot);
                    current_terms.push((slot, 1.0));
                }
            }
            ion_io.push(io);
        }
        for &v in &mech.nonspecific {
            if let Some(s) = home(v) {
                current_terms.push((s, 1.0));
            }
        }
        for &v in &mech.electrode {
            if let Some(s) = home(v) {
                current_terms.push((s, -1.0));
            }
        }
        let states: Vec<(Slot, VarId, u32)> = mech
            .vars
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_state)
            .filter_map(|(id, v)| home(id).map(|s| (s, id, v.line)))
            .collect();
        let state_spans = slot_runs(states.iter().map(|&(s, _, _)| s as usize));
        let special = |name: &str| mech.var(name).and_then(home);
        let specials = [
            special("v"),
            special("t"),
            special("dt"),
            special("celsius"),
        ];
        Ok(Self {
            mech: mech.clone(),
            layout,
            n_slots,
            initial,
            current,
            steps,
            solves,
            ion_io,
            current_terms,
            states,
            state_spans,
            specials,
            max_implicit,
            net_receive,
            warnings,
        })
    }

    pub fn mechanism(&self) -> &Mechanism {
        &self.mech
    }
    pub fn name(&self) -> &str {
        &self.mech.name
    }
    /// Ions in the order `IonColumns` must be passed.
    pub fn ions(&self) -> &[Ion] {
        &self.mech.ions
    }
    pub fn solves(&self) -> &[SolveInfo] {
        &self.solves
    }
    /// Total ops over all entry points (a size measure for benchmarks).
    pub fn op_count(&self) -> usize {
        let steps: usize = self
            .steps
            .iter()
            .map(|s| match s {
                StateStep::Explicit(p) | StateStep::Implicit { prog: p, .. } => p.len(),
            })
            .sum();
        let initial: usize = self
            .initial
            .iter()
            .map(|s| match s {
                StateStep::Explicit(p) | StateStep::Implicit { prog: p, .. } => p.len(),
            })
            .sum();
        initial + self.current.len() + steps
    }
    /// Every program with its entry point name (INITIAL#k, BREAKPOINT, SOLVE#k), in run order.
    pub fn programs(&self) -> Vec<(String, &Program)> {
        fn prog(s: &StateStep) -> &Program {
            match s {
                StateStep::Explicit(p) | StateStep::Implicit { prog: p, .. } => p,
            }
        }
        let mut out = Vec::new();
        for (k, s) in self.initial.iter().enumerate() {
            out.push((format!("INITIAL#{k}"), prog(s)));
        }
        out.push(("BREAKPOINT".to_string(), &self.current));
        for (k, s) in self.steps.iter().enumerate() {
            out.push((format!("SOLVE#{k}"), prog(s)));
        }
        out
    }

    /// (entry point, ops, transcendental ops: exp/log/pow/...) for each program, for profiling.
    pub fn program_stats(&self) -> Vec<(String, usize, usize)> {
        self.programs()
            .into_iter()
            .map(|(name, p)| (name, p.len(), p.transcendental_count()))
            .collect()
    }

    /// A readable listing of the state-update programs (one op per line), for debugging.
    pub fn disassemble(&self) -> String {
        let mut out = String::new();
        for (k, s) in self.steps.iter().enumerate() {
            let p = match s {
                StateStep::Explicit(p) | StateStep::Implicit { prog: p, .. } => p,
            };
            out.push_str(&format!("SOLVE#{k}:\n"));
            for op in p.ops() {
                out.push_str(&format!("  {op:?}\n"));
            }
        }
        out
    }

    /// Columns per instance.
    pub fn n_columns(&self) -> usize {
        self.n_slots
    }

    /// Columns for `n` instances, PARAMETER defaults and literals filled in, all else 0.
    pub fn instantiate(&self, n: usize) -> MechanismInstances {
        let mut buf = Columns::zeros(self.n_slots * n);
        for &(s, c) in &self.layout.consts {
            fill(&mut buf, n, s, c);
        }
        for (id, v) in self.mech.vars.iter().enumerate() {
            if v.role == Role::Parameter {
                if let Some(s) = self.layout.homes[id] {
                    fill(&mut buf, n, s, v.default);
                }
            }
        }
        let ions = self.mech.ions.len();
        let writes_i = |k: usize| self.ion_io[k].current.is_some();
        MechanismInstances {
            n,
            buf,
            current: vec![0.0; n],
            conductance: vec![0.0; n],
            ion_current: (0..ions)
                .map(|k| if writes_i(k) { vec![0.0; n] } else { vec![] })
                .collect(),
            ion_didv: (0..ions)
                .map(|k| if writes_i(k) { vec![0.0; n] } else { vec![] })
                .collect(),
            scratch: vec![0.0; newton_scratch(self.max_implicit, n)],
        }
    }

    /// [`instantiate`](Self::instantiate) with `extra` more columns after
    /// [`n_columns`](Self::n_columns) (zeros), which no program of the mechanism touches: room
    /// for a caller's own programs over the same instances.
    pub fn instantiate_with_extra(&self, n: usize, extra: usize) -> MechanismInstances {
        let mut inst = self.instantiate(n);
        inst.buf.grow((self.n_slots + extra) * n);
        inst
    }

    /// The BREAKPOINT program (without its SOLVEs), as [`current_in_place`](Self::current_in_place)
    /// runs it.
    pub fn current_program(&self) -> &Program {
        &self.current
    }

    /// The state update's programs in order, when every one is explicit (no Newton solve), as
    /// [`advance_in_place`](Self::advance_in_place) runs them.
    pub fn explicit_state_programs(&self) -> Option<Vec<&Program>> {
        self.steps
            .iter()
            .map(|s| match s {
                StateStep::Explicit(p) => Some(p),
                StateStep::Implicit { .. } => None,
            })
            .collect()
    }

    /// The columns of the STATEs (those [`check_advanced`](Self::check_advanced) checks).
    pub fn state_columns(&self) -> Vec<usize> {
        self.states.iter().map(|&(s, _, _)| s as usize).collect()
    }

    /// The check [`advance_in_place`](Self::advance_in_place) makes after its programs: every
    /// STATE finite, or an error naming the first that is not.
    pub fn check_advanced(&self, inst: &MechanismInstances, env: &Env) -> Result<(), NmodlError> {
        self.check_states(inst, env)
    }

    fn var_named(&self, name: &str) -> Option<VarId> {
        self.mech.var(name).or_else(|| {
            let base = name.strip_suffix(&format!("_{}", self.mech.name))?;
            self.mech.var(base)
        })
    }

    fn slot_named(&self, name: &str, want_global: bool) -> Result<Slot, NmodlError> {
        let unknown = || NmodlError::Runtime {
            file: self.mech.file.clone(),
            msg: format!(
                "{} has no {} variable {name}",
                self.mech.name,
                if want_global { "GLOBAL" } else { "RANGE" }
            ),
        };
        let id = self.var_named(name).ok_or_else(unknown)?;
        let v = &self.mech.vars[id];
        let ok = match v.storage {
            Storage::Global => want_global,
            Storage::Instance => !want_global,
            _ => false,
        };
        if !ok {
            return Err(unknown());
        }
        self.layout.homes[id].ok_or_else(unknown)
    }

    /// Sets a GLOBAL parameter (by `name` or `name_suffix`) for every instance of `inst`.
    pub fn set_global(
        &self,
        inst: &mut MechanismInstances,
        name: &str,
        value: f64,
    ) -> Result<(), NmodlError> {
        self.check_instances(inst)?;
        let s = self.slot_named(name, true)?;
        fill(&mut inst.buf, inst.n, s, value);
        Ok(())
    }

    /// The column of a per-instance variable (RANGE parameter, STATE, ASSIGNED), by `name` or
    /// `name_suffix`.
    pub fn range<'i>(
        &self,
        inst: &'i MechanismInstances,
        name: &str,
    ) -> Result<&'i [f64], NmodlError> {
        self.check_instances(inst)?;
        let s = self.slot_named(name, false)? as usize;
        Ok(&inst.buf[s * inst.n..(s + 1) * inst.n])
    }

    /// Mutable column of a per-instance variable, to set RANGE values per instance.
    pub fn range_mut<'i>(
        &self,
        inst: &'i mut MechanismInstances,
        name: &str,
    ) -> Result<&'i mut [f64], NmodlError> {
        self.check_instances(inst)?;
        let s = self.slot_named(name, false)? as usize;
        let n = inst.n;
        Ok(&mut inst.buf[s * n..(s + 1) * n])
    }

    /// Column index of a per-instance variable (by `name` or `name_suffix`), for callers that
    /// access it every step: [`column`](Self::column) then needs no name lookup.
    pub fn range_index(&self, name: &str) -> Result<usize, NmodlError> {
        Ok(self.slot_named(name, false)? as usize)
    }

    /// The column at `index` (from [`range_index`](Self::range_index)).
    pub fn column<'i>(&self, inst: &'i MechanismInstances, index: usize) -> &'i [f64] {
        &inst.buf[index * inst.n..(index + 1) * inst.n]
    }

    /// The mutable column at `index` (from [`range_index`](Self::range_index)).
    pub fn column_mut<'i>(&self, inst: &'i mut MechanismInstances, index: usize) -> &'i mut [f64] {
        let n = inst.n;
        &mut inst.buf[index * n..(index + 1) * n]
    }

    /// The value of a GLOBAL parameter.
    pub fn global(&self, inst: &MechanismInstances, name: &str) -> Result<f64, NmodlError> {
        let s = self.slot_named(name, true)? as usize;
        Ok(inst.buf.get(s * inst.n).copied().unwrap_or(f64::NAN))
    }

    /// NEURON's INITIAL: STATEs reset to 0, then the INITIAL block.
    pub fn initial(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        self.prologue(inst, v, ions, env)?;
        for &(s, id, _) in &self.states {
            if self.mech.vars[id].storage == Storage::Instance {
                fill(&mut inst.buf, inst.n, s, 0.0);
            }
        }
        run_steps(&self.initial, inst, env.dt);
        self.epilogue(inst, ions);
        Ok(())
    }

    /// Evaluates the BREAKPOINT block (without its SOLVEs) once at `v`, leaving the currents in
    /// `inst.current` and `inst.ion_current`.
    pub fn breakpoint_current(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        self.prologue(inst, v, ions, env)?;
        self.current.run(&mut inst.buf, inst.n);
        self.collect_currents(inst);
        if let Some(k) = inst.current.iter().position(|x| !x.is_finite()) {
            return Err(NmodlError::Compile {
                file: self.mech.file.clone(),
                line: self.mech.breakpoint.as_ref().map_or(0, |b| b.line),
                msg: format!(
                    "BREAKPOINT current of {} became {} in instance {k} at v = {} mV, t = {} ms \
                     (division by zero or overflow)",
                    self.mech.name, inst.current[k], v[k], env.t
                ),
            });
        }
        Ok(())
    }

    /// nocmodl's `nrn_cur`: currents at `v + 0.001` then at `v`; `inst.conductance` and
    /// `inst.ion_didv` get the difference quotients, `inst.current` the value at `v`.
    pub fn current_and_conductance(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        let n = inst.n;
        check_len(&self.mech.file, "v", v.len(), n)?;
        // Shift v through the conductance column to avoid an allocation; the column goes back
        // into `inst` on every path, so a failed call leaves the buffers whole.
        let mut vshift = std::mem::take(&mut inst.conductance);
        let result = self.conductance_by_difference(inst, v, &mut vshift, ions, env);
        inst.conductance = vshift;
        result
    }

    /// `current_and_conductance` with the conductance column taken out as `vshift`.
    fn conductance_by_difference(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        vshift: &mut Vec<f64>,
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        vshift.clear();
        vshift.extend(v.iter().map(|x| x + 0.001));
        self.breakpoint_current(inst, vshift, ions, env)?;
        vshift.copy_from_slice(&inst.current);
        for (k, io) in self.ion_io.iter().enumerate() {
            if io.current.is_some() {
                let (a, b) = (&inst.ion_current[k], &mut inst.ion_didv[k]);
                b.copy_from_slice(a);
            }
        }
        self.breakpoint_current(inst, v, ions, env)?;
        for (g, i) in vshift.iter_mut().zip(&inst.current) {
            *g = (*g - i) / 0.001;
        }
        for k in 0..self.ion_io.len() {
            let (cur, didv) = (&inst.ion_current[k], &mut inst.ion_didv[k]);
            for (d, i) in didv.iter_mut().zip(cur) {
                *d = (*d - i) / 0.001;
            }
        }
        Ok(())
    }

    /// nocmodl's `nrn_state`: every SOLVE of the BREAKPOINT block, in order, advances by `dt`.
    pub fn advance_states(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        self.prologue(inst, v, ions, env)?;
        run_steps(&self.steps, inst, env.dt);
        self.epilogue(inst, ions);
        self.check_states(inst, env)
    }

    /// The columns an in-place caller fills before a call and reads after it (indices for
    /// [`column`](Self::column) / [`column_mut`](Self::column_mut)).
    pub fn ports(&self) -> Ports {
        let [sv, st, sdt, sc] = self.specials.map(|s| s.map(|s| s as usize));
        let all = Mentions::of(&self.mech, callables(&self.mech));
        let t = self.mech.var("t");
        let st = st.filter(|_| all.at_time || t.is_some_and(|t| all.has(t)));
        let states = Mentions::of(&self.mech, state_callables(&self.mech));
        let mut ports = Ports {
            v: sv,
            env: [st, sdt, sc],
            ..Ports::default()
        };
        for (k, io) in self.ion_io.iter().enumerate() {
            for &(field, slot, copy_in, copy_out) in &io.fields {
                let var = self.mech.ions[k].vars.iter().find(|fv| fv.0 == field);
                ports.ions.push(IonPort {
                    ion: k,
                    field,
                    column: slot as usize,
                    copy_in,
                    copy_out,
                    in_state_update: var.is_none_or(|&(_, v)| states.has(v)),
                });
            }
            ports.ion_currents.push(io.current.map(|s| s as usize));
        }
        ports.current_terms = self
            .current_terms
            .iter()
            .map(|&(s, sign)| (s as usize, sign))
            .collect();
        ports
    }

    /// Fills the `t`, `dt` and `celsius` columns the mechanism reads (`v` and ion columns are the
    /// caller's, see [`ports`](Self::ports)).
    pub fn set_env(&self, inst: &mut MechanismInstances, env: &Env) {
        let [_, st, sdt, sc] = self.specials;
        for (slot, x) in [(st, env.t), (sdt, env.dt), (sc, env.celsius)] {
            if let Some(s) = slot {
                fill(&mut inst.buf, inst.n, s, x);
            }
        }
    }

    /// The BREAKPOINT block (without its SOLVEs) on columns the caller filled; the current terms
    /// of [`Ports`] then hold this evaluation's currents.
    pub fn current_in_place(&self, inst: &mut MechanismInstances) {
        if inst.buf.len() >= self.n_slots * inst.n {
            self.current.run(&mut inst.buf, inst.n);
        }
    }

    /// nocmodl's `nrn_state` on columns the caller filled (`v`, ions, [`set_env`](Self::set_env));
    /// ion columns marked `copy_out` then hold the written concentrations.
    pub fn advance_in_place(
        &self,
        inst: &mut MechanismInstances,
        env: &Env,
    ) -> Result<(), NmodlError> {
        self.check_instances(inst)?;
        run_steps(&self.steps, inst, env.dt);
        self.check_states(inst, env)
    }

    /// NEURON's NET_RECEIVE for one event on instance `i` (a synapse): `args` are the NetCon
    /// weights (`weight` first), `v_i` the node voltage. Only instance `i` changes. Fails if the
    /// mechanism has no NET_RECEIVE or it uses what bmtool cannot run (`net_send`, WATCH...).
    pub fn net_receive(
        &self,
        inst: &mut MechanismInstances,
        i: usize,
        args: &[f64],
        v_i: f64,
        env: &Env,
    ) -> Result<(), NmodlError> {
        let (prog, slots) = self.net_receive.as_ref().map_err(Clone::clone)?;
        self.check_instances(inst)?;
        let n = inst.n;
        let bad = |msg: String| {
            Err(NmodlError::Runtime {
                file: self.mech.file.clone(),
                msg,
            })
        };
        if i >= n {
            return bad(format!("event for instance {i} of {n}"));
        }
        if args.len() != slots.len() {
            return bad(format!(
                "NET_RECEIVE takes {} argument(s), {} given",
                slots.len(),
                args.len()
            ));
        }
        for (&s, &x) in slots.iter().zip(args) {
            inst.buf[s as usize * n + i] = x;
        }
        let [sv, st, sdt, sc] = self.specials;
        for (slot, x) in [(sv, v_i), (st, env.t), (sdt, env.dt), (sc, env.celsius)] {
            if let Some(s) = slot {
                inst.buf[s as usize * n + i] = x;
            }
        }
        prog.run_one(&mut inst.buf, n, i);
        Ok(())
    }

    /// `inst` must come from this mechanism's `instantiate` (its columns match the programs).
    fn check_instances(&self, inst: &MechanismInstances) -> Result<(), NmodlError> {
        if inst.buf.len() >= self.n_slots * inst.n && inst.ion_current.len() == self.ion_io.len() {
            Ok(())
        } else {
            Err(NmodlError::Runtime {
                file: self.mech.file.clone(),
                msg: format!(
                    "instances were not created by {}'s instantiate",
                    self.mech.name
                ),
            })
        }
    }

    /// Every STATE finite, or an error naming the first that is not. One branch-free pass over
    /// the columns; the search for the culprit runs only once something is wrong.
    fn check_states(&self, inst: &MechanismInstances, env: &Env) -> Result<(), NmodlError> {
        let n = inst.n;
        let span = |&(start, end): &(usize, usize)| inst.buf.get(start * n..end * n);
        if self
            .state_spans
            .iter()
            .all(|r| span(r).is_none_or(all_finite))
        {
            return Ok(());
        }
        for &(s, id, line) in &self.states {
            let col = &inst.buf[s as usize * n..(s as usize + 1) * n];
            if let Some(k) = col.iter().position(|x| !x.is_finite()) {
                return Err(NmodlError::Compile {
                    file: self.mech.file.clone(),
                    line,
                    msg: format!(
                        "STATE {} of {} became {} in instance {k} at t = {} ms (division by zero or overflow)",
                        self.mech.vars[id].name, self.mech.name, col[k], env.t
                    ),
                });
            }
        }
        Ok(())
    }

    fn prologue(
        &self,
        inst: &mut MechanismInstances,
        v: &[f64],
        ions: &mut [IonColumns<'_>],
        env: &Env,
    ) -> Result<(), NmodlError> {
        let n = inst.n;
        let file = &self.mech.file;
        self.check_instances(inst)?;
        check_len(file, "v", v.len(), n)?;
        if ions.len() != self.ion_io.len() {
            return Err(NmodlError::Runtime {
                file: file.clone(),
                msg: format!(
                    "{} uses {} ion(s), {} ion column set(s) given",
                    self.mech.name,
                    self.ion_io.len(),
                    ions.len()
                ),
            });
        }
        for (io, cols) in self.ion_io.iter().zip(ions.iter()) {
            for &(field, slot, copy_in, _) in &io.fields {
                let src: &[f64] = field_col(cols, field);
                check_len(file, "ion column", src.len(), n)?;
                if copy_in {
                    let s = slot as usize;
                    inst.buf[s * n..(s + 1) * n].copy_from_slice(src);
                }
            }
        }
        let [sv, st, sdt, sc] = self.specials;
        if let Some(s) = sv {
            let s = s as usize;
            inst.buf[s * n..(s + 1) * n].copy_from_slice(v);
        }
        for (slot, x) in [(st, env.t), (sdt, env.dt), (sc, env.celsius)] {
            if let Some(s) = slot {
                fill(&mut inst.buf, n, s, x);
            }
        }
        Ok(())
    }

    fn epilogue(&self, inst: &MechanismInstances, ions: &mut [IonColumns<'_>]) {
        let n = inst.n;
        for (io, cols) in self.ion_io.iter().zip(ions.iter_mut()) {
            for &(field, slot, _, copy_out) in &io.fields {
                if copy_out {
                    let s = slot as usize;
                    field_col_mut(cols, field).copy_from_slice(&inst.buf[s * n..(s + 1) * n]);
                }
            }
        }
    }

    fn collect_currents(&self, inst: &mut MechanismInstances) {
        let n = inst.n;
        inst.current.iter_mut().for_each(|x| *x = 0.0);
        for &(s, sign) in &self.current_terms {
            let col = &inst.buf[s as usize * n..(s as usize + 1) * n];
            for (c, x) in inst.current.iter_mut().zip(col) {
                *c += sign * x;
            }
        }
        for (k, io) in self.ion_io.iter().enumerate() {
            if let Some(s) = io.current {
                inst.ion_current[k]
                    .copy_from_slice(&inst.buf[s as usize * n..(s as usize + 1) * n]);
            }
        }
    }
}

fn field_col<'c>(cols: &'c IonColumns<'_>, f: IonField) -> &'c [f64] {
    match f {
        IonField::E => cols.e,
        IonField::I => cols.i,
        IonField::Ci => cols.ci,
        IonField::Co => cols.co,
    }
}

fn field_col_mut<'c>(cols: &'c mut IonColumns<'_>, f: IonField) -> &'c mut [f64] {
    match f {
        IonField::E => cols.e,
        IonField::I => cols.i,
        IonField::Ci => cols.ci,
        IonField::Co => cols.co,
    }
}

/// Consecutive values of `slots` merged into runs `start..end`, in order.
fn slot_runs(slots: impl Iterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for s in slots {
        match runs.last_mut() {
            Some(run) if run.1 == s => run.1 += 1,
            _ => runs.push((s, s + 1)),
        }
    }
    runs
}

/// No NaN or infinity in `col`: `x * 0` is 0 for a finite `x` and NaN otherwise, summed over
/// four independent lanes (so the pass vectorises) and compared once at the end.
fn all_finite(col: &[f64]) -> bool {
    let mut acc = [0.0f64; 4];
    let mut chunks = col.chunks_exact(4);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x * 0.0;
        }
    }
    for (a, x) in acc.iter_mut().zip(chunks.remainder()) {
        *a += x * 0.0;
    }
    acc.iter().all(|a| *a == 0.0)
}

fn check_len(file: &str, what: &str, got: usize, n: usize) -> Result<(), NmodlError> {
    if got == n {
        Ok(())
    } else {
        Err(NmodlError::Runtime {
            file: file.to_string(),
            msg: format!("{what} has {got} values for {n} instances"),
        })
    }
}

fn fill(buf: &mut [f64], n: usize, s: Slot, x: f64) {
    let s = s as usize;
    if let Some(col) = buf.get_mut(s * n..(s + 1) * n) {
        col.iter_mut().for_each(|c| *c = x);
    }
}

enum LoweredStep {
    Explicit(Lowered),
    Implicit {
        l: Lowered,
        states: Vec<Slot>,
        outputs: Vec<Slot>,
        residual: bool,
    },
}

fn run_steps(steps: &[StateStep], inst: &mut MechanismInstances, dt: f64) {
    for step in steps {
        match step {
            StateStep::Explicit(p) => p.run(&mut inst.buf, inst.n),
            StateStep::Implicit {
                prog,
                states,
                outputs,
                residual,
            } => {
                newton(prog, states, outputs, inst, dt, *residual);
            }
        }
    }
}

/// INITIAL as steps: straight code, split where it SOLVEs a LINEAR block (a Newton solve of the
/// block's equations for its states, e.g. a kinetic scheme's equilibrium). LOCALs do not carry
/// across such a SOLVE.
fn lower_initial(
    mech: &Mechanism,
    layout: &mut Layout,
    init: &Callable,
) -> Result<Vec<LoweredStep>, NmodlError> {
    let mut out = Vec::new();
    let mut segment: Vec<Stmt> = Vec::new();
    let flush = |segment: &mut Vec<Stmt>,
                 layout: &mut Layout,
                 out: &mut Vec<LoweredStep>|
     -> Result<(), NmodlError> {
        let c = Callable {
            body: std::mem::take(segment),
            ..init.clone()
        };
        out.push(LoweredStep::Explicit(
            Lowerer::new(mech, layout, "INITIAL", DerivMode::Forbid).body(&c, false)?,
        ));
        Ok(())
    };
    for s in &init.body {
        match s {
            Stmt::Solve {
                target: SolveTarget::Linear(i),
                line,
                ..
            } => {
                flush(&mut segment, layout, &mut out)?;
                let lin = &mech.linears[*i];
                let l = Lowerer::new(
                    mech,
                    layout,
                    format!("LINEAR {}", lin.name),
                    DerivMode::Output,
                )
                .body(lin, false)?;
                let unknowns = linear_unknowns(lin, |v| mech.vars[v].is_state);
                if unknowns.len() != l.eq_outputs.len() {
                    return Err(NmodlError::Compile {
                        file: mech.file.clone(),
                        line: *line,
                        msg: format!(
                            "LINEAR {} has {} equations for {} states",
                            lin.name,
                            l.eq_outputs.len(),
                            unknowns.len()
                        ),
                    });
                }
                let states = unknowns.iter().filter_map(|&v| layout.homes[v]).collect();
                let outputs = l.eq_outputs.clone();
                out.push(LoweredStep::Implicit {
                    l,
                    states,
                    outputs,
                    residual: true,
                });
            }
            other => segment.push(other.clone()),
        }
    }
    flush(&mut segment, layout, &mut out)?;
    Ok(out)
}

impl LoweredStep {
    fn lowered(&self) -> &Lowered {
        match self {
            LoweredStep::Explicit(l) | LoweredStep::Implicit { l, .. } => l,
        }
    }
}

/// Fixed slots holding one value for all instances: literals, `t`, `dt`, `celsius`, and GLOBAL
/// parameters that no program assigns.
fn uniform_slots<'l>(
    mech: &Mechanism,
    layout: &Layout,
    programs: impl Iterator<Item = &'l Lowered>,
) -> Vec<Slot> {
    let written: Vec<VarId> = programs.flat_map(|l| l.written.iter().copied()).collect();
    let mut out: Vec<Slot> = layout.consts.iter().map(|c| c.0).collect();
    for (id, v) in mech.vars.iter().enumerate() {
        let uniform = match v.storage {
            Storage::Special(s) => s != Special::V,
            Storage::Global => !written.contains(&id),
            _ => false,
        };
        if let (true, Some(s)) = (uniform, layout.homes[id]) {
            out.push(s);
        }
    }
    out
}

/// The SOLVE statements of BREAKPOINT, lowered in order.
fn lower_solves(
    mech: &Mechanism,
    layout: &mut Layout,
    warnings: &mut Vec<String>,
) -> Result<(Vec<LoweredStep>, Vec<SolveInfo>), NmodlError> {
    let mut steps = Vec::new();
    let mut infos = Vec::new();
    let Some(bp) = &mech.breakpoint else {
        return Ok((steps, infos));
    };
    let dt = mech.var("dt").unwrap_or(0);
    for s in &bp.body {
        let Stmt::Solve {
            target,
            method,
            line,
        } = s
        else {
            continue;
        };
        let compile_err = |msg: String| NmodlError::Compile {
            file: mech.file.clone(),
            line: *line,
            msg,
        };
        match target {
            SolveTarget::Procedure(i) => {
                let p = &mech.procedures[*i];
                let l = Lowerer::new(mech, layout, format!("SOLVE {}", p.name), DerivMode::Forbid)
                    .bodies(&[p])?;
                steps.push(LoweredStep::Explicit(l));
                infos.push(SolveInfo {
                    block: p.name.clone(),
                    requested: method.clone(),
                    method: None,
                    note: None,
                });
            }
            SolveTarget::Other(name) => {
                return Err(compile_err(format!(
                    "unsupported: SOLVE {name} METHOD {} (KINETIC/LINEAR blocks are parsed but not run)",
                    method.as_deref().unwrap_or("-")
                )));
            }
            SolveTarget::Linear(i) => {
                return Err(compile_err(format!(
                    "unsupported: SOLVE {} (a LINEAR block) in BREAKPOINT; it is only run from INITIAL",
                    mech.linears[*i].name
                )));
            }
            SolveTarget::Derivative(_) | SolveTarget::Kinetic(_) => {
                // A KINETIC scheme becomes its mass-action DERIVATIVE block; `sparse` is
                // backward Euler on it, i.e. derivimplicit.
                let d: std::borrow::Cow<'_, Callable> = match target {
                    SolveTarget::Kinetic(i) => {
                        std::borrow::Cow::Owned(kinetic_to_derivative(&mech.kinetics[*i]))
                    }
                    SolveTarget::Derivative(i) => std::borrow::Cow::Borrowed(&mech.derivatives[*i]),
                    _ => continue,
                };
                let d = d.as_ref();
                let is_kinetic = matches!(target, SolveTarget::Kinetic(_));
                let m_name = match method.as_deref().unwrap_or("") {
                    "sparse" if is_kinetic => "derivimplicit",
                    other => other,
                };
                let Some(m) = Method::from_name(m_name)
                    .filter(|m| !is_kinetic || *m == Method::DerivImplicit)
                else {
                    return Err(compile_err(format!(
                        "unsupported: SOLVE {} METHOD {m_name} (cnexp, derivimplicit and euler are supported)",
                        d.name
                    )));
                };
                let (update, fell_back) = rewrite(d, m, dt);
                let note = fell_back.then(|| {
                    let msg = format!("{}: {} is not linear in its states; cnexp falls back to derivimplicit as nocmodl does", mech.file, d.name);
                    warnings.push(msg.clone());
                    msg
                });
                check_states_have_derivatives(mech, d, warnings);
                let entry = format!("DERIVATIVE {}", d.name);
                match update {
                    StateUpdate::Explicit(c) => {
                        let l =
                            Lowerer::new(mech, layout, entry, DerivMode::Forbid).body(&c, false)?;
                        steps.push(LoweredStep::Explicit(l));
                        let used = if m == Method::Euler {
                            Method::Euler
                        } else {
                            Method::Cnexp
                        };
                        infos.push(SolveInfo {
                            block: d.name.clone(),
                            requested: method.clone(),
                            method: Some(used),
                            note,
                        });
                    }
                    StateUpdate::Implicit { block, states } => {
                        let l = Lowerer::new(mech, layout, entry, DerivMode::Output)
                            .body(&block, false)?;
                        let mut st_slots = Vec::new();
                        let mut outs = Vec::new();
                        for s in &states {
                            let out = l.deriv_outputs.iter().find(|(v, _)| v == s).map(|p| p.1);
                            if let (Some(h), Some(o)) = (layout.homes[*s], out) {
                                st_slots.push(h);
                                outs.push(o);
                            }
                        }
                        steps.push(LoweredStep::Implicit {
                            l,
                            states: st_slots,
                            outputs: outs,
                            residual: false,
                        });
                        infos.push(SolveInfo {
                            block: d.name.clone(),
                            requested: method.clone(),
                            method: Some(Method::DerivImplicit),
                            note,
                        });
                    }
                }
            }
        }
    }
    Ok((steps, infos))
}

/// NET_RECEIVE lowered with its arguments in fresh fixed slots.
fn lower_net_receive(
    mech: &Mechanism,
    layout: &mut Layout,
) -> Result<(Lowered, Vec<Slot>), NmodlError> {
    let Some(nr) = &mech.net_receive else {
        let line = mech
            .parse_only
            .iter()
            .find(|p| p.0 == "NET_RECEIVE")
            .map_or(0, |p| p.1);
        let msg = if line == 0 {
            "has no NET_RECEIVE block"
        } else {
            "unsupported: NET_RECEIVE uses names bmtool cannot resolve"
        };
        return Err(NmodlError::Compile {
            file: mech.file.clone(),
            line,
            msg: format!("{} {msg}", mech.name),
        });
    };
    let args: Vec<Slot> = (0..nr.n_args).map(|_| layout.fresh()).collect();
    let l =
        Lowerer::new(mech, layout, "NET_RECEIVE", DerivMode::Forbid).body_with_args(nr, &args)?;
    Ok((l, args))
}

/// A STATE with no `x' =` in the solved block is tolerated (capool's `xx`), with a warning.
fn check_states_have_derivatives(mech: &Mechanism, d: &Callable, warnings: &mut Vec<String>) {
    let mut with = Vec::new();
    collect_derivs(&d.body, &mut with);
    for (id, v) in mech.vars.iter().enumerate() {
        if v.is_state && v.role == Role::State && !with.contains(&id) {
            warnings.push(format!(
                "{}:{}: STATE {} has no derivative in {}",
                mech.file, v.line, v.name, d.name
            ));
        }
    }
}

/// Every block of `m`: the source of every program (SOLVE rewrites only add `dt`).
fn callables(m: &Mechanism) -> impl Iterator<Item = &Callable> {
    m.initial
        .iter()
        .chain(&m.breakpoint)
        .chain(state_callables(m))
        .chain(&m.net_receive)
}

/// The blocks the state update (nocmodl's `nrn_state`) is made of: what BREAKPOINT can SOLVE
/// and what those call.
fn state_callables(m: &Mechanism) -> impl Iterator<Item = &Callable> {
    m.derivatives
        .iter()
        .chain(&m.procedures)
        .chain(&m.functions)
        .chain(&m.kinetics)
        .chain(&m.linears)
}

/// The variables some block mentions (reads, assigns, differentiates or reacts), and whether
/// one calls `at_time` (which reads `t`).
struct Mentions {
    vars: Vec<bool>,
    at_time: bool,
}

impl Mentions {
    fn of<'m>(m: &Mechanism, blocks: impl Iterator<Item = &'m Callable>) -> Self {
        let mut out = Mentions {
            vars: vec![false; m.vars.len()],
            at_time: false,
        };
        for c in blocks {
            out.stmts(&c.body);
        }
        out
    }

    fn has(&self, v: VarId) -> bool {
        self.vars.get(v).copied().unwrap_or(true)
    }

    fn var(&mut self, v: VarId) {
        if let Some(x) = self.vars.get_mut(v) {
            *x = true;
        }
    }

    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            match s {
                Stmt::Assign { target, value, .. } => {
                    if let Target::Var(v) = target {
                        self.var(*v);
                    }
                    self.expr(value);
                }
                Stmt::Derivative { state, value, .. } => {
                    self.var(*state);
                    self.expr(value);
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.expr(cond);
                    self.stmts(then);
                    self.stmts(otherwise);
                }
                Stmt::Call { callee, args, .. } => self.call(callee, args),
                Stmt::Reaction {
                    lhs, rhs, kf, kb, ..
                } => {
                    for &(_, v) in lhs.iter().chain(rhs) {
                        self.var(v);
                    }
                    self.expr(kf);
                    if let Some(kb) = kb {
                        self.expr(kb);
                    }
                }
                Stmt::Equation { residual, .. } => self.expr(residual),
                Stmt::Solve { .. } | Stmt::Unsupported { .. } => {}
            }
        }
    }

    fn call(&mut self, callee: &Callee, args: &[Expr]) {
        self.at_time |= matches!(callee, Callee::Builtin(Builtin::AtTime));
        for a in args {
            self.expr(a);
        }
    }

    fn expr(&mut self, x: &Expr) {
        match x {
            Expr::Var(v) => self.var(*v),
            Expr::Const(_) | Expr::Local(_) => {}
            Expr::Call { callee, args, .. } => self.call(callee, args),
            Expr::Unary(_, a) => self.expr(a),
            Expr::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
        }
    }
}

fn collect_derivs(body: &[Stmt], out: &mut Vec<VarId>) {
    for s in body {
        match s {
            Stmt::Derivative { state, .. } => out.push(*state),
            Stmt::If {
                then, otherwise, ..
            } => {
                collect_derivs(then, out);
                collect_derivs(otherwise, out);
            }
            _ => {}
        }
    }
}

/// Scratch length `newton` needs for `k` states on `n` instances.
fn newton_scratch(k: usize, n: usize) -> usize {
    n * (2 * k + k * k + 2) + k * k + k
}

/// Backward Euler by Newton iteration on every instance at once (scopmath `newton`): solves
/// `x - x_old - dt * f(x) = 0` (or `f(x) = 0` when `residual`, for LINEAR blocks) with a finite-difference Jacobian of the compiled `f`, until the
/// largest update is below [`NEWTON_TOL`] (relative) or after [`NEWTON_MAX_ITER`] iterations.
fn newton(
    prog: &Program,
    states: &[Slot],
    outputs: &[Slot],
    inst: &mut MechanismInstances,
    dt: f64,
    residual: bool,
) {
    let (n, k) = (inst.n, states.len());
    if n == 0 || k == 0 || inst.scratch.len() < newton_scratch(k, n) {
        return;
    }
    let col = |s: Slot| s as usize * n..(s as usize + 1) * n;
    let (x_old, rest) = inst.scratch.split_at_mut(k * n);
    let (f0, rest) = rest.split_at_mut(k * n);
    let (jac, rest) = rest.split_at_mut(k * k * n);
    let (xj, rest) = rest.split_at_mut(n);
    let (hs, rest) = rest.split_at_mut(n);
    let (a, r) = rest.split_at_mut(k * k);
    let r = &mut r[..k];
    for (j, &s) in states.iter().enumerate() {
        x_old[j * n..(j + 1) * n].copy_from_slice(&inst.buf[col(s)]);
    }
    for _ in 0..NEWTON_MAX_ITER {
        prog.run(&mut inst.buf, n);
        for (m, &o) in outputs.iter().enumerate() {
            f0[m * n..(m + 1) * n].copy_from_slice(&inst.buf[col(o)]);
        }
        for (j, &s) in states.iter().enumerate() {
            xj.copy_from_slice(&inst.buf[col(s)]);
            for i in 0..n {
                hs[i] = 1e-7 * xj[i].abs().max(1e-3);
                inst.buf[s as usize * n + i] = xj[i] + hs[i];
            }
            prog.run(&mut inst.buf, n);
            for (m, &o) in outputs.iter().enumerate() {
                for i in 0..n {
                    jac[(m * k + j) * n + i] =
                        (inst.buf[o as usize * n + i] - f0[m * n + i]) / hs[i];
                }
            }
            inst.buf[col(s)].copy_from_slice(xj);
        }
        let mut worst: f64 = 0.0;
        for i in 0..n {
            for m in 0..k {
                for j in 0..k {
                    let jm = jac[(m * k + j) * n + i];
                    a[m * k + j] = if residual {
                        jm
                    } else {
                        f64::from(u8::from(m == j)) - dt * jm
                    };
                }
                let x = inst.buf[states[m] as usize * n + i];
                r[m] = if residual {
                    -f0[m * n + i]
                } else {
                    -(x - x_old[m * n + i] - dt * f0[m * n + i])
                };
            }
            solve_dense(a, r, k);
            for (m, &s) in states.iter().enumerate() {
                let x = &mut inst.buf[s as usize * n + i];
                *x += r[m];
                worst = worst.max(r[m].abs() / x.abs().max(1e-6));
            }
        }
        if worst.is_nan() || worst < NEWTON_TOL {
            break;
        }
    }
}

/// Solves `a x = r` in place (x returned in `r`) by Gaussian elimination with partial pivoting.
/// A singular matrix leaves NaN, which the state check reports.
fn solve_dense(a: &mut [f64], r: &mut [f64], k: usize) {
    for c in 0..k {
        let p = (c..k)
            .max_by(|&x, &y| a[x * k + c].abs().total_cmp(&a[y * k + c].abs()))
            .unwrap_or(c);
        if p != c {
            for j in 0..k {
                a.swap(c * k + j, p * k + j);
            }
            r.swap(c, p);
        }
        let piv = a[c * k + c];
        for row in c + 1..k {
            let f = a[row * k + c] / piv;
            for j in c..k {
                a[row * k + j] -= f * a[c * k + j];
            }
            r[row] -= f * r[c];
        }
    }
    for c in (0..k).rev() {
        let mut s = r[c];
        for j in c + 1..k {
            s -= a[c * k + j] * r[j];
        }
        r[c] = s / a[c * k + c];
    }
}
