//! numpy's spectral helpers as bmtool's ZAP uses them: `np.fft.rfft` (unnormalised forward,
//! n/2 + 1 bins, via `realfft`), `np.fft.rfftfreq`, the impedance `|rfft(v) / rfft(i)|`, and
//! `np.convolve(x, ones(k)/k, 'same')` smoothing.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// `np.fft.rfft` for one signal length, planned once for every signal of that length
/// (planning a long odd length, e.g. ZAP's 600 001 samples, costs more than a transform).
pub struct Rfft(Arc<dyn RealToComplex<f64>>);

impl Rfft {
    pub fn new(n: usize) -> Self {
        Self(RealFftPlanner::<f64>::new().plan_fft_forward(n))
    }

    /// The transform of `x`, whose length must be the planned one (else empty).
    pub fn transform(&self, x: &[f64]) -> Vec<Complex<f64>> {
        if x.is_empty() || x.len() != self.0.len() {
            return Vec::new();
        }
        let mut input = x.to_vec();
        let mut output = self.0.make_output_vec();
        // Lengths come from the plan itself, so processing cannot fail.
        let _ = self.0.process(&mut input, &mut output);
        output
    }
}

/// `np.fft.rfft(x)`.
pub fn rfft(x: &[f64]) -> Vec<Complex<f64>> {
    Rfft::new(x.len()).transform(x)
}

/// `np.fft.rfftfreq(n, d)`: k / (n·d) for k = 0..=n/2 (Hz when d is in s).
pub fn rfftfreq(n: usize, d_s: f64) -> Vec<f64> {
    (0..=n / 2).map(|k| k as f64 / (n as f64 * d_s)).collect()
}

/// `|fv / fi|` bin by bin: the impedance (MOhm when the spectra are of mV and nA).
pub fn impedance_magnitude(fv: &[Complex<f64>], fi: &[Complex<f64>]) -> Vec<f64> {
    fv.iter().zip(fi).map(|(a, b)| (a / b).norm()).collect()
}

/// `np.convolve(x, ones(k)/k, mode='same')` for k >= 1: a centred moving average with zeros
/// beyond both ends (so the ends are pulled towards 0 as numpy's are). Output length
/// max(len, k), centred as numpy centres it.
pub fn moving_average_same(x: &[f64], k: usize) -> Vec<f64> {
    if k <= 1 || x.is_empty() {
        return x.to_vec();
    }
    let n = x.len();
    let full_len = n + k - 1;
    let out_len = n.max(k);
    let start = (full_len - out_len) / 2;
    let weight = 1.0 / k as f64;
    (start..start + out_len)
        .map(|m| {
            // full[m] = Σ_j x[m - j] * w for j in 0..k with 0 <= m - j < n
            let lo = m.saturating_sub(k - 1);
            let hi = m.min(n - 1);
            (lo..=hi).map(|i| x[i]).sum::<f64>() * weight
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfft_of_a_cosine_has_one_bin_of_height_n_over_2() {
        let n = 64;
        let x: Vec<f64> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 5.0 * i as f64 / n as f64).cos())
            .collect();
        let spectrum = rfft(&x);
        assert_eq!(spectrum.len(), n / 2 + 1);
        assert!((spectrum[5].norm() - n as f64 / 2.0).abs() < 1e-9);
        assert!(spectrum[4].norm() < 1e-9);
    }

    #[test]
    fn rfftfreq_matches_numpy_definition() {
        // np.fft.rfftfreq(5, d=0.1) = [0, 2, 4]
        assert_eq!(rfftfreq(5, 0.1), vec![0.0, 2.0, 4.0]);
    }

    #[test]
    fn moving_average_same_matches_numpy() {
        // np.convolve([1,2,3,4,5], ones(3)/3, 'same') = [1, 2, 3, 4, 3]
        let out = moving_average_same(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        let expect = [1.0, 2.0, 3.0, 4.0, 3.0];
        for (a, b) in out.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{out:?}");
        }
        // np.convolve([1,2,3,4,5,6], ones(4)/4, 'same') = [0.75, 1.5, 2.5, 3.5, 4.5, 3.75]
        let out = moving_average_same(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 4);
        let expect = [0.75, 1.5, 2.5, 3.5, 4.5, 3.75];
        for (a, b) in out.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{out:?}");
        }
    }
}
