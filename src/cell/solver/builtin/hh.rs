//! `hh`: Hodgkin-Huxley squid channels (NEURON `hh.mod`): `ina = gnabar*m^3*h*(v - ena)`,
//! `ik = gkbar*n^4*(v - ek)`, `il = gl*(v - el)`; rates with `q10 = 3^((celsius - 6.3)/10)`;
//! states by cnexp (`x += (1 - exp(-dt/xtau))*(xinf - x)` with the exact exp) at the new v.
//!
//! Rates are computed exactly at every call (GLOBAL `usetable_hh = 0`, the default). That is what
//! the NEURON 8.2.4 build behind our references does: its hh.mod is the CoreNEURON-compatible one
//! with the `TABLE` line commented out, and BallStick_HH agrees with it to 1e-6 mV only without a
//! table. Setting `usetable_hh = 1` reproduces a classic build instead: the table hh.mod declares
//! (`TABLE ... DEPEND celsius FROM -100 TO 100 WITH 200`), 201 points 1 mV apart, linear
//! interpolation, clamped at the ends, rebuilt when celsius changes.

use crate::cell::mechanism::{
    GlobalSpec, IonUse, IonVariable, KernelContext, MechanismData, MechanismInfo, MechanismKernel,
    MechanismKind, VariableRole, VariableSpec,
};

use super::DV_MV;

const GNABAR: usize = 0;
const GKBAR: usize = 1;
const GL: usize = 2;
const EL: usize = 3;
const GNA: usize = 4;
const GK: usize = 5;
const IL: usize = 6;
const MINF: usize = 7;
const HINF: usize = 8;
const NINF: usize = 9;
const MTAU: usize = 10;
const HTAU: usize = 11;
const NTAU: usize = 12;
const M: usize = 13;
const H: usize = 14;
const N: usize = 15;

const USETABLE: usize = 0;

const ION_NA: usize = 0;
const ION_K: usize = 1;

const TABLE_MIN_MV: f64 = -100.0;
const TABLE_MAX_MV: f64 = 100.0;
const TABLE_INTERVALS: usize = 200;
const TABLE_POINTS: usize = TABLE_INTERVALS + 1;

/// The `hh` mechanism type.
#[derive(Debug)]
pub struct Hh {
    info: MechanismInfo,
}

impl Default for Hh {
    fn default() -> Self {
        Self::new()
    }
}

/// Steady states and time constants at one voltage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// m steady state.
    pub minf: f64,
    /// h steady state.
    pub hinf: f64,
    /// n steady state.
    pub ninf: f64,
    /// m time constant (ms).
    pub mtau: f64,
    /// h time constant (ms).
    pub htau: f64,
    /// n time constant (ms).
    pub ntau: f64,
}

impl Rates {
    fn as_array(&self) -> [f64; 6] {
        [
            self.minf, self.mtau, self.hinf, self.htau, self.ninf, self.ntau,
        ]
    }

    fn from_array(values: [f64; 6]) -> Self {
        Self {
            minf: values[0],
            mtau: values[1],
            hinf: values[2],
            htau: values[3],
            ninf: values[4],
            ntau: values[5],
        }
    }
}

/// hh.mod's `vtrap(x, y)`: x/(exp(x/y) - 1) with the removable singularity handled.
fn vtrap(x: f64, y: f64) -> f64 {
    if (x / y).abs() < 1e-6 {
        y * (1.0 - x / y / 2.0)
    } else {
        x / ((x / y).exp() - 1.0)
    }
}

/// hh.mod's temperature factor `3^((celsius - 6.3)/10)`.
pub fn q10(celsius_degc: f64) -> f64 {
    3.0f64.powf((celsius_degc - 6.3) / 10.0)
}

/// hh.mod's `PROCEDURE rates(v)` computed exactly.
pub fn exact_rates(v: f64, celsius_degc: f64) -> Rates {
    rates_with_q10(v, q10(celsius_degc))
}

/// `rates(v)` with the temperature factor already computed.
fn rates_with_q10(v: f64, q10: f64) -> Rates {
    let alpha = 0.1 * vtrap(-(v + 40.0), 10.0);
    let beta = 4.0 * (-(v + 65.0) / 18.0).exp();
    let sum = alpha + beta;
    let (mtau, minf) = (1.0 / (q10 * sum), alpha / sum);
    let alpha = 0.07 * (-(v + 65.0) / 20.0).exp();
    let beta = 1.0 / ((-(v + 35.0) / 10.0).exp() + 1.0);
    let sum = alpha + beta;
    let (htau, hinf) = (1.0 / (q10 * sum), alpha / sum);
    let alpha = 0.01 * vtrap(-(v + 55.0), 10.0);
    let beta = 0.125 * (-(v + 65.0) / 80.0).exp();
    let sum = alpha + beta;
    let (ntau, ninf) = (1.0 / (q10 * sum), alpha / sum);
    Rates {
        minf,
        hinf,
        ninf,
        mtau,
        htau,
        ntau,
    }
}

