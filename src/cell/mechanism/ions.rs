//! Ion species: per-node reversal potentials, concentrations and current accumulators, with
//! NEURON's defaults (`membdef.h`) and `ion_style` rules (`eion.cpp`: `nrn_promote`, `ion_init`,
//! `ion_cur`). Owns nothing about channels; mechanisms read and write these arrays.
//!
//! Rules reproduced:
//! - defaults: na 10/140 mM, ena 50 mV; k 54.4/2.5 mM, ek -77 mV; ca 5e-5/2 mM,
//!   eca = 12.5*ln(2/5e-5) = 132.458 mV; any other species 1/1 mM, e = 0 mV. Valence 1, 1, 2;
//!   other species take the `VALENCE` of a `USEION`.
//! - style per node, as the integer `ion_style()` returns: each `USEION` promotes
//!   (conc, rev) with READ e -> (0,1), READ ci/co -> (1,0), WRITE ci/co -> (3,0), WRITE e -> (0,3);
//!   then `conc > 0` forces rev >= 2; conc 3 sets cinit (04) and, if rev is 2, eadvance (0100);
//!   conc > 0 with rev 2 sets einit (040); WRITE ci / co add 0200 / 0400. So a species only READ
//!   for `e` stays a parameter (style 8), and a written concentration gives Nernst every step
//!   (style 247 for `cai`).
//! - `finitialize`: cinit sets ci/co from the globals `<ion>i0_<ion>_ion`, `<ion>o0_<ion>_ion`;
//!   einit computes e by Nernst. Each step (before any BREAKPOINT) zeroes current and dI/dV and,
//!   with eadvance, recomputes e by Nernst at the current celsius.
//! - Nernst: `e = 1000*R*(celsius+273.15)/F / z * ln(co/ci)` with CODATA 2018 R and F; z = 0
//!   gives 0, ci <= 0 gives 1e6, co <= 0 gives -1e6.

/// Index of a species in [`IonStore::species`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IonId(pub usize);

/// `ion_style` bit: concentrations initialised from the global `<ion>i0`/`<ion>o0` values.
pub const STYLE_CINIT: u32 = 0o4;
/// `ion_style` bit: reversal potential computed by Nernst at `finitialize`.
pub const STYLE_EINIT: u32 = 0o40;
/// `ion_style` bit: reversal potential computed by Nernst every step.
pub const STYLE_EADVANCE: u32 = 0o100;
/// `ion_style` bit: inside concentration written by a mechanism.
pub const STYLE_CI_WRITTEN: u32 = 0o200;
/// `ion_style` bit: outside concentration written by a mechanism.
pub const STYLE_CO_WRITTEN: u32 = 0o400;

const ELECTRON_CHARGE_C: f64 = 1.602176634e-19;
const AVOGADRO_PER_MOL: f64 = 6.02214076e23;
const BOLTZMANN_J_PER_K: f64 = 1.380649e-23;
/// Faraday constant, CODATA 2018 (C/mol), as NEURON's `_faraday_codata2018`.
pub const FARADAY_C_PER_MOL: f64 = ELECTRON_CHARGE_C * AVOGADRO_PER_MOL;
/// Gas constant, CODATA 2018 (J/(mol K)), as NEURON's `_gasconstant_codata2018`.
pub const GAS_CONSTANT_J_PER_MOL_K: f64 = BOLTZMANN_J_PER_K * AVOGADRO_PER_MOL;

/// NEURON's `nrn_nernst(ci, co, z)` at `celsius` (mV).
pub fn nernst_mv(conc_in_mm: f64, conc_out_mm: f64, valence: f64, celsius_degc: f64) -> f64 {
    nernst_at(
        conc_in_mm,
        conc_out_mm,
        valence,
        thermal_voltage_mv(celsius_degc),
    )
}

