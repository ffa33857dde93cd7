//! Native code for bytecode programs: an x86-64 AVX2/FMA translation of a
//! [`Program`](super::bytecode::Program), eight instances per loop iteration, values kept in
//! vector registers across the whole program.
//!
//! Owns the machine-code encoder, the register allocator and the executable memory. The
//! interpreter in [`super::bytecode`] runs every op as a pass over memory; here each op becomes
//! one or a few `ymm` instructions on values that stay in registers from the op that defines them
//! to the last op that reads them (furthest-next-use eviction to stack spill slots), so a program
//! costs about one instruction per op and four instances. Same operations in the same order as
//! the interpreter's chunk mode (no FMA contraction but [`fast_exp`](super::bytecode::fast_exp)'s
//! own fused multiply-adds), so results are bit-identical to it (the tests compare random
//! programs of every op kind and every real mechanism). Operations the vector unit lacks (libm's
//! exp, log, pow, trigonometry, min/max with Rust's NaN rules) call back into Rust for four lanes
//! at a time.
//!
//! Uniform ops (those the compiler proved lane-independent: their inputs are literals, `t`,
//! `dt`, `celsius` or GLOBALs, which hold one value in every lane) run once per call, before
//! the loop over groups, where the interpreter runs them once per chunk of lanes.
//!
//! Two functions per program, one taking 8 lanes (two groups of 4, each op emitted for both
//! side by side so that the CPU overlaps their dependency chains) per iteration and one taking
//! 4 for an odd last group. Calling convention: `(base, stride_bytes, iterations, pool,
//! arrays)`: column `s` of the first group starts at `base + s * stride_bytes`; `pool` holds the
//! program's literals, each repeated 4 times; `arrays` the base pointers of the node arrays a
//! program with [`Io`] loads from and scatters to, which the loop does for each group before
//! and after its ops. A uniform call-out remembers its last operands and result per call site
//! (a per-thread memo), so `pow(q10, ...)` of unchanged GLOBALs costs one libm call per run. Only slots below the program's live count are read from or
//! written to the columns; temporaries live in registers or in the function's stack frame. The
//! generated code and its memory are owned by [`NativeProgram`] (mapped writable, filled, then
//! remapped read+execute; unmapped on drop); [`NativeEntry`] is its callable part. This is the
//! crate's only runtime code generation; every `unsafe` block here states what it relies on.

use super::bytecode::{Bin, Io, Op, Slot, Un, EXP_COEFFS, EXP_LN2_HI, EXP_LN2_LO, EXP_SHIFT};

/// Name `code` in `/tmp/perf-<pid>.map`, the file `perf report` reads to name generated code
/// (set `BMTOOL_PERF_MAP=1` when profiling; see docs/performance.md). Best effort: a file that
/// cannot be written only leaves the code unnamed.
pub fn perf_map(name: &str, code: &[u8]) {
    use std::io::Write;
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let line = format!(
        "{:x} {:x} nmodl:{name}\n",
        code.as_ptr() as usize,
        code.len()
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Registers the allocator hands out (`ymm0`..`ymm9`); `ymm10`..`ymm15` are scratch.
const N_REGS: usize = 10;
const S10: u8 = 10;
const S11: u8 = 11;
const S12: u8 = 12;
const S13: u8 = 13;
const S14: u8 = 14;
const S15: u8 = 15;

// vcmppd predicates with Rust's comparison semantics (false on NaN, `!=` true on NaN).
const CMP_EQ_OQ: u8 = 0x00;
const CMP_LT_OS: u8 = 0x01;
const CMP_LE_OS: u8 = 0x02;
const CMP_NEQ_UQ: u8 = 0x04;
const CMP_GE_OS: u8 = 0x0D;
const CMP_GT_OS: u8 = 0x0E;

/// Where an operand of a vector instruction lives.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rm {
    /// `ymm` register.
    Reg(u8),
    /// `[rbx + rax + 32 * group]`: a column of the group of 4 lanes `group` of this
    /// iteration, `rax` = slot * stride loaded just before.
    Col(u8),
    /// `[rsp + off]`: a temporary's spill slot.
    Spill(u32),
    /// `[r14 + off]`: a literal in the pool.
    Pool(u32),
}

/// x86-64 machine code under construction.
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
}

