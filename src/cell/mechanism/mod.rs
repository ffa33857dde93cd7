//! The membrane-mechanism interface: what a channel, pump or stimulus must implement to run in
//! the cable solver. Built-in `pas`, `hh` and `IClamp` implement it, and NMODL-compiled
//! mechanisms plug into it the same way. A mechanism never sees the tree or the matrix layout; the
//! solver never knows any mechanism's equations.
//!
//! # Model (NEURON's `Memb_list`, Arbor's `mechanism`)
//! A mechanism *type* is a value implementing [`MechanismKernel`], registered by name in a
//! [`MechanismRegistry`] (`registry.register(Arc::new(kernel))`; registration order is the order
//! in which currents are evaluated, built-ins first). Its static description, [`MechanismInfo`],
//! names its RANGE variables (PARAMETER, ASSIGNED, STATE, in column order), its GLOBALs, its
//! `USEION` statements, whether it is a density mechanism or a point process and whether its
//! current is an `ELECTRODE_CURRENT`. The solver gives each type used by a cell one
//! [`MechanismData`]: a list of *instances* (one per segment of every section it is inserted in,
//! in node order; one per point-process object), each with the index of the node it sits on, and
//! one `Vec<f64>` column per RANGE variable (struct of arrays: `columns[var][instance]`). Columns
//! start at [`VariableSpec::default`] and are then overwritten by the values the cell model sets
//! (density: hoc name `<var>_<suffix>` per segment; point process: plain `<var>`). A point process
//! at x = 0 or 1 sits on a zero-area node whose area is 100, as in NEURON.
//!
//! # Units
//! v in mV, t and dt in ms, celsius in degC, area and diam (`ctx.diam_um`) in um2 and um. Density mechanisms: currents in mA/cm2,
//! conductances in S/cm2. Point processes: currents in nA, conductances in uS; the helper
//! [`KernelContext::add_current`] scales them by `1e2/area_um2` to mA/cm2 (NEURON's
//! `_g *= 1.e2/_nd_area`). Ion variables: reversal potential mV, concentrations mM, ion currents
//! mA/cm2 (a point process's ion current is scaled by `1e2/area` too, see
//! [`KernelContext::add_ion_current`]).
//!
//! # Sign conventions
//! A membrane current is positive **outward**: a density mechanism computing `i = g*(v-e)` calls
//! `add_current(node, i, g)`, which does `rhs -= i; d += g`. An `ELECTRODE_CURRENT` (IClamp) is
//! positive **inward** (depolarising); for such a type `add_current` does `rhs += i; d -= g`.
//! `g` must be NEURON's *numerical* dI/dV: evaluate the BREAKPOINT currents at `v + 0.001` and
//! then at `v` (so the ASSIGNED values left behind are those at `v`), `g = (i(v+0.001) - i(v)) /
//! 0.001` for the total, and the same difference per ion current for `di<ion>/dv`. Ion currents
//! are *added* (`+=`) to the accumulators, never assigned: several mechanisms share them.
//!
//! # Call order (fixed step, NEURON `secondorder = 0`; see `solver` for the full step)
//! `finitialize(v_init)`: t = 0; every node's v = v_init; vector plays set their first value;
//! ions initialise (concentrations from `<ion>i0_<ion>_ion` / `<ion>o0_<ion>_ion` where some
//! mechanism WRITEs them, reversal potentials by Nernst where concentrations are used);
//! [`MechanismKernel::initialize`] runs for every type in registration order (INITIAL: states to
//! their steady state at v; a mechanism that WRITEs a concentration may set it here); then one
//! current evaluation exactly as in a step, with t = 0, so t = 0 recordings see currents.
//!
//! Each step from t_n to t_n + dt:
//! 1. spike detectors test v_n; vector plays assign their value for step n;
//! 2. t = t_n + dt/2; `rhs` and `d` are zeroed; every ion's `current` and `dcurrent_dv` are zeroed
//!    and reversal potentials with the Nernst-every-step style are recomputed at `celsius` from
//!    the concentrations the previous step left;
//! 3. [`MechanismKernel::current`] for every type. `ctx.v_mv` is v_n, `ctx.t_ms` the mid-step
//!    time (IClamp tests `del <= t < del + dur` against it). Read ion variables (`erev`,
//!    `conc_in`, `conc_out`), add ion currents and membrane current with g. Valid here: all
//!    STATEs at t_{n-1/2}, concentrations and reversal potentials for this step;
//! 4. the solver adds capacitance and axial terms, solves, and sets v_{n+1} = v_n + dv;
//! 5. t = t_n + dt; [`MechanismKernel::advance`] for every type with `ctx.v_mv` = v_{n+1}:
//!    integrate STATEs over dt (cnexp: `x += (1 - exp(dt*a))*(b - x)` with the exact `exp`;
//!    derivimplicit/sparse: backward Euler) and update concentrations the mechanism WRITEs
//!    (`ctx.ions.species[..].conc_in[node] = ...`). The ion `current` accumulators still hold the
//!    totals of step 3. `rhs`/`d` must not be touched here.
//!
//! `ctx.v_mv` does not change during one hook call over all types, so a kernel that works in its
//! own lane order may take the voltages from `ctx.v_lanes` ([`VoltageLanes`]): gathered once
//! per hook call for every kernel on the same nodes.
//!
//! # Ions
//! Species are declared by name in [`IonUse`] (`na`, `k`, `ca` or any custom name such as `cas`,
//! `leak`, whose `VALENCE` must be given somewhere if its reversal potential needs Nernst); see
//! [`ions`] for NEURON's defaults and `ion_style` rules. Per node, a species holds `erev`,
//! `conc_in`, `conc_out`, `current`, `dcurrent_dv`, indexed by **node index** (`data.node[i]`),
//! through `ctx.ions.species[data.ions[k].0]` where `k` is the position of the `USEION` in
//! [`MechanismInfo::ions`]. A cell model may set `e<ion>`, `<ion>i`, `<ion>o` per section; with
//! NEURON's rules `finitialize` then overrides the ones that are initialised by style.
//!
//! # Globals
//! `MechanismData::globals` holds the type's GLOBAL values in [`MechanismInfo::globals`] order; the
//! cell model sets them by hoc name `<name>_<suffix>` (e.g. `usetable_hh`). `celsius`, `t` and
//! `dt` are in the context. `MechanismData::scratch` is kernel-private storage (rate tables and
//! the like) that the solver never reads.
//!
//! # Not yet supported
//! NET_RECEIVE / event delivery, POINTER, BEFORE/AFTER blocks, `secondorder = 2`, CVODE.
//! Kernels take `&self` and must keep per-cell data in `MechanismData`, so one kernel serves many
//! simulations at once.
pub mod compiled;
pub mod folder;
pub mod ions;
pub mod registry;

