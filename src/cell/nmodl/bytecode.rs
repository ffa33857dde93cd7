//! The executable form: a register bytecode whose every op runs over all instances at once.
//!
//! Owns the op set, the column buffer layout and the interpreter loops. A register is a column of
//! `n` f64 values (one per instance) in one flat buffer (`slot * n .. slot * n + n`). Programs are
//! straight-line (if/else is compiled to `Select`); the compiler in [`super::kernel`] guarantees a
//! destination never aliases an operand, which [`Program::new`] checks once (with every slot below
//! the program's column count) so the interpreter can take unchecked column slices after one
//! buffer-length check per run; the node arrays of an [`Io`] are the other `unsafe` here, each
//! access inside bounds checked once per call. Nothing here allocates per call.
//!
//! Two ways to run, same arithmetic ([`Program::run`] picks): *chunk mode* (see [`CHUNK`]): the
//! whole program over one fixed-width chunk of instances at a time, each op a fully unrolled
//! pass whose operands stay in L1 cache; the solver pads its instances to [`padded_len`] so that
//! everything runs this way; *row mode* for the instances no chunk covers: all ops for one
//! instance at a time. On x86-64 CPUs with AVX2 and FMA the chunk loops are compiled a second
//! time for 4-wide vectors and picked at run time (the same operations, so the same bits: Rust
//! never contracts `a*b+c` into an FMA; only [`fast_exp`]'s explicit `mul_add`s fuse, on every
//! path). [`fast_exp`] is the vectorisable exp; row mode evaluates it with libm's (within
//! 2 ulp). [`super::jit`] translates programs to machine code that gives the same bits.
//!
//! A program may also carry an [`Io`]: loads of node-indexed values (a solver's `v`, ion
//! arrays) into columns before its ops and scatters of columns onto node arrays (`rhs`, `d`,
//! ion sums) after them, through node-index columns in its own buffer ([`Program::run_io`]).

use std::sync::Arc;

use super::ir::Builtin;
use super::jit::{NativeEntry, NativeProgram};

/// Physical column index.
pub type Slot = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Min,
    Max,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Un {
    Neg,
    Not,
    Exp,
    /// [`fast_exp`]: within 2 ulp of libm's `exp`, and vectorisable.
    FastExp,
    Log,
    Log10,
    Fabs,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Atan,
    Floor,
    Ceil,
}

impl Un {
    pub fn from_builtin(b: Builtin) -> Option<Self> {
        Some(match b {
            Builtin::Exp => Self::Exp,
            Builtin::Log => Self::Log,
            Builtin::Log10 => Self::Log10,
            Builtin::Fabs => Self::Fabs,
            Builtin::Sqrt => Self::Sqrt,
            Builtin::Sin => Self::Sin,
            Builtin::Cos => Self::Cos,
            Builtin::Tan => Self::Tan,
            Builtin::Tanh => Self::Tanh,
            Builtin::Atan => Self::Atan,
            Builtin::Floor => Self::Floor,
            Builtin::Ceil => Self::Ceil,
            Builtin::Pow | Builtin::Min | Builtin::Max | Builtin::AtTime => return None,
        })
    }

    #[inline(always)]
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Self::Neg => -x,
            Self::Not => f64::from(x == 0.0),
            Self::Exp => x.exp(),
            Self::FastExp => fast_exp(x),
            Self::Log => x.ln(),
            Self::Log10 => x.log10(),
            Self::Fabs => x.abs(),
            Self::Sqrt => x.sqrt(),
            Self::Sin => x.sin(),
            Self::Cos => x.cos(),
            Self::Tan => x.tan(),
            Self::Tanh => x.tanh(),
            Self::Atan => x.atan(),
            Self::Floor => x.floor(),
            Self::Ceil => x.ceil(),
        }
    }
}

