//! Human-friendly units on the command line: message sizes (`64K`, `8M`, binary multiples like perftest),
//! durations (`5`, `1.5s`, `500ms`), size sweeps (`2:8M`, powers of two) and CPU lists (`0-3,8`).
//!
//! Every parser returns a [`UnitError`] whose message names the bad text and the accepted forms, so the
//! binaries can print it as a one-line error.

use std::time::Duration;
use thiserror::Error;

/// A value on the command line that could not be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UnitError {
    #[error("invalid size '{0}': use a byte count with an optional K, M or G suffix (binary multiples), e.g. 64K")]
    Size(String),
    #[error("invalid size '{0}': the size must be at least 1 byte")]
    ZeroSize(String),
    #[error(
        "invalid duration '{0}': use a number of seconds with an optional ms, s, m, h or d suffix, e.g. 5, 500ms or 24h"
    )]
    Duration(String),
    #[error("invalid sweep '{0}': use MIN:MAX with MIN <= MAX, both sizes, e.g. 2:8M")]
    Sweep(String),
    #[error("invalid CPU list '{0}': use comma-separated CPU numbers or ranges, e.g. 0-3,8")]
    CpuList(String),
}

/// Parses `65536`, `64K`, `64KiB`, `1M`, `2G` (K = 1024, like perftest and iperf3).
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let err = || UnitError::Size(text.to_string());
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits_end == 0 {
        return Err(err());
    }
    let number: u64 = t[..digits_end].parse().map_err(|_| err())?;
    let multiplier: u64 = match t[digits_end..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(err()),
    };
    let bytes = number.checked_mul(multiplier).ok_or_else(err)?;
    if bytes == 0 {
        return Err(UnitError::ZeroSize(text.to_string()));
    }
    Ok(bytes)
}

/// Parses `5`, `5s`, `1.5`, `500ms`, `10m`, `24h`, `3d` (a soak is given in hours). Zero is allowed (a warm-up of 0 means none); negative, NaN and
/// absurd values (over ten years) are not.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let t = text.trim();
    let err = || UnitError::Duration(text.to_string());
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = t.strip_suffix('m') {
        (m, 60.0)
    } else if let Some(h) = t.strip_suffix('h') {
        (h, 3600.0)
    } else if let Some(d) = t.strip_suffix('d') {
        (d, 86_400.0)
    } else {
        (t, 1.0)
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(err());
    }
    let value: f64 = number.parse().map_err(|_| err())?;
    let seconds = value * scale;
    if !seconds.is_finite() || !(0.0..=315_360_000.0).contains(&seconds) {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Seconds as a `Duration`, never panicking: negative or NaN is zero, too large is `Duration::MAX`.
/// For values that came over the network (already validated, but a conversion must not be what fails).
pub fn seconds_saturating(seconds: f64) -> Duration {
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) => d,
        Err(_) if seconds > 0.0 => Duration::MAX,
        Err(_) => Duration::ZERO,
    }
}

/// Parses `MIN:MAX` into every power of two from MIN to MAX inclusive (MIN is rounded up to a power of
/// two), the way `perftest -a` sweeps message sizes.
pub fn parse_sweep(text: &str) -> Result<Vec<u64>, UnitError> {
    let err = || UnitError::Sweep(text.to_string());
    let (lo, hi) = text.split_once(':').ok_or_else(err)?;
    let lo = parse_size(lo).map_err(|_| err())?;
    let hi = parse_size(hi).map_err(|_| err())?;
    if lo > hi {
        return Err(err());
    }
    let mut sizes = Vec::new();
    let mut size = lo.checked_next_power_of_two().ok_or_else(err)?;
    while size <= hi {
        sizes.push(size);
        size = match size.checked_mul(2) {
            Some(s) => s,
            None => break,
        };
    }
    if sizes.is_empty() {
        return Err(err());
    }
    Ok(sizes)
}

/// Parses `0-3,8,10-11` into a sorted, de-duplicated list of CPU numbers.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, UnitError> {
    let err = || UnitError::CpuList(text.to_string());
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(err());
        }
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| err())?;
                let b: usize = b.trim().parse().map_err(|_| err())?;
                if a > b || b - a > 65_536 {
                    return Err(err());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| err())?),
        }
    }
    if cpus.iter().any(|&c| c > 65_535) {
        return Err(err());
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Runs every unit parser on untrusted text; the fuzz target and its regression test call this (with
/// `control::allow::parse_allow`, which lives above this module). Never panics.
pub fn parse_untrusted(text: &str) {
    let _ = parse_size(text);
    let _ = parse_duration(text);
    let _ = parse_sweep(text);
    let _ = parse_cpu_list(text);
}

/// Formats a byte count the way the tables show message sizes: `2`, `64K`, `8M`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (unit, suffix) in UNITS {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{}", bytes / unit, suffix);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_multiples() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("64kib"), Ok(65536));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(matches!(parse_size("0"), Err(UnitError::ZeroSize(_))));
        for bad in [
            "",
            "K",
            "-1",
            "1.5K",
            "64Q",
            "99999999999999999999",
            "18446744073709551615G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn durations_accept_seconds_and_milliseconds() {
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1.5d"), Ok(Duration::from_secs(129_600)));
        for bad in [
            "", "-1", "abc", "NaN", "inf", "1e999", "5min", "h", "1hs", "4000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn sweeps_are_powers_of_two() {
        assert_eq!(parse_sweep("2:16"), Ok(vec![2, 4, 8, 16]));
        assert_eq!(parse_sweep("3:16"), Ok(vec![4, 8, 16]));
        assert_eq!(parse_sweep("2:8M").unwrap().len(), 23);
        for bad in ["8M:2", "2", "2:", ":8", "a:b", "5:7"] {
            assert!(parse_sweep(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn cpu_lists_expand_ranges() {
        assert_eq!(parse_cpu_list("0-3,8"), Ok(vec![0, 1, 2, 3, 8]));
        assert_eq!(parse_cpu_list("3,1,1"), Ok(vec![1, 3]));
        for bad in ["", "a", "3-1", "1,,2", "-1", "99999999"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn sizes_format_compactly() {
        assert_eq!(format_size(2), "2");
        assert_eq!(format_size(65536), "64K");
        assert_eq!(format_size(8 << 20), "8M");
        assert_eq!(format_size(1000), "1000");
    }
}
