//! Turns a [`CellModel`]'s sections into NEURON's compartments (`treeset.cpp`: `nrn_area_ri`,
//! `diam_from_list`, `connection_coef`): node numbering with parent index < child index, node
//! areas (um2), axial conductances to the parent (uS) and the matrix coupling coefficients `a`,
//! `b` (S/cm2 on membrane rows, uS on the zero-area rows). Owns geometry only: no voltages, no
//! mechanisms.
//!
//! Node layout: one zero-area root node per root section first, then for each section (parents
//! before children) its `nseg` segment-centre nodes and its zero-area x = 1 end node. A section's
//! x = 0 is its parent's node at the connection point: the parent's end node for x = 1, the root
//! node (or the parent's own parent node) for x = 0, else the centre node of the parent segment
//! containing x. Zero-area nodes have area 100 and no capacitance.

use std::f64::consts::PI;

use super::error::ModelError;
use super::model::CellModel;
use super::section::{segment_index, Section, SectionId};

/// Geometry of one segment, as `seg.area()`, `seg.diam`, `seg.ri()` report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentGeometry {
    /// Segment centre position, (i + 0.5)/nseg.
    pub x: f64,
    /// Membrane area (um2).
    pub area_um2: f64,
    /// Mean diameter over the segment (um).
    pub diam_um: f64,
    /// Axial resistance from the parent node to this segment's centre (MOhm).
    pub ri_mohm: f64,
}

/// Where one section's nodes are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SectionNodes {
    /// Node of segment 0; segment k is `first_node + k`.
    pub first_node: usize,
    /// Number of segments.
    pub nseg: usize,
    /// The node at this section's x = 0 (in the parent, or the root node).
    pub parent_node: usize,
}

impl SectionNodes {
    /// The zero-area node at x = 1.
    pub fn end_node(&self) -> usize {
        self.first_node + self.nseg
    }

    /// Centre node of segment `segment`.
    pub fn segment_node(&self, segment: usize) -> usize {
        self.first_node + segment
    }

    /// NEURON's `node_exact`: x = 0 -> parent node, x = 1 -> end node, else the centre node of
    /// the segment containing x.
    pub fn node_at(&self, x: f64) -> usize {
        if x <= 0.0 {
            self.parent_node
        } else if x >= 1.0 {
            self.end_node()
        } else {
            self.segment_node(segment_index(x, self.nseg))
        }
    }
}

/// The compartmentalised cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Discretization {
    /// Number of root nodes (they come first).
    pub n_roots: usize,
    /// Parent node of each node (`parent[i] < i`; a root is its own parent).
    pub parent: Vec<usize>,
    /// Node area (um2); 100 on zero-area nodes.
    pub area_um2: Vec<f64>,
    /// Segment diameter per node (um, NEURON's `diam` range variable); 0 on zero-area nodes.
    pub diam_um: Vec<f64>,
    /// Conductance between a node and its parent (uS), NEURON's `NODERINV`; 0 on roots.
    pub rinv_us: Vec<f64>,
    /// Effect of node i on its parent's equation, `-1e2*rinv/area(parent)`.
    pub a: Vec<f64>,
    /// Effect of the parent on node i's equation, `-1e2*rinv/area(i)`.
    pub b: Vec<f64>,
    /// Specific capacitance per node (uF/cm2); 0 on zero-area nodes.
    pub cm_uf_cm2: Vec<f64>,
    /// Section each node belongs to (a root node belongs to its root section).
    pub node_section: Vec<SectionId>,
    /// Node positions per section, indexed by [`SectionId`].
    pub sections: Vec<SectionNodes>,
    /// Segment geometry per section, indexed by [`SectionId`].
    pub segments: Vec<Vec<SegmentGeometry>>,
}

/// Per-segment electrical geometry of one section before numbering.
struct SectionGeometry {
    segments: Vec<SegmentGeometry>,
    /// Right-half resistance of the last segment (MOhm): the end node's resistance.
    end_r_mohm: f64,
}

