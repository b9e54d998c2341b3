//! Real module EEPROMs, decoded field for field against what their sources state. Each dump in
//! `tests/fixtures/eeprom/real/` was published by someone else with its decoded values (a decoder's
//! output next to the hex, or a test suite's assertions); its `.toml` keeps where, and the values in the
//! source's own words and units (see that directory's README). Every stated field linkbench decodes is
//! checked here; the stated fields it does not decode are listed in `NOT_DECODED`, so a new kind of
//! statement fails this test until someone decides what it means.

use linkbench::diag::module::{decode, Limits, Media, ModuleInfo};
use std::path::PathBuf;
use toml::Value;

/// Stated fields linkbench does not decode (identity details, codes and options a report does not
/// carry); they are recorded in the fixtures for the next decoder, not checked.
const NOT_DECODED: &[&str] = &[
    "active_cu_compliance",
    "br_margin_max",
    "br_margin_min",
    "br_nominal",
    "copper_attenuation_db",
    "diag_type",
    "encoding",
    "extended_identifier",
    "fiber_mode",
    "i2c_write_delay",
    "junos_cable_type",
    "junos_pno",
    "junos_transceiver_type",
    "junos_xcvr_codes",
    "length_50um_m",
    "length_62_5um_m",
    "max_power_w",
    "nebs_compliance",
    "option_values",
    "options",
    "power_class",
    "rate_identifier",
    "sff8472_compliance",
    "signaling_rate_bd",
    "transceiver_codes",
    "transceiver_type",
    "transmitter_technology",
    "tunable",
];

fn corpus() -> Vec<(String, Vec<u8>, toml::Table)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eeprom/real");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|toml_path| {
            let name = toml_path
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let dump = std::fs::read(toml_path.with_extension("bin")).unwrap();
            let text = std::fs::read_to_string(&toml_path).unwrap();
            let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, dump, table)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 10, "the corpus holds {} modules", all.len());
    all
}

/// Half a unit in the last place the source printed (a source that says 34.54 means 34.535..34.545).
fn printed_tolerance(v: f64) -> f64 {
    let text = format!("{v}");
    let decimals = text.split('.').nth(1).map_or(0, |d| d.len());
    0.5 * 10f64.powi(-(decimals as i32)) + 1e-9
}

/// Checks one stated number against what was decoded; a stated 0 where linkbench says null (nothing
/// there) agrees.
fn number(
    name: &str,
    field: &str,
    stated: &Value,
    got: Option<f64>,
    tolerance: Option<f64>,
) -> Result<(), String> {
    let want = stated.as_float().or(stated.as_integer().map(|i| i as f64));
    let want = want.ok_or_else(|| format!("{name}: {field} is not a number"))?;
    let tolerance = tolerance.unwrap_or_else(|| printed_tolerance(want));
    match got {
        None if want == 0.0 => Ok(()),
        Some(g) if (g - want).abs() <= tolerance => Ok(()),
        other => Err(format!(
            "{name}: {field} is stated as {want}, decoded {other:?}"
        )),
    }
}

fn text_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// The identifier, stated as a code (`0x03`, `0x03 (SFP)`) or a name (`QSFP28`, `SFP/SFP+/SFP28`).
fn identifier_agrees(stated: &str, m: &ModuleInfo) -> bool {
    if let Some(hex) = stated.strip_prefix("0x") {
        let code: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        return u8::from_str_radix(&code, 16) == Ok(m.identifier_code);
    }
    stated.split('/').any(|name| name == m.identifier)
}

/// The connector, stated as a name (`LC`, `Copper Pigtail`) or a code with its name in brackets.
fn connector_agrees(stated: &str, m: &ModuleInfo) -> bool {
    let name = stated
        .split_once('(')
        .map_or(stated, |(_, rest)| rest.trim_end_matches(')'));
    match &m.connector {
        None => name.eq_ignore_ascii_case("unknown"),
        Some(got) => got.eq_ignore_ascii_case(name.trim()),
    }
}

/// The OUI in any separator and case.
fn oui_agrees(stated: &str, m: &ModuleInfo) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['.', '-'], ":");
    match &m.vendor_oui {
        Some(got) => norm(got) == norm(stated),
        None => norm(stated) == "00:00:00",
    }
}

/// The date code as the module stores it (`YYMMDD`), from `YYMMDD` or `YYYY-MM-DD` as sources print it.
fn date_agrees(stated: &str, m: &ModuleInfo) -> bool {
    let digits: String = stated.chars().filter(char::is_ascii_digit).collect();
    let yymmdd = if digits.len() == 8 {
        &digits[2..]
    } else {
        &digits[..]
    };
    m.date_code
        .as_deref()
        .is_some_and(|d| d.starts_with(yymmdd))
}

