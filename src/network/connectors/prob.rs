//! Connection probability as a function of the distance between two cells, as bmtool's
//! `connectors` module defines it: a constant, `UniformInRange` (constant inside a distance range)
//! and `GaussianDropoff` (a Gaussian of the distance, its peak `pmax` either given or solved from
//! the total probability `ptotal` over a distance range assuming uniform cell density). Pure
//! mathematics on `f64`; nothing here knows about nodes or files.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// How the distance between two cells is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceKind {
    /// 3-D Euclidean distance of the positions (bmtool `spherical_dist`).
    #[default]
    Spherical,
    /// Distance in the x-y plane, ignoring z (bmtool `cylindrical_dist_z`).
    Cylindrical,
}

impl DistanceKind {
    /// The distance between two points.
    #[inline]
    pub fn distance(self, a: [f64; 3], b: [f64; 3]) -> f64 {
        self.distance_sq(a, b).sqrt()
    }

    /// The squared distance (cheap to compare against a squared reach).
    #[inline]
    pub fn distance_sq(self, a: [f64; 3], b: [f64; 3]) -> f64 {
        let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
        match self {
            DistanceKind::Spherical => {
                let dz = a[2] - b[2];
                dx * dx + dy * dy + dz * dz
            }
            DistanceKind::Cylindrical => dx * dx + dy * dy,
        }
    }
}

/// A connection probability: constant, or a function of distance.
#[derive(Debug, Clone, PartialEq)]
pub enum Probability {
    Constant(f64),
    UniformInRange(UniformInRange),
    Gaussian(GaussianDropoff),
}

/// bmtool `UniformInRange(p, min_dist, max_dist)`: `p` inside the range, 0 outside.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniformInRange {
    pub p: f64,
    #[serde(default)]
    pub min_dist: f64,
    #[serde(default = "infinite")]
    pub max_dist: f64,
    #[serde(default)]
    pub dist_type: DistanceKind,
}

/// bmtool `GaussianDropoff`: `pmax * exp(-(r - mean)^2 / (2 stdev^2))` for
/// `min_dist <= r <= max_dist`, 0 outside, clamped to at most 1.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianDropoff {
    pub mean: f64,
    pub stdev: f64,
    pub min_dist: f64,
    pub max_dist: f64,
    pub pmax: f64,
    pub dist_type: DistanceKind,
}

fn infinite() -> f64 {
    f64::INFINITY
}

fn one() -> f64 {
    1.0
}

/// The Gaussian drop-off as written in a spec (`pmax` or `ptotal`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianSpec {
    #[serde(default)]
    pub mean: f64,
    #[serde(default = "one")]
    pub stdev: f64,
    #[serde(default)]
    pub min_dist: f64,
    #[serde(default = "infinite")]
    pub max_dist: f64,
    #[serde(default = "one")]
    pub pmax: f64,
    pub ptotal: Option<f64>,
    pub ptotal_dist_range: Option<[f64; 2]>,
    #[serde(default)]
    pub dist_type: DistanceKind,
}

/// A distance function as a spec table: `{ function = "gaussian", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "function", rename_all = "snake_case", deny_unknown_fields)]
enum FunctionSpec {
    Gaussian(GaussianSpec),
    UniformInRange(UniformInRange),
}

/// A probability as written in a spec: a number, or a distance-function table. Solving
/// `ptotal` happens later, in [`ProbabilitySpec::resolve`], so its errors can name the block.
#[derive(Debug, Clone)]
pub enum ProbabilitySpec {
    Constant(f64),
    Gaussian(GaussianSpec),
    UniformInRange(UniformInRange),
}