impl Bin {
    #[inline(always)]
    pub fn eval(self, x: f64, y: f64) -> f64 {
        match self {
            Self::Add => x + y,
            Self::Sub => x - y,
            Self::Mul => x * y,
            Self::Div => x / y,
            Self::Pow => x.powf(y),
            // C's fmin/fmax semantics are not needed: NMODL min/max of NaN is undefined anyway.
            Self::Min => x.min(y),
            Self::Max => x.max(y),
            Self::Lt => f64::from(x < y),
            Self::Le => f64::from(x <= y),
            Self::Gt => f64::from(x > y),
            Self::Ge => f64::from(x >= y),
            Self::Eq => f64::from(x == y),
            Self::Ne => f64::from(x != y),
            Self::And => f64::from(x != 0.0 && y != 0.0),
            Self::Or => f64::from(x != 0.0 || y != 0.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Bin {
        op: Bin,
        d: Slot,
        a: Slot,
        b: Slot,
    },
    Un {
        op: Un,
        d: Slot,
        a: Slot,
    },
    /// `d = if m != 0 { a } else { b }`.
    Select {
        d: Slot,
        m: Slot,
        a: Slot,
        b: Slot,
    },
    Copy {
        d: Slot,
        a: Slot,
    },
    /// `Bin` whose operands are the same for every instance: computed once, then broadcast.
    UniformBin {
        op: Bin,
        d: Slot,
        a: Slot,
        b: Slot,
    },
    /// `Un` on an instance-independent operand: computed once, then broadcast.
    UniformUn {
        op: Un,
        d: Slot,
        a: Slot,
    },
    /// `d = a op k` with a literal `k` (no column read for the literal).
    BinCK {
        op: Bin,
        d: Slot,
        a: Slot,
        k: f64,
    },
    /// `d = k op b` with a literal `k`.
    BinKC {
        op: Bin,
        d: Slot,
        k: f64,
        b: Slot,
    },
    /// `d = k` for every instance.
    Fill {
        d: Slot,
        k: f64,
    },
}

impl Op {
    /// The slot the op writes.
    pub fn dst(&self) -> Slot {
        match *self {
            Op::Bin { d, .. }
            | Op::Un { d, .. }
            | Op::Select { d, .. }
            | Op::Copy { d, .. }
            | Op::UniformBin { d, .. }
            | Op::UniformUn { d, .. }
            | Op::BinCK { d, .. }
            | Op::BinKC { d, .. }
            | Op::Fill { d, .. } => d,
        }
    }

    /// The op with every slot passed through `f`.
    pub fn map_slots(self, f: impl Fn(Slot) -> Slot) -> Op {
        match self {
            Op::Bin { op, d, a, b } => Op::Bin {
                op,
                d: f(d),
                a: f(a),
                b: f(b),
            },
            Op::Un { op, d, a } => Op::Un {
                op,
                d: f(d),
                a: f(a),
            },
            Op::Select { d, m, a, b } => Op::Select {
                d: f(d),
                m: f(m),
                a: f(a),
                b: f(b),
            },
            Op::Copy { d, a } => Op::Copy { d: f(d), a: f(a) },
            Op::UniformBin { op, d, a, b } => Op::UniformBin {
                op,
                d: f(d),
                a: f(a),
                b: f(b),
            },
            Op::UniformUn { op, d, a } => Op::UniformUn {
                op,
                d: f(d),
                a: f(a),
            },
            Op::BinCK { op, d, a, k } => Op::BinCK {
                op,
                d: f(d),
                a: f(a),
                k,
            },
            Op::BinKC { op, d, k, b } => Op::BinKC {
                op,
                d: f(d),
                k,
                b: f(b),
            },
            Op::Fill { d, k } => Op::Fill { d: f(d), k },
        }
    }

    /// The slots the op reads, in operand order (a Select's mask first).
    pub fn sources(&self) -> [Option<Slot>; 3] {
        match *self {
            Op::Bin { a, b, .. } | Op::UniformBin { a, b, .. } => [Some(a), Some(b), None],
            Op::Un { a, .. } | Op::Copy { a, .. } | Op::UniformUn { a, .. } => {
                [Some(a), None, None]
            }
            Op::Select { m, a, b, .. } => [Some(m), Some(a), Some(b)],
            Op::BinCK { a, .. } => [Some(a), None, None],
            Op::BinKC { b, .. } => [Some(b), None, None],
            Op::Fill { .. } => [None, None, None],
        }
    }
}

/// Most node arrays one program's [`Io`] may name.
pub const MAX_ARRAYS: usize = 24;

/// A lane's node index as stored in a node column (the index's bits).
pub fn node_bits(node: usize) -> f64 {
    f64::from_bits(node as u64)
}

/// The node-column entry of a lane that must not be written (a padding lane).
pub const NO_NODE: f64 = f64::from_bits(u64::MAX);

/// A program's traffic with node-indexed arrays outside its buffer (a solver's `v`, `rhs`, `d`
/// and ion arrays, numbered by the caller's [`IoArrays`]): every load before the ops, every
/// scatter after them. Lane `i`'s node is the index whose bits its node column holds
/// ([`node_bits`]); a scatter skips lanes whose node column holds [`NO_NODE`]. The lanes'
/// nodes must differ (one instance per node, as for a density mechanism), so that lanes may run
/// in any order: the interpreter loads all lanes, runs, then scatters; machine code does each
/// group of lanes in turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Io {
    pub loads: Vec<Load>,
    pub scatters: Vec<Scatter>,
    /// A column whose first lane of each group of 4 holds the group's first node when its
    /// four lanes scatter to four consecutive nodes ([`NO_NODE`] otherwise): machine code then
    /// scatters the group as one vector. Only a hint: results are the same without it.
    pub runs: Option<Slot>,
}

/// `buf[dst][i] = array[node of lane i]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub dst: Slot,
    pub array: u8,
    pub node: Slot,
}

/// `array[node of lane i] += buf[src][i]` (or `=` when not `add`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scatter {
    pub src: Slot,
    pub array: u8,
    pub node: Slot,
    pub add: bool,
}

impl Io {
    fn is_empty(&self) -> bool {
        self.loads.is_empty() && self.scatters.is_empty()
    }

    /// Slots of node columns (read by loads and scatters).
    fn node_slots(&self) -> impl Iterator<Item = Slot> + '_ {
        let loads = self.loads.iter().map(|l| l.node);
        loads
            .chain(self.scatters.iter().map(|s| s.node))
            .chain(self.runs)
    }
}

