//! Cell structure and geometry: sections (`section`), the whole-cell model and its builder
//! (`model`), NEURON's compartmentalisation into nodes with areas and axial conductances
//! (`discretize`) and `define_shape` 3-D placement for display (`shape`). Nothing here knows a
//! voltage or a channel equation; the solver consumes a [`Discretization`].
pub mod discretize;
pub mod error;
pub mod model;
pub mod section;
pub mod shape;
pub mod swc;

pub use discretize::{Discretization, SectionNodes, SegmentGeometry};
pub use error::ModelError;
pub use model::{CellModel, PointProcess, PointProcessId};
pub use section::{Connection, InsertedMechanism, Pt3d, RangeValue, Section, SectionId};
pub use shape::define_shape;
