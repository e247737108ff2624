//! The chi-square attack (Westfeld, Pfitzmann 1999) on pairs of values, evaluated over
//! growing prefixes of the samples in embedding (row-major) order.

use super::Channel;

/// Prefixes grow by this many samples.
const PREFIX_STEP: usize = 1024;
/// At most this many prefixes are evaluated (the step grows for large images).
const MAX_PREFIXES: usize = 128;
/// Categories whose expected count is at most this are dropped (usual practice).
const MIN_EXPECTED: f64 = 4.0;

/// The p-value that the value pairs (2k, 2k+1) were equalised, for one histogram.
pub fn p_value(histogram: &[u64; 256]) -> Option<f64> {
    let mut chi2 = 0.0;
    let mut categories = 0usize;
    for k in 0..128 {
        let observed = histogram[2 * k] as f64;
        let expected = (histogram[2 * k] + histogram[2 * k + 1]) as f64 / 2.0;
        if expected > MIN_EXPECTED {
            chi2 += (observed - expected).powi(2) / expected;
            categories += 1;
        }
    }
    if categories < 2 {
        return None;
    }
    let df = (categories - 1) as f64;
    Some(upper_regularised_gamma(df / 2.0, chi2 / 2.0))
}

/// The mean p-value over growing prefixes of the channel.
pub fn estimate(channel: &Channel) -> Option<f64> {
    let n = channel.samples.len();
    let step = PREFIX_STEP.max(n.div_ceil(MAX_PREFIXES));
    let mut histogram = [0u64; 256];
    let mut values = Vec::new();
    let mut next = step;
    for (i, &sample) in channel.samples.iter().enumerate() {
        histogram[sample as usize] += 1;
        if i + 1 == next || i + 1 == n {
            values.extend(p_value(&histogram));
            next += step;
        }
    }
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// `Q(a, x)`, the regularised upper incomplete gamma function (Numerical Recipes' series
/// and continued fraction).
pub fn upper_regularised_gamma(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - lower_series(a, x)
    } else {
        upper_continued_fraction(a, x)
    }
}

fn lower_series(a: f64, x: f64) -> f64 {
    let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
    for _ in 0..10_000 {
        n += 1.0;
        term *= x / n;
        sum += term;
        if term.abs() < sum.abs() * 1e-15 {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn upper_continued_fraction(a: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = COEFFICIENTS[0]
        + COEFFICIENTS[1..]
            .iter()
            .enumerate()
            .map(|(i, c)| c / (x + i as f64 + 1.0))
            .sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}