impl Asm {
    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }

    fn imm32(&mut self, x: u32) {
        self.bytes(&x.to_le_bytes());
    }

    /// Three-byte VEX prefix, opcode, ModRM (+ SIB / displacement) for `reg, vvvv, rm`.
    #[allow(clippy::too_many_arguments)]
    fn vex(&mut self, map: u8, w: bool, l256: bool, reg: u8, vvvv: u8, rm: Rm, opcode: u8) {
        let b_ext = match rm {
            Rm::Reg(r) => r >> 3,
            Rm::Pool(_) => 1, // r14
            Rm::Col(_) | Rm::Spill(_) => 0,
        };
        let r_ext = reg >> 3;
        let byte1 = ((r_ext ^ 1) << 7) | (1 << 6) | ((b_ext ^ 1) << 5) | map;
        let byte2 = (u8::from(w) << 7) | ((!vvvv & 0xF) << 3) | (u8::from(l256) << 2) | 0b01; // pp = 66
        self.bytes(&[0xC4, byte1, byte2, opcode]);
        let reg3 = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => self.bytes(&[0xC0 | reg3 | (r & 7)]),
            // SIB: base rbx, index rax, scale 1 (and an 8-bit displacement past group 0)
            Rm::Col(0) => self.bytes(&[reg3 | 0b100, 0x03]),
            Rm::Col(g) => self.bytes(&[0x40 | reg3 | 0b100, 0x03, 32 * g]),
            Rm::Spill(off) => {
                self.bytes(&[0x80 | reg3 | 0b100, 0x24]); // SIB: base rsp, no index
                self.imm32(off);
            }
            Rm::Pool(off) => {
                self.bytes(&[0x80 | reg3 | 0b110]); // base r14 (with VEX.B)
                self.imm32(off);
            }
        }
    }

    /// `op ymm_d, ymm_a, rm` in the 0F map (add, sub, mul, div, and, or, xor, min, max...).
    fn v3(&mut self, opcode: u8, d: u8, a: u8, rm: Rm) {
        self.vex(1, false, true, d, a, rm, opcode);
    }

    fn load(&mut self, d: u8, rm: Rm) {
        self.vex(1, false, true, d, 0, rm, 0x10); // vmovupd
    }

    fn store(&mut self, rm: Rm, s: u8) {
        self.vex(1, false, true, s, 0, rm, 0x11); // vmovupd
    }

    fn cmp(&mut self, d: u8, a: u8, rm: Rm, pred: u8) {
        self.vex(1, false, true, d, a, rm, 0xC2); // vcmppd
        self.bytes(&[pred]);
    }

    /// `d = mask ? b : a` per lane (vblendvpd).
    fn blend(&mut self, d: u8, a: u8, b: u8, mask: u8) {
        self.vex(3, false, true, d, a, Rm::Reg(b), 0x4B);
        self.bytes(&[mask << 4]);
    }

    fn round(&mut self, d: u8, a: u8, mode: u8) {
        self.vex(3, false, true, d, 0, Rm::Reg(a), 0x09); // vroundpd
        self.bytes(&[mode]);
    }

    fn sqrt(&mut self, d: u8, a: u8) {
        self.vex(1, false, true, d, 0, Rm::Reg(a), 0x51);
    }

    /// Lane 0 of `a` into every lane of `d` (vbroadcastsd ymm, xmm).
    fn broadcast(&mut self, d: u8, a: u8) {
        self.vex(2, false, true, d, 0, Rm::Reg(a), 0x19);
    }

    /// `op d, a, rm` in the 0F38 map with W1: the packed-double fused multiply-adds.
    fn fma(&mut self, opcode: u8, d: u8, a: u8, rm: Rm) {
        self.vex(2, true, true, d, a, rm, opcode);
    }

    /// Each 64-bit lane of `a` shifted left by `k` (vpsllq ymm, ymm, imm8).
    fn shift_left_q(&mut self, d: u8, a: u8, k: u8) {
        self.vex(1, false, true, 6, d, Rm::Reg(a), 0x73);
        self.bytes(&[k]);
    }

    /// `rax = slot * stride` (imul rax, r12, imm32).
    fn col_offset(&mut self, slot: Slot) {
        self.bytes(&[0x49, 0x69, 0xC4]);
        self.imm32(slot);
    }

    /// `r8 = slot * stride` (imul r8, r12, imm32).
    fn col_offset_r8(&mut self, slot: Slot) {
        self.bytes(&[0x4D, 0x69, 0xC4]);
        self.imm32(slot);
    }

    /// `r10 = arrays[array]` (mov r10, [r13 + 8 * array]).
    fn array_base(&mut self, array: u8) {
        self.bytes(&[0x4D, 0x8B, 0x95]);
        self.imm32(8 * u32::from(array));
    }

    /// `r9 = lane `lane` of group `group` of the column at rax` (its node index).
    fn node_index(&mut self, group: u8, lane: u8) {
        self.bytes(&[0x4C, 0x8B, 0x4C, 0x03, 32 * group + 8 * lane]); // mov r9, [rbx+rax+d8]
    }

    /// The program's loads for group `group` of this iteration: the four lanes' node values
    /// gathered from the array (vgatherqpd: bits unchanged) and stored to the destination
    /// column as one vector, which the program's own vector loads then read straight from the
    /// store buffer.
    fn loads(&mut self, io: &Io, group: u8) {
        for l in &io.loads {
            self.col_offset(l.node);
            self.load(S14, Rm::Col(group)); // node indices
            self.vex(1, false, true, S13, S13, Rm::Reg(S13), 0x76); // vpcmpeqd: all-ones mask
            self.array_base(l.array);
            self.bytes(&[0xC4, 0x02, 0x95, 0x93, 0x3C, 0xF2]); // vgatherqpd ymm15, [r10+ymm14*8], ymm13
            self.col_offset(l.dst);
            self.store(Rm::Col(group), S15);
        }
    }

    /// The program's scatters for group `group`: `array[node] = array[node] + x` (vaddsd) or
    /// `= x` lane by lane, skipping [`NO_NODE`] lanes (negative as an integer); a group the
    /// runs column marks as four consecutive nodes goes as one vector (vaddpd: the same sums).
    ///
    /// [`NO_NODE`]: super::bytecode::NO_NODE
    fn scatters(&mut self, io: &Io, group: u8) {
        for s in &io.scatters {
            self.col_offset_r8(s.src);
            self.array_base(s.array);
            let mut done = None;
            if let Some(runs) = io.runs {
                self.col_offset(runs);
                self.node_index(group, 0);
                self.bytes(&[0x4D, 0x85, 0xC9]); // test r9, r9
                self.bytes(&[0x0F, 0x88, 0, 0, 0, 0]); // js lanes
                let to_lanes = self.code.len() - 4;
                let disp = 32 * group;
                if s.add {
                    self.bytes(&[0xC4, 0x01, 0x7D, 0x10, 0x3C, 0xCA]); // vmovupd ymm15, [r10+r9*8]
                    self.bytes(&[0xC4, 0x21, 0x05, 0x58, 0x7C, 0x03, disp]); // vaddpd ymm15, ymm15, [rbx+r8+d8]
                } else {
                    self.bytes(&[0xC4, 0x21, 0x7D, 0x10, 0x7C, 0x03, disp]); // vmovupd ymm15, [rbx+r8+d8]
                }
                self.bytes(&[0xC4, 0x01, 0x7D, 0x11, 0x3C, 0xCA]); // vmovupd [r10+r9*8], ymm15
                self.bytes(&[0xE9, 0, 0, 0, 0]); // jmp done
                done = Some(self.code.len() - 4);
                let here = self.code.len();
                self.patch_rel32(to_lanes, here);
            }
            self.col_offset(s.node);
            for lane in 0..4 {
                let disp = 32 * group + 8 * lane;
                let body: &[u8] = if s.add {
                    &[
                        0xC4, 0x01, 0x7B, 0x10, 0x3C, 0xCA, // vmovsd xmm15, [r10+r9*8]
                        0xC4, 0x21, 0x03, 0x58, 0x7C, 0x03,
                        disp, // vaddsd xmm15, xmm15, [rbx+r8+d8]
                        0xC4, 0x01, 0x7B, 0x11, 0x3C, 0xCA, // vmovsd [r10+r9*8], xmm15
                    ]
                } else {
                    &[
                        0x4E, 0x8B, 0x5C, 0x03, disp, // mov r11, [rbx+r8+d8]
                        0x4F, 0x89, 0x1C, 0xCA, // mov [r10+r9*8], r11
                    ]
                };
                self.node_index(group, lane);
                self.bytes(&[0x4D, 0x85, 0xC9]); // test r9, r9
                self.bytes(&[0x78, body.len() as u8]); // js past the body
                self.bytes(body);
            }
            if let Some(at) = done {
                let here = self.code.len();
                self.patch_rel32(at, here);
            }
        }
    }

    fn patch_rel32(&mut self, at: usize, target: usize) {
        let rel = target as i64 - (at as i64 + 4);
        self.code[at..at + 4].copy_from_slice(&(rel as i32).to_le_bytes());
    }
}

const OP_ADD: u8 = 0x58;
const OP_MUL: u8 = 0x59;
const OP_SUB: u8 = 0x5C;
const OP_DIV: u8 = 0x5E;
const OP_MIN: u8 = 0x5D;
const OP_MAX: u8 = 0x5F;
const OP_AND: u8 = 0x54;
const OP_OR: u8 = 0x56;
const OP_XOR: u8 = 0x57;
/// `d = a * d + rm`.
const FMADD213: u8 = 0xA8;
/// `d = a * rm + d`.
const FMADD231: u8 = 0xB8;
/// `d = -(a * rm) + d`.
const FNMADD231: u8 = 0xBC;

/// Literals, each stored as 4 equal lanes, deduplicated by bit pattern.
#[derive(Default)]
struct Pool {
    values: Vec<f64>,
}

impl Pool {
    fn at(&mut self, k: f64) -> Rm {
        let i = match self.values.iter().position(|x| x.to_bits() == k.to_bits()) {
            Some(i) => i,
            None => {
                self.values.push(k);
                self.values.len() - 1
            }
        };
        Rm::Pool((i * 32) as u32)
    }
}

/// An operand: a value or a literal.
#[derive(Clone, Copy)]
enum Src {
    Value(usize),
    Lit(f64),
}

/// One value of the program in SSA form: a column's input, or what one op defines.
struct Value {
    slot: Slot,
    /// Lives in a column (slot below the live count); otherwise a temporary.
    column: bool,
    /// Which group of 4 lanes of an iteration it belongs to.
    group: u8,
    /// Emission positions reading it, ascending, and a cursor past those emitted.
    uses: Vec<u32>,
    cursor: usize,
    reg: Option<u8>,
    /// Its home (column or spill slot) holds it.
    in_memory: bool,
    /// Stack offset of a temporary's spill slot, once it needs one.
    spill: Option<u32>,
}

/// The program renamed to values and put in emission order: uniform ops first (the prelude,
/// run once), then the rest (the loop body, run per group of 4 lanes).
struct Plan {
    ops: Vec<Op>,
    /// Per emitted op: its source values and its destination value.
    srcs: Vec<Vec<usize>>,
    dst: Vec<usize>,
    /// Per emitted op: the value of the same column it replaces, if any (dead from then on).
    replaces: Vec<Option<usize>>,
    /// Ops before this position form the prelude.
    prelude: usize,
}