pub use ions::{IonId, IonSpecies, IonStore};
pub use registry::MechanismRegistry;

use std::fmt::Debug;

/// Density mechanism (per segment, mA/cm2) or point process (per object, nA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MechanismKind {
    /// `SUFFIX`: one instance per segment of each section it is inserted in.
    Density,
    /// `POINT_PROCESS`: one instance per object placed at (section, x).
    Point,
}

/// Role of a RANGE variable, as NEURON's `MechanismStandard` vartype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableRole {
    /// PARAMETER: set by the user, read by the kernel.
    Parameter,
    /// ASSIGNED: computed by the kernel.
    Assigned,
    /// STATE: integrated by the kernel in `advance`.
    State,
}

/// One RANGE column of a mechanism.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableSpec {
    /// Name without suffix (`gnabar` for `gnabar_hh`).
    pub name: String,
    /// Parameter, assigned or state.
    pub role: VariableRole,
    /// Value a new instance starts with.
    pub default: f64,
}

impl VariableSpec {
    /// A column description.
    pub fn new(name: &str, role: VariableRole, default: f64) -> Self {
        Self {
            name: name.to_string(),
            role,
            default,
        }
    }
}

/// A GLOBAL of a mechanism type (shared by all instances).
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSpec {
    /// Name without suffix (`usetable` for `usetable_hh`).
    pub name: String,
    /// Initial value.
    pub default: f64,
}

/// An ion variable named in `USEION ... READ ... WRITE ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IonVariable {
    /// `e<ion>` (mV)
    Reversal,
    /// `<ion>i` (mM)
    ConcInside,
    /// `<ion>o` (mM)
    ConcOutside,
    /// `i<ion>` (mA/cm2); only meaningful in `write`.
    Current,
}

