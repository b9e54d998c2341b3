//! SFF-8636: QSFP+/QSFP28. The lower page (dump bytes 0..128) holds the live monitors, page 00h
//! (128..256) identity, page 03h (512..640) the thresholds. Four lanes.

use super::fields::{
    ascii, bias, check, four_flags, limits, nonzero, oui, page, paged_layout, power, temperature,
    u16_at, voltage,
};
use super::{connector_name, identifier_name, LaneMonitors, Media, ModuleDecodeError, ModuleInfo};
use super::{ModuleFlag, Thresholds};

const PAGE03: usize = 512 - 128;

pub(super) fn decode(dump: &[u8]) -> Result<ModuleInfo, ModuleDecodeError> {
    let (upper, mut warnings) = paged_layout(dump, 640)?;
    check(
        &mut warnings,
        dump,
        128,
        191,
        "SFF-8636 page 00h base (CC_BASE)",
    );
    check(
        &mut warnings,
        dump,
        192,
        223,
        "SFF-8636 page 00h extended (CC_EXT)",
    );
    let flat = dump[2] & 0x04 != 0;
    let byte = |at: usize| dump.get(at).copied().unwrap_or(0);
    // Device technology (147), upper nibble: 0x0-0x9 optical transmitters, 0xA-0xF copper.
    let media = if !upper {
        Media::Unknown
    } else if byte(147) >> 4 >= 0x0A {
        Media::Copper
    } else {
        Media::Optical
    };
    let cable_length_m = match media {
        Media::Copper => nonzero(byte(146) as f64),
        Media::Optical => nonzero(byte(142) as f64 * 1000.0)
            .or(nonzero(byte(143) as f64 * 2.0))
            .or(nonzero(byte(146) as f64 * 2.0))
            .or(nonzero(byte(144) as f64))
            .or(nonzero(byte(145) as f64)),
        Media::Unknown => None,
    };
    let wavelength_nm = match media {
        Media::Optical => u16_at(dump, 186).and_then(|v| nonzero(v as f64 / 20.0)),
        _ => None,
    };
    // Diagnostic monitoring type (220): bit 5 temperature, bit 4 supply voltage, bit 2 Tx power. Bits 5
    // and 4 came with Rev 2.8 (revision compliance, byte 1, 0x08): before it a zero there means "not
    // implemented or pre-Rev 2.8", and real modules of earlier revisions do monitor both, so they are
    // read (as ethtool reads them).
    let monitoring = byte(220);
    let pre_rev_2_8 = dump[1] < 0x08;
    let has_temperature = upper && (monitoring & 0x20 != 0 || pre_rev_2_8);
    let has_voltage = upper && (monitoring & 0x10 != 0 || pre_rev_2_8);
    let has_tx_power = upper && monitoring & 0x04 != 0;
    // Rx power and Tx bias exist only where there are lasers and photodiodes.
    let has_optics = media == Media::Optical;
    let lanes = (0..4)
        .map(|i| LaneMonitors {
            lane: i as u8 + 1,
            rx_power_mw: has_optics.then(|| power(dump, 34 + 2 * i)).flatten(),
            tx_bias_ma: has_optics.then(|| bias(dump, 42 + 2 * i)).flatten(),
            tx_power_mw: (has_optics && has_tx_power)
                .then(|| power(dump, 50 + 2 * i))
                .flatten(),
        })
        .collect();
    let has_page03 = !flat && page(dump, PAGE03 + 128).is_some();
    // Like ethtool: a module with page 03h (paged memory) implements the alarm and warning flags.
    let flags = has_page03
        .then(|| module_flags(dump, has_temperature, has_voltage, has_optics, has_tx_power));
    let thresholds = if flat || !has_optics {
        None
    } else if !has_page03 {
        warnings.push("dump stops before page 03h: no alarm/warning thresholds".into());
        None
    } else {
        Some(thresholds(dump))
    };
    Ok(ModuleInfo {
        spec: "SFF-8636".into(),
        identifier: identifier_name(dump[0]).into(),
        identifier_code: dump[0],
        vendor: ascii(dump, 148, 16),
        vendor_oui: oui(dump, 165),
        part_number: ascii(dump, 168, 16),
        serial_number: ascii(dump, 196, 16),
        revision: ascii(dump, 184, 2),
        date_code: ascii(dump, 212, 8),
        connector: upper.then(|| connector_name(byte(130))).flatten(),
        media,
        cable_length_m,
        wavelength_nm,
        temperature_c: has_temperature.then(|| temperature(dump, 22)).flatten(),
        voltage_v: has_voltage.then(|| voltage(dump, 26)).flatten(),
        lanes,
        thresholds,
        crossed: Vec::new(),
        flags,
        vdm: Vec::new(),
        dump_bytes: dump.len(),
        warnings,
    })
}

/// The alarm and warning limits of page 03h (the dump holds it).
fn thresholds(dump: &[u8]) -> Thresholds {
    let p = PAGE03;
    Thresholds {
        temperature_c: limits(dump, p + 128, temperature).expect("page 03h is whole"),
        voltage_v: limits(dump, p + 144, voltage).expect("page 03h is whole"),
        rx_power_mw: limits(dump, p + 176, power).expect("page 03h is whole"),
        tx_bias_ma: limits(dump, p + 184, bias).expect("page 03h is whole"),
        tx_power_mw: limits(dump, p + 192, power).expect("page 03h is whole"),
    }
}

/// The module's latched flags (lower page): temperature (byte 6) and supply voltage (7) in bits 7-4;
/// per lane, two lanes a byte (lanes 1 and 3 in bits 7-4, lanes 2 and 4 in bits 3-0): Rx power (9-10),
/// Tx bias (11-12), Tx power (13-14). Only for monitors the module has.
fn module_flags(
    dump: &[u8],
    temperature: bool,
    voltage: bool,
    optics: bool,
    tx_power: bool,
) -> Vec<ModuleFlag> {
    let mut out = Vec::new();
    if temperature {
        four_flags(dump[6], 7, "temperature_c", None, &mut out);
    }
    if voltage {
        four_flags(dump[7], 7, "voltage_v", None, &mut out);
    }
    let lanes = [
        ("rx_power_mw", 9, optics),
        ("tx_bias_ma", 11, optics),
        ("tx_power_mw", 13, optics && tx_power),
    ];
    for (monitor, first, present) in lanes {
        for lane in (0..4u8).filter(|_| present) {
            let byte = dump[first + lane as usize / 2];
            let top = if lane % 2 == 0 { 7 } else { 3 };
            four_flags(byte, top, monitor, Some(lane + 1), &mut out);
        }
    }
    out
}