fn is_uniform(op: &Op) -> bool {
    matches!(op, Op::UniformBin { .. } | Op::UniformUn { .. })
}

impl Plan {
    /// Renames slots to values in program order, then moves uniform ops that read only inputs
    /// and other moved results first. Moving them is sound: those inputs are literals,
    /// `t`/`dt`/`celsius` or unwritten GLOBALs, which no program writes, and a uniform op's
    /// destination is a temporary. (A uniform op may also read a uniform value made by another
    /// kind of op, e.g. a Select of two GLOBALs; it then stays in place.)
    ///
    /// With `groups` = 2 every op but the hoisted ones is renamed once per group of 4 lanes, the
    /// copies side by side: two independent instruction streams for the CPU to overlap.
    fn new(
        ops: &[Op],
        n_slots: usize,
        (n_live, live_from): (usize, usize),
        groups: usize,
        values: &mut Vec<Value>,
    ) -> Self {
        let mut current: Vec<Vec<Option<usize>>> = vec![vec![None; n_slots]; groups];
        let new_value = |values: &mut Vec<Value>, slot: Slot, in_memory: bool, group: usize| {
            values.push(Value {
                slot,
                column: (slot as usize) < n_live || slot as usize >= live_from,
                group: group as u8,
                uses: Vec::new(),
                cursor: 0,
                reg: None,
                in_memory,
                spill: None,
            });
            values.len() - 1
        };
        let mut renamed = Vec::with_capacity(ops.len() * groups);
        // Values a hoisted op may read: inputs and results of hoisted ops.
        let mut before_loop: Vec<bool> = Vec::new();
        for op in ops {
            for g in 0..groups {
                let srcs: Vec<usize> = op
                    .sources()
                    .into_iter()
                    .flatten()
                    .map(|s| match current[g][s as usize] {
                        Some(v) => v,
                        None => {
                            let v = new_value(values, s, true, g);
                            current[g][s as usize] = Some(v);
                            v
                        }
                    })
                    .collect();
                before_loop.resize(values.len(), true);
                let hoist = is_uniform(op) && srcs.iter().all(|&s| before_loop[s]);
                let d = op.dst();
                let replaces = current[g][d as usize].filter(|&v| values[v].column);
                if let Some(old) = replaces.filter(|&v| !values[v].in_memory) {
                    // Overwritten within the pass: its value never needs to reach the column.
                    values[old].column = false;
                }
                let v = new_value(values, d, false, g);
                before_loop.push(hoist);
                renamed.push((*op, srcs, v, replaces, hoist));
                if hoist {
                    // One value for every group.
                    for cur in current.iter_mut() {
                        cur[d as usize] = Some(v);
                    }
                    break;
                }
                current[g][d as usize] = Some(v);
            }
        }
        let (pre, body): (Vec<_>, Vec<_>) = renamed.into_iter().partition(|r| r.4);
        let prelude = pre.len();
        let mut plan = Plan {
            ops: Vec::new(),
            srcs: Vec::new(),
            dst: Vec::new(),
            replaces: Vec::new(),
            prelude,
        };
        for (pos, (op, srcs, d, replaces, _)) in pre.into_iter().chain(body).enumerate() {
            for &s in &srcs {
                if values[s].uses.last() != Some(&(pos as u32)) {
                    values[s].uses.push(pos as u32);
                }
            }
            plan.ops.push(op);
            plan.srcs.push(srcs);
            plan.dst.push(d);
            plan.replaces.push(replaces);
        }
        plan
    }
}

/// Builds the machine code of one program.
struct Gen {
    asm: Asm,
    pool: Pool,
    values: Vec<Value>,
    reg_value: [Option<usize>; N_REGS],
    /// Bytes of stack frame handed out to spill slots.
    frame: u32,
}

impl Gen {
    /// The next emission position at or after `from` reading value `v`.
    fn next_use(&self, v: usize, from: usize) -> Option<usize> {
        let val = &self.values[v];
        val.uses[val.cursor..]
            .iter()
            .map(|&p| p as usize)
            .find(|&p| p >= from)
    }

    fn advance(&mut self, v: usize, past: usize) {
        let val = &mut self.values[v];
        while val.cursor < val.uses.len() && (val.uses[val.cursor] as usize) <= past {
            val.cursor += 1;
        }
    }

    /// The memory home of a value (for a column, `rax` is loaded with its offset first).
    fn home(&mut self, v: usize) -> Rm {
        if self.values[v].column {
            self.asm.col_offset(self.values[v].slot);
            return Rm::Col(self.values[v].group);
        }
        let off = match self.values[v].spill {
            Some(off) => off,
            None => {
                let off = self.frame;
                self.frame += 32;
                self.values[v].spill = Some(off);
                off
            }
        };
        Rm::Spill(off)
    }

    fn free_reg(&mut self, r: u8) {
        if let Some(v) = self.reg_value[r as usize].take() {
            self.values[v].reg = None;
        }
    }

    /// Frees a register, first writing its value home if the value is not there and is needed:
    /// a column's value always (it is a result), a temporary's if read at or after `at`.
    fn evict(&mut self, r: u8, at: usize) {
        let Some(v) = self.reg_value[r as usize] else {
            return;
        };
        let needed = self.values[v].column || self.next_use(v, at).is_some();
        if !self.values[v].in_memory && needed {
            let home = self.home(v);
            self.asm.store(home, r);
            self.values[v].in_memory = true;
        }
        self.free_reg(r);
    }

    /// A register for a new value at position `at`, not one of `locked`.
    fn pick(&mut self, at: usize, locked: &[u8]) -> u8 {
        if let Some(r) =
            (0..N_REGS as u8).find(|r| self.reg_value[*r as usize].is_none() && !locked.contains(r))
        {
            return r;
        }
        // Furthest next use (never read again = infinitely far); values already home first.
        let mut best: Option<(u8, (usize, bool))> = None;
        for r in 0..N_REGS as u8 {
            let Some(v) = self.reg_value[r as usize] else {
                continue;
            };
            if locked.contains(&r) {
                continue;
            }
            let key = (
                self.next_use(v, at).unwrap_or(usize::MAX),
                self.values[v].in_memory,
            );
            if best.is_none_or(|(_, k)| key > k) {
                best = Some((r, key));
            }
        }
        let r = best.map_or(0, |b| b.0);
        self.evict(r, at);
        r
    }

    fn bind(&mut self, v: usize, r: u8) {
        self.reg_value[r as usize] = Some(v);
        self.values[v].reg = Some(r);
    }

    /// The register holding value `v` (loaded from its home if needed) at position `at`.
    fn get(&mut self, v: usize, at: usize, locked: &mut Vec<u8>) -> u8 {
        if let Some(r) = self.values[v].reg {
            locked.push(r);
            return r;
        }
        let r = self.pick(at, locked);
        let home = self.home(v);
        self.asm.load(r, home);
        self.bind(v, r);
        locked.push(r);
        r
    }

    /// Whether source `v` of the op at `at` is best read straight from memory: not in a
    /// register and not read again.
    fn read_in_place(&self, v: usize, at: usize) -> bool {
        self.values[v].reg.is_none() && self.next_use(v, at + 1).is_none()
    }

    /// The register receiving the op's result at `at`. A source register whose value dies here
    /// may be reused (every sequence reads its sources before writing its destination).
    fn def(&mut self, at: usize, plan: &Plan, locked: &[u8]) -> u8 {
        if let Some(old) = plan.replaces[at] {
            // The column's previous value is dead: nothing reads it after this op.
            if let Some(r) = self.values[old].reg {
                self.free_reg(r);
            }
        }
        for &s in &plan.srcs[at] {
            self.advance(s, at);
        }
        let reusable = plan.srcs[at].iter().find_map(|&s| {
            let r = self.values[s].reg?;
            let dies = self.next_use(s, at + 1).is_none();
            (dies && (self.values[s].in_memory || !self.values[s].column)).then_some(r)
        });
        let r = match reusable {
            Some(r) => {
                self.free_reg(r);
                r
            }
            None => self.pick(at, locked),
        };
        self.bind(plan.dst[at], r);
        r
    }