impl<'de> Deserialize<'de> for ProbabilitySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProbabilitySpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a probability (number) or a table with function = \"gaussian\" or \"uniform_in_range\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ProbabilitySpec::Constant(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ProbabilitySpec::Constant(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ProbabilitySpec::Constant(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let f = FunctionSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(match f {
                    FunctionSpec::Gaussian(g) => ProbabilitySpec::Gaussian(g),
                    FunctionSpec::UniformInRange(u) => ProbabilitySpec::UniformInRange(u),
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl ProbabilitySpec {
    /// Check the values and solve `pmax` from `ptotal` where asked.
    pub fn resolve(&self) -> Result<Probability, String> {
        match self {
            ProbabilitySpec::Constant(p) => {
                check_unit(*p, "probability")?;
                Ok(Probability::Constant(*p))
            }
            ProbabilitySpec::UniformInRange(u) => {
                check_unit(u.p, "p")?;
                check_range(u.min_dist, u.max_dist)?;
                Ok(Probability::UniformInRange(u.clone()))
            }
            ProbabilitySpec::Gaussian(g) => {
                GaussianDropoff::from_spec(g).map(Probability::Gaussian)
            }
        }
    }
}

fn check_unit(p: f64, name: &str) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{name} = {p} is outside [0, 1]"))
    }
}

fn check_range(min: f64, max: f64) -> Result<(), String> {
    if min < 0.0 || min.is_nan() || max.is_nan() || max < min {
        Err(format!(
            "distance range [{min}, {max}] is not a range of distances"
        ))
    } else {
        Ok(())
    }
}

impl GaussianDropoff {
    fn from_spec(g: &GaussianSpec) -> Result<Self, String> {
        check_range(g.min_dist, g.max_dist)?;
        if g.stdev.is_nan() || g.stdev <= 0.0 {
            return Err(format!("stdev = {} must be positive", g.stdev));
        }
        let mut out = GaussianDropoff {
            mean: g.mean,
            stdev: g.stdev,
            min_dist: g.min_dist,
            max_dist: g.max_dist,
            pmax: g.pmax,
            dist_type: g.dist_type,
        };
        if let Some(ptotal) = g.ptotal {
            check_unit(ptotal, "ptotal")?;
            let [r1, r2] = g.ptotal_dist_range.unwrap_or([g.min_dist, g.max_dist]);
            check_range(r1, r2)?;
            if !r2.is_finite() {
                return Err("ptotal needs a finite ptotal_dist_range (or max_dist)".into());
            }
            out.pmax = 1.0;
            let unit = out.mean_over_shell(r1, r2, false);
            if unit <= 0.0 {
                return Err(format!(
                    "ptotal = {ptotal} cannot be reached: the Gaussian is 0 over [{r1}, {r2}]"
                ));
            }
            out.pmax = ptotal / unit;
        } else {
            check_unit(g.pmax, "pmax")?;
        }
        Ok(out)
    }

    /// p(r) before clamping to 1.
    #[inline]
    fn raw(&self, r: f64) -> f64 {
        if r < self.min_dist || r > self.max_dist {
            return 0.0;
        }
        let x = (r - self.mean) / self.stdev;
        self.pmax * (-0.5 * x * x).exp()
    }

    /// p(r), clamped to at most 1 as bmtool does.
    #[inline]
    pub fn at(&self, r: f64) -> f64 {
        self.raw(r).min(1.0)
    }

    /// The mean of p over a ball shell r1..r2 (spherical) or an annulus (cylindrical) under
    /// uniform density: `∫ p(r) ρ(r) dr` with ρ = 3r²/(r2³−r1³) or 2r/(r2²−r1²). bmtool has a
    /// closed form with erf; composite Simpson with 4000 panels on this smooth integrand agrees
    /// with it to ~1e-12 and needs no special functions. `clamped` applies min(p, 1).
    pub fn mean_over_shell(&self, r1: f64, r2: f64, clamped: bool) -> f64 {
        let n = 4000;
        let h = (r2 - r1) / n as f64;
        if h <= 0.0 {
            return 0.0;
        }
        let (power, norm) = match self.dist_type {
            DistanceKind::Spherical => (2, 3.0 / (r2.powi(3) - r1.powi(3))),
            DistanceKind::Cylindrical => (1, 2.0 / (r2.powi(2) - r1.powi(2))),
        };
        let f = |r: f64| {
            let p = if clamped {
                self.at(r)
            } else {
                // The range is the integration range here, as in bmtool's closed form.
                let x = (r - self.mean) / self.stdev;
                self.pmax * (-0.5 * x * x).exp()
            };
            p * r.powi(power)
        };
        let mut sum = f(r1) + f(r2);
        for k in 1..n {
            let w = if k % 2 == 1 { 4.0 } else { 2.0 };
            sum += w * f(r1 + k as f64 * h);
        }
        sum * h / 3.0 * norm
    }
}

