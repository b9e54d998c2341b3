//! Transceiver-module EEPROM decoding: SFF-8472 (SFP), SFF-8636 (QSFP+/QSFP28) and CMIS (QSFP-DD, OSFP,
//! QSFP+ under CMIS). Input is a raw dump laid out as `ethtool -m IF raw on` writes it through the legacy
//! ioctl: consecutive 128-byte pages.
//!
//! | spec     | layout (bytes)                                                                      |
//! |----------|-------------------------------------------------------------------------------------|
//! | SFF-8472 | 0..256 address A0h; 256..512 address A2h (diagnostics), when the module has them     |
//! | SFF-8636 | 0..128 lower page; 128..256 page 00h; 256..384 01h; 384..512 02h; 512..640 03h      |
//! | CMIS     | 0..128 lower page; 128..256 page 00h; 256..384 01h; 384..512 02h; 512..640 10h; 640..768 11h |
//!
//! A dump may stop after any whole page (ethtool's netlink path writes only the first 256 bytes); what
//! lies beyond it is reported as null. Shorter than 128 bytes, not a multiple of 128, an unknown
//! identifier, or pages that disagree about the identifier are errors ([`ModuleDecodeError`]); a bad
//! checksum is a warning, because real modules ship with them and their monitors are still right.

mod cmis;
mod fields;
mod sff8472;
mod sff8472_calibration;
mod sff8636;
pub mod vdm;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a dump could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleDecodeError {
    #[error("module EEPROM dump is {0} bytes; at least 128 (one page) are needed")]
    TooShort(usize),
    #[error("module EEPROM dump is {0} bytes, not a whole number of 128-byte pages; give the file `ethtool -m IF raw on` wrote, unchanged")]
    Ragged(usize),
    #[error("module EEPROM dump is {0} bytes, more than the {1} this module type's layout has")]
    TooLong(usize, usize),
    #[error(
        "unknown module identifier 0x{0:02x} in byte 0 (SFF-8024); is this a module EEPROM dump?"
    )]
    UnknownIdentifier(u8),
    #[error("inconsistent dump: byte 0 says identifier 0x{lower:02x} but page 00h byte 128 says 0x{upper:02x}")]
    IdentifierMismatch { lower: u8, upper: u8 },
}

/// Whether the module moves the signal over copper or light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Copper,
    Optical,
    Unknown,
}

/// One lane's live monitors; null where the module does not monitor that quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LaneMonitors {
    /// 1-based lane number.
    pub lane: u8,
    pub rx_power_mw: Option<f64>,
    pub tx_power_mw: Option<f64>,
    pub tx_bias_ma: Option<f64>,
}

/// Alarm and warning limits of one monitored quantity, in the monitor's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    pub high_alarm: f64,
    pub low_alarm: f64,
    pub high_warning: f64,
    pub low_warning: f64,
}

impl Limits {
    /// Whether the module programmed these limits: all four zero (an empty EEPROM area) is not a limit.
    pub fn programmed(&self) -> bool {
        [
            self.high_alarm,
            self.low_alarm,
            self.high_warning,
            self.low_warning,
        ]
        .iter()
        .any(|&v| v != 0.0)
    }
}

/// The four flag levels in the order specifications lay out their bits, highest bit first.
pub(crate) const LEVELS: [&str; 4] = ["high_alarm", "low_alarm", "high_warning", "low_warning"];

/// The module's own alarm and warning thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Thresholds {
    pub temperature_c: Limits,
    pub voltage_v: Limits,
    pub tx_bias_ma: Limits,
    pub tx_power_mw: Limits,
    pub rx_power_mw: Limits,
}

/// An alarm or warning the module itself raised: one of its latched flags (SFF-8636 lower page bytes
/// 6-14, SFF-8472 A2h bytes 112-117, CMIS lower page byte 9 and page 11h bytes 139-152). This, not a
/// comparison linkbench makes, is the module's alarm state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModuleFlag {
    /// `temperature_c`, `voltage_v`, `rx_power_mw`, `tx_power_mw` or `tx_bias_ma`.
    pub monitor: String,
    /// The lane, for per-lane monitors.
    pub lane: Option<u8>,
    /// `high_alarm`, `low_alarm`, `high_warning` or `low_warning`.
    pub level: String,
}