    /// After the op at `at`: registers of values never read again are freed (a column's result
    /// is written home first).
    fn release_dead(&mut self, at: usize) {
        for r in 0..N_REGS as u8 {
            if let Some(v) = self.reg_value[r as usize] {
                if self.next_use(v, at + 1).is_none() {
                    self.evict(r, at + 1);
                }
            }
        }
    }

    fn op(&mut self, at: usize, plan: &Plan) {
        let srcs = &plan.srcs[at];
        match plan.ops[at] {
            Op::Bin { op, .. } => self.bin(at, plan, op, Src::Value(srcs[0]), Src::Value(srcs[1])),
            Op::UniformBin { op, .. } => {
                self.bin(at, plan, op, Src::Value(srcs[0]), Src::Value(srcs[1]))
            }
            Op::BinCK { op, k, .. } => self.bin(at, plan, op, Src::Value(srcs[0]), Src::Lit(k)),
            Op::BinKC { op, k, .. } => self.bin(at, plan, op, Src::Lit(k), Src::Value(srcs[0])),
            Op::Un { op, .. } | Op::UniformUn { op, .. } => self.un(at, plan, op, srcs[0]),
            Op::Select { .. } => {
                let mut locked = Vec::new();
                let rm = self.get(srcs[0], at, &mut locked);
                let ra = self.get(srcs[1], at, &mut locked);
                let rb = self.get(srcs[2], at, &mut locked);
                let zero = self.pool.at(0.0);
                let rd = self.def(at, plan, &locked);
                self.asm.cmp(S15, rm, zero, CMP_NEQ_UQ);
                self.asm.blend(rd, rb, ra, S15);
            }
            Op::Copy { .. } => {
                let mut locked = Vec::new();
                let ra = self.get(srcs[0], at, &mut locked);
                let rd = self.def(at, plan, &locked);
                if rd != ra {
                    self.asm.load(rd, Rm::Reg(ra));
                }
            }
            Op::Fill { k, .. } => {
                let lit = self.pool.at(k);
                let rd = self.def(at, plan, &[]);
                self.asm.load(rd, lit);
            }
        }
        self.release_dead(at);
    }

    fn bin(&mut self, at: usize, plan: &Plan, op: Bin, a: Src, b: Src) {
        let uniform = is_uniform(&plan.ops[at]);
        if matches!(op, Bin::Pow | Bin::Min | Bin::Max) {
            return self.callout(at, plan, Callee::Bin(op), a, Some(b), uniform);
        }
        let mut locked = Vec::new();
        let mut ra = match a {
            Src::Value(v) => Rm::Reg(self.get(v, at, &mut locked)),
            Src::Lit(x) => self.pool.at(x),
        };
        // A second operand read only here stays in memory (its column offset is computed after
        // `def`, which may itself use `rax` to write a value home).
        let b_in_memory = match b {
            Src::Value(v) => !uniform && self.read_in_place(v, at),
            Src::Lit(_) => false,
        };
        let mut rb = match b {
            Src::Value(v) if !b_in_memory => Rm::Reg(self.get(v, at, &mut locked)),
            Src::Value(_) => Rm::Col(0),
            Src::Lit(x) => self.pool.at(x),
        };
        if uniform {
            for (r, scratch) in [(&mut ra, S12), (&mut rb, S13)] {
                if let Rm::Reg(x) = *r {
                    self.asm.broadcast(scratch, x);
                    *r = Rm::Reg(scratch);
                }
            }
        }
        let rd = self.def(at, plan, &locked);
        if let (true, Src::Value(v)) = (b_in_memory, b) {
            rb = self.home(v);
        }
        // The first operand of a VEX instruction must be a register.
        let ra = match ra {
            Rm::Reg(r) => r,
            lit => {
                self.asm.load(S14, lit);
                S14
            }
        };
        self.emit_bin(op, rd, ra, rb);
    }

    fn emit_bin(&mut self, op: Bin, rd: u8, ra: u8, rb: Rm) {
        let one = self.pool.at(1.0);
        let arith = match op {
            Bin::Add => Some(OP_ADD),
            Bin::Sub => Some(OP_SUB),
            Bin::Mul => Some(OP_MUL),
            Bin::Div => Some(OP_DIV),
            _ => None,
        };
        let pred = match op {
            Bin::Lt => Some(CMP_LT_OS),
            Bin::Le => Some(CMP_LE_OS),
            Bin::Gt => Some(CMP_GT_OS),
            Bin::Ge => Some(CMP_GE_OS),
            Bin::Eq => Some(CMP_EQ_OQ),
            Bin::Ne => Some(CMP_NEQ_UQ),
            _ => None,
        };
        if let Some(code) = arith {
            self.asm.v3(code, rd, ra, rb);
        } else if let Some(p) = pred {
            self.asm.cmp(S15, ra, rb, p);
            self.asm.v3(OP_AND, rd, S15, one);
        } else {
            // And / Or: both operands compared with 0 (NaN counts as true, as in Rust).
            let zero = self.pool.at(0.0);
            self.asm.cmp(S15, ra, zero, CMP_NEQ_UQ);
            let rb = match rb {
                Rm::Reg(r) => r,
                mem => {
                    self.asm.load(S13, mem);
                    S13
                }
            };
            self.asm.cmp(S13, rb, zero, CMP_NEQ_UQ);
            let join = if op == Bin::And { OP_AND } else { OP_OR };
            self.asm.v3(join, S15, S15, Rm::Reg(S13));
            self.asm.v3(OP_AND, rd, S15, one);
        }
    }

    fn un(&mut self, at: usize, plan: &Plan, op: Un, a: usize) {
        let uniform = is_uniform(&plan.ops[at]);
        if !matches!(
            op,
            Un::Neg | Un::Not | Un::FastExp | Un::Fabs | Un::Sqrt | Un::Floor | Un::Ceil
        ) {
            return self.callout(at, plan, Callee::Un(op), Src::Value(a), None, uniform);
        }
        let mut locked = Vec::new();
        let mut ra = self.get(a, at, &mut locked);
        if uniform {
            self.asm.broadcast(S12, ra);
            ra = S12;
        }
        let rd = self.def(at, plan, &locked);
        match op {
            Un::Neg => {
                let sign = self.pool.at(-0.0);
                self.asm.v3(OP_XOR, rd, ra, sign);
            }
            Un::Fabs => {
                let mask = self.pool.at(f64::from_bits(!(1u64 << 63)));
                self.asm.v3(OP_AND, rd, ra, mask);
            }
            Un::Not => {
                let (zero, one) = (self.pool.at(0.0), self.pool.at(1.0));
                self.asm.cmp(S15, ra, zero, CMP_EQ_OQ);
                self.asm.v3(OP_AND, rd, S15, one);
            }
            Un::Sqrt => self.asm.sqrt(rd, ra),
            Un::Floor => self.asm.round(rd, ra, 0x09),
            Un::Ceil => self.asm.round(rd, ra, 0x0A),
            _ => self.fast_exp(rd, ra),
        }
    }