/// The rate table in `scratch`: `[celsius, 6 x 201 values (point-major)]`.
fn build_table(scratch: &mut Vec<f64>, celsius_degc: f64) {
    scratch.clear();
    scratch.push(celsius_degc);
    let dx = (TABLE_MAX_MV - TABLE_MIN_MV) / TABLE_INTERVALS as f64;
    let mut x = TABLE_MIN_MV;
    for _ in 0..TABLE_POINTS {
        scratch.extend_from_slice(&exact_rates(x, celsius_degc).as_array());
        x += dx;
    }
}

fn table_rates(table: &[f64], v: f64) -> Rates {
    let point = |index: usize| -> [f64; 6] {
        let start = 1 + 6 * index;
        let mut values = [0.0; 6];
        values.copy_from_slice(&table[start..start + 6]);
        values
    };
    let mfac = 1.0 / ((TABLE_MAX_MV - TABLE_MIN_MV) / TABLE_INTERVALS as f64);
    let xi = mfac * (v - TABLE_MIN_MV);
    if xi.is_nan() {
        return Rates::from_array([xi; 6]);
    }
    if xi <= 0.0 {
        return Rates::from_array(point(0));
    }
    if xi >= TABLE_INTERVALS as f64 {
        return Rates::from_array(point(TABLE_INTERVALS));
    }
    let index = xi as usize;
    let theta = xi - index as f64;
    let (low, high) = (point(index), point(index + 1));
    let mut values = [0.0; 6];
    for k in 0..6 {
        values[k] = low[k] + theta * (high[k] - low[k]);
    }
    Rates::from_array(values)
}

/// How this call gets its rates: NEURON's generated `rates()` (table, or exact with `q10`).
enum RateSource<'a> {
    Exact { q10: f64 },
    Table(&'a [f64]),
}

impl RateSource<'_> {
    #[inline]
    fn at(&self, v: f64) -> Rates {
        match self {
            RateSource::Exact { q10 } => rates_with_q10(v, *q10),
            RateSource::Table(table) => table_rates(table, v),
        }
    }
}

/// Prepare the rate source for one kernel call (rebuilding the table if celsius changed), and
/// hand back the columns for mutation alongside it.
fn rate_source<'a>(
    globals: &[f64],
    scratch: &'a mut Vec<f64>,
    columns: &'a mut [Vec<f64>],
    celsius_degc: f64,
) -> (RateSource<'a>, &'a mut [Vec<f64>]) {
    if globals[USETABLE] == 0.0 {
        let source = RateSource::Exact {
            q10: q10(celsius_degc),
        };
        return (source, columns);
    }
    if scratch.first() != Some(&celsius_degc) {
        build_table(scratch, celsius_degc);
    }
    (RateSource::Table(scratch), columns)
}

impl Hh {
    /// Its description, with hh.mod's defaults and `USEION na READ ena WRITE ina`,
    /// `USEION k READ ek WRITE ik`.
    pub fn new() -> Self {
        let parameter = |name, default| VariableSpec::new(name, VariableRole::Parameter, default);
        let assigned = |name| VariableSpec::new(name, VariableRole::Assigned, 0.0);
        let state = |name| VariableSpec::new(name, VariableRole::State, 0.0);
        let ion = |name: &str| IonUse {
            ion: name.to_string(),
            valence: None,
            read: vec![IonVariable::Reversal],
            write: vec![IonVariable::Current],
        };
        Self {
            info: MechanismInfo {
                name: "hh".to_string(),
                kind: MechanismKind::Density,
                electrode_current: false,
                variables: vec![
                    parameter("gnabar", 0.12),
                    parameter("gkbar", 0.036),
                    parameter("gl", 0.0003),
                    parameter("el", -54.3),
                    assigned("gna"),
                    assigned("gk"),
                    assigned("il"),
                    assigned("minf"),
                    assigned("hinf"),
                    assigned("ninf"),
                    assigned("mtau"),
                    assigned("htau"),
                    assigned("ntau"),
                    state("m"),
                    state("h"),
                    state("n"),
                ],
                globals: vec![GlobalSpec {
                    name: "usetable".to_string(),
                    default: 0.0,
                }],
                ions: vec![ion("na"), ion("k")],
            },
        }
    }
}

fn store_rates(columns: &mut [Vec<f64>], k: usize, rates: &Rates) {
    columns[MINF][k] = rates.minf;
    columns[HINF][k] = rates.hinf;
    columns[NINF][k] = rates.ninf;
    columns[MTAU][k] = rates.mtau;
    columns[HTAU][k] = rates.htau;
    columns[NTAU][k] = rates.ntau;
}