impl ModuleFlag {
    /// Whether the flag is an alarm (not a warning).
    pub fn is_alarm(&self) -> bool {
        self.level.ends_with("_alarm")
    }
}

/// A monitor value outside a limit, as linkbench computes it from the value and the module's thresholds
/// (not a flag the module raised: a dark transmitter reads as a low alarm here while the module may flag
/// nothing). Limits that are not programmed (all four zero) are never compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Crossing {
    /// `temperature_c`, `voltage_v`, `rx_power_mw`, `tx_power_mw` or `tx_bias_ma`.
    pub monitor: String,
    /// The lane, for per-lane monitors.
    pub lane: Option<u8>,
    /// `high_alarm`, `low_alarm`, `high_warning` or `low_warning` (an alarm is reported instead of the
    /// warning it implies).
    pub level: String,
    pub value: f64,
    pub limit: f64,
}

/// The live monitors of a module at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Monitors {
    pub temperature_c: Option<f64>,
    pub voltage_v: Option<f64>,
    pub lanes: Vec<LaneMonitors>,
    /// Monitor values past a threshold, computed by linkbench (see [`Crossing`]).
    pub crossed: Vec<Crossing>,
    /// The alarms and warnings the module raised; null when the dump does not hold its flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<ModuleFlag>>,
    /// CMIS VDM observables (pre-FEC BER, errored frames, eSNR, ... per lane), without their limits;
    /// absent when the module has none (added with report 1.6.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vdm: Vec<vdm::VdmObservable>,
}

/// A decoded module EEPROM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModuleInfo {
    /// The management specification the layout follows: `SFF-8472`, `SFF-8636` or `CMIS`.
    pub spec: String,
    /// Form factor from the SFF-8024 identifier byte (`SFP`, `QSFP28`, `QSFP-DD`, ...).
    pub identifier: String,
    pub identifier_code: u8,
    pub vendor: Option<String>,
    /// IEEE company id, `xx:xx:xx`.
    pub vendor_oui: Option<String>,
    pub part_number: Option<String>,
    pub serial_number: Option<String>,
    pub revision: Option<String>,
    /// Manufacturing date code as the module states it (`YYMMDD` plus an optional lot code).
    pub date_code: Option<String>,
    pub connector: Option<String>,
    pub media: Media,
    pub cable_length_m: Option<f64>,
    /// Nominal laser wavelength; null for copper.
    pub wavelength_nm: Option<f64>,
    pub temperature_c: Option<f64>,
    pub voltage_v: Option<f64>,
    /// One entry per lane (1 for SFP, 4 for QSFP, up to 8 for CMIS); values null where not monitored.
    pub lanes: Vec<LaneMonitors>,
    /// Null when the dump holds no threshold page or the module has no monitors.
    pub thresholds: Option<Thresholds>,
    /// Monitor values past a threshold, computed by linkbench (see [`Crossing`]); the module's own alarm
    /// state is `flags`.
    pub crossed: Vec<Crossing>,
    /// The alarms and warnings the module raised (its latched flags); null when the dump does not hold
    /// them or the module does not implement them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<ModuleFlag>>,
    /// CMIS VDM observables with the module's limits for them (pages 20h-2Fh, read apart from the dump
    /// when page 01h advertises them); absent when the module has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vdm: Vec<vdm::VdmObservable>,
    /// Bytes the dump held.
    pub dump_bytes: usize,
    /// What looked wrong but did not stop decoding (bad checksum, unsupported calibration, missing pages).
    pub warnings: Vec<String>,
}

impl ModuleInfo {
    /// The monitors part alone (what changes during a test).
    pub fn monitors(&self) -> Monitors {
        Monitors {
            temperature_c: self.temperature_c,
            voltage_v: self.voltage_v,
            lanes: self.lanes.clone(),
            crossed: self.crossed.clone(),
            flags: self.flags.clone(),
            vdm: self
                .vdm
                .iter()
                .map(|o| vdm::VdmObservable {
                    thresholds: None,
                    ..o.clone()
                })
                .collect(),
        }
    }
}