impl Discretization {
    /// Discretise `model` exactly as NEURON's `recalc_diam` does.
    pub fn new(model: &CellModel) -> Result<Self, ModelError> {
        model.validate()?;
        let order = section_order(model);
        let n_roots = model.sections.iter().filter(|s| s.parent.is_none()).count();
        let n_nodes = n_roots + model.sections.iter().map(|s| s.nseg + 1).sum::<usize>();

        let mut disc = Discretization {
            n_roots,
            parent: vec![0; n_nodes],
            area_um2: vec![100.0; n_nodes],
            diam_um: vec![0.0; n_nodes],
            rinv_us: vec![0.0; n_nodes],
            a: vec![0.0; n_nodes],
            b: vec![0.0; n_nodes],
            cm_uf_cm2: vec![0.0; n_nodes],
            node_section: vec![SectionId(0); n_nodes],
            sections: vec![
                SectionNodes {
                    first_node: 0,
                    nseg: 0,
                    parent_node: 0,
                };
                model.sections.len()
            ],
            segments: vec![Vec::new(); model.sections.len()],
        };

        let mut next_root = 0;
        let mut next_node = n_roots;
        for &id in &order {
            let section = &model.sections[id.0];
            let parent_node = match section.parent {
                None => {
                    let root = next_root;
                    next_root += 1;
                    disc.parent[root] = root;
                    disc.node_section[root] = id;
                    root
                }
                Some(connection) => disc.sections[connection.parent.0].node_at(connection.parent_x),
            };
            let nodes = SectionNodes {
                first_node: next_node,
                nseg: section.nseg,
                parent_node,
            };
            next_node += section.nseg + 1;
            disc.sections[id.0] = nodes;
            disc.place_section(id, section, nodes);
        }
        disc.connection_coefficients();
        Ok(disc)
    }

    fn place_section(&mut self, id: SectionId, section: &Section, nodes: SectionNodes) {
        let geometry = section_geometry(section);
        for (k, segment) in geometry.segments.iter().enumerate() {
            let node = nodes.segment_node(k);
            self.parent[node] = if k == 0 { nodes.parent_node } else { node - 1 };
            self.area_um2[node] = segment.area_um2;
            self.diam_um[node] = segment.diam_um;
            self.rinv_us[node] = 1.0 / segment.ri_mohm;
            self.cm_uf_cm2[node] = section.cm_uf_cm2.at(k);
            self.node_section[node] = id;
        }
        let end = nodes.end_node();
        self.parent[end] = end - 1;
        self.area_um2[end] = 1.0e2;
        self.rinv_us[end] = 1.0 / geometry.end_r_mohm;
        self.node_section[end] = id;
        self.segments[id.0] = geometry.segments;
    }

    /// `connection_coef`: a = -1e2*rinv/area(parent), b = -1e2*rinv/area(self).
    fn connection_coefficients(&mut self) {
        for node in self.n_roots..self.parent.len() {
            let parent = self.parent[node];
            self.a[node] = -1.0e2 * self.rinv_us[node] / self.area_um2[parent];
            self.b[node] = -1.0e2 * self.rinv_us[node] / self.area_um2[node];
        }
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.parent.len()
    }

    /// Where node `node` is: its section, the segment index (nseg for the x = 1 end) and x.
    /// Root nodes are the x = 0 end of their section.
    pub fn location_of(&self, node: usize) -> (SectionId, usize, f64) {
        let section = self.node_section[node];
        let nodes = self.sections[section.0];
        if node < self.n_roots || nodes.nseg == 0 || node < nodes.first_node {
            return (section, 0, 0.0);
        }
        let segment = node - nodes.first_node;
        if segment >= nodes.nseg {
            return (section, nodes.nseg, 1.0);
        }
        (section, segment, (segment as f64 + 0.5) / nodes.nseg as f64)
    }

    /// Node at (section, x), NEURON's `node_exact`.
    pub fn node_at(&self, section: SectionId, x: f64) -> usize {
        self.sections[section.0].node_at(x)
    }
}

