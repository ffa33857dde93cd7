//! Errors in a cell's structure: bad numbers of segments or dimensions, unknown sections,
//! self connections and loops. Each names the section so the CLI can print one clear line.

use thiserror::Error;

/// A structural problem in a [`super::CellModel`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// nseg < 1.
    #[error("section {section}: nseg must be at least 1, got {nseg}")]
    InvalidNseg {
        /// Section name.
        section: String,
        /// Value given.
        nseg: usize,
    },
    /// L <= 0 or not finite.
    #[error("section {section}: L must be > 0 um, got {length_um}")]
    InvalidLength {
        /// Section name.
        section: String,
        /// Value given (um).
        length_um: f64,
    },
    /// diam <= 0 or not finite.
    #[error("section {section}: diam must be > 0 um, got {diam_um}")]
    InvalidDiameter {
        /// Section name.
        section: String,
        /// Value given (um).
        diam_um: f64,
    },
    /// Ra <= 0 or not finite.
    #[error("section {section}: Ra must be > 0 ohm cm, got {ra_ohm_cm}")]
    InvalidRa {
        /// Section name.
        section: String,
        /// Value given (ohm cm).
        ra_ohm_cm: f64,
    },
    /// A position outside 0..=1.
    #[error("section {section}: position x = {x} is outside 0..1")]
    InvalidPosition {
        /// Section name.
        section: String,
        /// Value given.
        x: f64,
    },
    /// `connect s(0), s(x)`.
    #[error("section {section} cannot be connected to itself")]
    SelfConnection {
        /// Section name.
        section: String,
    },
    /// Connecting would close a loop.
    #[error("connecting section {section} would make a loop in the cell tree")]
    Loop {
        /// Section name.
        section: String,
    },
    /// A section index that does not exist.
    #[error("no section with index {index}")]
    UnknownSection {
        /// Index given.
        index: usize,
    },
    /// A point process index that does not exist.
    #[error("no point process with index {index}")]
    UnknownPointProcess {
        /// Index given.
        index: usize,
    },
    /// Segment index >= nseg.
    #[error("section {section}: segment {segment} does not exist (nseg = {nseg})")]
    SegmentOutOfRange {
        /// Section name.
        section: String,
        /// Index given.
        segment: usize,
        /// The section's nseg.
        nseg: usize,
    },
    /// A range variable whose suffix names no mechanism inserted in the section.
    #[error("section {section}: {name} is not a range variable of any mechanism inserted here")]
    UnknownRangeVariable {
        /// Section name.
        section: String,
        /// Hoc name given.
        name: String,
    },
}
