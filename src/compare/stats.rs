//! The statistics behind a verdict: medians, a bootstrap 95% confidence interval of the median change,
//! the Mann-Whitney U test (exact for small samples without ties, normal approximation with tie
//! correction otherwise), and Holm's correction across the metrics compared. Deterministic: the bootstrap
//! uses a fixed seed, so the same reports always give the same verdict.

use rand::{Rng, SeedableRng};

/// Resamples of the bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
const BOOTSTRAP_SEED: u64 = 0x6c69_6e6b_6265_6e63;

/// Median of a non-empty sample (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Percent change of `candidate` from `baseline`.
pub fn change_percent(baseline: f64, candidate: f64) -> f64 {
    if baseline == 0.0 {
        return if candidate == 0.0 { 0.0 } else { f64::INFINITY };
    }
    (candidate / baseline - 1.0) * 100.0
}

/// 95% percentile-bootstrap interval of the percent change of the median (each side resampled alone).
pub fn bootstrap_change_ci(baseline: &[f64], candidate: &[f64]) -> (f64, f64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(BOOTSTRAP_SEED);
    let mut scratch_b = vec![0.0; baseline.len()];
    let mut scratch_c = vec![0.0; candidate.len()];
    let mut changes: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for x in scratch_b.iter_mut() {
                *x = baseline[rng.gen_range(0..baseline.len())];
            }
            for x in scratch_c.iter_mut() {
                *x = candidate[rng.gen_range(0..candidate.len())];
            }
            change_percent(median(&scratch_b), median(&scratch_c))
        })
        .collect();
    changes.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

/// Two-sided p-value of the Mann-Whitney U test.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    // Ranks of the pooled sample, ties getting their average rank.
    let mut pooled: Vec<(f64, usize)> = a
        .iter()
        .map(|&x| (x, 0))
        .chain(b.iter().map(|&x| (x, 1)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut ranks = vec![0.0; pooled.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i;
        while j + 1 < pooled.len() && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for r in ranks.iter_mut().take(j + 1).skip(i) {
            *r = rank;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let rank_sum_a: f64 = pooled
        .iter()
        .zip(&ranks)
        .filter(|(p, _)| p.1 == 0)
        .map(|(_, r)| r)
        .sum();
    let u_a = rank_sum_a - (n1 * (n1 + 1)) as f64 / 2.0;
    let u = u_a.min((n1 * n2) as f64 - u_a);
    if tie_term == 0.0 && n1 * n2 <= 2500 {
        return exact_p(n1, n2, u);
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let mean = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_upper_tail(z)).min(1.0)
}

/// Exact two-sided p for U = `u` (the smaller U), no ties: count rank arrangements with U <= u.
fn exact_p(n1: usize, n2: usize, u: f64) -> f64 {
    // counts[k][s]: arrangements of k items of sample 1 among the first positions with U statistic s,
    // built with the standard recurrence f(n1, n2, u) = f(n1-1, n2, u-n2) + f(n1, n2-1, u).
    let max_u = n1 * n2;
    let mut table = vec![vec![vec![0f64; max_u + 1]; n2 + 1]; n1 + 1];
    for row in table[0].iter_mut() {
        row[0] = 1.0;
    }
    for plane in table.iter_mut() {
        plane[0][0] = 1.0;
    }
    for i in 1..=n1 {
        for j in 1..=n2 {
            for s in 0..=i * j {
                let with_last_from_1 = if s >= j { table[i - 1][j][s - j] } else { 0.0 };
                let with_last_from_2 = table[i][j - 1][s];
                table[i][j][s] = with_last_from_1 + with_last_from_2;
            }
        }
    }
    let total: f64 = table[n1][n2].iter().sum();
    let at_most: f64 = table[n1][n2].iter().take(u.floor() as usize + 1).sum();
    (2.0 * at_most / total).min(1.0)
}

/// P(Z > z) for a standard normal, by the complementary error function (Numerical Recipes erfc, error
/// below 1.2e-7).
fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// Holm-Bonferroni adjusted p-values, in the input order.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running_max: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let value = ((m - rank) as f64 * p_values[i]).min(1.0);
        running_max = running_max.max(value);
        adjusted[i] = running_max;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn mann_whitney_matches_reference_values() {
        // Complete separation of 5 vs 5: exact two-sided p = 2/252.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        assert!((mann_whitney_p(&a, &b) - 2.0 / 252.0).abs() < 1e-12);
        // Identical samples: no evidence at all.
        assert!(mann_whitney_p(&a, &a) > 0.9);
        // 3 vs 3 can never reach 0.05 (minimum p = 0.1).
        assert!((mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]) - 0.1).abs() < 1e-12);
        // 8 vs 8 with U = 6: the arrangements with U <= 6 are the partitions of 0..=6 into at most 8 parts
        // no larger than 8: 1+1+2+3+5+7+11 = 30 of C(16,8) = 12870, so p = 2 * 30 / 12870.
        let a: Vec<f64> = (1..=8).map(f64::from).collect();
        let b: Vec<f64> = (5..=12).map(|x| f64::from(x) + 0.5).collect();
        let p = mann_whitney_p(&a, &b);
        assert!((p - 60.0 / 12870.0).abs() < 1e-12, "{p}");
        // Ties use the normal approximation and still separate clear differences.
        let p = mann_whitney_p(
            &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            &[7.0, 7.0, 8.0, 8.0, 9.0, 9.0],
        );
        assert!(p < 0.01, "{p}");
    }

    #[test]
    fn normal_tail_is_accurate() {
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_upper_tail(1.959_963_985) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(-1.0) - 0.841_344_746).abs() < 1e-6);
    }

    #[test]
    fn holm_adjusts_in_order() {
        let adj = holm(&[0.01, 0.04, 0.03]);
        assert!((adj[0] - 0.03).abs() < 1e-12);
        assert!((adj[2] - 0.06).abs() < 1e-12);
        assert!(
            (adj[1] - 0.06).abs() < 1e-12,
            "monotone: never below an earlier adjusted value"
        );
    }

    #[test]
    fn bootstrap_interval_brackets_the_change_and_is_deterministic() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let cand = [50.0, 50.5, 49.5, 50.2, 49.8];
        let (lo, hi) = bootstrap_change_ci(&base, &cand);
        assert!(
            (-52.0..=-49.0).contains(&lo) && (-51.0..-48.0).contains(&hi),
            "({lo}, {hi})"
        );
        assert_eq!((lo, hi), bootstrap_change_ci(&base, &cand));
    }
}