/// NEURON's `ktf`: `1000*R*(celsius+273.15)/F` (mV).
fn thermal_voltage_mv(celsius_degc: f64) -> f64 {
    1000.0 * GAS_CONSTANT_J_PER_MOL_K * (celsius_degc + 273.15) / FARADAY_C_PER_MOL
}

/// [`nernst_mv`] with `ktf` computed once for many nodes.
#[inline]
fn nernst_at(conc_in_mm: f64, conc_out_mm: f64, valence: f64, ktf: f64) -> f64 {
    if valence == 0.0 {
        return 0.0;
    }
    if conc_in_mm <= 0.0 {
        return 1e6;
    }
    if conc_out_mm <= 0.0 {
        return -1e6;
    }
    ktf / valence * (conc_out_mm / conc_in_mm).ln()
}

/// NEURON's default (erev mV, ci mM, co mM, valence) for a species name; valence `None` for
/// species NEURON does not know (taken from a `USEION ... VALENCE`).
pub fn species_defaults(name: &str) -> (f64, f64, f64, Option<f64>) {
    const VREST_MV: f64 = -65.0;
    match name {
        "na" => (115.0 + VREST_MV, 10.0, 140.0, Some(1.0)),
        "k" => (-12.0 + VREST_MV, 54.4, 2.5, Some(1.0)),
        "ca" => (12.5 * (2.0f64 / 5.0e-5).ln(), 5.0e-5, 2.0, Some(2.0)),
        _ => (0.0, 1.0, 1.0, None),
    }
}

/// One ion species over all nodes.
#[derive(Debug, Clone)]
pub struct IonSpecies {
    /// Species name (`na`, `cas`, ...).
    pub name: String,
    /// Charge number; `None` until some `USEION` declares it (unknown species).
    pub valence: Option<f64>,
    /// Global `<ion>i0_<ion>_ion` (mM).
    pub conc_in0_mm: f64,
    /// Global `<ion>o0_<ion>_ion` (mM).
    pub conc_out0_mm: f64,
    /// `e<ion>` per node (mV).
    pub erev: Vec<f64>,
    /// `<ion>i` per node (mM).
    pub conc_in: Vec<f64>,
    /// `<ion>o` per node (mM).
    pub conc_out: Vec<f64>,
    /// `i<ion>` per node (mA/cm2), summed over mechanisms each step.
    pub current: Vec<f64>,
    /// `di<ion>_dv_` per node (S/cm2).
    pub dcurrent_dv: Vec<f64>,
    /// `ion_style` integer per node; 0 where the species is absent.
    pub style: Vec<u32>,
    /// Whether a mechanism at the node uses the species.
    pub present: Vec<bool>,
    /// Nodes whose style has eadvance, collected by [`IonSpecies::initialize`].
    nernst_nodes: Vec<usize>,
}

impl IonSpecies {
    /// A species with NEURON's defaults on `n_nodes` nodes, absent everywhere.
    pub fn new(name: &str, n_nodes: usize) -> Self {
        let (erev, ci, co, valence) = species_defaults(name);
        Self {
            name: name.to_string(),
            valence,
            conc_in0_mm: ci,
            conc_out0_mm: co,
            erev: vec![erev; n_nodes],
            conc_in: vec![ci; n_nodes],
            conc_out: vec![co; n_nodes],
            current: vec![0.0; n_nodes],
            dcurrent_dv: vec![0.0; n_nodes],
            style: vec![0; n_nodes],
            present: vec![false; n_nodes],
            nernst_nodes: Vec::new(),
        }
    }

    /// NEURON's `nrn_promote(prop, conc, rev)` at one node.
    pub fn promote(&mut self, node: usize, conc: u32, rev: u32) {
        self.present[node] = true;
        let it = self.style[node];
        let mut old_conc = (it & 0o3).max(conc);
        let mut old_rev = ((it & 0o30) >> 3).max(rev);
        if old_conc > 0 && old_rev < 2 {
            old_rev = 2;
        }
        old_conc = old_conc.min(3);
        let mut new = (it & !0o177) + old_conc + 0o10 * old_rev;
        if old_conc == 3 {
            new += STYLE_CINIT;
            if old_rev == 2 {
                new += STYLE_EADVANCE;
            }
        }
        if old_conc > 0 && old_rev == 2 {
            new += STYLE_EINIT;
        }
        self.style[node] = new;
    }

