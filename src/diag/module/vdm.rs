//! CMIS Versatile Diagnostics Monitoring (VDM, CMIS 4.0 and later, pages 20h-2Fh): per-lane observables
//! a module measures itself, among them pre-FEC BER and errored frames on its media and host inputs,
//! eSNR and the PAM4 level transition parameter. A module says it has them in page 01h byte 142 bit 6;
//! page 2Fh byte 128 bits 1-0 say how many groups of 64 observables it fills (one to four).
//!
//! The input is pages 20h to 2Fh, 128 bytes each in that order (2,048 bytes; a page not read is zero),
//! the upper half of each as the module maps it at bytes 128-255:
//! - descriptors, page 20h + g for group g: 64 of 2 bytes; the first byte's bits 7-4 pick a threshold
//!   set, bits 3-0 the lane (0-based); the second byte is the observable type (0: unused);
//! - samples, page 24h + g: 64 of 2 bytes, big-endian, in the descriptors' order;
//! - thresholds, page 28h + g: 16 sets of 8 bytes (high alarm, low alarm, high warning, low warning);
//! - flags, page 2Ch: 4 bits per observable, 32 bytes per group, the even observable in the low nibble
//!   (bit 0 high alarm, 1 low alarm, 2 high warning, 3 low warning).
//!
//! Formats: U16 and S16 scaled by the type's unit; F16 is CMIS's own float, bits 15-11 an exponent
//! biased by 24 and bits 10-0 a mantissa: `m * 10^(e - 24)`. Types 1-24 are the ones CMIS defines;
//! any other (vendor or C-CMIS) is kept as its raw 16-bit value.

use super::{Limits, LEVELS};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bytes of pages 20h-2Fh.
pub const VDM_BYTES: usize = 16 * 128;

/// One observable of one lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VdmObservable {
    /// The CMIS observable type (9: pre-FEC BER minimum, media input; 15: its current value; ...).
    pub type_id: u8,
    /// What it is, as CMIS names it.
    pub name: String,
    /// 1-based lane.
    pub lane: u8,
    pub value: f64,
    /// `dB`, `C`, `%`, `MHz`, `ratio` (BER, errored frames), or `raw` for a type CMIS does not define.
    pub unit: String,
    /// The module's own limits for it; left out of soak samples (they do not change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Limits>,
    /// The module's flags set for it (`high_alarm`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// How a type's 16 bits are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    U16(f64),
    S16(f64),
    F16,
    Raw,
}

/// The name, format and unit of an observable type.
fn describe(type_id: u8) -> (&'static str, Format, &'static str) {
    let snr = Format::U16(1.0 / 256.0);
    match type_id {
        1 => ("laser age", Format::U16(1.0), "%"),
        2 => ("TEC current", Format::S16(100.0 / 32767.0), "%"),
        3 => ("laser frequency error", Format::S16(10.0), "MHz"),
        4 => ("laser temperature", Format::S16(1.0 / 256.0), "C"),
        5 => ("eSNR media input", snr, "dB"),
        6 => ("eSNR host input", snr, "dB"),
        7 => ("PAM4 level transition parameter media input", snr, "dB"),
        8 => ("PAM4 level transition parameter host input", snr, "dB"),
        9 => ("pre-FEC BER minimum media input", Format::F16, "ratio"),
        10 => ("pre-FEC BER minimum host input", Format::F16, "ratio"),
        11 => ("pre-FEC BER maximum media input", Format::F16, "ratio"),
        12 => ("pre-FEC BER maximum host input", Format::F16, "ratio"),
        13 => ("pre-FEC BER average media input", Format::F16, "ratio"),
        14 => ("pre-FEC BER average host input", Format::F16, "ratio"),
        15 => ("pre-FEC BER current media input", Format::F16, "ratio"),
        16 => ("pre-FEC BER current host input", Format::F16, "ratio"),
        17 => ("errored frames minimum media input", Format::F16, "ratio"),
        18 => ("errored frames minimum host input", Format::F16, "ratio"),
        19 => ("errored frames maximum media input", Format::F16, "ratio"),
        20 => ("errored frames maximum host input", Format::F16, "ratio"),
        21 => ("errored frames average media input", Format::F16, "ratio"),
        22 => ("errored frames average host input", Format::F16, "ratio"),
        23 => ("errored frames current media input", Format::F16, "ratio"),
        24 => ("errored frames current host input", Format::F16, "ratio"),
        _ => ("vendor or C-CMIS observable", Format::Raw, "raw"),
    }
}

/// CMIS's F16: `mantissa * 10^(exponent - 24)`.
pub fn f16(raw: u16) -> f64 {
    let exponent = i32::from(raw >> 11);
    let mantissa = f64::from(raw & 0x07FF);
    mantissa * 10f64.powi(exponent - 24)
}

fn read(format: Format, raw: u16) -> f64 {
    match format {
        Format::U16(scale) => f64::from(raw) * scale,
        Format::S16(scale) => f64::from(raw as i16) * scale,
        Format::F16 => f16(raw),
        Format::Raw => f64::from(raw),
    }
}

/// The 16-bit word at `page` (20h-2Fh) offset `at` (0-127 within its upper half).
fn word(pages: &[u8], page: usize, at: usize) -> u16 {
    let i = (page - 0x20) * 128 + at;
    u16::from_be_bytes([pages[i], pages[i + 1]])
}