    /// [`super::bytecode::fast_exp`] on four lanes, operation for operation (`rd` doubles as
    /// scratch once `ra` is read).
    fn fast_exp(&mut self, rd: u8, ra: u8) {
        let c = EXP_COEFFS.map(|x| self.pool.at(x));
        let lit = |g: &mut Self, x: f64| g.pool.at(x);
        let (lo, hi) = (lit(self, -745.2), lit(self, 709.8));
        let (x, k, r2, acc, b, t) = (S10, S11, S12, S13, S14, S15);
        // clamp: max(lo, x) then min(hi, .): the second operand is returned when either is NaN,
        // so NaN passes through as in `f64::clamp`.
        self.asm.load(t, lo);
        self.asm.v3(OP_MAX, x, t, Rm::Reg(ra));
        self.asm.load(t, hi);
        self.asm.v3(OP_MIN, x, t, Rm::Reg(x));
        // k = fma(x, log2e, SHIFT) - SHIFT; r = fma(-k, LN2_HI, x); r = fma(-k, LN2_LO, r)
        let (log2e, shift) = (lit(self, std::f64::consts::LOG2_E), lit(self, EXP_SHIFT));
        self.asm.load(k, shift);
        self.asm.fma(FMADD231, k, x, log2e);
        self.asm.v3(OP_SUB, k, k, shift);
        let (ln2_hi, ln2_lo) = (lit(self, EXP_LN2_HI), lit(self, EXP_LN2_LO));
        self.asm.fma(FNMADD231, x, k, ln2_hi);
        self.asm.fma(FNMADD231, x, k, ln2_lo);
        self.asm.v3(OP_MUL, r2, x, Rm::Reg(x));
        // `dst = c[i] * r + c[j]`
        let pair = |g: &mut Self, dst: u8, i: usize, j: usize| {
            g.asm.load(dst, c[i]);
            g.asm.fma(FMADD213, dst, x, c[j]);
        };
        pair(self, acc, 13, 12);
        pair(self, b, 11, 10);
        self.asm.fma(FMADD213, acc, r2, Rm::Reg(b)); // terms 10..13
        pair(self, b, 9, 8);
        pair(self, t, 7, 6);
        self.asm.fma(FMADD213, b, r2, Rm::Reg(t)); // 6..9
        self.asm.v3(OP_MUL, rd, r2, Rm::Reg(r2)); // r^4
        self.asm.fma(FMADD213, acc, rd, Rm::Reg(b)); // 6..13
        self.asm.v3(OP_MUL, rd, rd, Rm::Reg(r2)); // r^6
        pair(self, b, 5, 4);
        pair(self, t, 3, 2);
        self.asm.fma(FMADD213, b, r2, Rm::Reg(t)); // 2..5
        pair(self, t, 1, 0);
        self.asm.fma(FMADD213, b, r2, Rm::Reg(t)); // 0..5
        self.asm.fma(FMADD213, acc, rd, Rm::Reg(b)); // p
                                                     // k1 = (k * 0.5 + SHIFT) - SHIFT; k2 = k - k1; 2^m = bits((m + (1023 + SHIFT)) << 52)
        let half = lit(self, 0.5);
        self.asm.v3(OP_MUL, b, k, half);
        self.asm.v3(OP_ADD, b, b, shift);
        self.asm.v3(OP_SUB, b, b, shift);
        self.asm.v3(OP_SUB, k, k, Rm::Reg(b));
        let bias = lit(self, 1023.0 + EXP_SHIFT);
        for r in [b, k] {
            self.asm.v3(OP_ADD, r, r, bias);
            self.asm.shift_left_q(r, r, 52);
        }
        self.asm.v3(OP_MUL, acc, acc, Rm::Reg(b));
        self.asm.v3(OP_MUL, rd, acc, Rm::Reg(k));
    }

    /// Every register freed, values needed at or after `at` (and every column result) written
    /// home: before a call (which clobbers every `ymm`) and at the end of a pass.
    fn flush(&mut self, at: usize) {
        for r in 0..N_REGS as u8 {
            self.evict(r, at);
        }
    }

    /// `lea reg, [home]` for a call argument (`reg` 6 = rsi, 2 = rdx, 1 = rcx).
    fn arg_address(&mut self, reg: u8, s: Src) {
        let modrm_reg = reg << 3;
        let home = match s {
            Src::Lit(x) => self.pool.at(x),
            Src::Value(v) => self.home(v),
        };
        match home {
            Rm::Pool(off) => {
                self.asm.bytes(&[0x49, 0x8D, 0x80 | modrm_reg | 0b110]);
                self.asm.imm32(off);
            }
            Rm::Spill(off) => {
                self.asm
                    .bytes(&[0x48, 0x8D, 0x80 | modrm_reg | 0b100, 0x24]);
                self.asm.imm32(off);
            }
            Rm::Col(g) => self
                .asm
                .bytes(&[0x48, 0x8D, 0x40 | modrm_reg | 0b100, 0x03, 32 * g]),
            Rm::Reg(_) => {}
        }
    }

    /// An op the vector unit lacks: registers flushed, then `callout(code, &d, &a, &b)`; the
    /// result stays in its home.
    fn callout(
        &mut self,
        at: usize,
        plan: &Plan,
        callee: Callee,
        a: Src,
        b: Option<Src>,
        uniform: bool,
    ) {
        self.flush(at);
        for &s in &plan.srcs[at] {
            self.advance(s, at);
        }
        let d = plan.dst[at];
        self.arg_address(6, Src::Value(d));
        self.arg_address(2, a);
        self.arg_address(1, b.unwrap_or(a));
        let mut code = callee.code() | (u64::from(uniform) << 32);
        if uniform {
            // A site number for the call-out's memo (see `callout`).
            let site = MEMO_SITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            code |= (site % MEMO_LEN as u64) << 40;
        }
        self.asm.bytes(&[0x48, 0xBF]); // mov rdi, imm64
        self.asm.bytes(&code.to_le_bytes());
        self.asm.bytes(&[0x48, 0xB8]); // mov rax, imm64
        let f: unsafe extern "sysv64" fn(u64, *mut f64, *const f64, *const f64) = callout;
        self.asm.bytes(&(f as usize as u64).to_le_bytes());
        self.asm.bytes(&[0xC5, 0xF8, 0x77]); // vzeroupper (no live ymm values here)
        self.asm.bytes(&[0xFF, 0xD0]); // call rax
        self.values[d].in_memory = true;
    }
}

/// The Rust operation a call-out performs.
#[derive(Clone, Copy)]
enum Callee {
    Bin(Bin),
    Un(Un),
}

const BINS: [Bin; 15] = [
    Bin::Add,
    Bin::Sub,
    Bin::Mul,
    Bin::Div,
    Bin::Pow,
    Bin::Min,
    Bin::Max,
    Bin::Lt,
    Bin::Le,
    Bin::Gt,
    Bin::Ge,
    Bin::Eq,
    Bin::Ne,
    Bin::And,
    Bin::Or,
];
const UNS: [Un; 15] = [
    Un::Neg,
    Un::Not,
    Un::Exp,
    Un::FastExp,
    Un::Log,
    Un::Log10,
    Un::Fabs,
    Un::Sqrt,
    Un::Sin,
    Un::Cos,
    Un::Tan,
    Un::Tanh,
    Un::Atan,
    Un::Floor,
    Un::Ceil,
];

impl Callee {
    /// The operator's declaration index (which `BINS` / `UNS` list in that order: see the
    /// test), with bit 16 set for a unary one.
    fn code(self) -> u64 {
        match self {
            Callee::Bin(b) => b as u64,
            Callee::Un(u) => (1 << 16) | u as u64,
        }
    }
}

/// Entries of the per-thread memo of uniform call-outs.
const MEMO_LEN: usize = 1024;
/// Uniform call-out sites emitted so far (numbering their memo entries).
static MEMO_SITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Per call site (modulo [`MEMO_LEN`]): the last (code, a, b) of a uniform call-out and its
    /// result. Uniform operands (`celsius`, GLOBALs, literals) rarely change between calls, so
    /// `q10^((celsius - 24)/10)` and the like are computed once per run instead of every step;
    /// the operations are pure, so a hit gives the bits a call would.
    static MEMO: std::cell::RefCell<Vec<(u64, u64, u64, f64)>> =
        std::cell::RefCell::new(vec![(u64::MAX, 0, 0, 0.0); MEMO_LEN]);
}