    /// Mark the species present at `node` without changing its style (a mechanism that only
    /// writes the current).
    pub fn attach(&mut self, node: usize) {
        self.present[node] = true;
    }

    /// `ion_init`: concentrations (cinit) then reversal potentials (einit). Also fixes the set of
    /// nodes that get Nernst every step, so styles must be final before this call.
    pub fn initialize(&mut self, celsius_degc: f64) {
        self.nernst_nodes = (0..self.style.len())
            .filter(|&node| self.present[node] && self.style[node] & STYLE_EADVANCE != 0)
            .collect();
        for node in 0..self.style.len() {
            if self.present[node] && self.style[node] & STYLE_CINIT != 0 {
                self.conc_in[node] = self.conc_in0_mm;
                self.conc_out[node] = self.conc_out0_mm;
            }
        }
        self.update_reversal(STYLE_EINIT, celsius_degc);
    }

    /// `ion_cur`: zero accumulators and, with eadvance, recompute the reversal potential.
    pub fn begin_step(&mut self, celsius_degc: f64) {
        self.current.fill(0.0);
        self.dcurrent_dv.fill(0.0);
        let (valence, ktf) = (
            self.valence.unwrap_or(0.0),
            thermal_voltage_mv(celsius_degc),
        );
        for &node in &self.nernst_nodes {
            self.erev[node] = nernst_at(self.conc_in[node], self.conc_out[node], valence, ktf);
        }
    }

    /// [`begin_step`](Self::begin_step) for the nodes `lo..hi` only, through raw views of the
    /// species' arrays (two threads each doing their own nodes of one step): the same operations
    /// on each node.
    ///
    /// # Safety
    /// `view` must come from [`IonSpecies::raw_view`] of a species that is neither moved nor
    /// resized meanwhile, and no other thread may touch nodes `lo..hi` of its arrays meanwhile.
    pub unsafe fn begin_step_nodes(view: &RawSpecies, celsius_degc: f64, lo: usize, hi: usize) {
        let hi = hi.min(view.len);
        let ktf = thermal_voltage_mv(celsius_degc);
        // SAFETY: `lo..hi` lies inside every array of the view, which this thread alone uses.
        unsafe {
            for node in lo..hi {
                *view.current.add(node) = 0.0;
                *view.dcurrent_dv.add(node) = 0.0;
            }
            for &node in view.nernst_nodes.iter().filter(|&&k| k >= lo && k < hi) {
                *view.erev.add(node) = nernst_at(
                    *view.conc_in.add(node),
                    *view.conc_out.add(node),
                    view.valence,
                    ktf,
                );
            }
        }
    }

    /// Raw pointers to the node arrays (see [`begin_step_nodes`](Self::begin_step_nodes)).
    pub fn raw_view(&mut self) -> RawSpecies {
        RawSpecies {
            erev: self.erev.as_mut_ptr(),
            current: self.current.as_mut_ptr(),
            dcurrent_dv: self.dcurrent_dv.as_mut_ptr(),
            conc_in: self.conc_in.as_mut_ptr(),
            conc_out: self.conc_out.as_mut_ptr(),
            len: self
                .erev
                .len()
                .min(self.current.len())
                .min(self.dcurrent_dv.len())
                .min(self.conc_in.len())
                .min(self.conc_out.len()),
            valence: self.valence.unwrap_or(0.0),
            nernst_nodes: self.nernst_nodes.clone(),
        }
    }