/// Sections in an order where every parent precedes its children (roots in index order, then
/// breadth first).
pub fn section_order(model: &CellModel) -> Vec<SectionId> {
    let mut children: Vec<Vec<SectionId>> = vec![Vec::new(); model.sections.len()];
    let mut order = Vec::with_capacity(model.sections.len());
    for (index, section) in model.sections.iter().enumerate() {
        match section.parent {
            Some(connection) => children[connection.parent.0].push(SectionId(index)),
            None => order.push(SectionId(index)),
        }
    }
    let mut cursor = 0;
    while cursor < order.len() {
        let id = order[cursor];
        order.extend(children[id.0].iter().copied());
        cursor += 1;
    }
    order
}

fn section_geometry(section: &Section) -> SectionGeometry {
    if section.has_pt3d_geometry() {
        pt3d_geometry(section)
    } else {
        cylinder_geometry(section)
    }
}

/// `nrn_area_ri` for a section without 3-D points.
fn cylinder_geometry(section: &Section) -> SectionGeometry {
    let nseg = section.nseg;
    let dx = section.length_um / nseg as f64;
    let diam = section.diam_um;
    let mut r_right = 0.0;
    let mut segments = Vec::with_capacity(nseg);
    for k in 0..nseg {
        let r_left = 1e-2 * section.ra_ohm_cm * (dx / 2.0) / (PI * diam * diam / 4.0);
        segments.push(SegmentGeometry {
            x: (k as f64 + 0.5) / nseg as f64,
            area_um2: PI * diam * dx,
            diam_um: diam,
            ri_mohm: r_left + r_right,
        });
        r_right = r_left;
    }
    SectionGeometry {
        segments,
        end_r_mohm: r_right,
    }
}