/// `eval(x, y)` through the memo entry of `code`'s site.
fn memoised(code: u64, x: f64, y: f64, eval: impl Fn(f64, f64) -> f64) -> f64 {
    let site = (code >> 40) as usize % MEMO_LEN;
    MEMO.with_borrow_mut(|memo| {
        let e = &mut memo[site];
        if e.0 == code && e.1 == x.to_bits() && e.2 == y.to_bits() {
            return e.3;
        }
        let r = eval(x, y);
        *e = (code, x.to_bits(), y.to_bits(), r);
        r
    })
}

/// Four lanes of one Rust operation for generated code: `d[i] = op(a[i], b[i])`, or with bit 32
/// of `code` set, `op(a[0], b[0])` in every lane (a uniform op, memoised per call site: bits
/// 40.. of `code`).
///
/// # Safety
/// `d` must be valid for 4 writes, `a` and `b` for 4 reads (1 when uniform), not overlapping `d`.
unsafe extern "sysv64" fn callout(code: u64, d: *mut f64, a: *const f64, b: *const f64) {
    let uniform = code & (1 << 32) != 0;
    let index = (code & 0xFFFF) as usize;
    let eval = |x: f64, y: f64| {
        if code & (1 << 16) != 0 {
            UNS[index % UNS.len()].eval(x)
        } else {
            BINS[index % BINS.len()].eval(x, y)
        }
    };
    // SAFETY: the caller passes homes of 4 lanes each (columns, spill slots or pool entries).
    unsafe {
        if uniform {
            let x = memoised(code, *a, *b, eval);
            for i in 0..4 {
                *d.add(i) = x;
            }
        } else {
            for i in 0..4 {
                *d.add(i) = eval(*a.add(i), *b.add(i));
            }
        }
    }
}

/// Machine code of one program in executable memory, with its literal pool.
pub struct NativeProgram {
    code: *mut u8,
    len: usize,
    /// Bytes of generated code at the start of the mapping.
    code_len: usize,
    /// Offsets of the function over single groups and of the one over pairs of groups.
    single: usize,
    pair: usize,
    pool: Box<[[f64; 4]]>,
}

// SAFETY: the mapping is read+execute only and never changes after construction; the pool is
// immutable. Running the code only touches the buffer passed in and its own stack frame.
unsafe impl Send for NativeProgram {}
unsafe impl Sync for NativeProgram {}

impl std::fmt::Debug for NativeProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NativeProgram({} bytes, {} literals)",
            self.len,
            self.pool.len()
        )
    }
}

impl Drop for NativeProgram {
    fn drop(&mut self) {
        // SAFETY: `code`/`len` are the mapping made in `map_executable`, unmapped only here.
        unsafe {
            libc::munmap(self.code.cast(), self.len);
        }
    }
}

/// Whether this CPU and OS can run generated code (x86-64 Linux-like with AVX2 and FMA).
#[cfg(all(target_arch = "x86_64", unix))]
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Whether this CPU and OS can run generated code (x86-64 Linux-like with AVX2 and FMA).
#[cfg(not(all(target_arch = "x86_64", unix)))]
pub fn available() -> bool {
    false
}

impl NativeProgram {
    /// Translates `ops` (verified by `Program::new`: every slot below `n_slots`, no destination
    /// among its op's sources); slots below `n_live` are the columns read and written. Two
    /// functions: one iterating over pairs of groups (8 lanes), one over single groups.
    pub fn compile(
        ops: &[Op],
        n_slots: usize,
        (n_live, live_from): (usize, usize),
        io: &Io,
    ) -> Option<Self> {
        if !available() || ops.is_empty() || n_slots > u32::MAX as usize / 64 {
            return None;
        }
        let live = (n_live.min(n_slots), live_from);
        let (mut asm, mut pool) = (Asm::default(), Pool::default());
        let mut entries = [0; 2];
        for (entry, groups) in entries.iter_mut().zip([1, 2]) {
            while asm.code.len() % 16 != 0 {
                asm.bytes(&[0xCC]); // int3 between functions
            }
            *entry = asm.code.len();
            (asm, pool) = emit_function(asm, pool, (ops, io), n_slots, live, groups);
        }
        let pool = pool.values.iter().map(|&x| [x; 4]).collect();
        let (code, len) = map_executable(&asm.code)?;
        Some(Self {
            code,
            len,
            code_len: asm.code.len(),
            single: entries[0],
            pair: entries[1],
            pool,
        })
    }

    /// The generated machine code (for disassembly when profiling).
    pub fn machine_code(&self) -> &[u8] {
        // SAFETY: the mapping is readable and its first `code_len` bytes are the code.
        unsafe { std::slice::from_raw_parts(self.code, self.code_len) }
    }

    /// The entry points, to be kept next to the caller's data (one pointer chase less per
    /// call). Valid while this program lives.
    pub fn entry(&self) -> NativeEntry {
        // SAFETY: both offsets are the starts of functions generated with the `Entry` signature
        // inside this mapping.
        unsafe {
            NativeEntry {
                pair: std::mem::transmute::<*mut u8, Entry>(self.code.add(self.pair)),
                single: std::mem::transmute::<*mut u8, Entry>(self.code.add(self.single)),
                pool: self.pool.as_ptr(),
            }
        }
    }
}

type Entry = unsafe extern "sysv64" fn(*mut f64, usize, usize, *const [f64; 4], *const *mut f64);

/// The callable part of a [`NativeProgram`]: its two functions and its literal pool.
#[derive(Clone, Copy, Debug)]
pub struct NativeEntry {
    pair: Entry,
    single: Entry,
    pool: *const [f64; 4],
}

// SAFETY: points into a `NativeProgram` (read+execute code, immutable pool) that its holder keeps
// alive; running it touches only the buffer passed in and its own stack frame.
unsafe impl Send for NativeEntry {}
unsafe impl Sync for NativeEntry {}

impl NativeEntry {
    /// Runs the program over lanes `0..4 * groups` of columns of length `n`.
    ///
    /// # Safety
    /// The [`NativeProgram`] it came from must be alive; `buf` must hold at least `n_live`
    /// columns of `n` values and `4 * groups <= n`.
    #[inline]
    pub unsafe fn run(&self, buf: &mut [f64], n: usize, groups: usize) {
        // SAFETY: as the caller guarantees; a program without loads or scatters never reads
        // the array table.
        unsafe { self.run_io(buf, n, groups, std::ptr::null()) }
    }

    /// [`run`](Self::run) with the node arrays of the program's [`Io`].
    ///
    /// # Safety
    /// As for [`run`](Self::run), and `arrays` must point to the base pointers of every array
    /// the program's [`Io`] names, each valid for the node indices its lanes' node columns hold
    /// (and for writes where scattered to), none overlapping `buf`.
    #[inline]
    pub unsafe fn run_io(&self, buf: &mut [f64], n: usize, groups: usize, arrays: *const *mut f64) {
        // SAFETY: as the caller guarantees.
        unsafe { self.run_io_raw(buf.as_mut_ptr(), n, groups, arrays) }
    }

    /// [`run_io`](Self::run_io) on the groups from `base`: lanes `0..4 * groups` of columns of
    /// length `n` that start at `base`'s column 0 (which may be a later group of a buffer).
    ///
    /// # Safety
    /// As for [`run_io`](Self::run_io), with `base` valid for every column's lanes it covers;
    /// no other thread may touch those lanes (or the nodes they load and scatter) meanwhile.
    #[inline]
    pub unsafe fn run_io_raw(
        &self,
        base: *mut f64,
        n: usize,
        groups: usize,
        arrays: *const *mut f64,
    ) {
        let pairs = groups / 2;
        // SAFETY: the caller guarantees the buffer covers every column lane the code touches;
        // the single group after the pairs starts at lane 8 * pairs < n.
        unsafe {
            if pairs > 0 {
                (self.pair)(base, n * 8, pairs, self.pool, arrays);
            }
            if groups % 2 == 1 {
                (self.single)(base.add(8 * pairs), n * 8, 1, self.pool, arrays);
            }
        }
    }
}

