//! Connectivity: connection matrices computed from a loaded circuit (totals, percentages,
//! convergence, divergence, gap junctions), and `connectors`, which builds new networks with
//! bmtool's connectors. Reads and writes files only through `sonata`; renders nothing.

pub mod connectors;
pub mod edge_values;
pub mod firing;
pub mod graph;
pub mod groups;
pub mod matrix;
pub mod placement;
pub mod probability;

pub use groups::{GroupSpec, PopulationGroups};
pub use matrix::{
    connection_matrix, CountMode, GapMethod, Matrix, MatrixOptions, Measure, PercentMethod, Stat,
};