/// One `USEION` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct IonUse {
    /// Species name: `na`, `k`, `ca`, `cas`, ...
    pub ion: String,
    /// `VALENCE` if given (needed for Nernst on unknown ions).
    pub valence: Option<f64>,
    /// Variables READ.
    pub read: Vec<IonVariable>,
    /// Variables WRITTEN.
    pub write: Vec<IonVariable>,
}

/// Static description of a mechanism type.
#[derive(Debug, Clone, PartialEq)]
pub struct MechanismInfo {
    /// SUFFIX or POINT_PROCESS name (`hh`, `pas`, `IClamp`).
    pub name: String,
    /// Density or point process.
    pub kind: MechanismKind,
    /// `ELECTRODE_CURRENT`: current positive inward.
    pub electrode_current: bool,
    /// RANGE columns, in column order.
    pub variables: Vec<VariableSpec>,
    /// GLOBALs, in `MechanismData::globals` order.
    pub globals: Vec<GlobalSpec>,
    /// USEION statements, in `MechanismData::ions` order.
    pub ions: Vec<IonUse>,
}

impl MechanismInfo {
    /// Column index of a RANGE variable (name without suffix).
    pub fn variable_index(&self, name: &str) -> Option<usize> {
        self.variables.iter().position(|v| v.name == name)
    }

    /// Index of a GLOBAL (name without suffix).
    pub fn global_index(&self, name: &str) -> Option<usize> {
        self.globals.iter().position(|g| g.name == name)
    }
}

/// Instances of one mechanism type, struct of arrays.
#[derive(Debug, Clone, Default)]
pub struct MechanismData {
    /// Node index of each instance.
    pub node: Vec<usize>,
    /// `columns[var][instance]`, in [`MechanismInfo::variables`] order.
    pub columns: Vec<Vec<f64>>,
    /// GLOBAL values in [`MechanismInfo::globals`] order.
    pub globals: Vec<f64>,
    /// Resolved species of each `USEION`, in [`MechanismInfo::ions`] order.
    pub ions: Vec<IonId>,
    /// Kernel-private storage (tables); the solver never reads it.
    pub scratch: Vec<f64>,
    /// Kernel-private typed state (e.g. a compiled NMODL mechanism's own columns), created by the
    /// kernel in `initialize`; the solver never reads it. A clone copies it, so a simulation
    /// cloned mid-run continues exactly as the original would.
    pub private: KernelState,
}

/// Typed per-type state a kernel keeps between calls (any `Clone + Send + Sync` value).
#[derive(Default)]
pub struct KernelState(pub Option<Box<dyn PrivateState>>);

/// What [`KernelState`] can hold: a cloneable value the kernel downcasts back to its own type.
pub trait PrivateState: std::any::Any + Send + Sync {
    /// A boxed copy.
    fn clone_state(&self) -> Box<dyn PrivateState>;
    /// For `downcast_ref`.
    fn as_any(&self) -> &dyn std::any::Any;
    /// For `downcast_mut`.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
    /// For `downcast` of the box.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

impl<T: std::any::Any + Clone + Send + Sync> PrivateState for T {
    fn clone_state(&self) -> Box<dyn PrivateState> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

impl Clone for KernelState {
    fn clone(&self) -> Self {
        KernelState(self.0.as_deref().map(|state| state.clone_state()))
    }
}

impl Debug for KernelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "KernelState(..)"
        } else {
            "KernelState(empty)"
        })
    }
}

impl MechanismData {
    /// Empty data with default columns for `info`, no instances yet.
    pub fn new(info: &MechanismInfo) -> Self {
        Self {
            node: Vec::new(),
            columns: vec![Vec::new(); info.variables.len()],
            globals: info.globals.iter().map(|g| g.default).collect(),
            ions: Vec::new(),
            scratch: Vec::new(),
            private: KernelState::default(),
        }
    }

    /// Append one instance at `node` with every column at its default; returns its index.
    pub fn push_instance(&mut self, info: &MechanismInfo, node: usize) -> usize {
        self.node.push(node);
        for (column, spec) in self.columns.iter_mut().zip(&info.variables) {
            column.push(spec.default);
        }
        self.node.len() - 1
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.node.len()
    }

