//! The statistics behind a verdict: medians, a bootstrap 95% confidence interval of the median change,
//! the Mann-Whitney U test (exact for small samples without ties, normal approximation with tie
//! correction otherwise), and Holm's correction across the metrics compared. Deterministic: the bootstrap
//! uses a fixed seed, so the same reports always give the same verdict. The normal tail is statrs's
//! erfc; the exact distribution of U is counted here (statrs has no Mann-Whitney distribution).

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

/// The smallest two-sided p-value the exact Mann-Whitney U test can give for samples of `n1` and `n2`
/// without ties (the two samples wholly apart): 2 / C(n1 + n2, n1). Tied samples take the normal
/// approximation, which can go lower; a verdict that does reach significance is never overruled by this
/// floor, but one that could not have (no change, with these counts) is "not enough trials".
pub fn smallest_p(n1: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    // C(n1 + n2, n1) as a product of ratios (exact enough: below 2^53 up to 52 trials a side).
    let (small, large) = (n1.min(n2), n1.max(n2));
    let arrangements = (1..=small).fold(1.0f64, |c, k| c * (large + k) as f64 / k as f64);
    (2.0 / arrangements).min(1.0)
}

/// Trials per side for which a family of `family` metrics, Holm-corrected, can reach `alpha` at all.
pub fn trials_needed(family: usize, alpha: f64) -> usize {
    (1..=MAX_TRIALS_ASKED)
        .find(|&n| family as f64 * smallest_p(n, n) < alpha)
        .unwrap_or(MAX_TRIALS_ASKED)
}

/// Trials the smaller side needs, beside `larger` on the other side, for the same.
pub fn trials_needed_beside(larger: usize, family: usize, alpha: f64) -> usize {
    (1..=MAX_TRIALS_ASKED)
        .find(|&n| family as f64 * smallest_p(n, larger) < alpha)
        .unwrap_or(MAX_TRIALS_ASKED)
}

/// The most trials a verdict ever asks for (a family of hundreds of metrics at alpha 0.05 needs ~10).
const MAX_TRIALS_ASKED: usize = 1000;

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

/// Exact two-sided p for U = `u` (the smaller U), no ties: the share of rank arrangements with U <= u,
/// doubled.
fn exact_p(n1: usize, n2: usize, u: f64) -> f64 {
    let counts = u_distribution(n1, n2);
    let total: i128 = counts.iter().sum();
    let at_most: i128 = counts.iter().take(u.floor() as usize + 1).sum();
    (2.0 * at_most as f64 / total as f64).min(1.0)
}

/// How many of the C(n1 + n2, n1) rank arrangements give each U in 0..=n1*n2: the coefficients of the
/// Gaussian binomial [n1 + n2 choose n1]_q = prod_{k=1..n1} (1 - q^(n2+k)) / (1 - q^k). One array of
/// n1*n2 + 1 entries, updated in place per factor: after factor k it holds [n2 + k choose k]_q. Integer
/// arithmetic keeps every count exact (at most C(100, 50) < 2^97 within `mann_whitney_p`'s 2,500 cap);
/// intermediates may be negative between the multiply and the divide, hence signed.
fn u_distribution(n1: usize, n2: usize) -> Vec<i128> {
    let max_u = n1 * n2;
    let mut c = vec![0i128; max_u + 1];
    c[0] = 1;
    for k in 1..=n1 {
        // Multiply by (1 - q^(n2+k)), highest degree first so each term reads an old value.
        for s in (n2 + k..=max_u).rev() {
            c[s] -= c[s - n2 - k];
        }
        // Divide by (1 - q^k): the series 1 + q^k + q^2k + ..., lowest degree first.
        for s in k..=max_u {
            c[s] += c[s - k];
        }
    }
    c
}

