//! CMIS (4.0 and later): QSFP-DD, OSFP, QSFP+/SFP-DD under CMIS. The lower page (0..128) holds module
//! temperature and voltage; page 00h (128..256) identity; page 01h (256..384) wavelength and the Tx bias
//! multiplier; page 02h (384..512) thresholds; page 11h (640..768) per-lane monitors, up to 8 lanes.

use super::fields::{
    ascii, bias, check, limits, oui, page, paged_layout, power, temperature, u16_at, voltage,
};
use super::Thresholds;
use super::{connector_name, identifier_name, LaneMonitors, Media, ModuleDecodeError, ModuleInfo};

const PAGE01: usize = 256 - 128;
const PAGE02: usize = 384 - 128;
const PAGE11: usize = 640 - 128;

pub(super) fn decode(dump: &[u8]) -> Result<ModuleInfo, ModuleDecodeError> {
    let (upper, mut warnings) = paged_layout(dump, super::MAX_DUMP_BYTES)?;
    check(&mut warnings, dump, 128, 222, "CMIS page 00h");
    let flat = dump[2] & 0x80 != 0;
    let byte = |at: usize| dump.get(at).copied().unwrap_or(0);
    // Module media type (85): 3 passive copper; else the media interface technology (212).
    let media = if dump[85] == 0x03 || (upper && (0x0A..=0x0F).contains(&byte(212))) {
        Media::Copper
    } else if matches!(dump[85], 0x01 | 0x02) || (upper && byte(212) <= 0x09) {
        Media::Optical
    } else {
        Media::Unknown
    };
    // Length (202): bits 7-6 multiplier 0.1/1/10/100 m, bits 5-0 base.
    let cable_length_m = upper
        .then(|| {
            let raw = byte(202);
            let multiplier = [0.1, 1.0, 10.0, 100.0][(raw >> 6) as usize];
            let m = (raw & 0x3F) as f64 * multiplier;
            (m > 0.0).then_some((m * 10.0).round() / 10.0)
        })
        .flatten();
    let has_page01 = !flat && page(dump, PAGE01 + 128).is_some();
    let wavelength_nm = (media == Media::Optical && has_page01)
        .then(|| u16_at(dump, PAGE01 + 138).map(|v| v as f64 * 0.05))
        .flatten()
        .filter(|&w| w > 0.0);
    // Media lane count of the first application descriptor (88, low nibble).
    let lane_count = match dump[88] & 0x0F {
        0 => 8,
        n => n.min(8) as usize,
    };
    let has_lanes = !flat && page(dump, PAGE11 + 128).is_some();
    if !flat && !has_lanes {
        warnings.push("dump stops before page 11h: no per-lane monitors".into());
    }
    // Tx bias multiplier: page 01h byte 160, bits 4-3 (x1, x2, x4).
    let bias_scale = if has_page01 {
        [1.0, 2.0, 4.0, 1.0][((byte(PAGE01 + 160) >> 3) & 0x03) as usize]
    } else {
        1.0
    };
    let optics = media == Media::Optical;
    let lanes = (0..lane_count)
        .map(|i| {
            let lane = |offset: usize, read: fn(&[u8], usize) -> Option<f64>| {
                (has_lanes && optics)
                    .then(|| read(dump, PAGE11 + offset + 2 * i))
                    .flatten()
            };
            LaneMonitors {
                lane: i as u8 + 1,
                tx_power_mw: lane(154, power),
                tx_bias_ma: lane(170, bias).map(|b| b * bias_scale),
                rx_power_mw: lane(186, power),
            }
        })
        .collect();
    let thresholds = if flat || !optics {
        None
    } else {
        thresholds(dump, bias_scale)
    };
    // Passive copper has no temperature sensor worth the name; CMIS says such modules report 0.
    let monitored = media != Media::Copper || dump[85] != 0x03;
    Ok(ModuleInfo {
        spec: "CMIS".into(),
        identifier: identifier_name(dump[0]).into(),
        identifier_code: dump[0],
        vendor: ascii(dump, 129, 16),
        vendor_oui: oui(dump, 145),
        part_number: ascii(dump, 148, 16),
        serial_number: ascii(dump, 166, 16),
        revision: ascii(dump, 164, 2),
        date_code: ascii(dump, 182, 8),
        connector: upper.then(|| connector_name(byte(203))).flatten(),
        media,
        cable_length_m,
        wavelength_nm,
        temperature_c: monitored.then(|| temperature(dump, 14)).flatten(),
        voltage_v: monitored.then(|| voltage(dump, 16)).flatten(),
        lanes,
        thresholds,
        crossed: Vec::new(),
        dump_bytes: dump.len(),
        warnings,
    })
}

/// The alarm and warning limits of page 02h (Tx bias scaled like the monitors); `None` when the dump
/// stops before the page.
fn thresholds(dump: &[u8], bias_scale: f64) -> Option<Thresholds> {
    page(dump, PAGE02 + 128)?;
    let p = PAGE02;
    Some(Thresholds {
        temperature_c: limits(dump, p + 128, temperature).expect("page 02h is whole"),
        voltage_v: limits(dump, p + 136, voltage).expect("page 02h is whole"),
        tx_power_mw: limits(dump, p + 176, power).expect("page 02h is whole"),
        tx_bias_ma: limits(dump, p + 184, bias)
            .map(|l| super::Limits {
                high_alarm: l.high_alarm * bias_scale,
                low_alarm: l.low_alarm * bias_scale,
                high_warning: l.high_warning * bias_scale,
                low_warning: l.low_warning * bias_scale,
            })
            .expect("page 02h is whole"),
        rx_power_mw: limits(dump, p + 192, power).expect("page 02h is whole"),
    })
}