/// One generated function over `groups` groups of 4 lanes per iteration.
fn emit_function(
    asm: Asm,
    pool: Pool,
    (ops, io): (&[Op], &Io),
    n_slots: usize,
    live: (usize, usize),
    groups: usize,
) -> (Asm, Pool) {
    let mut values = Vec::new();
    let plan = Plan::new(ops, n_slots, live, groups, &mut values);
    let mut g = Gen {
        asm,
        pool,
        values,
        reg_value: [None; N_REGS],
        frame: 0,
    };
    let frame_at = g.prologue();
    // Uniform ops once, on the first group; their results wait in spill slots.
    for at in 0..plan.prelude {
        g.op(at, &plan);
    }
    g.flush(plan.prelude);
    let top = g.asm.code.len();
    for group in 0..groups as u8 {
        g.asm.loads(io, group);
    }
    for at in plan.prelude..plan.ops.len() {
        g.op(at, &plan);
    }
    g.flush(plan.ops.len());
    for group in 0..groups as u8 {
        g.asm.scatters(io, group);
    }
    g.asm.bytes(&[0x48, 0x83, 0xC3, 32 * groups as u8]); // add rbx, 32 * groups
    g.asm.bytes(&[0x49, 0xFF, 0xCF]); // dec r15
    g.asm.bytes(&[0x0F, 0x85, 0, 0, 0, 0]); // jnz top
    let at = g.asm.code.len() - 4;
    g.asm.patch_rel32(at, top);
    g.epilogue();
    let frame = g.frame.to_le_bytes();
    g.asm.code[frame_at..frame_at + 4].copy_from_slice(&frame);
    (g.asm, g.pool)
}

impl Gen {
    /// Saves registers, makes a 32-byte aligned frame and loads the arguments; returns where
    /// the frame size is to be patched in.
    fn prologue(&mut self) -> usize {
        let a = &mut self.asm;
        a.bytes(&[0x55]); // push rbp
        a.bytes(&[0x48, 0x89, 0xE5]); // mov rbp, rsp
        a.bytes(&[0x53, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57]); // push rbx, r12-r15
        a.bytes(&[0x48, 0x81, 0xEC]); // sub rsp, frame
        let frame_at = a.code.len();
        a.imm32(0);
        a.bytes(&[0x48, 0x83, 0xE4, 0xE0]); // and rsp, -32
        a.bytes(&[0x48, 0x89, 0xFB]); // mov rbx, rdi
        a.bytes(&[0x49, 0x89, 0xF4]); // mov r12, rsi
        a.bytes(&[0x49, 0x89, 0xD7]); // mov r15, rdx
        a.bytes(&[0x49, 0x89, 0xCE]); // mov r14, rcx
        a.bytes(&[0x4D, 0x89, 0xC5]); // mov r13, r8
        frame_at
    }

    fn epilogue(&mut self) {
        let a = &mut self.asm;
        a.bytes(&[0xC5, 0xF8, 0x77]); // vzeroupper
        a.bytes(&[0x48, 0x8D, 0x65, 0xD8]); // lea rsp, [rbp - 40]
        a.bytes(&[0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C]); // pop r15, r14, r13, r12
        a.bytes(&[0x5B, 0x5D]); // pop rbx, rbp
        a.bytes(&[0xC3]); // ret
    }
}

