//! bmtool: SONATA network reports and NEURON-compatible single-cell work in one library.
//!
//! The binary (`src/main.rs`) only parses arguments and maps errors to exit codes; everything it
//! does is reachable from here, so tests and other crates use the same code paths.
pub mod cell;
pub mod cli;
pub mod commands;
pub mod network;
pub mod output;
pub mod plot;
pub mod report;
pub mod sonata;