/// The node arrays of one [`Program::run_io`] call, by number.
pub struct IoArrays<'a> {
    ptr: [*mut f64; MAX_ARRAYS],
    /// Bit `k`: array `k` may be written.
    writable: u32,
    count: usize,
    min_len: usize,
    _borrow: std::marker::PhantomData<&'a mut [f64]>,
}

impl<'a> IoArrays<'a> {
    pub fn new() -> Self {
        Self {
            ptr: [std::ptr::null_mut(); MAX_ARRAYS],
            writable: 0,
            count: 0,
            min_len: usize::MAX,
            _borrow: std::marker::PhantomData,
        }
    }

    /// Adds an array that loads may read; returns its number (None when full).
    pub fn read(&mut self, a: &'a [f64]) -> Option<u8> {
        self.push(a.as_ptr().cast_mut(), a.len(), false)
    }

    /// Adds an array that loads may read and scatters may write.
    pub fn write(&mut self, a: &'a mut [f64]) -> Option<u8> {
        self.push(a.as_mut_ptr(), a.len(), true)
    }

    /// The shortest array's length (0 when there is none).
    pub fn min_len(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            self.min_len
        }
    }

    fn writable(&self, k: usize) -> bool {
        self.writable & (1 << k) != 0
    }

    /// Adds an array by pointer (see [`read`](Self::read) / [`write`](Self::write)).
    ///
    /// # Safety
    /// `ptr` must be valid for reads (and writes, if `writable`) of `len` values for `'a`, and
    /// no other reference may use that memory while this table is in use.
    #[inline]
    pub unsafe fn raw(&mut self, ptr: *mut f64, len: usize, writable: bool) -> Option<u8> {
        self.push(ptr, len, writable)
    }

    #[inline]
    fn push(&mut self, ptr: *mut f64, len: usize, writable: bool) -> Option<u8> {
        let k = self.count;
        *self.ptr.get_mut(k)? = ptr;
        self.writable |= u32::from(writable) << k;
        self.min_len = self.min_len.min(len);
        self.count += 1;
        Some(k as u8)
    }
}

impl Default for IoArrays<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// A verified straight-line program.
#[derive(Debug, Clone, Default)]
pub struct Program {
    ops: Vec<Op>,
    /// Columns the program may touch (every slot is below this).
    n_slots: usize,
    /// Slots below this are observable after a run (the rest are temporaries).
    n_live: usize,
    /// Slots from this one up are observable too (columns a caller added past the temporaries).
    live_from: usize,
    /// Loads before and scatters after the ops ([`Program::run_io`]).
    io: Io,
    /// The same program with the commonest operators as their own variants (one dispatch per
    /// op instead of two), for row mode.
    row: Vec<RowOp>,
    /// Machine code for groups of 4 instances ([`Program::compile_native`]), when available,
    /// and its entry points (kept here, beside the data read before every run).
    native: Option<(Arc<NativeProgram>, NativeEntry)>,
}

/// Row-mode op: the frequent cases flattened, everything else as the generic [`Op`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum RowOp {
    Add(Slot, Slot, Slot),
    Sub(Slot, Slot, Slot),
    Mul(Slot, Slot, Slot),
    Div(Slot, Slot, Slot),
    AddK(Slot, Slot, f64),
    MulK(Slot, Slot, f64),
    DivK(Slot, Slot, f64),
    KSub(Slot, f64, Slot),
    KDiv(Slot, f64, Slot),
    Exp(Slot, Slot),
    Neg(Slot, Slot),
    Copy(Slot, Slot),
    Generic(Op),
}

impl RowOp {
    fn from_op(op: Op) -> Self {
        match op {
            Op::Bin {
                op: Bin::Add,
                d,
                a,
                b,
            } => Self::Add(d, a, b),
            Op::Bin {
                op: Bin::Sub,
                d,
                a,
                b,
            } => Self::Sub(d, a, b),
            Op::Bin {
                op: Bin::Mul,
                d,
                a,
                b,
            } => Self::Mul(d, a, b),
            Op::Bin {
                op: Bin::Div,
                d,
                a,
                b,
            } => Self::Div(d, a, b),
            Op::BinCK {
                op: Bin::Add,
                d,
                a,
                k,
            } => Self::AddK(d, a, k),
            Op::BinCK {
                op: Bin::Sub,
                d,
                a,
                k,
            } => Self::AddK(d, a, -k),
            Op::BinCK {
                op: Bin::Mul,
                d,
                a,
                k,
            } => Self::MulK(d, a, k),
            Op::BinCK {
                op: Bin::Div,
                d,
                a,
                k,
            } => Self::DivK(d, a, k),
            Op::BinKC {
                op: Bin::Add,
                d,
                k,
                b,
            } => Self::AddK(d, b, k),
            Op::BinKC {
                op: Bin::Mul,
                d,
                k,
                b,
            } => Self::MulK(d, b, k),
            Op::BinKC {
                op: Bin::Sub,
                d,
                k,
                b,
            } => Self::KSub(d, k, b),
            Op::BinKC {
                op: Bin::Div,
                d,
                k,
                b,
            } => Self::KDiv(d, k, b),
            // One value at a time, libm's table-driven exp is cheaper than the vectorisable
            // polynomial, and within 2 ulp of it.
            Op::Un {
                op: Un::Exp | Un::FastExp,
                d,
                a,
            } => Self::Exp(d, a),
            Op::Un { op: Un::Neg, d, a } => Self::Neg(d, a),
            Op::Copy { d, a } => Self::Copy(d, a),
            other => Self::Generic(other),
        }
    }
}