/// P(Z > z) for a standard normal.
fn normal_upper_tail(z: f64) -> f64 {
    statrs::function::erf::erfc(z / std::f64::consts::SQRT_2) / 2.0
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
    fn the_smallest_p_is_two_over_the_arrangements() {
        assert!((smallest_p(4, 4) - 2.0 / 70.0).abs() < 1e-15);
        assert!((smallest_p(5, 5) - 2.0 / 252.0).abs() < 1e-15);
        assert!((smallest_p(3, 10) - 2.0 / 286.0).abs() < 1e-15);
        assert_eq!(smallest_p(1, 1), 1.0);
        assert_eq!(smallest_p(0, 5), 1.0);
        // The test itself reaches it: two samples wholly apart.
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        assert!((mann_whitney_p(&a, &b) - smallest_p(4, 4)).abs() < 1e-12);
    }

    #[test]
    fn trials_needed_per_family_size() {
        // Four trials a side suffice for one metric; four Holm-corrected metrics (latency p50, p99,
        // p99.9, max) need five: 4 x 2/70 = 0.114 can never be below 0.05.
        let table: Vec<usize> = (1..=8).map(|k| trials_needed(k, 0.05)).collect();
        assert_eq!(table, [4, 5, 5, 5, 5, 5, 6, 6]);
        assert!(4.0 * smallest_p(4, 4) >= 0.05);
        assert_eq!(trials_needed_beside(10, 4, 0.05), 3);
        assert_eq!(trials_needed_beside(4, 1, 0.05), 4);
    }

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

    /// The three-dimensional table `exact_p` used before (kept here as the reference): counts[i][j][s]
    /// by f(i, j, s) = f(i - 1, j, s - j) + f(i, j - 1, s).
    fn reference_distribution(n1: usize, n2: usize) -> Vec<f64> {
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
                    table[i][j][s] = with_last_from_1 + table[i][j - 1][s];
                }
            }
        }
        table.swap_remove(n1).swap_remove(n2)
    }

    fn reference_p(counts: &[f64], u: usize) -> f64 {
        let total: f64 = counts.iter().sum();
        let at_most: f64 = counts.iter().take(u + 1).sum();
        (2.0 * at_most / total).min(1.0)
    }

    /// Every count and every p-value of the one-array recurrence against the old table: identical up
    /// to 12 x 12 (all counts below 2^53, so the old floats were exact), within 1e-12 (relative) beyond.
    #[test]
    fn the_one_array_recurrence_matches_the_old_table() {
        let mut pairs: Vec<(usize, usize)> = (1..=12)
            .flat_map(|n1| (1..=12).map(move |n2| (n1, n2)))
            .collect();
        pairs.extend([(50, 50), (30, 40), (40, 30), (2, 60), (13, 17)]);
        let mut worst: f64 = 0.0;
        for (n1, n2) in pairs {
            let new = u_distribution(n1, n2);
            let old = reference_distribution(n1, n2);
            assert_eq!(new.len(), old.len(), "{n1} x {n2}");
            let exact = n1 <= 12 && n2 <= 12;
            for (s, (&a, &b)) in new.iter().zip(&old).enumerate() {
                if exact {
                    assert_eq!(a as f64, b, "count of U = {s} at {n1} x {n2}");
                } else {
                    assert!((a as f64 - b).abs() <= b * 1e-12, "U = {s} at {n1} x {n2}");
                }
            }
            // Every U up to 12 x 12; beyond, the lower tail and a spread (each call rebuilds the array).
            let us: Vec<usize> = if exact {
                (0..=n1 * n2).collect()
            } else {
                (0..40).chain((40..=n1 * n2).step_by(61)).collect()
            };
            for u in us {
                let (p, q) = (exact_p(n1, n2, u as f64), reference_p(&old, u));
                worst = worst.max((p - q).abs() / q);
                if exact {
                    assert_eq!(p, q, "p at U = {u}, {n1} x {n2}");
                } else {
                    assert!(
                        (p - q).abs() <= q * 1e-12,
                        "p at U = {u}, {n1} x {n2}: {p} vs {q}"
                    );
                }
            }
        }
        eprintln!("largest relative p difference from the old table: {worst:e}");
    }

    /// The exact test's working memory is one array of n1*n2 + 1 counts: 40 KB at 50 x 50 trials, where
    /// the old table took (n1+1)(n2+1)(n1*n2+1) floats (52 MB).
    #[test]
    fn the_exact_distribution_is_one_small_array() {
        let counts = u_distribution(50, 50);
        assert_eq!(counts.len(), 2501);
        assert!(std::mem::size_of_val(counts.as_slice()) <= 40_016);
        // The counts are the whole arrangement space: C(100, 50).
        let total: i128 = counts.iter().sum();
        assert_eq!(total, 100_891_344_545_564_193_334_812_497_256);
    }

    #[test]
    fn normal_tail_is_accurate() {
        assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_upper_tail(1.959_963_985) - 0.025).abs() < 1e-6);
        assert!((normal_upper_tail(-1.0) - 0.841_344_746).abs() < 1e-6);
    }

    /// The Numerical Recipes erfc this module used before statrs (fractional error below 1.2e-7).
    fn reference_upper_tail(z: f64) -> f64 {
        let x = z / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.5 * x.abs());
        let poly = -x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77))))))));
        let erfc = t * poly.exp();
        let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
        erfc / 2.0
    }

    /// statrs's tail differs from the old approximation only by the old one's stated error.
    #[test]
    fn the_normal_tail_moves_only_within_the_old_approximations_error() {
        let mut worst: f64 = 0.0;
        for i in -400..=1000 {
            let z = f64::from(i) / 100.0;
            let (new, old) = (normal_upper_tail(z), reference_upper_tail(z));
            worst = worst.max((new - old).abs() / new);
        }
        assert!(worst < 1.2e-7, "largest relative difference {worst:e}");
        eprintln!("largest relative difference from the old normal tail: {worst:e}");
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
