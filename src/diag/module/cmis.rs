//! CMIS (4.0 and later): QSFP-DD, OSFP, QSFP+/SFP-DD under CMIS. The lower page (0..128) holds module
//! temperature and voltage; page 00h (128..256) identity; page 01h (256..384) wavelength and the Tx bias
//! multiplier and the monitors the module advertises; page 02h (384..512) thresholds; page 11h
//! (640..768) per-lane monitors and flags, up to 8 lanes. Monitors are read by what the module
//! advertises, not by its media: a passive copper module that reports temperature has it read.

use super::fields::{
    ascii, bias, check, limits, oui, page, paged_layout, power, temperature, u16_at, voltage,
};
use super::{connector_name, identifier_name, LaneMonitors, Media, ModuleDecodeError, ModuleInfo};
use super::{ModuleFlag, Thresholds, LEVELS};

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
    let advertised = Advertised::read(dump, has_page01, optics);
    let lanes = (0..lane_count)
        .map(|i| {
            let lane = |offset: usize, read: fn(&[u8], usize) -> Option<f64>, on: bool| {
                (has_lanes && on)
                    .then(|| read(dump, PAGE11 + offset + 2 * i))
                    .flatten()
            };
            LaneMonitors {
                lane: i as u8 + 1,
                tx_power_mw: lane(154, power, advertised.tx_power),
                tx_bias_ma: lane(170, bias, advertised.tx_bias).map(|b| b * bias_scale),
                rx_power_mw: lane(186, power, advertised.rx_power),
            }
        })
        .collect();
    let thresholds = if flat || !optics {
        None
    } else {
        thresholds(dump, bias_scale)
    };
    let temperature_c = advertised
        .temperature
        .then(|| temperature(dump, 14))
        .flatten()
        .filter(|&t| has_page01 || t != 0.0);
    let voltage_v = advertised
        .voltage
        .then(|| voltage(dump, 16))
        .flatten()
        .filter(|&v| has_page01 || v != 0.0);
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
        temperature_c,
        voltage_v,
        lanes,
        thresholds,
        crossed: Vec::new(),
        flags: Some(module_flags(dump, &advertised, has_lanes, lane_count)),
        vdm: Vec::new(),
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

/// Which monitors the module has, as it advertises them on page 01h: byte 159 bit 0 temperature, bit 1
/// supply voltage; byte 160 bit 0 Tx bias, bit 1 Tx power, bit 2 Rx power. Without page 01h (flat
/// memory, or a dump that stops before it) temperature and voltage are read where they are not zero,
/// and the lane monitors are taken to exist on optical modules.
struct Advertised {
    temperature: bool,
    voltage: bool,
    tx_bias: bool,
    tx_power: bool,
    rx_power: bool,
}

impl Advertised {
    fn read(dump: &[u8], has_page01: bool, optics: bool) -> Advertised {
        if !has_page01 {
            return Advertised {
                temperature: true,
                voltage: true,
                tx_bias: optics,
                tx_power: optics,
                rx_power: optics,
            };
        }
        let (module, lanes) = (dump[PAGE01 + 159], dump[PAGE01 + 160]);
        Advertised {
            temperature: module & 0x01 != 0,
            voltage: module & 0x02 != 0,
            tx_bias: lanes & 0x01 != 0,
            tx_power: lanes & 0x02 != 0,
            rx_power: lanes & 0x04 != 0,
        }
    }
}

/// The module's latched flags: temperature and supply voltage in lower page byte 9 (bits 0-3 and 4-7:
/// high alarm, low alarm, high warning, low warning, lowest bit first); per lane, one byte a level with
/// a bit a lane on page 11h: Tx power 139-142, Tx bias 143-146, Rx power 149-152. Only for monitors the
/// module advertises; lane flags only with page 11h.
fn module_flags(
    dump: &[u8],
    advertised: &Advertised,
    has_lanes: bool,
    lane_count: usize,
) -> Vec<ModuleFlag> {
    let mut out = Vec::new();
    let mut push = |monitor: &str, lane: Option<u8>, level: &str| {
        out.push(ModuleFlag {
            monitor: monitor.into(),
            lane,
            level: level.into(),
        })
    };
    for (monitor, first_bit, on) in [
        ("temperature_c", 0, advertised.temperature),
        ("voltage_v", 4, advertised.voltage),
    ] {
        for (i, level) in LEVELS.iter().enumerate().filter(|_| on) {
            if dump[9] & (1 << (first_bit + i)) != 0 {
                push(monitor, None, level);
            }
        }
    }
    let lane_flags = [
        ("tx_power_mw", 139, advertised.tx_power),
        ("tx_bias_ma", 143, advertised.tx_bias),
        ("rx_power_mw", 149, advertised.rx_power),
    ];
    for (monitor, first, on) in lane_flags.into_iter().filter(|_| has_lanes) {
        for (i, level) in LEVELS.iter().enumerate().filter(|_| on) {
            let byte = dump[PAGE11 + first + i];
            for lane in (0..lane_count).filter(|l| byte & (1 << l) != 0) {
                push(monitor, Some(lane as u8 + 1), level);
            }
        }
    }
    out
}
