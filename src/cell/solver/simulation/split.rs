//! One run on two cores, split by node: the same step as [`Simulation::step`], each thread
//! running every mechanism in order on its own nodes, so that each node's `rhs`, `d` and ion sums
//! are formed in the serial order and results are bit-identical to the serial run.
//!
//! A cell qualifies when every density mechanism runs as fused machine code on the same lanes
//! (the same nodes, no padding lanes, at least two groups of four), none reads `t`, and the other
//! kernels (point processes such as IClamp) use no ions and sit on the first half's nodes; only
//! voltages and t are recorded and only those kernels are played into. The lanes split at the
//! middle group: nodes below its first node (`split`) are the main thread's, the rest the
//! worker's. Per step the main thread signals the worker twice (currents, then states) and waits
//! for it; between the two it adds capacitance and axial terms and solves, alone.
//!
//! While the worker may run, both threads reach the node arrays and the mechanisms' buffers only
//! through raw pointers taken once with `as_mut_ptr` (which materialises no reference), each on
//! its own nodes and lanes; the atomics order one phase's writes before the other thread's
//! reads. No cache line is written by both: the worker writes its nodes of `rhs`, `d` and the ion
//! arrays into copies of its own (copied back after each current phase, and all at the end), and
//! mechanism columns start on cache lines (`MechanismInstances`). A STATE that turns non-finite ends the split: the rest of the run goes serially, which
//! reports it as the serial run does. So do a few waits for the other thread that outlast a long
//! spin: the other core is busy with other work, and two threads waiting on each other would run
//! slower than one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{add_capacitance_and_axial, hines, Hook, SimError, Simulation};
use crate::cell::mechanism::ions::{IonSpecies, RawSpecies};
use crate::cell::mechanism::{IonStore, KernelContext, SplitView};
use crate::cell::nmodl::bytecode::IoArrays;
use crate::cell::solver::record::VarRef;

/// One fused mechanism: its view and its node-array tables (the main thread's over the
/// simulation's arrays, the worker's over its own copies).
struct FusedSlot {
    view: SplitView,
    arrays: [IoArrays<'static>; 2],
}

/// The node arrays one thread writes: the simulation's for the main thread; for the worker,
/// copies (its nodes' values copied back after each phase), so that the two threads never
/// write one cache line (a node array's line holds 8 nodes, which the split may share).
struct NodeArrays {
    rhs: *mut f64,
    d: *mut f64,
    species: Vec<RawSpecies>,
}

/// What both threads read: the fused mechanisms in slot order, the node arrays, the split.
struct Shared {
    fused: Vec<FusedSlot>,
    /// By half: the main thread's, the worker's.
    nodes: [NodeArrays; 2],
    /// The memory of the worker's arrays.
    _copies: Vec<Vec<f64>>,
    n_nodes: usize,
    /// Groups of four lanes below this one are the main thread's.
    split_group: usize,
    /// Nodes below this one are the main thread's.
    split_node: usize,
    celsius_degc: f64,
}

// SAFETY: the pointers are dereferenced only by `part`, by each thread on its own nodes and
// lanes, in phases ordered by the `Signal` atomics.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// Which half of the cell.
#[derive(Clone, Copy)]
enum Half {
    Main = 0,
    Worker = 1,
}

impl Shared {
    fn groups(&self, f: &FusedSlot, half: Half) -> std::ops::Range<usize> {
        match half {
            Half::Main => 0..self.split_group,
            Half::Worker => self.split_group..f.view.n / 4,
        }
    }

    fn nodes(&self, half: Half) -> (usize, usize) {
        match half {
            Half::Main => (0, self.split_node),
            Half::Worker => (self.split_node, self.n_nodes),
        }
    }

