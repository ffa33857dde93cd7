//! A density mechanism's work per step as two programs that reach into the solver's node arrays
//! themselves: the current phase (nocmodl's `nrn_cur`: load `v` and the ion values read,
//! BREAKPOINT at `v + 0.001` and at `v`, the conductance, and the sums onto `rhs`, `d` and the
//! ions' current accumulators) and the state update (`nrn_state`: load `v` and ion values, every
//! SOLVEd program, store the concentrations written). One call each per step, in place of the
//! adapter's passes around two BREAKPOINT runs; with machine code the loads and scatters happen
//! group by group inside the generated loop.
//!
//! The ops are the adapter's own arithmetic in the adapter's order (`0 + sign * x`, sums term by
//! term, `rhs - (i + 0)` as `rhs + -(i + 0)`, which IEEE defines to be the same), so results do
//! not change by a bit; `tests/fused_step.rs` runs whole cells both ways.
//!
//! Node arrays are numbered in the order [`Fused::arrays`] lists them: `v`, `rhs`, `d`, then
//! those the programs use of each USEION's `e`, `i`, `ci`, `co` and `di/dv`. Columns past the
//! mechanism's own (`CompiledMechanism::n_columns`) hold each lane's node (twice: for loads,
//! and for scatters with padding lanes marked `NO_NODE`), the groups on consecutive nodes, the
//! raw node voltage and the values formed here.

use super::CompiledKernel;
use crate::cell::nmodl::bytecode::{Bin, Io, Load, Op, Program, Scatter, Slot, Un};
use crate::cell::nmodl::ir::IonField;
use crate::cell::nmodl::IonPort;

/// A node array a fused program loads from or scatters to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum NodeArray {
    V,
    Rhs,
    D,
    /// Field `field` of the mechanism's ion `k`: 0..4 as [`IonField`], 4 for `di/dv`.
    Ion {
        k: usize,
        field: u8,
    },
}

/// Position of `di/dv` among an ion's arrays (after the four [`IonField`]s).
pub(super) const DIDV: u8 = 4;

fn field_index(f: IonField) -> u8 {
    match f {
        IonField::E => 0,
        IonField::I => 1,
        IonField::Ci => 2,
        IonField::Co => 3,
    }
}

/// The two programs and where their extra columns are.
#[derive(Debug, Clone)]
pub(super) struct Fused {
    pub current: Program,
    /// None when the state update has a Newton solve (the adapter's path runs it).
    pub advance: Option<Program>,
    /// Columns past the mechanism's own.
    pub extra: usize,
    /// Column of each lane's node, for loads.
    pub node: usize,
    /// Column of each lane's node for scatters (`NO_NODE` on padding lanes).
    pub write_node: usize,
    /// Column marking groups of four lanes on consecutive nodes (see `Io::runs`).
    pub runs: usize,
    /// The node arrays, by the number the programs use: `v`, `rhs`, `d`, then ion arrays only.
    pub arrays: Vec<NodeArray>,
}

/// Where observable extra columns are numbered while building: past every temporary, they are
/// renumbered to follow them at the end.
const LIVE: Slot = 1 << 24;
/// The observable extra columns every fused program has.
const NODE: Slot = LIVE;
const WRITE_NODE: Slot = LIVE + 1;
const RAW_V: Slot = LIVE + 2;
const RUNS: Slot = LIVE + 3;

/// Builds ops over the mechanism's columns plus extra ones: temporaries from the mechanism's
/// column count up, observable ones (scatter sources) from [`LIVE`].
struct Builder {
    ops: Vec<Op>,
    next_temp: Slot,
    next_live: Slot,
}

/// Numbers node arrays as they are first named, after `v`, `rhs` and `d` (always 0, 1, 2).
struct Arrays(Vec<NodeArray>);

impl Default for Arrays {
    fn default() -> Self {
        Arrays(vec![NodeArray::V, NodeArray::Rhs, NodeArray::D])
    }
}

impl Arrays {
    fn number(&mut self, a: NodeArray) -> u8 {
        let k = self.0.iter().position(|&x| x == a).unwrap_or_else(|| {
            self.0.push(a);
            self.0.len() - 1
        });
        k as u8
    }

    fn ion(&mut self, k: usize, field: u8) -> u8 {
        self.number(NodeArray::Ion { k, field })
    }