fn check_limits(name: &str, monitor: &str, stated: &Value, got: Option<&Limits>) -> Vec<String> {
    let mut errors = Vec::new();
    for (level, value) in stated.as_table().into_iter().flatten() {
        let pick = |l: &Limits| match level.as_str() {
            "high_alarm" => Some(l.high_alarm),
            "low_alarm" => Some(l.low_alarm),
            "high_warning" => Some(l.high_warning),
            "low_warning" => Some(l.low_warning),
            _ => None,
        };
        if got.is_some_and(|l| pick(l).is_none()) {
            errors.push(format!("{name}: thresholds.{monitor} has no level {level}"));
            continue;
        }
        let got = got.and_then(pick);
        let field = format!("thresholds.{monitor}.{level}");
        errors.extend(number(name, &field, value, got, None).err());
    }
    errors
}

fn check_thresholds(name: &str, stated: &Value, m: &ModuleInfo) -> Vec<String> {
    let t = m.thresholds.as_ref();
    let mut errors = Vec::new();
    for (monitor, limits) in stated.as_table().into_iter().flatten() {
        if ![
            "temperature_c",
            "voltage_v",
            "tx_bias_ma",
            "tx_power_mw",
            "rx_power_mw",
        ]
        .contains(&monitor.as_str())
        {
            errors.push(format!("{name}: thresholds has no monitor {monitor}"));
            continue;
        }
        let got = t.map(|t| match monitor.as_str() {
            "temperature_c" => &t.temperature_c,
            "voltage_v" => &t.voltage_v,
            "tx_bias_ma" => &t.tx_bias_ma,
            "tx_power_mw" => &t.tx_power_mw,
            _ => &t.rx_power_mw,
        });
        errors.extend(check_limits(name, monitor, limits, got));
    }
    errors
}

fn check_lanes(name: &str, stated: &Value, m: &ModuleInfo) -> Vec<String> {
    let mut errors = Vec::new();
    for lane in stated.as_array().into_iter().flatten() {
        let n = lane["lane"].as_integer().unwrap_or(0) as u8;
        let Some(got) = m.lanes.iter().find(|l| l.lane == n) else {
            errors.push(format!("{name}: no lane {n} decoded"));
            continue;
        };
        for (field, value) in lane.as_table().into_iter().flatten() {
            let decoded = match field.as_str() {
                "lane" => continue,
                "tx_bias_ma" => got.tx_bias_ma,
                "tx_power_mw" => got.tx_power_mw,
                "rx_power_mw" => got.rx_power_mw,
                other => {
                    errors.push(format!("{name}: lane field {other} is not checked"));
                    continue;
                }
            };
            let at = format!("lane {n} {field}");
            errors.extend(number(name, &at, value, decoded, None).err());
        }
    }
    errors
}

/// The cable length linkbench reports is the one the module's media uses: copper length for copper,
/// the single-mode length for single-mode optics (stated lengths of zero are "none"). A stated fibre
/// length means optics; a stated copper length (byte 18 in metres, as ethtool labels it) must be the
/// length reported, whatever the media (an active optical cable states it too).
fn check_length(name: &str, field: &str, stated: &Value, m: &ModuleInfo) -> Vec<String> {
    let want = stated.as_float().unwrap_or(0.0);
    let metres = match field {
        "length_smf_km" => want * 1000.0,
        _ => want,
    };
    let media = match field {
        "length_copper_m" => None,
        "length_smf_km" | "length_smf_m" | "length_om3_m" => Some(Media::Optical),
        other => return vec![format!("{name}: {other} is not a length this test knows")],
    };
    if want == 0.0 {
        return Vec::new();
    }
    if let Some(media) = media.filter(|&media| m.media != media) {
        return vec![format!(
            "{name}: {field} {want} says {media:?}, decoded {:?}",
            m.media
        )];
    }
    if field == "length_om3_m" {
        // linkbench reports one length: single-mode first when a module states both.
        return Vec::new();
    }
    match m.cable_length_m {
        Some(got) if (got - metres).abs() < 0.5 => Vec::new(),
        got => vec![format!(
            "{name}: {field} is stated as {want}, decoded cable length {got:?}"
        )],
    }
}

fn check_checksums(name: &str, stated: &Value, m: &ModuleInfo) -> Vec<String> {
    let mut errors = Vec::new();
    for (which, ok) in stated.as_table().into_iter().flatten() {
        let label = match which.as_str() {
            "cc_base" => "CC_BASE",
            "cc_ext" => "CC_EXT",
            "cc_dmi" => "CC_DMI",
            _ => "page 00h",
        };
        let warned = m.warnings.iter().any(|w| w.contains(label));
        if ok.as_bool() == Some(warned) {
            errors.push(format!(
                "{name}: checksum {which} stated {ok}, decoder warned: {warned} ({:?})",
                m.warnings
            ));
        }
    }
    errors
}

