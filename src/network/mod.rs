//! Connectivity: connection matrices computed from a loaded circuit (totals, percentages,
//! convergence, divergence, gap junctions), and `connectors`, which builds new networks with
//! bmtool's connectors. Reads and writes files only through `sonata`; renders nothing.

pub mod connectors;
pub mod groups;
pub mod matrix;

pub use groups::{GroupSpec, PopulationGroups};
pub use matrix::{
    connection_matrix, CountMode, GapMethod, Matrix, MatrixOptions, Measure, PercentMethod, Stat,
};