/// `diam_from_list`: trapezoidal integration of area, axial resistance and mean diameter over
/// each half segment, with diameters interpolated at half-segment boundaries.
fn pt3d_geometry(section: &Section) -> SectionGeometry {
    let arcs = section.arc_lengths_um();
    let diams: Vec<f64> = section.pt3d.iter().map(|p| p.diam_um.abs()).collect();
    let n_points = arcs.len();
    let nseg = section.nseg;
    let ds = arcs[n_points - 1] / nseg as f64;
    let resistance_factor = section.ra_ohm_cm / PI * (4.0 * 0.01);

    let mut j = 0;
    let mut x1 = arcs[0];
    let mut y1 = diams[0];
    let mut r_right = 0.0;
    let mut segments = Vec::with_capacity(nseg);
    for k in 0..nseg {
        let mut si = k as f64 * ds;
        let mut diam_sum = 0.0;
        let mut area_sum = 0.0;
        let mut r_left = 0.0;
        for half in 0..2 {
            let mut ri_sum = 0.0;
            let sip = si + ds / 2.0;
            loop {
                let jp = j + 1;
                let (xj, xjp) = (arcs[j], arcs[jp]);
                let (x2, y2, j_next) = if xjp > sip || jp == n_points - 1 {
                    let frac = if (xjp - xj).abs() < 1e-10 {
                        1.0
                    } else {
                        (sip - xj) / (xjp - xj)
                    };
                    (sip, (1.0 - frac) * diams[j] + frac * diams[jp], j)
                } else {
                    (xjp, diams[jp], jp)
                };
                let mut delta = x2 - x1;
                diam_sum += (y2 + y1) * delta;
                if delta < 1e-15 {
                    delta = 1e-15;
                }
                let mut temp = y2 * y1 / delta;
                if temp == 0.0 {
                    temp = 1e-15;
                }
                ri_sum += 1.0 / temp;
                let taper = 0.5 * (y2 - y1);
                area_sum += (y2 + y1) * (delta * delta + taper * taper).sqrt();
                x1 = x2;
                y1 = y2;
                if j == j_next {
                    break;
                }
                j = j_next;
            }
            if half == 0 {
                r_left = ri_sum * resistance_factor;
            } else {
                let r_parent = r_right;
                r_right = ri_sum * resistance_factor;
                segments.push(SegmentGeometry {
                    x: (k as f64 + 0.5) / nseg as f64,
                    area_um2: area_sum * 0.5 * PI,
                    diam_um: diam_sum * 0.5 / ds,
                    ri_mohm: r_parent + r_left,
                });
            }
            si = sip;
        }
    }
    SectionGeometry {
        segments,
        end_r_mohm: r_right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::morphology::Pt3d;

    #[test]
    fn cylinder_matches_neuron_formulas() {
        // BallStick_HH dend: L 200, diam 1, nseg 11, Ra 100; cell_info.json gives
        // area 57.11986642890533 um2 and ri 11.574904952137842 (first) / 23.1498... MOhm.
        let mut cell = CellModel::new();
        let dend = cell.add_cylinder("dend[0]", 200.0, 1.0, 11).unwrap();
        cell.set_ra(dend, 100.0).unwrap();
        let disc = Discretization::new(&cell).unwrap();
        let first = disc.segments[0][0];
        assert!((first.area_um2 - 57.11986642890533).abs() < 1e-9);
        assert!((first.ri_mohm - 11.574904952137842).abs() < 1e-9);
        assert!((disc.segments[0][1].ri_mohm - 23.149809904275685).abs() < 1e-9);
        assert_eq!(disc.n_nodes(), 1 + 12);
        assert_eq!(disc.area_um2[disc.sections[0].end_node()], 100.0);
    }

    #[test]
    fn pt3d_cylinder_equals_plain_cylinder() {
        // A straight constant-diameter pt3d section must integrate to the cylinder formulas.
        let mut cell = CellModel::new();
        let a = cell.add_section("a");
        cell.set_nseg(a, 3).unwrap();
        for x in [0.0, 10.0, 25.0, 40.0] {
            cell.add_pt3d(a, Pt3d::new(x, 0.0, 0.0, 2.0)).unwrap();
        }
        let b = cell.add_cylinder("b", 40.0, 2.0, 3).unwrap();
        cell.set_ra(a, 35.4).unwrap();
        cell.set_ra(b, 35.4).unwrap();
        let disc = Discretization::new(&cell).unwrap();
        for (sa, sb) in disc.segments[0].iter().zip(&disc.segments[1]) {
            assert!((sa.area_um2 / sb.area_um2 - 1.0).abs() < 1e-12);
            assert!((sa.ri_mohm / sb.ri_mohm - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn children_attach_to_the_node_containing_their_connection_point() {
        // NEURON: x = 1 -> parent's end node; x = 0 -> parent's own x = 0 node; interior x ->
        // centre of segment floor(nseg*x) (0.3 with nseg 3 -> segment 0; 0.5 -> segment 1).
        let mut cell = CellModel::new();
        let soma = cell.add_cylinder("soma", 10.0, 10.0, 3).unwrap();
        let mut child = |name: &str, x: f64| {
            let id = cell.add_cylinder(name, 10.0, 1.0, 1).unwrap();
            cell.connect(id, soma, x).unwrap();
            id
        };
        let (a, b, c, e) = (
            child("a", 0.3),
            child("b", 0.5),
            child("c", 1.0),
            child("e", 0.0),
        );
        let disc = Discretization::new(&cell).unwrap();
        let soma_nodes = disc.sections[soma.0];
        let parent_of = |id: SectionId| disc.parent[disc.sections[id.0].first_node];
        assert_eq!(parent_of(a), soma_nodes.segment_node(0));
        assert_eq!(parent_of(b), soma_nodes.segment_node(1));
        assert_eq!(parent_of(c), soma_nodes.end_node());
        assert_eq!(parent_of(e), soma_nodes.parent_node);
        assert_eq!(soma_nodes.parent_node, 0, "the root node comes first");
        for node in disc.n_roots..disc.n_nodes() {
            assert!(disc.parent[node] < node, "parent index < child index");
        }
    }

    #[test]
    fn frustum_area_includes_slant() {
        // One segment tapering 2 -> 4 um over 10 um: lateral area pi*(r1+r2)*slant.
        let mut cell = CellModel::new();
        let a = cell.add_section("a");
        cell.add_pt3d(a, Pt3d::new(0.0, 0.0, 0.0, 2.0)).unwrap();
        cell.add_pt3d(a, Pt3d::new(10.0, 0.0, 0.0, 4.0)).unwrap();
        let disc = Discretization::new(&cell).unwrap();
        let expected = PI * (1.0 + 2.0) * (100.0f64 + 1.0).sqrt();
        assert!((disc.segments[0][0].area_um2 - expected).abs() < 1e-9);
    }
}