    /// Loads of `v` (into `raw`) and of the ion ports into their columns.
    fn loads(&mut self, raw: Slot, node: Slot, ports: &[IonPort]) -> Vec<Load> {
        let mut loads = vec![Load {
            dst: raw,
            array: self.number(NodeArray::V),
            node,
        }];
        for p in ports {
            let array = self.ion(p.ion, field_index(p.field));
            loads.push(Load {
                dst: p.column as Slot,
                array,
                node,
            });
        }
        loads
    }
}

impl Builder {
    fn new(n_cols: usize) -> Self {
        Builder {
            ops: Vec::new(),
            next_temp: n_cols as Slot,
            next_live: RUNS + 1,
        }
    }

    fn slot(&mut self) -> Slot {
        self.next_temp += 1;
        self.next_temp - 1
    }

    /// A column a scatter reads.
    fn out(&mut self) -> Slot {
        self.next_live += 1;
        self.next_live - 1
    }

    fn push(&mut self, op: Op) -> Slot {
        self.ops.push(op);
        op.dst()
    }

    fn copy(&mut self, a: Slot) -> Slot {
        let d = self.slot();
        self.push(Op::Copy { d, a })
    }

    /// `k op b` into a new temporary.
    fn kc(&mut self, op: Bin, k: f64, b: Slot) -> Slot {
        let d = self.slot();
        self.push(Op::BinKC { op, d, k, b })
    }

    /// `a op b` into a new temporary.
    fn bin(&mut self, op: Bin, a: Slot, b: Slot) -> Slot {
        let d = self.slot();
        self.push(Op::Bin { op, d, a, b })
    }

    /// `0 + sign * x`, as the adapter forms a current term.
    fn term(&mut self, sign: f64, x: Slot) -> Slot {
        let t = self.kc(Bin::Mul, sign, x);
        self.kc(Bin::Add, 0.0, t)
    }

    /// The terms summed from 0 in order (`o + sign * x`), as `sum_currents`.
    fn sum(&mut self, terms: &[(usize, f64)]) -> Slot {
        let Some(((first, sign), rest)) = terms.split_first() else {
            let d = self.slot();
            return self.push(Op::Fill { d, k: 0.0 });
        };
        let mut acc = self.term(*sign, *first as Slot);
        for &(col, sign) in rest {
            let t = self.kc(Bin::Mul, sign, col as Slot);
            acc = self.bin(Bin::Add, acc, t);
        }
        acc
    }

    /// `(shifted - x) / 0.001`, into a column a scatter reads.
    fn slope(&mut self, shifted: Slot, x: Slot) -> Slot {
        let t = self.bin(Bin::Sub, shifted, x);
        let d = self.out();
        self.push(Op::BinCK {
            op: Bin::Div,
            d,
            a: t,
            k: 0.001,
        })
    }

    /// `-(i + 0)`: what `rhs -= i + poison` subtracts, with no poison (a failed run takes the
    /// adapter's path).
    fn outward(&mut self, i: Slot) -> Slot {
        let t = self.slot();
        self.push(Op::BinCK {
            op: Bin::Add,
            d: t,
            a: i,
            k: 0.0,
        });
        let d = self.out();
        self.push(Op::Un {
            op: Un::Neg,
            d,
            a: t,
        })
    }

    /// `v = raw + shift` into the mechanism's v column.
    fn set_v(&mut self, v: Option<usize>, raw: Slot, shift: f64) {
        if let Some(v) = v {
            self.push(Op::BinCK {
                op: Bin::Add,
                d: v as Slot,
                a: raw,
                k: shift,
            });
        }
    }
}