    /// True when there are no instances.
    pub fn is_empty(&self) -> bool {
        self.node.is_empty()
    }
}

/// Everything a kernel may read or write during one call.
#[derive(Debug)]
pub struct KernelContext<'a> {
    /// Current time (mid-step in `current`, end of step in `advance`, 0 in `initialize`).
    pub t_ms: f64,
    /// Time step.
    pub dt_ms: f64,
    /// Temperature.
    pub celsius_degc: f64,
    /// Membrane potential per node.
    pub v_mv: &'a [f64],
    /// `v_mv` gathered per lane, shared by the kernels of one hook call (see [`VoltageLanes`]).
    pub v_lanes: &'a mut VoltageLanes,
    /// Membrane area per node (100 for the zero-area end and root nodes).
    pub area_um2: &'a [f64],
    /// Segment diameter per node (NEURON's `diam`, for mechanisms that read it; 0 on zero-area
    /// nodes).
    pub diam_um: &'a [f64],
    /// Ion variables per species and node.
    pub ions: &'a mut IonStore,
    /// Right-hand side per node (mA/cm2); only `current` adds to it.
    pub rhs: &'a mut [f64],
    /// Matrix diagonal per node (S/cm2); only `current` adds to it.
    pub d: &'a mut [f64],
    /// How `add_current` maps currents of this type onto `rhs`/`d`.
    pub convention: CurrentConvention,
}

/// Scaling and sign of a mechanism type's membrane current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentConvention {
    /// Point process: nA and uS, scaled by `1e2/area_um2`.
    pub point: bool,
    /// ELECTRODE_CURRENT: positive inward.
    pub electrode: bool,
}

impl CurrentConvention {
    /// Convention for a mechanism type.
    pub fn of(info: &MechanismInfo) -> Self {
        Self {
            point: info.kind == MechanismKind::Point,
            electrode: info.electrode_current,
        }
    }
}

/// Node voltages gathered into a kernel's own lane order, kept for the next kernel with the
/// same lanes: the density mechanisms of a cell mostly sit on the same nodes, so one gather
/// serves all of them. The values are valid for one hook call over all mechanism types (during
/// which `v_mv` cannot change); the solver calls [`VoltageLanes::invalidate`] before each.
#[derive(Debug, Clone, Default)]
pub struct VoltageLanes {
    /// The node of each lane of the values held.
    nodes: Vec<usize>,
    /// Number of the node list held (0: none), new for each different list.
    list: u64,
    /// `v_mv` at those nodes.
    v_mv: Vec<f64>,
    /// False until the next gather.
    valid: bool,
}

/// A kernel's note of which [`VoltageLanes`] node list equals its own (0: none yet), so that
/// the lists are compared once, not at every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneKey(u64);

impl VoltageLanes {
    /// Forget the values held (the voltages may change before the next use).
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// `v_mv[nodes[lane]]` for every lane, gathered once per hook call for the same `nodes`.
    /// `key` is the caller's own (always passed with the same `nodes`). Allocates only when
    /// `nodes` is longer than any list before.
    #[inline]
    pub fn gather(&mut self, nodes: &[usize], v_mv: &[f64], key: &mut LaneKey) -> &[f64] {
        if !(self.valid && self.list != 0 && key.0 == self.list) {
            self.refill(nodes, v_mv, key);
        }
        &self.v_mv
    }

    /// The slow path of [`gather`](Self::gather): adopt `nodes` if they are not the list held,
    /// then gather.
    #[inline(never)]
    fn refill(&mut self, nodes: &[usize], v_mv: &[f64], key: &mut LaneKey) {
        if self.list == 0 || key.0 != self.list {
            if self.list == 0 || self.nodes != nodes {
                self.list += 1;
                self.nodes.clear();
                self.nodes.extend_from_slice(nodes);
                self.valid = false;
            }
            key.0 = self.list;
        }
        if !self.valid {
            self.v_mv.clear();
            self.v_mv.extend(self.nodes.iter().map(|&node| v_mv[node]));
            self.valid = true;
        }
    }
}

