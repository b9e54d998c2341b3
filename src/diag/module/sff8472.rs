//! SFF-8472: SFP/SFP+/SFP28. Address A0h (bytes 0..256 of the dump) holds identity; address A2h
//! (bytes 256..512) holds thresholds (0..40) and the live monitors (96..106).

use super::fields::{ascii, bias, check, limits, nonzero, oui, power, temperature, voltage};
use super::Thresholds;
use super::{connector_name, identifier_name, LaneMonitors, Media, ModuleDecodeError, ModuleInfo};

const A2: usize = 256;

pub(super) fn decode(dump: &[u8]) -> Result<ModuleInfo, ModuleDecodeError> {
    if dump.len() > 512 {
        return Err(ModuleDecodeError::TooLong(dump.len(), 512));
    }
    let mut warnings = Vec::new();
    let full_a0 = dump.len() >= 256;
    check(&mut warnings, dump, 0, 63, "SFF-8472 base (CC_BASE)");
    if full_a0 {
        check(&mut warnings, dump, 64, 95, "SFF-8472 extended (CC_EXT)");
    } else {
        warnings.push(
            "dump holds only the first 128 bytes of A0h: serial number and diagnostics are missing"
                .into(),
        );
    }
    // SFP+ cable technology: byte 8 bit 2 passive, bit 3 active copper cable.
    let copper = dump[8] & 0x0C != 0;
    let media = if copper {
        Media::Copper
    } else {
        Media::Optical
    };
    let cable_length_m = if copper {
        nonzero(dump[18] as f64)
    } else {
        nonzero(dump[14] as f64 * 1000.0)
            .or(nonzero(dump[15] as f64 * 100.0))
            .or(nonzero(dump[19] as f64 * 10.0))
            .or(nonzero(dump[16] as f64 * 10.0))
            .or(nonzero(dump[17] as f64 * 10.0))
            .or(nonzero(dump[18] as f64 * 10.0))
    };
    let wavelength_nm = if copper {
        None
    } else {
        nonzero(u16::from_be_bytes([dump[60], dump[61]]) as f64)
    };
    let usable = diagnostics_usable(dump, &mut warnings);
    let at = |offset: usize, read: fn(&[u8], usize) -> Option<f64>| {
        if usable {
            read(dump, A2 + offset)
        } else {
            None
        }
    };
    let thresholds = if usable {
        Some(Thresholds {
            temperature_c: limits(dump, A2, temperature).expect("A2h is whole"),
            voltage_v: limits(dump, A2 + 8, voltage).expect("A2h is whole"),
            tx_bias_ma: limits(dump, A2 + 16, bias).expect("A2h is whole"),
            tx_power_mw: limits(dump, A2 + 24, power).expect("A2h is whole"),
            rx_power_mw: limits(dump, A2 + 32, power).expect("A2h is whole"),
        })
    } else {
        None
    };
    Ok(ModuleInfo {
        spec: "SFF-8472".into(),
        identifier: identifier_name(dump[0]).into(),
        identifier_code: dump[0],
        vendor: ascii(dump, 20, 16),
        vendor_oui: oui(dump, 37),
        part_number: ascii(dump, 40, 16),
        serial_number: ascii(dump, 68, 16),
        revision: ascii(dump, 56, 4),
        date_code: ascii(dump, 84, 8),
        connector: connector_name(dump[2]),
        media,
        cable_length_m,
        wavelength_nm,
        temperature_c: at(96, temperature),
        voltage_v: at(98, voltage),
        lanes: vec![LaneMonitors {
            lane: 1,
            tx_bias_ma: at(100, bias),
            tx_power_mw: at(102, power),
            rx_power_mw: at(104, power),
        }],
        thresholds,
        crossed: Vec::new(),
        dump_bytes: dump.len(),
        warnings,
    })
}

/// Whether the A2h diagnostics can be read (the module has them, the dump holds them, and they are
/// internally calibrated); says why not in `warnings`, and checks their checksum when they can.
fn diagnostics_usable(dump: &[u8], warnings: &mut Vec<String>) -> bool {
    let diag_type = dump.get(92).copied().unwrap_or(0);
    let ddm = diag_type & 0x40 != 0;
    let external = diag_type & 0x10 != 0 && diag_type & 0x20 == 0;
    let has_a2 = dump.len() >= 512;
    let usable = ddm && has_a2 && !external;
    if ddm && !has_a2 {
        warnings.push("the module has diagnostics (A2h) but the dump stops before them".into());
    }
    if ddm && external {
        warnings.push(
            "the module's diagnostics are externally calibrated, which linkbench does not apply; monitors left null"
                .into(),
        );
    }
    if usable {
        check(warnings, dump, A2, A2 + 95, "SFF-8472 diagnostics (CC_DMI)");
    }
    usable
}