/// For the fields that are a yes or no: whether the decoded module agrees with the statement.
fn agrees(field: &str, stated: &Value, m: &ModuleInfo) -> Option<bool> {
    let text = text_of(stated);
    let yes = stated.as_bool().unwrap_or(false);
    Some(match field {
        "identifier" => identifier_agrees(&text, m),
        "connector" => connector_agrees(&text, m),
        "vendor" => m.vendor.as_deref() == Some(text.trim()),
        "part_number" => m.part_number.as_deref() == Some(text.trim()),
        "serial_number" => m.serial_number.as_deref() == Some(text.trim()),
        "revision" => m.revision.as_deref() == Some(text.trim()),
        "date_code" => date_agrees(&text, m),
        "vendor_oui" => oui_agrees(&text, m),
        "media" => format!("{:?}", m.media).eq_ignore_ascii_case(&text),
        "non_optical" => (m.media != Media::Optical) == yes,
        "lane_count" => m.lanes.len() as i64 == stated.as_integer().unwrap_or(-1),
        "ddm_supported" | "temperature_supported" => m.temperature_c.is_some() == yes,
        "voltage_supported" => m.voltage_v.is_some() == yes,
        _ => return None,
    })
}

/// One stated field, checked; the errors found.
fn check_field(
    name: &str,
    field: &str,
    stated: &Value,
    m: &ModuleInfo,
    expect: &toml::Table,
) -> Vec<String> {
    if let Some(ok) = agrees(field, stated, m) {
        return if ok {
            Vec::new()
        } else {
            vec![format!(
                "{name}: {field} is stated as {stated}, decoded {m:?}"
            )]
        };
    }
    let tolerance = expect
        .get("tolerance")
        .and_then(|t| t.get(field))
        .and_then(Value::as_float);
    match field {
        "wavelength_nm" => number(name, field, stated, m.wavelength_nm, None).err().into_iter().collect(),
        "temperature_c" => number(name, field, stated, m.temperature_c, tolerance).err().into_iter().collect(),
        "voltage_v" => number(name, field, stated, m.voltage_v, tolerance).err().into_iter().collect(),
        "lanes" => check_lanes(name, stated, m),
        "thresholds" => check_thresholds(name, stated, m),
        "checksums" => check_checksums(name, stated, m),
        "tolerance" => Vec::new(),
        f if NOT_DECODED.contains(&f) => Vec::new(),
        f if f.starts_with("length_") => check_length(name, f, stated, m),
        other => vec![format!(
            "{name}: the source states {other}, which this test neither checks nor lists in NOT_DECODED"
        )],
    }
}

/// Everything a source states about one module, checked; the errors found.
fn check(name: &str, m: &ModuleInfo, expect: &toml::Table) -> Vec<String> {
    expect
        .iter()
        .flat_map(|(field, stated)| check_field(name, field, stated, m, expect))
        .collect()
}

#[test]
fn real_modules_decode_as_their_sources_state() {
    let mut errors = Vec::new();
    let mut checked = 0;
    for (name, dump, table) in corpus() {
        let m = decode(&dump).unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        let expect = table
            .get("expect")
            .and_then(Value::as_table)
            .cloned()
            .unwrap_or_default();
        assert!(
            table.get("source").and_then(|s| s.get("url")).is_some(),
            "{name}: no source url in its provenance"
        );
        checked += expect.len();
        errors.extend(check(&name, &m, &expect));
    }
    assert!(
        errors.is_empty(),
        "{} disagreements:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(checked > 100, "only {checked} stated fields");
}

#[test]
fn the_real_qsfp28s_of_revisions_before_2_8_have_their_temperature_and_voltage() {
    // Neither source states these, but both dumps hold them and declare no monitors in byte 220, as
    // issue 13 found on every real QSFP28: read as ethtool reads them.
    for (name, temperature, voltage) in [
        ("sff8636-fs-qsfp28-ir4-100g", 28.59, 3.3209),
        ("sff8636-fs-q28-pcxx-dac", 27.84, 3.2203),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/eeprom/real")
            .join(format!("{name}.bin"));
        let m = decode(&std::fs::read(path).unwrap()).unwrap();
        assert!(
            m.temperature_c
                .is_some_and(|t| (t - temperature).abs() < 0.01),
            "{name}: {:?}",
            m.temperature_c
        );
        assert!(
            m.voltage_v.is_some_and(|v| (v - voltage).abs() < 0.0001),
            "{name}"
        );
    }
}