    /// Zeroes `rhs`, `d` and the ion sums of the half's nodes and updates its Nernst potentials
    /// (the start of `setup_matrix`).
    ///
    /// # Safety
    /// No other thread touches the half's nodes meanwhile.
    unsafe fn begin(&self, half: Half) {
        let (lo, hi) = self.nodes(half);
        let arrays = &self.nodes[half as usize];
        // SAFETY: `lo..hi` lies inside the node arrays, which only this thread touches there.
        unsafe {
            for node in lo..hi {
                *arrays.rhs.add(node) = 0.0;
                *arrays.d.add(node) = 0.0;
            }
            for s in &arrays.species {
                IonSpecies::begin_step_nodes(s, self.celsius_degc, lo, hi);
            }
        }
    }

    /// The worker's nodes of its copies into the simulation's arrays: `rhs` and `d` (after a
    /// current phase), with `all` every ion array too (when the split ends).
    ///
    /// # Safety
    /// The worker is waiting.
    unsafe fn copy_back(&self, all: bool) {
        let (lo, hi) = self.nodes(Half::Worker);
        let [main, worker] = &self.nodes;
        // SAFETY: both arrays of a pair hold `n_nodes` values; nobody else touches them now.
        let copy = |from: *mut f64, to: *mut f64| unsafe {
            std::ptr::copy_nonoverlapping(from.add(lo), to.add(lo), hi - lo);
        };
        copy(worker.rhs, main.rhs);
        copy(worker.d, main.d);
        if all {
            for (w, m) in worker.species.iter().zip(&main.species) {
                for field in 0..5 {
                    copy(w.field(field), m.field(field));
                }
            }
        }
    }

    /// Whether every STATE of every fused mechanism is finite on the half's lanes (each thread
    /// reads only its own lines of the buffers).
    ///
    /// # Safety
    /// No other thread touches the half's lanes meanwhile.
    unsafe fn states_finite(&self, half: Half) -> bool {
        self.fused.iter().all(|f| {
            let lanes = self.groups(f, half);
            let (lo, hi) = (4 * lanes.start, 4 * lanes.end);
            f.view.states.iter().all(|&col| {
                // SAFETY: column `col` of `n` lanes lies inside the buffer; `lo..hi` are this
                // half's lanes.
                (lo..hi).all(|i| unsafe { *f.view.buf.add(col * f.view.n + i) }.is_finite())
            })
        })
    }

    /// The fused program of slot `k` (current or state update) on the half's groups.
    ///
    /// # Safety
    /// No other thread touches the half's lanes or nodes meanwhile.
    unsafe fn run(&self, k: usize, hook: Hook, half: Half) {
        let f = &self.fused[k];
        let prog = match hook {
            Hook::Advance => &f.view.advance,
            _ => &f.view.current,
        };
        // SAFETY: the view's buffer holds every slot for `n` lanes; the half's groups load and
        // scatter only the half's nodes (the lanes are sorted by node and split at
        // `split_group`); the table holds every array the program names.
        let (buf, arrays) = (f.view.buf, &f.arrays[half as usize]);
        let ran = unsafe { prog.run_io_groups(buf, f.view.n, self.groups(f, half), arrays) };
        debug_assert!(ran, "split views are machine code");
    }
}

/// The main thread's word to the worker and the worker's answer.
#[repr(align(128))]
#[derive(Default)]
struct Signal(AtomicU64);

const CURRENT: u64 = 1;
const ADVANCE: u64 = 2;
const EXIT: u64 = 3;

/// Spins before a wait gives the core away (a phase takes a few microseconds; this is far
/// longer).
const SPINS: u32 = 20_000;

/// Waits until `signal` holds a value other than `seen`, spinning, then yielding; also says
/// whether it had to yield (the other thread was not running).
fn wait_change(signal: &Signal, seen: u64) -> (u64, bool) {
    let mut spins = 0u32;
    loop {
        let now = signal.0.load(Ordering::Acquire);
        if now != seen {
            return (now, spins >= SPINS);
        }
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Waits that had to yield within [`SLOW_WINDOW`] steps before the split gives up: the other
/// core is busy, and two threads that wait on each other then run slower than one. (A virtual
/// machine whose host is busy makes a few now and then: its cores are taken away for a while.)
const SLOW_WAITS: usize = 20;
const SLOW_WINDOW: usize = 1000;

/// The worker: each command's phase on its half, then the answer.
fn worker(shared: &Shared, command: &Signal, answer: &Signal, failed: &AtomicBool) {
    let mut seen = 0;
    loop {
        seen = wait_change(command, seen).0;
        let (sequence, what) = (seen >> 2, seen & 3);
        if what == EXIT {
            return;
        }
        let phase = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: between the command and the answer the main thread touches only its
            // half.
            unsafe {
                if what == CURRENT {
                    shared.begin(Half::Worker);
                }
                let hook = if what == CURRENT {
                    Hook::Current
                } else {
                    Hook::Advance
                };
                for k in 0..shared.fused.len() {
                    shared.run(k, hook, Half::Worker);
                }
                if what == ADVANCE && !shared.states_finite(Half::Worker) {
                    failed.store(true, Ordering::Release);
                }
            }
        }));
        if phase.is_err() {
            // A bug: the main thread must not wait for an answer that will not come.
            answer.0.store(WORKER_PANICKED, Ordering::Release);
            return;
        }
        answer.0.store(sequence, Ordering::Release);
    }
}