/// The largest dump any decoder accepts: CMIS's lower page and pages 00h, 01h, 02h, 10h and 11h (SFP
/// dumps stop at 512 bytes, SFF-8636 at 640).
pub const MAX_DUMP_BYTES: usize = 768;

/// Decodes a raw module EEPROM dump (see the module documentation for the layout).
pub fn decode(dump: &[u8]) -> Result<ModuleInfo, ModuleDecodeError> {
    if dump.len() < 128 {
        return Err(ModuleDecodeError::TooShort(dump.len()));
    }
    if dump.len() % 128 != 0 {
        return Err(ModuleDecodeError::Ragged(dump.len()));
    }
    let id = dump[0];
    let mut info = match id {
        0x03 => sff8472::decode(dump)?,
        0x0C | 0x0D | 0x11 => sff8636::decode(dump)?,
        0x18 | 0x19 | 0x1B | 0x1E | 0x1F => cmis::decode(dump)?,
        other => return Err(ModuleDecodeError::UnknownIdentifier(other)),
    };
    info.crossed = match &info.thresholds {
        Some(t) => crossings(t, info.temperature_c, info.voltage_v, &info.lanes),
        None => Vec::new(),
    };
    Ok(info)
}

/// The form-factor name of an SFF-8024 identifier byte.
pub fn identifier_name(id: u8) -> &'static str {
    match id {
        0x03 => "SFP",
        0x0C => "QSFP",
        0x0D => "QSFP+",
        0x11 => "QSFP28",
        0x18 => "QSFP-DD",
        0x19 => "OSFP",
        0x1B => "DSFP",
        0x1E => "QSFP+ (CMIS)",
        0x1F => "SFP-DD",
        _ => "unknown",
    }
}

/// The connector name of an SFF-8024 connector byte.
pub(crate) fn connector_name(code: u8) -> Option<String> {
    let name = match code {
        0x00 => return None,
        0x01 => "SC",
        0x07 => "LC",
        0x0B => "Optical pigtail",
        0x0C => "MPO 1x12",
        0x0D => "MPO 2x16",
        0x21 => "Copper pigtail",
        0x22 => "RJ45",
        0x23 => "No separable connector",
        0x24 => "MXC 2x16",
        0x25 => "CS optical connector",
        0x26 => "SN optical connector",
        0x27 => "MPO 2x12",
        0x28 => "MPO 1x16",
        other => return Some(format!("vendor or reserved code 0x{other:02x}")),
    };
    Some(name.to_string())
}

/// Which monitors sit past which limit.
fn crossings(
    t: &Thresholds,
    temperature: Option<f64>,
    voltage: Option<f64>,
    lanes: &[LaneMonitors],
) -> Vec<Crossing> {
    let mut out = Vec::new();
    let mut check = |monitor: &str, lane: Option<u8>, value: Option<f64>, limits: &Limits| {
        let Some(v) = value else { return };
        if !limits.programmed() {
            return;
        }
        let hit = if v >= limits.high_alarm {
            Some(("high_alarm", limits.high_alarm))
        } else if v <= limits.low_alarm {
            Some(("low_alarm", limits.low_alarm))
        } else if v >= limits.high_warning {
            Some(("high_warning", limits.high_warning))
        } else if v <= limits.low_warning {
            Some(("low_warning", limits.low_warning))
        } else {
            None
        };
        if let Some((level, limit)) = hit {
            out.push(Crossing {
                monitor: monitor.to_string(),
                lane,
                level: level.to_string(),
                value: v,
                limit,
            });
        }
    };
    check("temperature_c", None, temperature, &t.temperature_c);
    check("voltage_v", None, voltage, &t.voltage_v);
    for l in lanes {
        check("rx_power_mw", Some(l.lane), l.rx_power_mw, &t.rx_power_mw);
        check("tx_power_mw", Some(l.lane), l.tx_power_mw, &t.tx_power_mw);
        check("tx_bias_ma", Some(l.lane), l.tx_bias_ma, &t.tx_bias_ma);
    }
    out
}