    fn update_reversal(&mut self, flag: u32, celsius_degc: f64) {
        let valence = self.valence.unwrap_or(0.0);
        for node in 0..self.style.len() {
            if self.present[node] && self.style[node] & flag != 0 {
                self.erev[node] = nernst_mv(
                    self.conc_in[node],
                    self.conc_out[node],
                    valence,
                    celsius_degc,
                );
            }
        }
    }
}

/// A species' node arrays as raw pointers (from `Vec::as_mut_ptr`, which materialises no
/// reference), for a step split between two threads by node.
#[derive(Debug, Clone)]
pub struct RawSpecies {
    pub erev: *mut f64,
    pub current: *mut f64,
    pub dcurrent_dv: *mut f64,
    pub conc_in: *mut f64,
    pub conc_out: *mut f64,
    /// Nodes every array covers.
    pub len: usize,
    valence: f64,
    nernst_nodes: Vec<usize>,
}

impl RawSpecies {
    /// The same species over other arrays (a thread's own copies of `e`, `i`, `di/dv`, `ci`,
    /// `co`, in that order, each at least `len` long).
    pub fn over(&self, arrays: [*mut f64; 5]) -> RawSpecies {
        let [erev, current, dcurrent_dv, conc_in, conc_out] = arrays;
        RawSpecies {
            erev,
            current,
            dcurrent_dv,
            conc_in,
            conc_out,
            ..self.clone()
        }
    }

    /// The array `field` (0 `e`, 1 `i`, 2 `ci`, 3 `co`, 4 `di/dv`).
    pub fn field(&self, field: u8) -> *mut f64 {
        match field {
            0 => self.erev,
            1 => self.current,
            2 => self.conc_in,
            3 => self.conc_out,
            _ => self.dcurrent_dv,
        }
    }
}

// SAFETY: the pointers are only dereferenced under `begin_step_nodes`' contract (and the
// solver's split step), which gives each thread its own nodes.
unsafe impl Send for RawSpecies {}
unsafe impl Sync for RawSpecies {}

/// All ion species of a simulation.
#[derive(Debug, Clone, Default)]
pub struct IonStore {
    /// Species, indexed by [`IonId`].
    pub species: Vec<IonSpecies>,
}

impl IonStore {
    /// The species called `name`, if declared.
    pub fn find(&self, name: &str) -> Option<IonId> {
        self.species.iter().position(|s| s.name == name).map(IonId)
    }

    /// The species called `name`, created with defaults if new.
    pub fn find_or_add(&mut self, name: &str, n_nodes: usize) -> IonId {
        if let Some(id) = self.find(name) {
            return id;
        }
        self.species.push(IonSpecies::new(name, n_nodes));
        IonId(self.species.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calcium_default_reversal_matches_neuron() {
        // NEURON's DEF_eca = 12.5*log(cao/cai) = 132.4579... mV (membdef.h).
        let (eca, _, _, _) = species_defaults("ca");
        assert!((eca - 132.45795).abs() < 1e-4);
    }

    #[test]
    fn written_concentration_gives_style_247() {
        // cell_info.json of CP_Cell: a mechanism WRITEs cai -> ion_style 247; READ eca only -> 8.
        let mut ca = IonSpecies::new("ca", 2);
        ca.promote(0, 3, 0);
        ca.style[0] |= STYLE_CI_WRITTEN;
        assert_eq!(ca.style[0], 247);
        ca.promote(1, 0, 1);
        assert_eq!(ca.style[1], 8);
    }

    #[test]
    fn nernst_of_default_sodium_at_6_3_degc() {
        // kT/F at 6.3 degC = 24.0814 mV (CODATA 2018 R and F, NEURON eion.cpp).
        let e = nernst_mv(10.0, 140.0, 1.0, 6.3);
        let ktf = 1000.0 * GAS_CONSTANT_J_PER_MOL_K * (6.3 + 273.15) / FARADAY_C_PER_MOL;
        assert!((e - ktf * 14.0f64.ln()).abs() < 1e-12);
        assert!((ktf - 24.0814).abs() < 1e-3);
    }
}
