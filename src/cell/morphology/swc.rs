//! SWC morphologies imported the way NEURON's Import3d does it, natively (no HOC): points are
//! grouped into unbranched sections that end at branch points or where the point type changes;
//! sections are named by type (`soma`, `axon`, `dend`, `apic`) and numbered in the order of their
//! first point in the file; a child of a non-soma section starts with a copy of its parent's last
//! point and attaches at parent(1); a child of the soma attaches at soma(0.5) and starts at its own
//! first point; a soma given as a single point of radius r becomes one section of three points
//! (x - r, x, x + r) with diameter 2r. Coordinates and diameters are stored in single precision,
//! as NEURON stores 3-D points, so lengths and areas match NEURON's to the last digits.
//!
//! Owns: SWC text -> [`SwcMorphology`] (plain sections) -> sections of a [`CellModel`]. It knows
//! nothing of mechanisms or of the Allen fit files (see `cell::allen`).

use std::path::{Path, PathBuf};

use super::model::CellModel;
use super::section::{Pt3d, SectionId};

/// An SWC problem, naming the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct SwcError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// One SWC sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    id: i64,
    kind: u32,
    x: f64,
    y: f64,
    z: f64,
    radius: f64,
    parent: i64,
    line: usize,
}

/// A section made from SWC samples, before it becomes part of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct SwcSection {
    /// `soma`, `axon`, `dend` or `apic` (or `dend` for custom types, as Import3d does).
    pub kind: &'static str,
    /// Index within its kind (`dend[3]` has index 3).
    pub index: usize,
    /// Parent section (position in [`SwcMorphology::sections`]) and where on it this one attaches.
    pub parent: Option<(usize, f64)>,
    /// 3-D points (x, y, z, diameter), single-precision values.
    pub points: Vec<Pt3d>,
}

impl SwcSection {
    /// NEURON's name, `dend[3]`.
    pub fn name(&self) -> String {
        format!("{}[{}]", self.kind, self.index)
    }
}

/// The sections of an SWC file, parents before children.
#[derive(Debug, Clone, PartialEq)]
pub struct SwcMorphology {
    pub file: PathBuf,
    pub sections: Vec<SwcSection>,
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        1 => "soma",
        2 => "axon",
        4 => "apic",
        _ => "dend",
    }
}

/// Round to single precision, as NEURON's 3-D point storage does.
fn f32ish(x: f64) -> f64 {
    x as f32 as f64
}

fn point(s: &Sample) -> Pt3d {
    Pt3d::new(
        f32ish(s.x),
        f32ish(s.y),
        f32ish(s.z),
        f32ish(2.0 * s.radius),
    )
}

