//! Field readers shared by the EEPROM decoders: fixed-width ASCII, big-endian words in the SFF units,
//! checksums, and threshold blocks. Every reader returns `None` past the end of the dump.

use super::Limits;

/// A positive figure, or `None` for the zero that means "not stated".
pub(super) fn nonzero(v: f64) -> Option<f64> {
    (v > 0.0).then_some(v)
}

/// For layouts with a lower page and page 00h (SFF-8636, CMIS): checks the length against `max`, and
/// that page 00h (when present) repeats the identifier; returns whether it is present and the warnings
/// so far.
pub(super) fn paged_layout(
    dump: &[u8],
    max: usize,
) -> Result<(bool, Vec<String>), super::ModuleDecodeError> {
    if dump.len() > max {
        return Err(super::ModuleDecodeError::TooLong(dump.len(), max));
    }
    let upper = page(dump, 128).is_some();
    if upper && dump[128] != dump[0] {
        return Err(super::ModuleDecodeError::IdentifierMismatch {
            lower: dump[0],
            upper: dump[128],
        });
    }
    let mut warnings = Vec::new();
    if !upper {
        warnings.push("dump holds only the lower page: identity (page 00h) is missing".into());
    }
    Ok((upper, warnings))
}

/// A page of the dump, when the dump is long enough to hold it.
pub(super) fn page(dump: &[u8], start: usize) -> Option<&[u8]> {
    dump.get(start..start + 128)
}

/// Space-padded ASCII field; `None` when blank or not printable.
pub(super) fn ascii(dump: &[u8], start: usize, len: usize) -> Option<String> {
    let bytes = dump.get(start..start + len)?;
    let text: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                ' '
            }
        })
        .collect();
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `xx:xx:xx` of three bytes; `None` when all zero.
pub(super) fn oui(dump: &[u8], start: usize) -> Option<String> {
    let b = dump.get(start..start + 3)?;
    (b != [0, 0, 0]).then(|| format!("{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]))
}

pub(super) fn u16_at(dump: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*dump.get(at)?, *dump.get(at + 1)?]))
}

/// Signed 1/256 degC.
pub(super) fn temperature(dump: &[u8], at: usize) -> Option<f64> {
    u16_at(dump, at).map(|v| v as i16 as f64 / 256.0)
}

/// Unsigned 100 uV, as volts.
pub(super) fn voltage(dump: &[u8], at: usize) -> Option<f64> {
    u16_at(dump, at).map(|v| v as f64 / 10_000.0)
}

/// Unsigned 2 uA, as milliamperes.
pub(super) fn bias(dump: &[u8], at: usize) -> Option<f64> {
    u16_at(dump, at).map(|v| v as f64 * 0.002)
}

/// Unsigned 0.1 uW, as milliwatts.
pub(super) fn power(dump: &[u8], at: usize) -> Option<f64> {
    u16_at(dump, at).map(|v| v as f64 / 10_000.0)
}

/// Four limits stored high alarm, low alarm, high warning, low warning, read with `unit`.
pub(super) fn limits(
    dump: &[u8],
    at: usize,
    unit: fn(&[u8], usize) -> Option<f64>,
) -> Option<Limits> {
    Some(Limits {
        high_alarm: unit(dump, at)?,
        low_alarm: unit(dump, at + 2)?,
        high_warning: unit(dump, at + 4)?,
        low_warning: unit(dump, at + 6)?,
    })
}

/// Adds the flags raised in four bits of `byte` starting at bit `top` and going down (high alarm, low
/// alarm, high warning, low warning), the layout SFF-8636 and SFF-8472 use.
pub(super) fn four_flags(
    byte: u8,
    top: u8,
    monitor: &str,
    lane: Option<u8>,
    out: &mut Vec<super::ModuleFlag>,
) {
    for (i, level) in super::LEVELS.iter().enumerate() {
        if byte & (1 << (top - i as u8)) != 0 {
            out.push(super::ModuleFlag {
                monitor: monitor.to_string(),
                lane,
                level: level.to_string(),
            });
        }
    }
}

/// Whether byte `check` holds the low 8 bits of the sum of `from..check`.
pub(super) fn checksum_ok(dump: &[u8], from: usize, check: usize) -> Option<bool> {
    let sum = dump
        .get(from..check)?
        .iter()
        .fold(0u8, |acc, &b| acc.wrapping_add(b));
    Some(sum == *dump.get(check)?)
}

/// Adds a warning when a checksum present in the dump is wrong.
pub(super) fn check(warnings: &mut Vec<String>, dump: &[u8], from: usize, at: usize, what: &str) {
    if checksum_ok(dump, from, at) == Some(false) {
        warnings.push(format!(
            "{what} checksum (byte {at}) does not match bytes {from}..{}; the fields may be corrupt",
            at - 1
        ));
    }
}