/// Copies `code` into a fresh read+execute mapping.
fn map_executable(code: &[u8]) -> Option<(*mut u8, usize)> {
    let len = code.len().div_ceil(4096).max(1) * 4096;
    // SAFETY: an anonymous private mapping of `len` bytes; checked for failure; written only
    // before it becomes executable.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return None;
        }
        std::ptr::copy_nonoverlapping(code.as_ptr(), p.cast::<u8>(), code.len());
        if libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            libc::munmap(p, len);
            return None;
        }
        Some((p.cast(), len))
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytecode::Program;
    use super::*;

    /// xorshift64*: deterministic test data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn value(&mut self) -> f64 {
            const SPECIAL: [f64; 8] =
                [0.0, -0.0, 1.0, -1.0, f64::NAN, f64::INFINITY, 700.0, -740.0];
            match self.below(10) {
                0 => SPECIAL[self.below(SPECIAL.len())],
                1 => (self.below(5) as f64) - 2.0,
                _ => (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0,
            }
        }
    }

    const BINS_ALL: [Bin; 15] = BINS;
    const UNS_ALL: [Un; 15] = UNS;

    /// A random program obeying the compiler's rules: slots 0..4 are uniform inputs no op
    /// writes, uniform ops read only uniform values and write temporaries, temporaries are
    /// written before they are read, a destination is never one of its sources.
    fn random_program(rng: &mut Rng, n_ops: usize, n_live: usize, n_slots: usize) -> Program {
        let mut uniform: Vec<Slot> = (0..4).collect();
        let mut readable: Vec<Slot> = (0..n_live as Slot).collect();
        let mut ops = Vec::new();
        while ops.len() < n_ops {
            let d = (4 + rng.below(n_slots - 4)) as Slot;
            let pick = |rng: &mut Rng, from: &[Slot]| loop {
                let s = from[rng.below(from.len())];
                if s != d {
                    break s;
                }
            };
            let k = rng.value();
            let bin = BINS_ALL[rng.below(BINS_ALL.len())];
            let un = UNS_ALL[rng.below(UNS_ALL.len())];
            let is_temp = d as usize >= n_live;
            let op = match rng.below(11) {
                0 | 1 => Op::Bin {
                    op: bin,
                    d,
                    a: pick(rng, &readable),
                    b: pick(rng, &readable),
                },
                2 => Op::Un {
                    op: un,
                    d,
                    a: pick(rng, &readable),
                },
                3 => Op::BinCK {
                    op: bin,
                    d,
                    a: pick(rng, &readable),
                    k,
                },
                4 => Op::BinKC {
                    op: bin,
                    d,
                    k,
                    b: pick(rng, &readable),
                },
                5 => Op::Select {
                    d,
                    m: pick(rng, &readable),
                    a: pick(rng, &readable),
                    b: pick(rng, &readable),
                },
                6 => Op::Copy {
                    d,
                    a: pick(rng, &readable),
                },
                7 => Op::Fill { d, k },
                8 if is_temp => Op::UniformBin {
                    op: bin,
                    d,
                    a: pick(rng, &uniform),
                    b: pick(rng, &uniform),
                },
                9 if is_temp => Op::UniformUn {
                    op: un,
                    d,
                    a: pick(rng, &uniform),
                },
                _ => Op::Un {
                    op: Un::FastExp,
                    d,
                    a: pick(rng, &readable),
                },
            };
            let writes_uniform = matches!(op, Op::UniformBin { .. } | Op::UniformUn { .. });
            // A temporary slot holds one kind of value at a time.
            uniform.retain(|&s| s != d);
            if writes_uniform {
                uniform.push(d);
            }
            if !readable.contains(&d) {
                readable.push(d);
            }
            ops.push(op);
        }
        Program::new(ops, n_slots, n_live).expect("valid program")
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn native_code_matches_the_interpreter_bit_for_bit() {
        if !available() {
            eprintln!("SKIPPED: no AVX2 on this machine; the interpreter runs everything");
            return;
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..400 {
            let (n_live, n_slots) = (8 + rng.below(12), 30 + rng.below(20));
            let n_ops = 1 + rng.below(120);
            let mut prog = random_program(&mut rng, n_ops, n_live, n_slots);
            prog.compile_native();
            assert!(prog.is_native());
            // Lane counts the interpreter runs wholly in chunk mode (its row mode evaluates
            // FastExp with libm's exp, within 2 ulp but not the same bits).
            let n = [4, 8, 16, 32][case % 4];
            let mut buf = vec![0.0; n_slots * n];
            for s in 0..n_slots {
                let u = rng.value();
                for i in 0..n {
                    buf[s * n + i] = if s < 4 { u } else { rng.value() };
                }
            }
            let mut expect = buf.clone();
            prog.run_interpreted(&mut expect, n);
            prog.run(&mut buf, n);
            for s in 0..n_live {
                for i in 0..n {
                    let (x, y) = (buf[s * n + i], expect[s * n + i]);
                    assert!(
                        same(x, y),
                        "case {case}: slot {s} lane {i}: native {x:e} vs interpreter {y:e}\n{:#?}",
                        prog.ops()
                    );
                }
            }
        }
    }

    /// Loads and scatters ([`Io`]) around random programs: machine code against the
    /// interpreter, node arrays and columns compared bit for bit, with lanes on shuffled nodes
    /// and padding lanes that must not be written.
    #[test]
    fn loads_and_scatters_match_the_interpreter() {
        use super::super::bytecode::{node_bits, IoArrays, Load, Scatter, NO_NODE};
        if !available() {
            eprintln!("SKIPPED: no AVX2 on this machine; the interpreter runs everything");
            return;
        }
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for case in 0..200 {
            let (n_live, n_slots) = (8 + rng.below(12), 30 + rng.below(20));
            let n_ops = 1 + rng.below(80);
            let base = random_program(&mut rng, n_ops, n_live, n_slots);
            // Two node columns past the temporaries: one to load through, one (with padding
            // lanes) to scatter through.
            let (read_col, write_col) = (n_slots as Slot, n_slots as Slot + 1);
            let runs_col = n_slots as Slot + 2;
            let mut io = Io::default();
            for _ in 0..1 + rng.below(3) {
                let (dst, array) = ((4 + rng.below(n_live - 4)) as Slot, rng.below(3) as u8);
                io.loads.push(Load {
                    dst,
                    array,
                    node: read_col,
                });
            }
            for _ in 0..1 + rng.below(3) {
                let (src, array) = (rng.below(n_live) as Slot, rng.below(3) as u8);
                let add = rng.below(2) == 0;
                io.scatters.push(Scatter {
                    src,
                    array,
                    node: write_col,
                    add,
                });
            }
            io.runs = Some(runs_col);
            let total = n_slots + 3;
            let ops = base.ops().to_vec();
            let interpreted = Program::with_io(ops.clone(), total, n_live, n_slots, io.clone())
                .expect("valid io program");
            let mut native = Program::with_io(ops, total, n_live, n_slots, io).expect("valid");
            native.compile_native();
            assert!(native.is_native());
            let n = [4, 8, 16, 32][case % 4];
            let real = n - rng.below(4);
            let n_nodes = n + 5;
            // Nodes in order (every whole group a run) or shuffled.
            let mut nodes: Vec<usize> = (0..n_nodes).collect();
            if case % 8 >= 4 {
                for i in (1..n_nodes).rev() {
                    nodes.swap(i, rng.below(i + 1));
                }
            }
            let mut buf = vec![0.0; total * n];
            for s in 0..n_slots {
                let u = rng.value();
                for i in 0..n {
                    buf[s * n + i] = if s < 4 { u } else { rng.value() };
                }
            }
            for i in 0..n {
                buf[n_slots * n + i] = node_bits(nodes[i]);
                buf[(n_slots + 1) * n + i] = if i < real {
                    node_bits(nodes[i])
                } else {
                    NO_NODE
                };
                let group = i - i % 4;
                let run = i % 4 == 0
                    && group + 4 <= real
                    && (0..4).all(|j| nodes[group + j] == nodes[group] + j);
                buf[(n_slots + 2) * n + i] = if run { node_bits(nodes[i]) } else { NO_NODE };
            }
            let arrays: Vec<Vec<f64>> = (0..3)
                .map(|_| (0..n_nodes).map(|_| rng.value()).collect())
                .collect();
            let run = |prog: &Program, mut buf: Vec<f64>, mut arrays: Vec<Vec<f64>>| {
                let mut table = IoArrays::new();
                for a in arrays.iter_mut() {
                    table.write(a);
                }
                assert!(prog.run_io(&mut buf, n, &mut table));
                (buf, arrays)
            };
            let (got, got_arrays) = run(&native, buf.clone(), arrays.clone());
            let (want, want_arrays) = run(&interpreted, buf, arrays);
            for s in (0..n_live).chain(n_slots..total) {
                for i in 0..n {
                    let (x, y) = (got[s * n + i], want[s * n + i]);
                    assert!(same(x, y), "case {case}: slot {s} lane {i}: {x:e} vs {y:e}");
                }
            }
            for (a, (x, y)) in got_arrays.iter().zip(&want_arrays).enumerate() {
                for k in 0..n_nodes {
                    assert!(
                        same(x[k], y[k]),
                        "case {case}: array {a} node {k}: {} vs {}",
                        x[k],
                        y[k]
                    );
                }
            }
        }
    }

    #[test]
    fn io_refuses_nodes_past_the_arrays() {
        use super::super::bytecode::{node_bits, IoArrays, Load};
        let io = Io {
            loads: vec![Load {
                dst: 0,
                array: 0,
                node: 1,
            }],
            scatters: vec![],
            runs: None,
        };
        let prog = Program::with_io(vec![Op::Copy { d: 2, a: 0 }], 3, 3, 3, io).expect("valid");
        let mut buf = vec![0.0, node_bits(7), 0.0];
        let v = [1.0, 2.0];
        let mut table = IoArrays::new();
        table.read(&v);
        assert!(!prog.run_io(&mut buf, 1, &mut table));
        buf[1] = node_bits(1);
        assert!(prog.run_io(&mut buf, 1, &mut table));
        assert_eq!(buf[2], 2.0);
    }

    #[test]
    fn call_out_tables_list_every_operator_in_declaration_order() {
        assert_eq!(BINS.len(), Bin::Or as usize + 1);
        assert_eq!(UNS.len(), Un::Ceil as usize + 1);
        for (k, b) in BINS.iter().enumerate() {
            assert_eq!(*b as usize, k, "{b:?}");
        }
        for (k, u) in UNS.iter().enumerate() {
            assert_eq!(*u as usize, k, "{u:?}");
        }
    }

    #[test]
    fn register_pressure_spills_and_reloads() {
        if !available() {
            eprintln!("SKIPPED: no AVX2 on this machine");
            return;
        }
        // 30 values alive at once (more than the 12 registers), then all summed.
        let n_live = 31;
        let mut ops = Vec::new();
        for s in 0..30 {
            ops.push(Op::BinCK {
                op: Bin::Mul,
                d: 40 + s,
                a: s,
                k: 2.0,
            });
        }
        ops.push(Op::Copy { d: 70, a: 40 });
        for s in 1..30 {
            let (acc, next) = (70 + s - 1, 70 + s);
            ops.push(Op::Bin {
                op: Bin::Add,
                d: next,
                a: acc,
                b: 40 + s,
            });
        }
        ops.push(Op::Copy { d: 30, a: 99 });
        let mut prog = Program::new(ops, 100, n_live).expect("valid");
        prog.compile_native();
        let n = 8;
        let mut buf = vec![0.0; 100 * n];
        for s in 0..30 {
            for i in 0..n {
                buf[s * n + i] = (s * 10 + i) as f64;
            }
        }
        prog.run(&mut buf, n);
        for i in 0..n {
            let expect: f64 = (0..30).map(|s| 2.0 * (s * 10 + i) as f64).sum();
            assert_eq!(buf[30 * n + i], expect);
        }
    }
}
