//! NMODL: read users' `.mod` channel files and compile them into fast columnar kernels.
//!
//! Pipeline, one module per stage (Arbor modcc's layout): [`lexer`] -> [`parser`] ([`ast`]) ->
//! [`sema`] (names resolved, a plain-data [`ir::Mechanism`]) -> [`solvers`] (cnexp, euler,
//! derivimplicit rewrites) -> [`kernel`] (a register bytecode run over all instances in
//! struct-of-arrays columns). [`catalogue`] loads a folder of mod files as one namespace and
//! [`listing`] summarises it for `bmtool util cell mechanisms`. Nothing here knows about the
//! cable solver: an adapter to the solver's mechanism trait uses [`kernel::CompiledMechanism`].
pub mod ast;
pub mod bytecode;
pub mod catalogue;
pub mod error;
pub mod ir;
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
pub use kernel::{CompileOptions, CompiledMechanism, Env, IonColumns, MechanismInstances};