impl Program {
    /// Checks that every slot is below `n_slots` and that no destination is also a source.
    /// Slots below `n_live` are the program's inputs and results; the others are temporaries
    /// whose values nothing reads after a run.
    pub fn new(ops: Vec<Op>, n_slots: usize, n_live: usize) -> Result<Self, String> {
        for (k, op) in ops.iter().enumerate() {
            let d = op.dst();
            if d as usize >= n_slots {
                return Err(format!("op {k}: slot {d} out of range"));
            }
            for s in op.sources().into_iter().flatten() {
                if s as usize >= n_slots || s == d {
                    return Err(format!("op {k}: bad source slot {s} (dst {d})"));
                }
            }
        }
        let row = ops.iter().map(|&op| RowOp::from_op(op)).collect();
        Ok(Self {
            ops,
            row,
            n_slots,
            n_live: n_live.min(n_slots),
            live_from: n_slots,
            io: Io::default(),
            native: None,
        })
    }

    /// [`new`](Self::new) for a program that also loads and scatters node values ([`Io`]);
    /// slots from `live_from` up are observable like those below `n_live`. Node columns must be
    /// observable and no op may write one.
    pub fn with_io(
        ops: Vec<Op>,
        n_slots: usize,
        n_live: usize,
        live_from: usize,
        io: Io,
    ) -> Result<Self, String> {
        let mut p = Self::new(ops, n_slots, n_live)?;
        p.live_from = live_from.min(n_slots);
        let live = |s: Slot| (s as usize) < p.n_live || s as usize >= p.live_from;
        let slots = io.loads.iter().map(|l| l.dst);
        let slots = slots.chain(io.scatters.iter().map(|s| s.src));
        if let Some(s) = slots.chain(io.node_slots()).find(|&s| !live(s)) {
            return Err(format!("io slot {s} is not a column"));
        }
        if let Some(s) = io
            .node_slots()
            .find(|&s| p.ops.iter().any(|op| op.dst() == s))
        {
            return Err(format!("node column {s} is written by an op"));
        }
        if io.loads.iter().any(|l| io.node_slots().any(|s| s == l.dst)) {
            return Err("a load writes a node column".into());
        }
        let arrays = io.loads.iter().map(|l| l.array);
        if arrays
            .chain(io.scatters.iter().map(|s| s.array))
            .any(|a| a as usize >= MAX_ARRAYS)
        {
            return Err("array number out of range".into());
        }
        p.io = io;
        Ok(p)
    }

    /// Translates the program to machine code (see [`super::jit`]); later runs over 4 or more
    /// instances use it. Without AVX2 (or off x86-64) the interpreter stays. Same results.
    pub fn compile_native(&mut self) {
        self.native = NativeProgram::compile(
            &self.ops,
            self.n_slots,
            (self.n_live, self.live_from),
            &self.io,
        )
        .map(|code| {
            let entry = code.entry();
            (Arc::new(code), entry)
        });
    }

    /// Names the machine code `name` for `perf report` when `BMTOOL_PERF_MAP` is set (see
    /// [`super::jit::perf_map`]); nothing otherwise.
    pub fn name_for_profiler(&self, name: &str) {
        if let Some(code) = self.machine_code() {
            if std::env::var_os("BMTOOL_PERF_MAP").is_some() {
                super::jit::perf_map(name, code);
            }
        }
    }

    /// The machine code, if any (for disassembly when profiling).
    pub fn machine_code(&self) -> Option<&[u8]> {
        self.native.as_ref().map(|(code, _)| code.machine_code())
    }

