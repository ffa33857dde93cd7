//! Connectivity computed from a loaded circuit: connection matrices between node groups (totals,
//! percentages, convergence, divergence, gap junctions). Reads through `sonata`, renders nothing.

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
