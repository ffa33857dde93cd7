//! NMODL: read users' `.mod` channel files and compile them into fast columnar kernels.
//!
//! Pipeline, one module per stage (Arbor modcc's layout): [`lexer`] -> [`parser`] ([`ast`]) ->
//! [`sema`] (names resolved, a plain-data [`ir::Mechanism`]) -> [`solvers`] (cnexp, euler,
//! KINETIC-to-DERIVATIVE rewrites) -> [`lower`] (inlining, if-conversion, CSE, column
//! allocation) -> [`bytecode`] (a register bytecode whose ops run over all instances in
//! struct-of-arrays columns) -> [`jit`] (the same programs as x86-64 AVX2 machine code, bit for
//! bit, where the CPU has it; the bytecode interpreter elsewhere) -> [`kernel`] (the API a solver
//! calls). [`catalogue`] loads a folder
//! of mod files as one namespace, [`listing`] summarises it for `bmtool util cell mechanisms`,
//! [`units`] holds NEURON 8.2's physical constants. Nothing here knows about the cable solver.
//!
//! Typical use (an adapter to the solver's mechanism trait is a thin layer over this):
//! ```no_run
//! use bmtool::cell::nmodl::{Catalogue, Env, IonColumns};
//! let cat = Catalogue::load_dir("modfiles")?;            // parse + analyse every *.mod
//! let nats = cat.compile("NaTs").expect("present")?;      // compile one mechanism
//! let mut inst = nats.instantiate(3);                     // 3 compartments, defaults set
//! nats.range_mut(&mut inst, "gbar_NaTs")?.fill(0.01);     // RANGE per instance
//! let v = [-65.0; 3];
//! let (mut e, mut i, mut ci, mut co) = ([50.0; 3], [0.0; 3], [10.0; 3], [140.0; 3]);
//! let mut ions = [IonColumns { e: &mut e, i: &mut i, ci: &mut ci, co: &mut co }]; // nats.ions()
//! let env = Env { celsius: 34.0, dt: 0.025, t: 0.0 };
//! nats.initial(&mut inst, &v, &mut ions, &env)?;
//! nats.current_and_conductance(&mut inst, &v, &mut ions, &env)?; // inst.current, .conductance
//! nats.advance_states(&mut inst, &v, &mut ions, &env)?;
//! # Ok::<(), bmtool::cell::nmodl::NmodlError>(())
//! ```
//! What runs: INITIAL, BREAKPOINT, DERIVATIVE with `cnexp` / `derivimplicit` / `euler`, KINETIC
//! with `sparse`, LINEAR solved from INITIAL, PROCEDURE / FUNCTION (inlined), NET_RECEIVE without
//! events of its own. What only parses (compiling reaches it -> error naming file, line, block):
//! VERBATIM, BEFORE/AFTER, `net_send`/`net_event`, WATCH, FUNCTION_TABLE, COMPARTMENT, POINTER.
pub mod ast;
pub mod bytecode;
pub mod catalogue;
pub mod error;
pub mod ir;
pub mod jit;
pub mod kernel;
pub mod lexer;
pub mod listing;
pub mod lower;
pub mod parser;
pub mod sema;
pub mod solvers;
pub mod units;

pub use catalogue::Catalogue;
pub use error::NmodlError;
pub use kernel::{
    CompileOptions, CompiledMechanism, Env, IonColumns, IonPort, MechanismInstances, Ports,
};