    /// Whether runs use machine code.
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// [`run`](Self::run) in the interpreter even when machine code exists (for comparisons).
    pub fn run_interpreted(&self, buf: &mut [f64], n: usize) {
        if n == 0 || buf.len() < self.n_slots * n {
            return;
        }
        self.run_bytecode(buf, n);
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Replaces every libm `exp` by [`fast_exp`].
    pub fn use_fast_exp(&mut self) {
        for op in &mut self.ops {
            match op {
                Op::Un { op: u, .. } | Op::UniformUn { op: u, .. } if *u == Un::Exp => {
                    *u = Un::FastExp
                }
                _ => {}
            }
        }
        self.row = self.ops.iter().map(|&op| RowOp::from_op(op)).collect();
        if self.native.is_some() {
            self.compile_native();
        }
    }

    /// Ops calling libm (exp, log, pow, trigonometric...), the expensive ones per element.
    pub fn transcendental_count(&self) -> usize {
        self.ops
            .iter()
            .filter(|op| match op {
                Op::Bin { op, .. } => *op == Bin::Pow,
                Op::Un { op, .. } => {
                    !matches!(op, Un::Neg | Un::Not | Un::Fabs | Un::Floor | Un::Ceil)
                }
                _ => false,
            })
            .count()
    }

    /// Columns the program may touch.
    pub fn n_slots(&self) -> usize {
        self.n_slots
    }

    /// Columns whose values are the program's inputs and results (the rest are temporaries).
    pub fn n_live(&self) -> usize {
        self.n_live
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Runs the program over `buf`, which holds columns of length `n`.
    /// `buf.len()` must cover every slot the program names for `n` instances (checked once here;
    /// `MechanismInstances` owns a buffer of `n_slots * n`).
    pub fn run(&self, buf: &mut [f64], n: usize) {
        if n == 0 {
            return;
        }
        if buf.len() < self.n_slots * n {
            // Unreachable through `CompiledMechanism` (its instances are sized for every program).
            debug_assert!(
                false,
                "buffer of {} for {} slots x {n}",
                buf.len(),
                self.n_slots
            );
            return;
        }
        if let Some((_, entry)) = self.native.as_ref().filter(|_| self.io.is_empty()) {
            let groups = n / 4;
            if groups > 0 {
                // SAFETY: `buf` covers `n_slots` columns of `n` (checked above), `4 * groups <= n`.
                // The entry's program is alive: `self.native` holds it.
                unsafe { entry.run(buf, n, groups) };
                for i in groups * 4..n {
                    self.run_row(buf, n, i);
                }
                return;
            }
        }
        self.run_bytecode(buf, n);
    }

    /// Loads, the ops, then scatters ([`Io`]) over `buf` (columns of length `n`) and the node
    /// arrays of `arrays`. Refused (false, nothing run) when `buf` is short, an array the
    /// [`Io`] names is missing (or read-only for a scatter), or a node column holds an index
    /// past its arrays' ends.
    pub fn run_io(&self, buf: &mut [f64], n: usize, arrays: &mut IoArrays<'_>) -> bool {
        if n == 0 {
            return true;
        }
        if buf.len() < self.n_slots * n || !self.io_fits(buf, n, arrays) {
            return false;
        }
        // SAFETY: just checked.
        unsafe { self.run_io_unchecked(buf, n, arrays) };
        true
    }

    /// [`run_io`](Self::run_io) without its checks, for a caller that made them once (its node
    /// columns never change) and checks only the arrays' lengths per call
    /// ([`IoArrays::min_len`]).
    ///
    /// # Safety
    /// `buf` must hold every slot for `n` lanes, every array the [`Io`] names must be in
    /// `arrays` (writable where scattered to), and every lane's node index must be inside the
    /// arrays loaded or scattered through its column (or be [`NO_NODE`] for scatters).
    pub unsafe fn run_io_unchecked(&self, buf: &mut [f64], n: usize, arrays: &mut IoArrays<'_>) {
        if let Some((_, entry)) = self
            .native
            .as_ref()
            .filter(|_| n.is_multiple_of(4) && n > 0)
        {
            // SAFETY: as the caller guarantees; the arrays are distinct live borrows
            // (`IoArrays`), none of them `buf`.
            unsafe { entry.run_io(buf, n, n / 4, arrays.ptr.as_ptr()) };
            return;
        }
        let node = |buf: &[f64], s: Slot, i: usize| buf[s as usize * n + i].to_bits();
        for l in &self.io.loads {
            for i in 0..n {
                let k = node(buf, l.node, i) as usize;
                // SAFETY: `k` is below the array's length (the caller's guarantee).
                buf[l.dst as usize * n + i] = unsafe { *arrays.ptr[l.array as usize].add(k) };
            }
        }
        self.run_interpreted(buf, n);
        for s in &self.io.scatters {
            for i in 0..n {
                let k = node(buf, s.node, i);
                if k == NO_NODE.to_bits() {
                    continue;
                }
                let x = buf[s.src as usize * n + i];
                // SAFETY: `k` is below the length of the array, which is writable (the
                // caller's guarantee).
                unsafe {
                    let at = arrays.ptr[s.array as usize].add(k as usize);
                    *at = if s.add { *at + x } else { x };
                }
            }
        }
    }

    /// The machine code of an [`Io`] program on groups `groups` (of 4 lanes) of a buffer given by
    /// pointer: two threads may run disjoint groups of one buffer at once. False (nothing run)
    /// without machine code.
    ///
    /// # Safety
    /// As for [`run_io_unchecked`](Self::run_io_unchecked) with `base` the buffer of `n` lanes
    /// per column (valid for every slot), `groups.end <= n / 4`, and no other thread touching
    /// those groups' lanes, or the nodes they load from and scatter to, meanwhile.
    pub unsafe fn run_io_groups(
        &self,
        base: *mut f64,
        n: usize,
        groups: std::ops::Range<usize>,
        arrays: &IoArrays<'_>,
    ) -> bool {
        let Some((_, entry)) = &self.native else {
            return false;
        };
        if groups.is_empty() {
            return true;
        }
        // SAFETY: as the caller guarantees; group `g` starts at lane `4 * g` of every column.
        unsafe {
            entry.run_io_raw(
                base.add(4 * groups.start),
                n,
                groups.len(),
                arrays.ptr.as_ptr(),
            );
        }
        true
    }

    /// Whether every array the [`Io`] names is given (writable where scattered to) and every
    /// lane's node index is inside the arrays loaded or scattered through its column.
    fn io_fits(&self, buf: &[f64], n: usize, arrays: &IoArrays<'_>) -> bool {
        let inside = |node: Slot, array: u8, scatter: bool| {
            let a = array as usize;
            if a >= arrays.count || (scatter && !arrays.writable(a)) {
                return false;
            }
            let column = &buf[node as usize * n..node as usize * n + n];
            column.iter().all(|x| {
                let k = x.to_bits();
                (scatter && k == NO_NODE.to_bits()) || k < arrays.min_len as u64
            })
        };
        let loads = self.io.loads.iter().all(|l| inside(l.node, l.array, false));
        let scatters = self
            .io
            .scatters
            .iter()
            .all(|s| inside(s.node, s.array, true));
        loads && scatters && self.runs_fit(buf, n)
    }

    /// Whether each group the runs column marks scatters, through every scatter's node column,
    /// to the four consecutive nodes it names (so the vector path writes what the lanes would).
    fn runs_fit(&self, buf: &[f64], n: usize) -> bool {
        let Some(runs) = self.io.runs else {
            return true;
        };
        let at = |s: Slot, i: usize| buf[s as usize * n + i].to_bits();
        (0..n / 4).all(|g| {
            let first = at(runs, 4 * g);
            first == NO_NODE.to_bits()
                || self
                    .io
                    .scatters
                    .iter()
                    .all(|s| (0..4).all(|j| at(s.node, 4 * g + j) == first.wrapping_add(j as u64)))
        })
    }

    /// The interpreter: chunk mode where whole chunks fit, row mode for the rest.
    fn run_bytecode(&self, buf: &mut [f64], n: usize) {
        let chunked = match n {
            SMALL_CHUNK | SMALL_CHUNK_2 => n,
            _ => n / CHUNK * CHUNK,
        };
        if chunked > 0 {
            self.run_chunked(buf, n, chunked);
        }
        for i in chunked..n {
            self.run_row(buf, n, i);
        }
    }
}

/// Chunk mode: the whole program runs over one fixed-width chunk of instances at a time, each op
/// a fully unrolled pass over the chunk (no loop control, no remainder) whose columns stay in L1
/// cache from the first op to the last. `n` = 4 or 8 runs as one chunk; otherwise every whole
/// chunk of [`CHUNK`] instances does, and the rest run in row mode. Callers pad their instance
/// count to [`padded_len`] (the extra lanes compute copies of a real instance's values).
pub const CHUNK: usize = 16;
/// The chunk width for 2 to 4 instances (one AVX2 vector).
pub const SMALL_CHUNK: usize = 4;
/// The chunk width for 5 to 8 instances.
pub const SMALL_CHUNK_2: usize = 2 * SMALL_CHUNK;

/// The instance count to allocate for `n` real instances so that [`Program::run`] takes chunk
/// mode: 4 for 2 to 4, 8 for 5 to 8, else the next multiple of `CHUNK`. A single instance stays
/// alone (row mode is cheaper than computing 4 lanes for it).
pub fn padded_len(n: usize) -> usize {
    match n {
        0..=1 => n,
        2..=SMALL_CHUNK => SMALL_CHUNK,
        5..=SMALL_CHUNK_2 => SMALL_CHUNK_2,
        _ => n.div_ceil(CHUNK) * CHUNK,
    }
}

impl Program {
    /// Chunk mode over lanes `0..lanes` (`lanes` a multiple of the width it picks, at most `n`).
    fn run_chunked(&self, buf: &mut [f64], n: usize, lanes: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: only requires AVX2 and FMA, just detected; same operations as the generic
            // path (only explicit `mul_add`s fuse), so the same bits.
            unsafe {
                match lanes {
                    SMALL_CHUNK => self.chunks_avx2::<SMALL_CHUNK>(buf, n, lanes),
                    SMALL_CHUNK_2 => self.chunks_avx2::<SMALL_CHUNK_2>(buf, n, lanes),
                    _ => self.chunks_avx2::<CHUNK>(buf, n, lanes),
                }
            };
            return;
        }
        match lanes {
            SMALL_CHUNK => self.chunks::<SMALL_CHUNK>(buf, n, lanes),
            SMALL_CHUNK_2 => self.chunks::<SMALL_CHUNK_2>(buf, n, lanes),
            _ => self.chunks::<CHUNK>(buf, n, lanes),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn chunks_avx2<const W: usize>(&self, buf: &mut [f64], n: usize, lanes: usize) {
        self.chunks::<W>(buf, n, lanes);
    }

    /// The program over instances `c..c + W` for each chunk start `c < lanes` (`lanes` a
    /// multiple of `W` and at most `n`; `buf` at least `n_slots * n` long: checked by `run`).
    #[inline(always)]
    fn chunks<const W: usize>(&self, buf: &mut [f64], n: usize, lanes: usize) {
        let base = buf.as_mut_ptr();
        for c in (0..lanes).step_by(W) {
            // SAFETY: every slot is below `n_slots` (Program::new) and `c + W <= n`, so each
            // `[f64; W]` lies inside the buffer; a destination never equals one of its op's
            // sources, so the `&mut` chunk never overlaps a `&` chunk alive at the same time.
            let at = |s: Slot| unsafe { base.add(s as usize * n + c) as *mut [f64; W] };
            for op in &self.ops {
                unsafe {
                    match *op {
                        Op::Bin { op, d, a, b } => bin_w(op, &mut *at(d), &*at(a), &*at(b)),
                        Op::Un { op, d, a } => un_w(op, &mut *at(d), &*at(a)),
                        Op::Select { d, m, a, b } => {
                            let (x, m, p, q) = (&mut *at(d), &*at(m), &*at(a), &*at(b));
                            for i in 0..W {
                                x[i] = if m[i] != 0.0 { p[i] } else { q[i] };
                            }
                        }
                        Op::Copy { d, a } => *at(d) = *at(a),
                        Op::UniformBin { op, d, a, b } => {
                            *at(d) = [op.eval((*at(a))[0], (*at(b))[0]); W]
                        }
                        Op::UniformUn { op, d, a } => *at(d) = [op.eval((*at(a))[0]); W],
                        Op::BinCK { op, d, a, k } => bin_w(op, &mut *at(d), &*at(a), &[k; W]),
                        Op::BinKC { op, d, k, b } => bin_w(op, &mut *at(d), &[k; W], &*at(b)),
                        Op::Fill { d, k } => *at(d) = [k; W],
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn bin_w<const W: usize>(op: Bin, d: &mut [f64; W], a: &[f64; W], b: &[f64; W]) {
    macro_rules! each {
        ($f:expr) => {
            for i in 0..W {
                d[i] = $f(a[i], b[i]);
            }
        };
    }
    match op {
        Bin::Add => each!(|p: f64, q: f64| p + q),
        Bin::Sub => each!(|p: f64, q: f64| p - q),
        Bin::Mul => each!(|p: f64, q: f64| p * q),
        Bin::Div => each!(|p: f64, q: f64| p / q),
        Bin::Lt => each!(|p: f64, q: f64| f64::from(p < q)),
        Bin::Gt => each!(|p: f64, q: f64| f64::from(p > q)),
        other => each!(|p, q| other.eval(p, q)),
    }
}

#[inline(always)]
fn un_w<const W: usize>(op: Un, d: &mut [f64; W], a: &[f64; W]) {
    macro_rules! each {
        ($f:expr) => {
            for i in 0..W {
                d[i] = $f(a[i]);
            }
        };
    }
    match op {
        Un::Neg => each!(|p: f64| -p),
        Un::Exp => each!(f64::exp),
        Un::FastExp => each!(fast_exp),
        Un::Fabs => each!(f64::abs),
        Un::Not => each!(|p: f64| f64::from(p == 0.0)),
        other => each!(|p| other.eval(p)),
    }
}

impl Program {
    /// Runs the program for instance `i` alone (e.g. an event delivered to one synapse).
    pub fn run_one(&self, buf: &mut [f64], n: usize, i: usize) {
        if i < n {
            self.run_row(buf, n, i);
        }
    }

    /// All ops for instance `i` only (columns have stride `n`).
    fn run_row(&self, buf: &mut [f64], n: usize, i: usize) {
        let at = |s: Slot| s as usize * n + i;
        // `x - k` is stored as `x + (-k)`: exact in IEEE arithmetic, so results do not change.
        for op in &self.row {
            match *op {
                RowOp::Add(d, a, b) => buf[at(d)] = buf[at(a)] + buf[at(b)],
                RowOp::Sub(d, a, b) => buf[at(d)] = buf[at(a)] - buf[at(b)],
                RowOp::Mul(d, a, b) => buf[at(d)] = buf[at(a)] * buf[at(b)],
                RowOp::Div(d, a, b) => buf[at(d)] = buf[at(a)] / buf[at(b)],
                RowOp::AddK(d, a, k) => buf[at(d)] = buf[at(a)] + k,
                RowOp::MulK(d, a, k) => buf[at(d)] = buf[at(a)] * k,
                RowOp::DivK(d, a, k) => buf[at(d)] = buf[at(a)] / k,
                RowOp::KSub(d, k, b) => buf[at(d)] = k - buf[at(b)],
                RowOp::KDiv(d, k, b) => buf[at(d)] = k / buf[at(b)],
                RowOp::Exp(d, a) => buf[at(d)] = buf[at(a)].exp(),
                RowOp::Neg(d, a) => buf[at(d)] = -buf[at(a)],
                RowOp::Copy(d, a) => buf[at(d)] = buf[at(a)],
                RowOp::Generic(op) => Self::row_generic(op, buf, n, i),
            }
        }
    }

    #[inline(always)]
    fn row_generic(op: Op, buf: &mut [f64], n: usize, i: usize) {
        let at = |s: Slot| s as usize * n + i;
        match op {
            Op::Bin { op, d, a, b } | Op::UniformBin { op, d, a, b } => {
                buf[at(d)] = op.eval(buf[at(a)], buf[at(b)]);
            }
            Op::Un { op, d, a } | Op::UniformUn { op, d, a } => buf[at(d)] = op.eval(buf[at(a)]),
            Op::Select { d, m, a, b } => {
                buf[at(d)] = if buf[at(m)] != 0.0 {
                    buf[at(a)]
                } else {
                    buf[at(b)]
                };
            }
            Op::Copy { d, a } => buf[at(d)] = buf[at(a)],
            Op::BinCK { op, d, a, k } => buf[at(d)] = op.eval(buf[at(a)], k),
            Op::BinKC { op, d, k, b } => buf[at(d)] = op.eval(k, buf[at(b)]),
            Op::Fill { d, k } => buf[at(d)] = k,
        }
    }
}

/// The Taylor coefficients 1/i! of [`fast_exp`]'s polynomial, i = 0..=13.
pub const EXP_COEFFS: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];
/// 1.5 * 2^52: adding it rounds a double to an integer.
pub const EXP_SHIFT: f64 = 6755399441055744.0;
/// ln 2 with 32 trailing zero bits (so `k * EXP_LN2_HI` is exact).
pub const EXP_LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 - [`EXP_LN2_HI`].
pub const EXP_LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// exp(x) without a libm call, in operations a vector unit has: Cody-Waite reduction
/// `x = k ln2 + r`, |r| <= ln2/2, the degree-13 Taylor polynomial of e^r (truncation below
/// 1e-17 relative) in Estrin's scheme (short dependency chains: the terms are independent
/// until four fused multiply-adds join them), and 2^k built from exponent bits in two halves
/// so that results down to the subnormal range are right. Within 2 ulp of glibc's
/// correctly-rounded `exp` (see the test); NaN in gives NaN, +inf gives inf, -inf gives 0.
/// [`super::jit`] emits exactly these operations, so both give the same bits.
#[inline(always)]
pub fn fast_exp(x: f64) -> f64 {
    let c = EXP_COEFFS;
    let x = x.clamp(-745.2, 709.8);
    let k = x.mul_add(std::f64::consts::LOG2_E, EXP_SHIFT) - EXP_SHIFT;
    let r = (-k).mul_add(EXP_LN2_HI, x);
    let r = (-k).mul_add(EXP_LN2_LO, r);
    let r2 = r * r;
    let hi = c[13].mul_add(r, c[12]);
    let hi = hi.mul_add(r2, c[11].mul_add(r, c[10])); // terms 10..13
    let mid = c[9].mul_add(r, c[8]).mul_add(r2, c[7].mul_add(r, c[6])); // 6..9
    let r4 = r2 * r2;
    let hi = hi.mul_add(r4, mid); // 6..13, over r^6
    let r6 = r4 * r2;
    let lo = c[5].mul_add(r, c[4]).mul_add(r2, c[3].mul_add(r, c[2])); // 2..5
    let lo = lo.mul_add(r2, c[1].mul_add(r, c[0])); // 0..5
    let p = hi.mul_add(r6, lo);
    // 2^k = 2^k1 * 2^k2 with k1 = round(k/2): each half is a normal number for k in [-1075, 1025].
    let k1 = (k * 0.5 + EXP_SHIFT) - EXP_SHIFT;
    let k2 = k - k1;
    let pow2 = |m: f64| f64::from_bits((m + (1023.0 + EXP_SHIFT)).to_bits() << 52);
    p * pow2(k1) * pow2(k2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_run_over_all_columns() {
        // slots: 0 = a, 1 = b, 2 = a+b, 3 = exp(a), 4 = select(a<b, a, b)
        let ops = vec![
            Op::Bin {
                op: Bin::Add,
                d: 2,
                a: 0,
                b: 1,
            },
            Op::Un {
                op: Un::Exp,
                d: 3,
                a: 0,
            },
            Op::Bin {
                op: Bin::Lt,
                d: 5,
                a: 0,
                b: 1,
            },
            Op::Select {
                d: 4,
                m: 5,
                a: 0,
                b: 1,
            },
        ];
        let p = Program::new(ops, 6, 6).unwrap();
        let n = 3;
        let mut buf = vec![0.0; 6 * n];
        buf[0..3].copy_from_slice(&[1.0, 5.0, -1.0]);
        buf[3..6].copy_from_slice(&[2.0, 4.0, -2.0]);
        p.run(&mut buf, n);
        assert_eq!(&buf[6..9], &[3.0, 9.0, -3.0]);
        assert_eq!(buf[9], 1f64.exp());
        assert_eq!(&buf[12..15], &[1.0, 4.0, -2.0]);
    }

    #[test]
    fn fast_exp_is_within_two_ulp_of_libm() {
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        let mut worst = 0;
        let mut x = -745.0;
        while x < 709.7 {
            let (f, e) = (fast_exp(x), x.exp());
            worst = worst.max(if e == 0.0 {
                u64::from(f != 0.0)
            } else {
                ulps(f, e)
            });
            x += 0.000_731;
        }
        eprintln!("fast_exp: max {worst} ulp from libm exp over [-745, 709.7]");
        assert!(worst <= 2, "max ulp error {worst}");
        assert_eq!(fast_exp(0.0), 1.0);
        assert!(fast_exp(f64::NAN).is_nan());
        assert_eq!(fast_exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(fast_exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(fast_exp(710.0), f64::INFINITY);
    }

    #[test]
    fn aliasing_is_rejected() {
        assert!(Program::new(
            vec![Op::Bin {
                op: Bin::Add,
                d: 0,
                a: 0,
                b: 1
            }],
            2,
            2
        )
        .is_err());
        assert!(Program::new(vec![Op::Copy { d: 3, a: 0 }], 2, 2).is_err());
    }
}