impl SwcMorphology {
    /// Read and split an SWC file.
    pub fn read(path: &Path) -> Result<Self, SwcError> {
        let text = std::fs::read_to_string(path).map_err(|e| SwcError {
            file: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Split SWC text (see the module doc for the rules).
    pub fn parse(path: &Path, text: &str) -> Result<Self, SwcError> {
        let err = |line: Option<usize>, message: String| SwcError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let samples = parse_samples(text).map_err(|(line, m)| err(Some(line), m))?;
        let index_of = sample_index(&samples).map_err(|(line, m)| err(Some(line), m))?;
        let parent_of: Vec<Option<usize>> = samples
            .iter()
            .map(|s| (s.parent >= 0).then(|| index_of(s.parent)).flatten())
            .collect();
        for (i, s) in samples.iter().enumerate() {
            if s.parent >= 0 && parent_of[i].is_none() {
                return Err(err(
                    Some(s.line),
                    format!("parent {} of point {} does not exist", s.parent, s.id),
                ));
            }
        }
        check_acyclic(&samples, &parent_of).map_err(|(line, m)| err(Some(line), m))?;
        // Sections are built in file order, so a parent must come first (as the SWC format
        // requires and Import3d assumes); checked after cycles, which are reported as such.
        for (i, s) in samples.iter().enumerate() {
            if let Some(p) = parent_of[i].filter(|p| *p > i) {
                return Err(err(
                    Some(s.line),
                    format!(
                        "parent {} of point {} comes later in the file (line {}); SWC lists \
                         every point after its parent",
                        s.parent, s.id, samples[p].line
                    ),
                ));
            }
        }
        let soma: Vec<usize> = (0..samples.len())
            .filter(|i| samples[*i].kind == 1)
            .collect();
        if soma.is_empty() {
            return Err(err(None, "no soma (type 1) point".into()));
        }
        Ok(SwcMorphology {
            file: path.to_path_buf(),
            sections: split_sections(&samples, &parent_of),
        })
    }
}

fn parse_samples(text: &str) -> Result<Vec<Sample>, (usize, String)> {
    let mut samples = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let body = raw.split('#').next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.len() < 7 {
            return Err((
                line,
                format!(
                    "expected 7 fields (id type x y z radius parent), found {}",
                    fields.len()
                ),
            ));
        }
        let num = |k: usize, what: &str| -> Result<f64, (usize, String)> {
            fields[k]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or((line, format!("{what} '{}' is not a number", fields[k])))
        };
        let int = |k: usize, what: &str| -> Result<i64, (usize, String)> {
            let v = num(k, what)?;
            if v.fract() != 0.0 {
                return Err((
                    line,
                    format!("{what} '{}' is not a whole number", fields[k]),
                ));
            }
            Ok(v as i64)
        };
        let kind = int(1, "type")?;
        if kind < 0 {
            return Err((line, format!("type {kind} is negative")));
        }
        let radius = num(5, "radius")?;
        if radius < 0.0 {
            return Err((line, format!("radius {radius} is negative")));
        }
        samples.push(Sample {
            id: int(0, "id")?,
            kind: kind as u32,
            x: num(2, "x")?,
            y: num(3, "y")?,
            z: num(4, "z")?,
            radius,
            parent: int(6, "parent")?,
            line,
        });
    }
    if samples.is_empty() {
        return Err((1, "no points".into()));
    }
    Ok(samples)
}

/// id -> position, refusing duplicate ids.
fn sample_index(samples: &[Sample]) -> Result<impl Fn(i64) -> Option<usize> + '_, (usize, String)> {
    let mut map = std::collections::HashMap::new();
    for (i, s) in samples.iter().enumerate() {
        if map.insert(s.id, i).is_some() {
            return Err((s.line, format!("point id {} appears twice", s.id)));
        }
    }
    Ok(move |id| map.get(&id).copied())
}

fn check_acyclic(samples: &[Sample], parent_of: &[Option<usize>]) -> Result<(), (usize, String)> {
    // 0 = unvisited, 1 = on the current path, 2 = known to reach a root.
    let mut state = vec![0u8; samples.len()];
    for start in 0..samples.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                2 => break,
                1 => {
                    return Err((
                        samples[i].line,
                        format!("point {} is its own ancestor (a cycle)", samples[i].id),
                    ))
                }
                _ => {
                    state[i] = 1;
                    path.push(i);
                    at = parent_of[i];
                }
            }
        }
        for i in path {
            state[i] = 2;
        }
    }
    Ok(())
}

