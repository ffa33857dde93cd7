//! One unbranched cable: its name, where it attaches, how it is cut into segments, its geometry
//! (L and diam, or pt3d points) and passive properties, and the mechanisms inserted in it. Plain
//! data; checks live in `model`, geometry integrals in `discretize`.

/// A 3-D point with diameter, in um. NEURON stores these in single precision; the constructor
/// rounds to `f32` so arc lengths and areas come out as NEURON's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt3d {
    /// x (um)
    pub x_um: f64,
    /// y (um)
    pub y_um: f64,
    /// z (um)
    pub z_um: f64,
    /// Diameter (um)
    pub diam_um: f64,
}

impl Pt3d {
    /// A point, rounded to single precision as NEURON's `Pt3d` holds it.
    pub fn new(x_um: f64, y_um: f64, z_um: f64, diam_um: f64) -> Self {
        let round = |value: f64| value as f32 as f64;
        Self {
            x_um: round(x_um),
            y_um: round(y_um),
            z_um: round(z_um),
            diam_um: round(diam_um),
        }
    }

    /// Euclidean distance to `other` (um).
    pub fn distance_um(&self, other: &Pt3d) -> f64 {
        let dx = other.x_um - self.x_um;
        let dy = other.y_um - self.y_um;
        let dz = other.z_um - self.z_um;
        (dx * dx + dy * dy + dz * dz).sqrt()
    }
}

/// Index of a section in [`super::CellModel::sections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId(pub usize);

/// Where a section's x = 0 end attaches to its parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Connection {
    /// Parent section.
    pub parent: SectionId,
    /// Position along the parent, 0..=1.
    pub parent_x: f64,
}

/// A range variable's value along a section: one value, or one per segment.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeValue {
    /// Same value in every segment.
    Uniform(f64),
    /// One value per segment (`len() == nseg`).
    PerSegment(Vec<f64>),
}

impl RangeValue {
    /// Value in segment `segment`.
    pub fn at(&self, segment: usize) -> f64 {
        match self {
            RangeValue::Uniform(value) => *value,
            // A hand-built vector shorter than nseg repeats its last value; an empty one is unset.
            RangeValue::PerSegment(values) => values
                .get(segment)
                .or(values.last())
                .copied()
                .unwrap_or(f64::NAN),
        }
    }

    /// Set segment `segment` of a section with `nseg` segments.
    pub fn set_segment(&mut self, segment: usize, nseg: usize, value: f64) {
        if let RangeValue::Uniform(uniform) = *self {
            *self = RangeValue::PerSegment(vec![uniform; nseg]);
        }
        if let RangeValue::PerSegment(values) = self {
            values[segment] = value;
        }
    }

    /// Re-sample for a new nseg: each new segment takes the old segment containing its centre
    /// (NEURON keeps range values this way when `nseg` changes).
    pub fn resample(&mut self, old_nseg: usize, new_nseg: usize) {
        if let RangeValue::PerSegment(values) = self {
            let resampled = (0..new_nseg)
                .map(|segment| {
                    let x = (segment as f64 + 0.5) / new_nseg as f64;
                    values[segment_index(x, old_nseg)]
                })
                .collect();
            *values = resampled;
        }
    }
}

/// Segment containing interior position `x` (NEURON's `node_index`: floor(nseg*x), clamped).
pub fn segment_index(x: f64, nseg: usize) -> usize {
    ((x * nseg as f64) as usize).min(nseg - 1)
}

/// A density mechanism inserted in a section, with the values set for its RANGE variables.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertedMechanism {
    /// SUFFIX (`hh`, `pas`).
    pub name: String,
    /// Values set by the model, by variable name without suffix (`gnabar`). Unset variables keep
    /// the mechanism's default.
    pub values: Vec<(String, RangeValue)>,
}

impl InsertedMechanism {
    /// The value set for `variable`, if any.
    pub fn value(&self, variable: &str) -> Option<&RangeValue> {
        self.values
            .iter()
            .find(|(name, _)| name == variable)
            .map(|(_, value)| value)
    }

    pub(crate) fn value_mut(&mut self, variable: &str, default: f64) -> &mut RangeValue {
        let index = match self.values.iter().position(|(name, _)| name == variable) {
            Some(index) => index,
            None => {
                self.values
                    .push((variable.to_string(), RangeValue::Uniform(default)));
                self.values.len() - 1
            }
        };
        &mut self.values[index].1
    }
}

/// One section. Defaults are NEURON's: L = 100 um, diam = 500 um, nseg = 1, Ra = 35.4 ohm cm,
/// cm = 1 uF/cm2.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Name as NEURON prints it (`soma[0]`, `dend[3]`).
    pub name: String,
    /// Parent and connection point; `None` for a root.
    pub parent: Option<Connection>,
    /// Number of segments (>= 1).
    pub nseg: usize,
    /// Length (um); ignored when `pt3d` has two or more points (then L is their arc length).
    pub length_um: f64,
    /// Diameter (um); ignored when `pt3d` has two or more points.
    pub diam_um: f64,
    /// 3-D points; two or more define the geometry as in NEURON's `diam_from_list`.
    pub pt3d: Vec<Pt3d>,
    /// Axial resistivity (ohm cm).
    pub ra_ohm_cm: f64,
    /// Specific capacitance (uF/cm2), per segment.
    pub cm_uf_cm2: RangeValue,
    /// Density mechanisms inserted.
    pub mechanisms: Vec<InsertedMechanism>,
    /// Ion variables set in this section by hoc name (`ena`, `ek`, `cai`, `cao`, `eleak`), per
    /// segment. The solver applies them where a mechanism uses the ion; `finitialize` may then
    /// overwrite them exactly as NEURON's `ion_style` rules do.
    pub ion_values: Vec<(String, RangeValue)>,
}

impl Section {
    /// A root section with NEURON's default geometry.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            parent: None,
            nseg: 1,
            length_um: 100.0,
            diam_um: 500.0,
            pt3d: Vec::new(),
            ra_ohm_cm: 35.4,
            cm_uf_cm2: RangeValue::Uniform(1.0),
            mechanisms: Vec::new(),
            ion_values: Vec::new(),
        }
    }

    /// True when the geometry comes from pt3d points.
    pub fn has_pt3d_geometry(&self) -> bool {
        self.pt3d.len() > 1
    }

    /// Section length (um): the pt3d arc length when 3-D points define the geometry, else L.
    pub fn length(&self) -> f64 {
        if self.has_pt3d_geometry() {
            *self.arc_lengths_um().last().unwrap_or(&0.0)
        } else {
            self.length_um
        }
    }

    /// Cumulative arc length at each pt3d point (um), as NEURON's `pt3d[i].arc`.
    pub fn arc_lengths_um(&self) -> Vec<f64> {
        let mut arcs = Vec::with_capacity(self.pt3d.len());
        let mut arc = 0.0;
        for (index, point) in self.pt3d.iter().enumerate() {
            if index > 0 {
                arc += self.pt3d[index - 1].distance_um(point);
            }
            arcs.push(arc);
        }
        arcs
    }

    /// The inserted density mechanism called `name`.
    pub fn mechanism(&self, name: &str) -> Option<&InsertedMechanism> {
        self.mechanisms.iter().find(|m| m.name == name)
    }
}