/// Every observable the module's VDM pages describe. `pages` is [`VDM_BYTES`] long (pages 20h-2Fh).
pub fn decode(pages: &[u8]) -> Result<Vec<VdmObservable>, String> {
    if pages.len() != VDM_BYTES {
        return Err(format!(
            "VDM pages are {} bytes, not {VDM_BYTES} (pages 20h-2Fh, 128 bytes each)",
            pages.len()
        ));
    }
    let groups = usize::from(pages[(0x2F - 0x20) * 128] & 0x03) + 1;
    let mut out = Vec::new();
    for group in 0..groups {
        for index in 0..64 {
            let descriptor = group * 128 + 2 * index;
            let type_id = pages[descriptor + 1];
            if type_id == 0 {
                continue;
            }
            let (name, format, unit) = describe(type_id);
            let set = usize::from(pages[descriptor] >> 4);
            let limit = |k: usize| read(format, word(pages, 0x28 + group, 8 * set + 2 * k));
            let thresholds = Limits {
                high_alarm: limit(0),
                low_alarm: limit(1),
                high_warning: limit(2),
                low_warning: limit(3),
            };
            let nibble = pages[(0x2C - 0x20) * 128 + 32 * group + index / 2] >> (4 * (index % 2));
            out.push(VdmObservable {
                type_id,
                name: name.into(),
                lane: (pages[descriptor] & 0x0F) + 1,
                value: read(format, word(pages, 0x24 + group, 2 * index)),
                unit: unit.into(),
                thresholds: thresholds.programmed().then_some(thresholds),
                // The nibble's bit 0 is the high alarm, bit 3 the low warning: LEVELS' order.
                flags: (0..4)
                    .filter(|bit| nibble & (1 << bit) != 0)
                    .map(|bit| LEVELS[bit].to_string())
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Whether a CMIS dump advertises VDM (page 01h byte 142 bit 6), when it holds page 01h.
pub fn advertised(dump: &[u8]) -> bool {
    let flat = dump.get(2).is_some_and(|b| b & 0x80 != 0);
    !flat && dump.get(256 + 142 - 128).is_some_and(|b| b & 0x40 != 0)
}

/// Builds pages 20h-2Fh from observables, for fixtures and tests: each entry is (lane 1-based, type,
/// raw 16-bit sample), in descriptor order, one group, no thresholds.
pub fn build_pages(entries: &[(u8, u8, u16)]) -> Vec<u8> {
    let mut pages = vec![0u8; VDM_BYTES];
    for (index, &(lane, type_id, raw)) in entries.iter().enumerate().take(64) {
        pages[2 * index] = lane.saturating_sub(1) & 0x0F;
        pages[2 * index + 1] = type_id;
        let at = (0x24 - 0x20) * 128 + 2 * index;
        pages[at..at + 2].copy_from_slice(&raw.to_be_bytes());
    }
    pages
}

/// The F16 encoding nearest `value` (the largest mantissa that fits), for fixtures.
pub fn to_f16(value: f64) -> u16 {
    if value <= 0.0 || !value.is_finite() {
        return 0;
    }
    // The smallest exponent whose mantissa fits in 11 bits keeps the most digits.
    for exponent in 0..32u16 {
        let mantissa = (value / 10f64.powi(i32::from(exponent) - 24)).round();
        if mantissa < 2048.0 {
            return (exponent << 11) | mantissa as u16;
        }
    }
    0x7FFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_is_a_mantissa_times_a_power_of_ten_biased_by_24() {
        // 1234 x 10^(12-24) = 1.234e-9
        let raw = (12 << 11) | 1234;
        assert!((f16(raw) - 1.234e-9).abs() < 1e-21);
        assert_eq!(f16(24 << 11 | 5), 5.0);
        for v in [2.4e-8, 1.0e-5, 3.3e-12] {
            let back = f16(to_f16(v));
            assert!((back - v).abs() / v < 1e-3, "{v} -> {back}");
        }
    }

    #[test]
    fn descriptors_samples_thresholds_and_flags_decode_per_lane() {
        let mut pages = build_pages(&[
            (1, 15, to_f16(2.4e-8)),
            (2, 15, to_f16(9.1e-7)),
            (2, 5, 25 * 256 + 128),
            (3, 99, 0x1234),
        ]);
        // Observable 1 (lane 2's BER) uses threshold set 1: high alarm 1e-5 ... ; its high warning is set.
        pages[2] |= 1 << 4;
        let set1 = (0x28 - 0x20) * 128 + 8;
        for (k, v) in [1e-5, 0.0, 1e-6, 0.0].iter().enumerate() {
            pages[set1 + 2 * k..set1 + 2 * k + 2].copy_from_slice(&to_f16(*v).to_be_bytes());
        }
        pages[(0x2C - 0x20) * 128] = 0b0100 << 4;
        let v = decode(&pages).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(
            (v[0].lane, v[0].type_id, v[0].unit.as_str()),
            (1, 15, "ratio")
        );
        assert!((v[0].value - 2.4e-8).abs() < 1e-11);
        assert_eq!(v[1].flags, vec!["high_warning".to_string()]);
        let t = v[1].thresholds.unwrap();
        assert!((t.high_alarm - 1e-5).abs() < 1e-9 && (t.high_warning - 1e-6).abs() < 1e-10);
        assert!(v[0].thresholds.is_none() && v[0].flags.is_empty());
        assert!((v[2].value - 25.5).abs() < 1e-9 && v[2].name == "eSNR media input");
        assert_eq!((v[3].unit.as_str(), v[3].value), ("raw", f64::from(0x1234)));
        assert!(decode(&pages[..100]).unwrap_err().contains("2048"));
    }
}