impl KernelContext<'_> {
    /// Add one instance's membrane current `i` and numerical conductance `g` at `node`
    /// (mA/cm2 and S/cm2 for density, nA and uS for point processes).
    #[inline]
    pub fn add_current(&mut self, node: usize, i: f64, g: f64) {
        let (mut i, mut g) = (i, g);
        if self.convention.point {
            let scale = 1.0e2 / self.area_um2[node];
            g *= scale;
            i *= scale;
        }
        if self.convention.electrode {
            self.rhs[node] += i;
            self.d[node] -= g;
        } else {
            self.rhs[node] -= i;
            self.d[node] += g;
        }
    }

    /// Add one instance's contribution `i` (and `di/dv`) to ion species `ion` at `node`
    /// (mA/cm2 for density, nA for point processes, which are scaled by `1e2/area_um2`).
    #[inline]
    pub fn add_ion_current(&mut self, ion: IonId, node: usize, i: f64, di_dv: f64) {
        let scale = if self.convention.point {
            1.0e2 / self.area_um2[node]
        } else {
            1.0
        };
        let species = &mut self.ions.species[ion.0];
        species.current[node] += i * scale;
        species.dcurrent_dv[node] += di_dv * scale;
    }
}

/// A mechanism type's behaviour. Implementations must be pure functions of `data` and `ctx`:
/// the solver may call them from any thread, in the order documented in the module doc.
pub trait MechanismKernel: Debug + Send + Sync {
    /// Static description (names, defaults, ions).
    fn info(&self) -> &MechanismInfo;

    /// INITIAL: set STATEs (and ASSIGNEDs) from v and ion values at t = 0.
    fn initialize(&self, data: &mut MechanismData, ctx: &mut KernelContext);

    /// BREAKPOINT currents: add membrane current and numerical dI/dV to each instance's node
    /// with [`KernelContext::add_current`], ion currents with [`KernelContext::add_ion_current`].
    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext);

    /// SOLVE ... METHOD: advance STATEs from t - dt to t using the new v.
    fn advance(&self, data: &mut MechanismData, ctx: &mut KernelContext);

    /// The current value of RANGE column `variable` of `instance`. A kernel that keeps its live
    /// values in [`MechanismData::private`] (and so leaves `columns` as they were at
    /// `initialize`) answers from there.
    fn read(&self, data: &MechanismData, variable: usize, instance: usize) -> f64 {
        data.columns[variable][instance]
    }

    /// Assign RANGE column `variable` of `instance` during a run (a play, a user's change between
    /// runs); it takes effect at the next call, as in NEURON.
    fn write(&self, data: &mut MechanismData, variable: usize, instance: usize, value: f64) {
        data.columns[variable][instance] = value;
    }

    /// This density mechanism's step as machine code over groups of its lanes, for a run split
    /// between two threads by node (see `solver::simulation::split`); None when it cannot be
    /// split (the default).
    fn split_view(&self, data: &mut MechanismData) -> Option<SplitView> {
        let _ = data;
        None
    }

    /// After a split state update: whether every STATE is still finite (false also marks the
    /// run failed, as [`advance`](Self::advance) would).
    fn split_check(&self, data: &mut MechanismData, t_ms: f64) -> bool {
        let _ = (data, t_ms);
        true
    }
}

/// What a split step needs of one mechanism ([`MechanismKernel::split_view`]): its current and
/// state-update programs (with their own loads and scatters: arrays numbered `v`, `rhs`, `d`,
/// then `ion_arrays`), the instance buffer of `n` lanes (no padding lanes), each lane's node.
#[derive(Debug, Clone)]
pub struct SplitView {
    pub current: crate::cell::nmodl::bytecode::Program,
    pub advance: crate::cell::nmodl::bytecode::Program,
    pub buf: *mut f64,
    pub n: usize,
    pub node: Vec<usize>,
    /// (species, field: 0 `e`, 1 `i`, 2 `ci`, 3 `co`, 4 `di/dv`) of each ion array.
    pub ion_arrays: Vec<(usize, u8)>,
    /// Columns of the STATEs, which must stay finite.
    pub states: Vec<usize>,
}

// SAFETY: `buf` is only dereferenced by the split step, each thread on its own groups of lanes.
unsafe impl Send for SplitView {}
unsafe impl Sync for SplitView {}
