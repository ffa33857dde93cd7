//! Physical constants and unit-factor arithmetic for UNITS blocks.
//!
//! Owns the values NEURON 8.2 gives to `FARADAY = (faraday) (coulomb)` and
//! `R = (k-mole) (joule/degC)`: its default "modern" units (`nrnunits.lib`, `src/oc/nrnunits.h`)
//! are the 2018 CODATA / 2019 SI exact values, faraday = e * N_A = 96485.33212331001 C/mol and
//! R = k * N_A = 8.31446261815324 J/(K mol). A factor `NAME = (a) (b)` is value(a) / value(b)
//! with both sides reduced to SI by a small table of names and prefixes; units that do not
//! appear in that table are an error rather than a silent 1. Unit *checking* is not done (as with
//! UNITSOFF everywhere): annotations are kept as text for listings.

/// Elementary charge (C), exact since 2019.
pub const ELECTRON_CHARGE: f64 = 1.602176634e-19;
/// Avogadro constant (1/mol), exact since 2019.
pub const AVOGADRO: f64 = 6.02214076e23;
/// Boltzmann constant (J/K), exact since 2019.
pub const BOLTZMANN: f64 = 1.380649e-23;
/// Faraday constant (C/mol) as NEURON 8.2 uses it: e * N_A.
pub const FARADAY: f64 = ELECTRON_CHARGE * AVOGADRO;
/// Gas constant (J/(K mol)) as NEURON 8.2 uses it: k * N_A.
pub const GAS_CONSTANT: f64 = BOLTZMANN * AVOGADRO;

/// Nernst potential (mV) of an ion of valence `z` at `celsius` from inside/outside
/// concentrations, with NEURON 8.2's constants: `1e3 * R * (celsius + 273.15) / (z * F) * ln(co/ci)`
/// (`nrn_nernst` in `src/nrnoc/eion.cpp`). Reference value: ca (z = 2) at cai = 1e-4 mM,
/// cao = 2 mM, 34 degC gives 131.06 mV (Allen soma in cells.md).
pub fn nernst_mv(celsius: f64, ci: f64, co: f64, z: f64) -> f64 {
    1e3 * GAS_CONSTANT * (celsius + 273.15) / (z * FARADAY) * (co / ci).ln()
}

/// SI value of one base unit name (no prefix), or None.
fn base_unit(name: &str) -> Option<f64> {
    Some(match name {
        "1" => 1.0,
        "faraday" => FARADAY,
        "k" | "boltzmann" => BOLTZMANN,
        "e" | "electron" => ELECTRON_CHARGE,
        "mole" | "mol" | "avogadro" => AVOGADRO,
        "coulomb" | "coulombs" | "coul" | "C" => 1.0,
        "joule" | "joules" | "J" => 1.0,
        "degC" | "degK" | "K" | "kelvin" | "DegC" => 1.0,
        "volt" | "volts" | "V" => 1.0,
        "amp" | "ampere" | "amps" | "A" => 1.0,
        "ohm" | "ohms" => 1.0,
        "siemens" | "S" | "mho" => 1.0,
        "farad" | "F" => 1.0,
        "second" | "seconds" | "sec" | "s" => 1.0,
        "meter" | "metre" | "m" => 1.0,
        "liter" | "litre" | "l" | "L" => 1e-3,
        "molar" | "M" => AVOGADRO / 1e-3,
        "gram" | "g" => 1e-3,
        "pi" | "PI" => std::f64::consts::PI,
        _ => return None,
    })
}

const PREFIXES: &[(&str, f64)] = &[
    ("milli", 1e-3),
    ("micro", 1e-6),
    ("nano", 1e-9),
    ("pico", 1e-12),
    ("femto", 1e-15),
    ("centi", 1e-2),
    ("deci", 1e-1),
    ("kilo", 1e3),
    ("mega", 1e6),
    ("m", 1e-3),
    ("u", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
    ("c", 1e-2),
    ("k", 1e3),
    ("M", 1e6),
];

/// SI value of one factor such as `millivolt`, `cm2` or `k` (with a trailing integer power).
fn factor_value(word: &str) -> Option<f64> {
    if let Ok(x) = word.parse::<f64>() {
        return Some(x);
    }
    let digits = word.len() - word.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, pow) = if digits > 0 && digits < word.len() {
        let (s, p) = word.split_at(word.len() - digits);
        (s, p.parse::<i32>().ok()?)
    } else {
        (word, 1)
    };
    let one = base_unit(stem).or_else(|| {
        PREFIXES
            .iter()
            .find_map(|(p, f)| stem.strip_prefix(p).and_then(base_unit).map(|b| b * f))
    })?;
    Some(one.powi(pow))
}

/// SI value of a unit expression such as `k-mole`, `joule/degC`, `mA/cm2`, `1/ms`.
/// Everything after a `/` is in the denominator (units(1) convention).
pub fn unit_value(expr: &str) -> Option<f64> {
    let (num, den) = match expr.split_once('/') {
        Some((n, d)) => (n, Some(d)),
        None => (expr, None),
    };
    let product = |s: &str| -> Option<f64> {
        s.split(|c: char| c.is_whitespace() || c == '-' || c == '*' || c == '/')
            .filter(|w| !w.is_empty())
            .try_fold(1.0, |acc, w| factor_value(w).map(|v| acc * v))
    };
    let n = product(num)?;
    let d = match den {
        Some(d) => product(d)?,
        None => 1.0,
    };
    Some(n / d)
}

/// The value of `NAME = (from) (to)`: how many `to` one `from` is.
pub fn factor(from: &str, to: &str) -> Option<f64> {
    Some(unit_value(from)? / unit_value(to)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faraday_and_gas_constant_are_nrn_8_2_modern_values() {
        // Reference: nrn src/oc/nrnunits.h (2018 CODATA), 96485.33212... C/mol, 8.314462618... J/(K mol).
        assert!((factor("faraday", "coulomb").unwrap() - 96485.33212331001).abs() < 1e-9);
        assert!((factor("faraday", "coulombs").unwrap() - 96485.33212331001).abs() < 1e-9);
        assert!((factor("k-mole", "joule/degC").unwrap() - 8.31446261815324).abs() < 1e-12);
    }

    #[test]
    fn nernst_matches_neuron_eca_on_allen_soma() {
        // cells.md: eca = 131.06 mV at cai 1e-4, cao 2, 34 degC (NEURON 8.2.4).
        assert!((nernst_mv(34.0, 1e-4, 2.0, 2.0) - 131.06).abs() < 0.005);
    }

    #[test]
    fn prefixed_factors() {
        assert!((factor("millivolt", "volt").unwrap() - 1e-3).abs() < 1e-18);
        assert!((factor("mA/cm2", "A/m2").unwrap() - 10.0).abs() < 1e-12);
        assert!(factor("furlong", "volt").is_none());
    }
}
