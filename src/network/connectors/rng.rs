//! The seeded randomness every build draws from, written out here so the bits never change with
//! a crate upgrade and are the same on every platform. Sequential draws (cell placement, Poisson
//! trains) use xoshiro256++ (Blackman and Vigna) seeded through SplitMix64, one stream per node
//! type or input cell. Connection decisions use [`PairDraws`]: a counter-based SplitMix64 whose
//! uniform for pair (i, j) depends only on the seed, the block, i and j, never on the order pairs
//! are visited, so rows run in parallel, a spatial grid may visit candidates in any order, and
//! the files stay byte-identical for a given seed.

/// One random stream.
#[derive(Debug, Clone)]
pub struct Stream {
    s: [u64; 4],
}

/// SplitMix64 step: the recommended seeder for the xoshiro family.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Stream {
    /// A stream from a single seed.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        let s = [
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
            splitmix64(&mut st),
        ];
        Stream { s }
    }

    /// The stream of row `row` of block `block` under build seed `seed`.
    pub fn for_row(seed: u64, block: u64, row: u64) -> Self {
        let mut st = seed;
        let a = splitmix64(&mut st);
        let mut st = a ^ block.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let b = splitmix64(&mut st);
        Stream::new(b ^ row.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A Bernoulli draw: true with probability `p` (`U < p`, as bmtool's `decision`).
    pub fn decide(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponential with mean `mean`.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - U is in (0, 1], so the logarithm is finite.
        -mean * (1.0 - self.uniform()).ln()
    }
}

/// Stateless uniforms for the pairs of one row: SplitMix64 (which passes BigCrush as a
/// counter-based generator) at counter `2 j + k` from a key unique to (seed, block, row).
#[derive(Debug, Clone, Copy)]
pub struct PairDraws {
    key: u64,
}

impl PairDraws {
    pub fn for_row(seed: u64, block: u64, row: u64) -> Self {
        PairDraws {
            key: Stream::for_row(seed, block, row).next_u64(),
        }
    }

    /// Uniform in [0, 1) for target `j`, draw `k` (0 or 1) of the pair.
    #[inline]
    pub fn uniform(&self, j: usize, k: u64) -> f64 {
        let mut state = self
            .key
            .wrapping_add((2 * j as u64 + k).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        (splitmix64(&mut state) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (`U < p`, as bmtool's `decision`).
    #[inline]
    pub fn decide(&self, j: usize, k: u64, p: f64) -> bool {
        self.uniform(j, k) < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 reference values for seed 1234567 from Vigna's published C code
    /// (prng.di.unimi.it/splitmix64.c).
    #[test]
    fn splitmix_matches_the_reference() {
        let mut s = 1234567u64;
        assert_eq!(splitmix64(&mut s), 6457827717110365317);
        assert_eq!(splitmix64(&mut s), 3203168211198807973);
    }

    #[test]
    fn uniform_is_in_range_and_rows_differ() {
        let mut a = Stream::for_row(1, 0, 0);
        let mut b = Stream::for_row(1, 0, 1);
        let xs: Vec<f64> = (0..1000).map(|_| a.uniform()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 1000.0;
        // Mean of 1000 uniforms: sd 0.29/sqrt(1000) = 0.009; 5 sd.
        assert!((mean - 0.5).abs() < 0.046, "{mean}");
        assert_ne!(a.next_u64(), b.next_u64());
    }

    /// Pair draws: mean 1/2 and variance 1/12 over 100 000 counters (sd of the mean 0.0009,
    /// of the variance 0.0002; 5 sd), and the two draws of a pair differ.
    #[test]
    fn pair_draws_are_uniform() {
        let d = PairDraws::for_row(3, 1, 17);
        let xs: Vec<f64> = (0..50_000)
            .flat_map(|j| [d.uniform(j, 0), d.uniform(j, 1)])
            .collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.0045, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.001, "{var}");
        assert_ne!(d.uniform(5, 0), d.uniform(5, 1));
    }
}
