//! SFF-8472: SFP/SFP+/SFP28. Address A0h (bytes 0..256 of the dump) holds identity; address A2h
//! (bytes 256..512) holds thresholds (0..40), the calibration constants (56..92), the live monitors
//! (96..106) and the latched alarm and warning flags (112..118).
//!
//! Copper is what the module says it is: a direct-attach cable (byte 8 bits 2-3), an Ethernet copper
//! compliance code (1000BASE-T or -CX in byte 6, a BASE-T or CR code in the extended compliance byte
//! 36), or a copper connector (RJ45, copper pigtail). Its length is byte 18, in metres.

use super::fields::{ascii, check, four_flags, nonzero, oui, u16_at};
use super::sff8472_calibration::{Calibration, External, Quantity};
use super::{connector_name, identifier_name, LaneMonitors, Media, ModuleDecodeError, ModuleInfo};
use super::{Limits, ModuleFlag, Thresholds};

const A2: usize = 256;

/// SFF-8024 extended compliance codes (byte 36, Table 4-4) of copper media: active copper cables (0x08,
/// 0x19, 0x30, 0x32), CR cables (0x0B-0x0D, 0x3F, 0x40), BASE-T (0x16, 0x1C-0x1E) and 10BASE-T1L (0x0E).
const COPPER_EXTENDED: [u8; 14] = [
    0x08, 0x0B, 0x0C, 0x0D, 0x0E, 0x16, 0x19, 0x1C, 0x1D, 0x1E, 0x30, 0x32, 0x3F, 0x40,
];

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
    let copper = is_copper(dump);
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
    let calibration = diagnostics(dump, &mut warnings);
    let read = |offset: usize, quantity: Quantity| {
        let c = calibration.as_ref()?;
        Some(to_unit(
            quantity,
            c.apply(quantity, u16_at(dump, A2 + offset)?),
        ))
    };
    let thresholds = calibration.as_ref().map(|c| thresholds(dump, c));
    // Byte 93 bit 7: the module implements the alarm and warning flags.
    let flags = (calibration.is_some() && dump[93] & 0x80 != 0).then(|| module_flags(dump));
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
        temperature_c: read(96, Quantity::Temperature),
        voltage_v: read(98, Quantity::Voltage),
        lanes: vec![LaneMonitors {
            lane: 1,
            tx_bias_ma: read(100, Quantity::Bias),
            tx_power_mw: read(102, Quantity::TxPower),
            rx_power_mw: read(104, Quantity::RxPower),
        }],
        thresholds,
        crossed: Vec::new(),
        flags,
        vdm: Vec::new(),
        dump_bytes: dump.len(),
        warnings,
    })
}

/// Whether the module moves the signal over copper (see the module documentation).
fn is_copper(dump: &[u8]) -> bool {
    let cable = dump[8] & 0x0C != 0;
    let gigabit_copper = dump[6] & 0x0C != 0;
    let connector = matches!(dump[2], 0x21 | 0x22);
    let extended = dump.get(36).is_some_and(|c| COPPER_EXTENDED.contains(c));
    cable || gigabit_copper || connector || extended
}

/// A reading in the internal unit as the report's unit.
fn to_unit(quantity: Quantity, internal: f64) -> f64 {
    match quantity {
        Quantity::Temperature => internal / 256.0,
        Quantity::Voltage | Quantity::TxPower | Quantity::RxPower => internal / 10_000.0,
        Quantity::Bias => internal * 0.002,
    }
}

/// How the A2h diagnostics read, when they can be read (the module has them and the dump holds them);
/// says why not in `warnings`, and checks their checksum when they can.
fn diagnostics(dump: &[u8], warnings: &mut Vec<String>) -> Option<Calibration> {
    let diag_type = dump.get(92).copied().unwrap_or(0);
    let ddm = diag_type & 0x40 != 0;
    let has_a2 = dump.len() >= 512;
    if ddm && !has_a2 {
        warnings.push("the module has diagnostics (A2h) but the dump stops before them".into());
    }
    if !(ddm && has_a2) {
        return None;
    }
    check(warnings, dump, A2, A2 + 95, "SFF-8472 diagnostics (CC_DMI)");
    // Byte 92 bit 4: externally calibrated (bit 5, internally, wins when both are set).
    let external = diag_type & 0x10 != 0 && diag_type & 0x20 == 0;
    Some(if external {
        Calibration::External(Box::new(External::read(&dump[A2..A2 + 256])))
    } else {
        Calibration::Internal
    })
}

/// The alarm and warning limits (A2h 0..40), calibrated like the readings.
fn thresholds(dump: &[u8], c: &Calibration) -> Thresholds {
    let limits = |at: usize, quantity: Quantity| {
        let one = |offset: usize| {
            let raw = u16_at(dump, A2 + at + offset).expect("A2h is whole");
            to_unit(quantity, c.apply(quantity, raw))
        };
        Limits {
            high_alarm: one(0),
            low_alarm: one(2),
            high_warning: one(4),
            low_warning: one(6),
        }
    };
    Thresholds {
        temperature_c: limits(0, Quantity::Temperature),
        voltage_v: limits(8, Quantity::Voltage),
        tx_bias_ma: limits(16, Quantity::Bias),
        tx_power_mw: limits(24, Quantity::TxPower),
        rx_power_mw: limits(32, Quantity::RxPower),
    }
}

/// The latched flags: alarms in A2h bytes 112-113, warnings in 116-117 (temperature bits 7-6, voltage
/// 5-4, Tx bias 3-2, Tx power 1-0 of the first byte; Rx power bits 7-6 of the second; high before low).
fn module_flags(dump: &[u8]) -> Vec<ModuleFlag> {
    let mut out = Vec::new();
    let monitors = [
        ("temperature_c", 0, 7),
        ("voltage_v", 0, 5),
        ("tx_bias_ma", 0, 3),
        ("tx_power_mw", 0, 1),
        ("rx_power_mw", 1, 7),
    ];
    for (monitor, byte, high_bit) in monitors {
        let lane = (monitor != "temperature_c" && monitor != "voltage_v").then_some(1);
        // The four-bit layout split over the alarm byte and the warning byte: high, low alarm in one,
        // high, low warning in the other.
        let alarms = (dump[A2 + 112 + byte] >> (high_bit - 1)) & 0x03;
        let warnings = (dump[A2 + 116 + byte] >> (high_bit - 1)) & 0x03;
        four_flags((alarms << 2) | warnings, 3, monitor, lane, &mut out);
    }
    out
}