impl Fused {
    /// The programs of `k`, or None when its programs do not share one column layout.
    pub(super) fn new(k: &CompiledKernel) -> Option<Self> {
        let c = &k.compiled;
        let body = c.current_program();
        let n_cols = c.n_columns();
        let live = body.n_live();
        let mut b = Builder::new(n_cols);
        let mut scatters = Vec::new();
        let mut arrays = Arrays::default();
        let add = |src: Slot, array: u8| Scatter {
            src,
            array,
            node: WRITE_NODE,
            add: true,
        };
        let (rhs, d) = (arrays.number(NodeArray::Rhs), arrays.number(NodeArray::D));

        // nrn_cur: BREAKPOINT at v + 0.001, its currents kept, then at v.
        b.set_v(k.ports.v, RAW_V, 0.001);
        b.ops.extend_from_slice(body.ops());
        let single = k.single_term;
        let shifted_total = match single {
            Some((_, _, Some(_))) => None,
            Some((col, _, None)) => Some(b.copy(col as Slot)),
            None => Some(b.sum(&k.ports.current_terms)),
        };
        let shifted_ion: Vec<Slot> = k
            .ion_currents
            .iter()
            .map(|&(_, col)| b.copy(col as Slot))
            .collect();
        b.set_v(k.ports.v, RAW_V, 0.0);
        b.ops.extend_from_slice(body.ops());
        let fused_ion = single.and_then(|s| s.2);
        match (single, shifted_total) {
            (Some((col, sign, Some(j))), _) => {
                let raw_x = shifted_ion[j];
                let i = b.term(sign, col as Slot);
                let shifted = b.term(sign, raw_x);
                let out = b.outward(i);
                let g = b.slope(shifted, i);
                let didv = b.slope(raw_x, col as Slot);
                let ion = k.ion_currents[j].0;
                scatters.extend([add(out, rhs), add(g, d)]);
                let (i_k, didv_k) = (arrays.ion(ion, 1), arrays.ion(ion, DIDV));
                scatters.extend([add(col as Slot, i_k), add(didv, didv_k)]);
            }
            (Some((col, sign, None)), Some(raw_x)) => {
                let i = b.term(sign, col as Slot);
                let shifted = b.term(sign, raw_x);
                let out = b.outward(i);
                let g = b.slope(shifted, i);
                scatters.extend([add(out, rhs), add(g, d)]);
            }
            (_, shifted) => {
                let total = b.sum(&k.ports.current_terms);
                let shifted = shifted?;
                let out = b.outward(total);
                let g = b.slope(shifted, total);
                scatters.extend([add(out, rhs), add(g, d)]);
            }
        }
        for (j, (&(ion, col), &shifted)) in k.ion_currents.iter().zip(&shifted_ion).enumerate() {
            if Some(j) == fused_ion {
                continue;
            }
            let didv = b.slope(shifted, col as Slot);
            let (i_k, didv_k) = (arrays.ion(ion, 1), arrays.ion(ion, DIDV));
            scatters.extend([add(col as Slot, i_k), add(didv, didv_k)]);
        }
        let current_io = Io {
            loads: arrays.loads(RAW_V, NODE, &k.reads),
            scatters,
            runs: Some(RUNS),
        };

        // nrn_state: v + 0, the state programs, concentrations stored back.
        let advance = c.explicit_state_programs().and_then(|steps| {
            let mut a = Builder::new(n_cols);
            a.set_v(k.ports.v, RAW_V, 0.0);
            for p in &steps {
                if p.n_live() != live {
                    return None;
                }
                a.ops.extend_from_slice(p.ops());
            }
            let stores = k.writes.iter().map(|p| Scatter {
                src: p.column as Slot,
                array: arrays.ion(p.ion, field_index(p.field)),
                node: WRITE_NODE,
                add: false,
            });
            let scatters = stores.collect();
            let loads = arrays.loads(RAW_V, NODE, &k.state_reads);
            Some((
                a.ops,
                Io {
                    loads,
                    scatters,
                    runs: Some(RUNS),
                },
            ))
        });

        // Temporaries end where the observable extras start.
        let live_from = b.next_temp as usize;
        let place = |s: Slot| {
            if s >= LIVE {
                s - LIVE + live_from as Slot
            } else {
                s
            }
        };
        let total = live_from + (b.next_live - LIVE) as usize;
        let program = |ops: Vec<Op>, io: Io| {
            let ops = ops.into_iter().map(|op| op.map_slots(place)).collect();
            Program::with_io(ops, total, live, live_from, placed(io, place)).ok()
        };
        let current = program(b.ops, current_io)?;
        let advance = match advance {
            Some((ops, io)) => Some(program(ops, io)?),
            None => None,
        };
        Some(Fused {
            current,
            advance,
            extra: total - n_cols,
            node: place(NODE) as usize,
            write_node: place(WRITE_NODE) as usize,
            runs: place(RUNS) as usize,
            arrays: arrays.0,
        })
    }
}

/// `io` with its slots passed through `place`.
fn placed(io: Io, place: impl Fn(Slot) -> Slot) -> Io {
    Io {
        loads: io
            .loads
            .into_iter()
            .map(|l| Load {
                dst: place(l.dst),
                node: place(l.node),
                ..l
            })
            .collect(),
        scatters: io
            .scatters
            .into_iter()
            .map(|s| Scatter {
                src: place(s.src),
                node: place(s.node),
                ..s
            })
            .collect(),
        runs: io.runs.map(place),
    }
}