impl Probability {
    /// p at distance `r` (ignored by a constant).
    #[inline]
    pub fn at(&self, r: f64) -> f64 {
        match self {
            Probability::Constant(p) => *p,
            Probability::UniformInRange(u) => {
                if r >= u.min_dist && r <= u.max_dist {
                    u.p
                } else {
                    0.0
                }
            }
            Probability::Gaussian(g) => g.at(r),
        }
    }

    /// p for two cells at `a` and `b`, skipping the square root and the function beyond
    /// `max_dist`.
    #[inline]
    pub fn between(&self, a: [f64; 3], b: [f64; 3]) -> f64 {
        let d2 = self.dist_type().distance_sq(a, b);
        let max = self.max_dist();
        if d2 > max * max {
            0.0
        } else {
            self.at(d2.sqrt())
        }
    }

    /// True when p does not depend on distance (no positions needed).
    pub fn is_constant(&self) -> bool {
        matches!(self, Probability::Constant(_))
    }

    /// The distance beyond which p is 0 (infinite for a constant).
    pub fn max_dist(&self) -> f64 {
        match self {
            Probability::Constant(_) => f64::INFINITY,
            Probability::UniformInRange(u) => u.max_dist,
            Probability::Gaussian(g) => g.max_dist,
        }
    }

    pub fn dist_type(&self) -> DistanceKind {
        match self {
            Probability::Constant(_) => DistanceKind::Spherical,
            Probability::UniformInRange(u) => u.dist_type,
            Probability::Gaussian(g) => g.dist_type,
        }
    }

    /// The constant value, when p is one.
    pub fn constant(&self) -> Option<f64> {
        match self {
            Probability::Constant(p) => Some(*p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(stdev: f64, ptotal: f64, r2: f64) -> GaussianDropoff {
        GaussianDropoff::from_spec(&GaussianSpec {
            mean: 0.0,
            stdev,
            min_dist: 0.0,
            max_dist: r2,
            pmax: 1.0,
            ptotal: Some(ptotal),
            ptotal_dist_range: None,
            dist_type: DistanceKind::Spherical,
        })
        .unwrap()
    }

    /// bmtool-behaviour.md §3.7: stdev 126.77, ptotal 0.1538 over 0–50 µm gives pmax 0.16111
    /// (bmtool's closed form, printed to 5 digits, so 5e-6 tolerance).
    #[test]
    fn pmax_from_ptotal_matches_bmtool() {
        let g = gaussian(126.77, 0.1538, 50.0);
        assert!((g.pmax - 0.16111).abs() < 5e-6, "{}", g.pmax);
        assert!((g.mean_over_shell(0.0, 50.0, false) - 0.1538).abs() < 1e-9);
    }

    /// A flat Gaussian (huge stdev) averages to pmax, for both densities.
    #[test]
    fn wide_gaussian_averages_to_pmax() {
        let mut g = gaussian(1e9, 0.2, 100.0);
        assert!((g.pmax - 0.2).abs() < 1e-9);
        g.dist_type = DistanceKind::Cylindrical;
        assert!((g.mean_over_shell(0.0, 100.0, false) - 0.2).abs() < 1e-9);
    }

    #[test]
    fn ranges_and_constants() {
        let u = ProbabilitySpec::UniformInRange(UniformInRange {
            p: 0.3,
            min_dist: 10.0,
            max_dist: 20.0,
            dist_type: DistanceKind::Spherical,
        })
        .resolve()
        .unwrap();
        assert_eq!(u.at(5.0), 0.0);
        assert_eq!(u.at(15.0), 0.3);
        assert_eq!(u.at(25.0), 0.0);
        assert!(ProbabilitySpec::Constant(1.2).resolve().is_err());
        assert!(ProbabilitySpec::Constant(-0.1).resolve().is_err());
    }
}