/// Group samples into unbranched sections, in order of their first sample (every sample comes
/// after its parent, which `parse` checks).
fn split_sections(samples: &[Sample], parent_of: &[Option<usize>]) -> Vec<SwcSection> {
    let n = samples.len();
    let mut children = vec![Vec::new(); n];
    for (i, p) in parent_of.iter().enumerate() {
        if let Some(p) = p {
            children[*p].push(i);
        }
    }
    // A sample starts a section when it is a root, its parent branches, or the type changes.
    let starts = |i: usize| match parent_of[i] {
        None => true,
        Some(p) => {
            children[p].len() > 1 || samples[p].kind != samples[i].kind || samples[p].kind == 1
        }
    };
    let mut section_of = vec![usize::MAX; n];
    let mut sections: Vec<(u32, Vec<usize>, Option<usize>)> = Vec::new();
    // Soma samples form the soma section(s); other sections follow in file order of first sample.
    for i in 0..n {
        if samples[i].kind == 1 {
            let joins = parent_of[i]
                .filter(|p| samples[*p].kind == 1)
                .map(|p| section_of[p]);
            match joins {
                Some(s) if s != usize::MAX => {
                    sections[s].1.push(i);
                    section_of[i] = s;
                }
                _ => {
                    section_of[i] = sections.len();
                    sections.push((1, vec![i], None));
                }
            }
            continue;
        }
        if starts(i) {
            section_of[i] = sections.len();
            sections.push((samples[i].kind, vec![i], parent_of[i]));
        } else if let Some(p) = parent_of[i] {
            let s = section_of[p];
            sections[s].1.push(i);
            section_of[i] = s;
        }
    }
    let mut counters: std::collections::HashMap<&'static str, usize> = Default::default();
    let mut out: Vec<SwcSection> = Vec::with_capacity(sections.len());
    for (kind, members, parent_sample) in &sections {
        let name = kind_name(*kind);
        let counter = counters.entry(name).or_default();
        let index = *counter;
        *counter += 1;
        let parent = parent_sample.map(|p| {
            let on_soma = samples[p].kind == 1;
            (section_of[p], if on_soma { 0.5 } else { 1.0 })
        });
        let mut points = Vec::with_capacity(members.len() + 2);
        if *kind == 1 && members.len() == 1 {
            let s = &samples[members[0]];
            let r = s.radius;
            for dx in [-r, 0.0, r] {
                points.push(Pt3d::new(
                    f32ish(s.x + dx),
                    f32ish(s.y),
                    f32ish(s.z),
                    f32ish(2.0 * r),
                ));
            }
        } else {
            if let Some(p) = parent_sample.filter(|p| samples[*p].kind != 1) {
                points.push(point(&samples[p]));
            }
            points.extend(members.iter().map(|m| point(&samples[*m])));
        }
        out.push(SwcSection {
            kind: name,
            index,
            parent,
            points,
        });
    }
    out
}

impl SwcMorphology {
    /// Add every section except those of the kinds in `skip` (and their descendants) to `model`,
    /// nseg 1, grouped by type as NEURON's Import3d creates them (soma, axon, dend, apic; file
    /// order within a type); returns the id given to each kept section (None where skipped).
    pub fn add_to(
        &self,
        model: &mut CellModel,
        skip: &[&str],
    ) -> Result<Vec<Option<SectionId>>, super::error::ModelError> {
        let n = self.sections.len();
        let mut kept = vec![true; n];
        for (i, section) in self.sections.iter().enumerate() {
            // Parents come before children in `sections`, so one pass settles descendants.
            let parent_gone = section.parent.is_some_and(|(p, _)| !kept[p]);
            kept[i] = !skip.contains(&section.kind) && !parent_gone;
        }
        let rank = |kind: &str| {
            ["soma", "axon", "dend", "apic"]
                .iter()
                .position(|k| *k == kind)
                .unwrap_or(4)
        };
        let mut order: Vec<usize> = (0..n).filter(|i| kept[*i]).collect();
        order.sort_by_key(|i| (rank(self.sections[*i].kind), *i));
        let mut ids: Vec<Option<SectionId>> = vec![None; n];
        for &i in &order {
            let section = &self.sections[i];
            let id = model.add_section(&section.name());
            for p in &section.points {
                model.add_pt3d(id, *p)?;
            }
            ids[i] = Some(id);
        }
        for &i in &order {
            if let (Some(id), Some((p, x))) = (ids[i], self.sections[i].parent) {
                if let Some(parent) = ids[p] {
                    model.connect(id, parent, x)?;
                }
            }
        }
        Ok(ids)
    }
}