/// cnexp for `x' = (xinf - x)/xtau`, written as nocmodl emits it.
#[inline]
fn cnexp(x: f64, xinf: f64, xtau: f64, dt: f64) -> f64 {
    let a = -1.0 / xtau;
    x + (1.0 - (dt * a).exp()) * (-(xinf / xtau) / a - x)
}

impl MechanismKernel for Hh {
    fn info(&self) -> &MechanismInfo {
        &self.info
    }

    fn initialize(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let nodes = &data.node;
        let (source, columns) = rate_source(
            &data.globals,
            &mut data.scratch,
            &mut data.columns,
            ctx.celsius_degc,
        );
        for (k, &node) in nodes.iter().enumerate() {
            let r = source.at(ctx.v_mv[node]);
            store_rates(columns, k, &r);
            columns[M][k] = r.minf;
            columns[H][k] = r.hinf;
            columns[N][k] = r.ninf;
        }
    }

    fn current(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let (na, k_ion) = (data.ions[ION_NA], data.ions[ION_K]);
        let columns = &mut data.columns;
        for (k, &node) in data.node.iter().enumerate() {
            let v = ctx.v_mv[node];
            let ena = ctx.ions.species[na.0].erev[node];
            let ek = ctx.ions.species[k_ion.0].erev[node];
            let (m, h, n) = (columns[M][k], columns[H][k], columns[N][k]);
            let gna = columns[GNABAR][k] * m * m * m * h;
            let gk = columns[GKBAR][k] * n * n * n * n;
            let (gl, el) = (columns[GL][k], columns[EL][k]);
            let breakpoint = |v: f64| {
                let ina = gna * (v - ena);
                let ik = gk * (v - ek);
                let il = gl * (v - el);
                (ina + ik + il, ina, ik, il)
            };
            let (total_plus, ina_plus, ik_plus, _) = breakpoint(v + DV_MV);
            let (total, ina, ik, il) = breakpoint(v);
            columns[GNA][k] = gna;
            columns[GK][k] = gk;
            columns[IL][k] = il;
            ctx.add_ion_current(na, node, ina, (ina_plus - ina) / DV_MV);
            ctx.add_ion_current(k_ion, node, ik, (ik_plus - ik) / DV_MV);
            ctx.add_current(node, total, (total_plus - total) / DV_MV);
        }
    }

    fn advance(&self, data: &mut MechanismData, ctx: &mut KernelContext) {
        let dt = ctx.dt_ms;
        let nodes = &data.node;
        let (source, columns) = rate_source(
            &data.globals,
            &mut data.scratch,
            &mut data.columns,
            ctx.celsius_degc,
        );
        // Nine distinct column indices, all below the column count `MechanismData::new` made
        // from `info.variables`, so the disjoint borrow cannot fail.
        let [minf, hinf, ninf, mtau, htau, ntau, m, h, n] = columns
            .get_disjoint_mut([MINF, HINF, NINF, MTAU, HTAU, NTAU, M, H, N])
            .expect("hh columns are distinct and present");
        for (k, &node) in nodes.iter().enumerate() {
            let r = source.at(ctx.v_mv[node]);
            (minf[k], hinf[k], ninf[k]) = (r.minf, r.hinf, r.ninf);
            (mtau[k], htau[k], ntau[k]) = (r.mtau, r.htau, r.ntau);
            m[k] = cnexp(m[k], r.minf, r.mtau, dt);
            h[k] = cnexp(h[k], r.hinf, r.htau, dt);
            n[k] = cnexp(n[k], r.ninf, r.ntau, dt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_at_rest_match_neuron_cell_info() {
        // BallStick_HH cell_info.json after finitialize(-65) at 6.3 degC.
        let r = exact_rates(-65.0, 6.3);
        assert!((r.minf - 0.05293248525724958).abs() < 1e-15);
        assert!((r.hinf - 0.5961207535084603).abs() < 1e-15);
        assert!((r.ninf - 0.3176769140606974).abs() < 1e-15);
        assert!((r.mtau - 0.2367668786856876).abs() < 1e-15);
        assert!((r.htau - 8.516010764406575).abs() < 1e-14);
        assert!((r.ntau - 5.458584687514421).abs() < 1e-14);
    }

    #[test]
    fn table_is_exact_on_grid_points_and_linear_between() {
        let mut table = Vec::new();
        build_table(&mut table, 6.3);
        let on_grid = table_rates(&table, -65.0);
        assert_eq!(on_grid, exact_rates(-65.0, 6.3));
        let mid = table_rates(&table, -64.5);
        let (lo, hi) = (exact_rates(-65.0, 6.3), exact_rates(-64.0, 6.3));
        assert!((mid.minf - 0.5 * (lo.minf + hi.minf)).abs() < 1e-15);
    }
}