/// The worker's answer when its phase panicked.
const WORKER_PANICKED: u64 = u64::MAX;

impl Simulation {
    /// Steps on two cores while the cell qualifies and t < `stop_ms` (see the module doc); then
    /// returns, leaving the rest to the serial loop. Results are those of serial steps.
    pub(super) fn run_split(&mut self, stop_ms: f64) -> Result<(), SimError> {
        if self.t_ms >= stop_ms {
            return Ok(());
        }
        // One serial step first: it writes the dt and celsius columns every mechanism reads.
        self.step()?;
        let Some((shared, order)) = self.split_plan() else {
            return Ok(());
        };
        let (command, answer) = (Signal::default(), Signal::default());
        let failed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| worker(&shared, &command, &answer, &failed));
            let result = self.split_steps(stop_ms, &shared, &order, (&command, &answer), &failed);
            command.0.store(EXIT, Ordering::Release);
            // SAFETY: the worker has finished its last phase (the main thread waited for it).
            unsafe { shared.copy_back(true) };
            result
        })
    }

    /// The fused views and node arrays, and each slot's place (Some(k): fused mechanism `k`),
    /// if the cell qualifies.
    fn split_plan(&mut self) -> Option<(Shared, Vec<Option<usize>>)> {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        let mut views = Vec::new();
        let mut order = Vec::new();
        for slot in &mut self.slots {
            match slot.kernel.split_view(&mut slot.data) {
                Some(view) => {
                    order.push(Some(views.len()));
                    views.push(view);
                }
                None => order.push(None),
            }
        }
        let first = views.first()?;
        let groups = first.n / 4;
        let split_group = groups / 2;
        let node = &first.node;
        let split_node = *node.get(4 * split_group)?;
        let sorted = node.windows(2).all(|w| w[0] < w[1]);
        if split_group == 0 || !sorted || views.iter().any(|v| v.node != *node) {
            return None;
        }
        // The other kernels: no ions, on the main thread's nodes, not recorded (but voltages
        // and t are), played into only there.
        let others_fit = self.slots.iter().zip(&order).all(|(slot, place)| {
            place.is_some()
                || (slot.data.ions.is_empty() && slot.data.node.iter().all(|&k| k < split_node))
        });
        let recorded_fit = self
            .recordings
            .iter()
            .all(|r| matches!(r.var, VarRef::Time | VarRef::Voltage { .. }));
        let played_fit = self.plays.iter().all(|p| match p.var {
            VarRef::Mechanism { mechanism, .. } => order.get(mechanism) == Some(&None),
            _ => false,
        });
        if !(others_fit && recorded_fit && played_fit) {
            return None;
        }
        let species: Vec<RawSpecies> = self.ions.species.iter_mut().map(|s| s.raw_view()).collect();
        let n_nodes = self.v_mv.len();
        if species.iter().any(|s| s.len < n_nodes) || node.iter().any(|&k| k >= n_nodes) {
            return None;
        }
        let v = self.v_mv.as_mut_ptr();
        let main = NodeArrays {
            rhs: self.rhs.as_mut_ptr(),
            d: self.d.as_mut_ptr(),
            species,
        };
        // The worker's copies: rhs, d, then per species e, i, di/dv, ci, co.
        let mut copies: Vec<Vec<f64>> = vec![self.rhs.clone(), self.d.clone()];
        for s in &self.ions.species {
            copies.extend(
                [&s.erev, &s.current, &s.dcurrent_dv, &s.conc_in, &s.conc_out]
                    .map(|a| a[..n_nodes].to_vec()),
            );
        }
        let ptrs: Vec<*mut f64> = copies.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let worker = NodeArrays {
            rhs: ptrs[0],
            d: ptrs[1],
            species: main
                .species
                .iter()
                .zip(ptrs[2..].chunks_exact(5))
                .map(|(s, p)| s.over([p[0], p[1], p[2], p[3], p[4]]))
                .collect(),
        };
        let mut fused = Vec::new();
        for view in views {
            let table = |arrays: &NodeArrays| {
                let mut table = IoArrays::new();
                // SAFETY: pointers to node arrays of `n_nodes` values that the split run keeps
                // in place and reaches only through these pointers (see the module doc).
                unsafe {
                    table.raw(v, n_nodes, false)?;
                    table.raw(arrays.rhs, n_nodes, true)?;
                    table.raw(arrays.d, n_nodes, true)?;
                    for &(index, field) in &view.ion_arrays {
                        let s = arrays.species.get(index)?;
                        table.raw(s.field(field), n_nodes, true)?;
                    }
                }
                Some(table)
            };
            let arrays = [table(&main)?, table(&worker)?];
            fused.push(FusedSlot { view, arrays });
        }
        let shared = Shared {
            fused,
            nodes: [main, worker],
            _copies: copies,
            n_nodes,
            split_group,
            split_node,
            celsius_degc: self.celsius_degc,
        };
        Some((shared, order))
    }

    /// The split steps themselves (the worker is running).
    fn split_steps(
        &mut self,
        stop_ms: f64,
        shared: &Shared,
        order: &[Option<usize>],
        (command, answer): (&Signal, &Signal),
        failed: &AtomicBool,
    ) -> Result<(), SimError> {
        let n = shared.n_nodes;
        let mut sequence = 0u64;
        let mut slow = 0usize;
        // Slow waits before the current window of SLOW_WINDOW steps.
        let mut window_start = 0usize;
        let mut phase = |what: u64, sim: &mut Self| {
            sequence += 1;
            command.0.store(sequence << 2 | what, Ordering::Release);
            let hook = if what == CURRENT {
                Hook::Current
            } else {
                Hook::Advance
            };
            sim.main_half(shared, order, hook);
            let mut seen = answer.0.load(Ordering::Acquire);
            while seen != sequence {
                let yielded;
                (seen, yielded) = wait_change(answer, seen);
                slow += usize::from(yielded);
                assert_ne!(
                    seen, WORKER_PANICKED,
                    "the split step's worker thread panicked"
                );
            }
            slow
        };
        while self.t_ms < stop_ms {
            for detector in &mut self.detectors {
                detector.check(self.v_mv[detector.node], self.t_ms);
            }
            self.apply_plays();
            self.t_ms += 0.5 * self.dt_ms;
            phase(CURRENT, self);
            let main = &shared.nodes[Half::Main as usize];
            // SAFETY: the worker waits for the next command; these slices are the only way to
            // the arrays until then.
            let (v, rhs, d) = unsafe {
                shared.copy_back(false);
                (
                    std::slice::from_raw_parts_mut(self.v_mv.as_mut_ptr(), n),
                    std::slice::from_raw_parts_mut(main.rhs, n),
                    std::slice::from_raw_parts_mut(main.d, n),
                )
            };
            add_capacitance_and_axial(&self.disc, self.dt_ms, v, rhs, d);
            hines::solve(
                d,
                rhs,
                &self.disc.a,
                &self.disc.b,
                &self.disc.parent,
                self.disc.n_roots,
            );
            for (v, dv) in v.iter_mut().zip(rhs.iter()) {
                *v += dv;
            }
            self.t_ms += 0.5 * self.dt_ms;
            let slow_waits = phase(ADVANCE, self);
            if self.split_steps.is_multiple_of(SLOW_WINDOW) {
                window_start = slow_waits;
            }
            self.step_index += 1;
            self.split_steps += 1;
            // SAFETY: the worker waits; these are this thread's lanes anyway.
            let finite =
                unsafe { shared.states_finite(Half::Main) } && !failed.load(Ordering::Acquire);
            let checked = finite || {
                // Which one: the kernels' own check (it reads every lane, the worker's too).
                let t = self.t_ms;
                self.slots.iter_mut().zip(order).all(|(slot, place)| {
                    place.is_none() || slot.kernel.split_check(&mut slot.data, t)
                })
            };
            self.check_voltages()?;
            for index in 0..self.recordings.len() {
                let value = self.value(self.recordings[index].var);
                self.recordings[index].values.push(value);
            }
            if !checked || slow_waits - window_start >= SLOW_WAITS {
                // A STATE went bad (the serial steps report it as they always do), or the other
                // core is busy: the rest of the run on one core.
                return Ok(());
            }
        }
        Ok(())
    }

    /// The main thread's half of one phase: its groups of every fused mechanism and the other
    /// kernels, in slot order.
    fn main_half(&mut self, shared: &Shared, order: &[Option<usize>], hook: Hook) {
        let split = shared.split_node;
        // SAFETY: the worker touches only its half; below `split` is this thread's.
        unsafe {
            if matches!(hook, Hook::Current) {
                shared.begin(Half::Main);
            }
        }
        // Lane gathers of v are shared by this phase's kernels, as in `run_kernels`.
        self.v_lanes.invalidate();
        let mut no_ions = IonStore::default();
        let v = unsafe { std::slice::from_raw_parts(self.v_mv.as_ptr(), shared.n_nodes) };
        for (slot, place) in self.slots.iter_mut().zip(order) {
            if let Some(k) = *place {
                // SAFETY: as above.
                unsafe { shared.run(k, hook, Half::Main) };
                continue;
            }
            // SAFETY: `rhs`/`d` below `split`, which only this thread touches now; the kernel's
            // nodes are all below `split` (`split_plan`).
            let main = &shared.nodes[Half::Main as usize];
            let (rhs, d) = unsafe {
                (
                    std::slice::from_raw_parts_mut(main.rhs, split),
                    std::slice::from_raw_parts_mut(main.d, split),
                )
            };
            let mut ctx = KernelContext {
                t_ms: self.t_ms,
                dt_ms: self.dt_ms,
                celsius_degc: self.celsius_degc,
                v_mv: v,
                v_lanes: &mut self.v_lanes,
                area_um2: &self.disc.area_um2,
                diam_um: &self.disc.diam_um,
                ions: &mut no_ions,
                rhs,
                d,
                convention: slot.convention,
            };
            match hook {
                Hook::Current => slot.kernel.current(&mut slot.data, &mut ctx),
                _ => slot.kernel.advance(&mut slot.data, &mut ctx),
            }
        }
    }
}
