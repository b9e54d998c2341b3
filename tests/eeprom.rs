//! Module EEPROM decoding, field by field, on dumps built here byte by byte from the specifications
//! (SFF-8472 rev 12.4, SFF-8636 rev 2.10a, CMIS 5.2, codes from SFF-8024). The same dumps are committed
//! under tests/fixtures/eeprom/ for `linkbench-inspect --eeprom`; a test keeps them equal
//! (`UPDATE_FIXTURES=1` rewrites them).

mod common;

use linkbench::diag::module::{decode, Media, ModuleDecodeError};
use std::path::PathBuf;
use std::process::Command;

/// A dump under construction.
struct Dump(Vec<u8>);

impl Dump {
    fn new(len: usize) -> Dump {
        Dump(vec![0; len])
    }
    fn byte(&mut self, at: usize, v: u8) -> &mut Self {
        self.0[at] = v;
        self
    }
    /// Space-padded ASCII, as every SFF string field.
    fn text(&mut self, at: usize, len: usize, s: &str) -> &mut Self {
        assert!(s.len() <= len);
        self.0[at..at + len].fill(b' ');
        self.0[at..at + s.len()].copy_from_slice(s.as_bytes());
        self
    }
    fn word(&mut self, at: usize, v: u16) -> &mut Self {
        self.0[at..at + 2].copy_from_slice(&v.to_be_bytes());
        self
    }
    fn temp(&mut self, at: usize, c: f64) -> &mut Self {
        self.word(at, ((c * 256.0).round() as i16) as u16)
    }
    fn volts(&mut self, at: usize, v: f64) -> &mut Self {
        self.word(at, (v * 10_000.0).round() as u16)
    }
    fn milliamps(&mut self, at: usize, ma: f64) -> &mut Self {
        self.word(at, (ma / 0.002).round() as u16)
    }
    fn milliwatts(&mut self, at: usize, mw: f64) -> &mut Self {
        self.word(at, (mw * 10_000.0).round() as u16)
    }
    /// Four limits: high alarm, low alarm, high warning, low warning.
    fn limits(
        &mut self,
        at: usize,
        put: fn(&mut Dump, usize, f64) -> &mut Dump,
        l: [f64; 4],
    ) -> &mut Self {
        for (i, v) in l.iter().enumerate() {
            put(self, at + 2 * i, *v);
        }
        self
    }
    /// Low 8 bits of the sum of `from..at`, stored at `at`.
    fn checksum(&mut self, from: usize, at: usize) -> &mut Self {
        let sum = self.0[from..at].iter().fold(0u8, |a, &b| a.wrapping_add(b));
        self.0[at] = sum;
        self
    }
}

/// SFP+ 10GBASE-SR, LC, 850 nm, internally calibrated diagnostics; Rx power sits at a low warning.
fn sfp_10g_sr() -> Vec<u8> {
    let mut d = Dump::new(512);
    d.byte(0, 0x03).byte(1, 0x04).byte(2, 0x07).byte(3, 0x10);
    d.byte(12, 0x67).byte(16, 8).byte(17, 3).byte(19, 30);
    d.text(20, 16, "LINKBENCH FIXT")
        .byte(37, 0x00)
        .byte(38, 0x1b)
        .byte(39, 0x21);
    d.text(40, 16, "LB-SFP-10G-SR")
        .text(56, 4, "A1")
        .word(60, 850);
    d.checksum(0, 63);
    d.text(68, 16, "SFPSR0001").text(84, 8, "261124");
    d.byte(92, 0x68).byte(93, 0xF0).byte(94, 0x08);
    d.checksum(64, 95);
    let a2 = 256;
    d.limits(a2, Dump::temp, [75.0, -5.0, 70.0, 0.0]);
    d.limits(a2 + 8, Dump::volts, [3.6, 3.0, 3.5, 3.1]);
    d.limits(a2 + 16, Dump::milliamps, [12.0, 2.0, 11.0, 3.0]);
    d.limits(a2 + 24, Dump::milliwatts, [1.0, 0.1, 0.8, 0.15]);
    d.limits(a2 + 32, Dump::milliwatts, [1.0, 0.02, 0.8, 0.04]);
    d.temp(a2 + 96, 35.5)
        .volts(a2 + 98, 3.3)
        .milliamps(a2 + 100, 6.0);
    d.milliwatts(a2 + 102, 0.5).milliwatts(a2 + 104, 0.03);
    d.checksum(a2, a2 + 95);
    // The module's own flag for what it reads: Rx power low warning (A2h byte 117 bit 6).
    d.byte(a2 + 117, 0x40);
    d.0
}

/// QSFP28 100GBASE-SR4, MPO, 850 nm, pages 00h-03h; lane 4 has lost its light (low alarm).
fn qsfp28_100g_sr4() -> Vec<u8> {
    let mut d = Dump::new(640);
    d.byte(0, 0x11).byte(1, 0x08).byte(2, 0x00);
    d.temp(22, 40.25).volts(26, 3.29);
    for (lane, (rx, bias, tx)) in [
        (0.8, 7.0, 0.9),
        (0.7, 7.1, 0.85),
        (0.6, 7.2, 0.8),
        (0.005, 7.3, 0.75),
    ]
    .iter()
    .enumerate()
    {
        d.milliwatts(34 + 2 * lane, *rx)
            .milliamps(42 + 2 * lane, *bias)
            .milliwatts(50 + 2 * lane, *tx);
    }
    d.byte(128, 0x11)
        .byte(129, 0x00)
        .byte(130, 0x0C)
        .byte(131, 0x80);
    d.byte(143, 35).byte(146, 50).byte(147, 0x00);
    d.text(148, 16, "LINKBENCH FIXT")
        .byte(165, 0x00)
        .byte(166, 0x1b)
        .byte(167, 0x21);
    d.text(168, 16, "LB-QSFP28-SR4")
        .text(184, 2, "B0")
        .word(186, 850 * 20);
    d.checksum(128, 191);
    d.text(196, 16, "Q28SR40001").text(212, 8, "261124");
    d.byte(220, 0x3C);
    d.checksum(192, 223);
    let p3 = 512 - 128;
    d.limits(p3 + 128, Dump::temp, [75.0, -5.0, 70.0, 0.0]);
    d.limits(p3 + 144, Dump::volts, [3.6, 3.0, 3.5, 3.1]);
    d.limits(p3 + 176, Dump::milliwatts, [2.0, 0.01, 1.6, 0.05]);
    d.limits(p3 + 184, Dump::milliamps, [12.0, 2.0, 11.0, 3.0]);
    d.limits(p3 + 192, Dump::milliwatts, [2.0, 0.1, 1.6, 0.2]);
    // The module's own flag for lane 4: Rx power low alarm (byte 10, lane 4 in bits 3-0, bit 2).
    d.byte(10, 0x04);
    d.0
}

/// QSFP28 passive copper DAC, 3 m, flat memory, no monitors.
fn qsfp28_dac_3m() -> Vec<u8> {
    let mut d = Dump::new(256);
    d.byte(0, 0x11).byte(1, 0x08).byte(2, 0x04);
    d.byte(128, 0x11)
        .byte(130, 0x23)
        .byte(131, 0x80)
        .byte(146, 3)
        .byte(147, 0xA0);
    d.text(148, 16, "LINKBENCH FIXT")
        .text(168, 16, "LB-DAC-3M")
        .text(184, 2, "C0");
    d.byte(186, 0x04).byte(187, 0x08); // copper attenuation at 2.5/5 GHz, not a wavelength
    d.checksum(128, 191);
    d.text(196, 16, "DAC3M0001").text(212, 8, "261124");
    d.byte(220, 0x00);
    d.checksum(192, 223);
    d.0
}

/// QSFP-DD 400GBASE-DR4 under CMIS 5: 4 media lanes, 1311 nm, 500 m SMF, Tx bias multiplier x2.
fn qsfp_dd_400g_dr4() -> Vec<u8> {
    let mut d = Dump::new(768);
    d.byte(0, 0x18).byte(1, 0x52).byte(2, 0x00);
    d.temp(14, 45.0).volts(16, 3.31);
    d.byte(85, 0x02)
        .byte(86, 0x11)
        .byte(87, 0x1C)
        .byte(88, 0x84)
        .byte(89, 0x01);
    d.byte(128, 0x18);
    d.text(129, 16, "LINKBENCH FIXT")
        .byte(145, 0x00)
        .byte(146, 0x1b)
        .byte(147, 0x21);
    d.text(148, 16, "LB-QDD-400G-DR4")
        .text(164, 2, "01")
        .text(166, 16, "QDDDR40001");
    d.text(182, 8, "261124");
    d.byte(202, 0xC5).byte(203, 0x0C).byte(212, 0x04);
    d.checksum(128, 222);
    let p1 = 256 - 128;
    // Page 01h: wavelength; monitors advertised (159: temperature, voltage; 160: Tx bias, Tx power, Rx
    // power) with the Tx bias multiplier x2 in bits 4-3.
    d.word(p1 + 138, (1311.0f64 / 0.05).round() as u16)
        .byte(p1 + 159, 0x03)
        .byte(p1 + 160, 0x0F);
    let p2 = 384 - 128;
    d.limits(p2 + 128, Dump::temp, [75.0, -5.0, 70.0, 0.0]);
    d.limits(p2 + 136, Dump::volts, [3.6, 3.0, 3.5, 3.1]);
    d.limits(p2 + 176, Dump::milliwatts, [4.0, 0.2, 3.2, 0.3]);
    // Stored in units of 2 uA x multiplier (x2): 60 mA alarm is stored as 30 mA.
    d.limits(p2 + 184, Dump::milliamps, [30.0, 5.0, 27.5, 7.5]);
    d.limits(p2 + 192, Dump::milliwatts, [4.0, 0.1, 3.2, 0.15]);
    let p11 = 640 - 128;
    for lane in 0..4 {
        d.milliwatts(p11 + 154 + 2 * lane, 1.5 + 0.1 * lane as f64);
        d.milliamps(p11 + 170 + 2 * lane, 20.0);
        d.milliwatts(p11 + 186 + 2 * lane, 1.2 - 0.1 * lane as f64);
    }
    d.0
}

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("sfp-10g-sr.bin", sfp_10g_sr()),
        ("qsfp28-100g-sr4.bin", qsfp28_100g_sr4()),
        ("qsfp28-dac-3m.bin", qsfp28_dac_3m()),
        ("qsfp-dd-400g-dr4.bin", qsfp_dd_400g_dr4()),
    ]
}

fn fixture_dir() -> PathBuf {
    common::repo_root().join("tests/fixtures/eeprom")
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-3)
}

#[test]
fn committed_fixtures_match_the_builders() {
    for (name, bytes) in fixtures() {
        let path = fixture_dir().join(name);
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_FIXTURES=1)", path.display()));
        assert!(
            committed == bytes,
            "{name} differs from its builder; UPDATE_FIXTURES=1 rewrites it"
        );
    }
}

#[test]
fn sfp_optical_field_by_field() {
    let m = decode(&sfp_10g_sr()).unwrap();
    assert_eq!(m.spec, "SFF-8472");
    assert_eq!((m.identifier.as_str(), m.identifier_code), ("SFP", 0x03));
    assert_eq!(m.vendor.as_deref(), Some("LINKBENCH FIXT"));
    assert_eq!(m.vendor_oui.as_deref(), Some("00:1b:21"));
    assert_eq!(m.part_number.as_deref(), Some("LB-SFP-10G-SR"));
    assert_eq!(m.serial_number.as_deref(), Some("SFPSR0001"));
    assert_eq!(m.revision.as_deref(), Some("A1"));
    assert_eq!(m.date_code.as_deref(), Some("261124"));
    assert_eq!(m.connector.as_deref(), Some("LC"));
    assert_eq!(m.media, Media::Optical);
    assert_eq!(m.cable_length_m, Some(300.0));
    assert_eq!(m.wavelength_nm, Some(850.0));
    assert!(close(m.temperature_c, 35.5));
    assert!(close(m.voltage_v, 3.3));
    assert_eq!(m.lanes.len(), 1);
    assert!(close(m.lanes[0].tx_bias_ma, 6.0));
    assert!(close(m.lanes[0].tx_power_mw, 0.5));
    assert!(close(m.lanes[0].rx_power_mw, 0.03));
    let t = m.thresholds.as_ref().unwrap();
    assert!((t.rx_power_mw.low_warning - 0.04).abs() < 1e-9);
    assert!((t.temperature_c.low_alarm + 5.0).abs() < 1e-9);
    assert_eq!(m.crossed.len(), 1, "{:?}", m.crossed);
    assert_eq!(m.crossed[0].monitor, "rx_power_mw");
    assert_eq!(m.crossed[0].level, "low_warning");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn qsfp28_optical_field_by_field() {
    let m = decode(&qsfp28_100g_sr4()).unwrap();
    assert_eq!(m.spec, "SFF-8636");
    assert_eq!(m.identifier, "QSFP28");
    assert_eq!(m.part_number.as_deref(), Some("LB-QSFP28-SR4"));
    assert_eq!(m.serial_number.as_deref(), Some("Q28SR40001"));
    assert_eq!(m.revision.as_deref(), Some("B0"));
    assert_eq!(m.connector.as_deref(), Some("MPO 1x12"));
    assert_eq!(m.media, Media::Optical);
    assert_eq!(m.cable_length_m, Some(70.0));
    assert_eq!(m.wavelength_nm, Some(850.0));
    assert!(close(m.temperature_c, 40.25));
    assert!(close(m.voltage_v, 3.29));
    assert_eq!(m.lanes.len(), 4);
    let rx: Vec<f64> = m.lanes.iter().map(|l| l.rx_power_mw.unwrap()).collect();
    assert!(
        (rx[0] - 0.8).abs() < 1e-4 && (rx[3] - 0.005).abs() < 1e-4,
        "{rx:?}"
    );
    assert!(close(m.lanes[2].tx_bias_ma, 7.2));
    assert!(close(m.lanes[3].tx_power_mw, 0.75));
    assert_eq!(m.crossed.len(), 1, "{:?}", m.crossed);
    assert_eq!(
        (m.crossed[0].lane, m.crossed[0].level.as_str()),
        (Some(4), "low_alarm")
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn qsfp28_copper_dac_field_by_field() {
    let m = decode(&qsfp28_dac_3m()).unwrap();
    assert_eq!(m.spec, "SFF-8636");
    assert_eq!(m.part_number.as_deref(), Some("LB-DAC-3M"));
    assert_eq!(m.serial_number.as_deref(), Some("DAC3M0001"));
    assert_eq!(m.connector.as_deref(), Some("No separable connector"));
    assert_eq!(m.media, Media::Copper);
    assert_eq!(m.cable_length_m, Some(3.0));
    assert_eq!(m.wavelength_nm, None, "copper byte 186 is attenuation");
    assert_eq!(m.temperature_c, None);
    assert_eq!(m.voltage_v, None);
    assert_eq!(m.lanes.len(), 4);
    assert!(m
        .lanes
        .iter()
        .all(|l| l.rx_power_mw.is_none() && l.tx_power_mw.is_none() && l.tx_bias_ma.is_none()));
    assert!(m.thresholds.is_none() && m.crossed.is_empty());
}

#[test]
fn cmis_field_by_field() {
    let m = decode(&qsfp_dd_400g_dr4()).unwrap();
    assert_eq!(m.spec, "CMIS");
    assert_eq!(m.identifier, "QSFP-DD");
    assert_eq!(m.vendor.as_deref(), Some("LINKBENCH FIXT"));
    assert_eq!(m.part_number.as_deref(), Some("LB-QDD-400G-DR4"));
    assert_eq!(m.serial_number.as_deref(), Some("QDDDR40001"));
    assert_eq!(m.revision.as_deref(), Some("01"));
    assert_eq!(m.connector.as_deref(), Some("MPO 1x12"));
    assert_eq!(m.media, Media::Optical);
    assert_eq!(m.cable_length_m, Some(500.0));
    assert!(close(m.wavelength_nm, 1311.0));
    assert!(close(m.temperature_c, 45.0));
    assert!(close(m.voltage_v, 3.31));
    assert_eq!(m.lanes.len(), 4);
    assert!(close(m.lanes[0].tx_power_mw, 1.5));
    assert!(close(m.lanes[3].rx_power_mw, 0.9));
    assert!(
        close(m.lanes[1].tx_bias_ma, 40.0),
        "x2 multiplier: {:?}",
        m.lanes[1]
    );
    let t = m.thresholds.as_ref().unwrap();
    assert!((t.tx_bias_ma.high_alarm - 60.0).abs() < 1e-9);
    assert!(m.crossed.is_empty(), "{:?}", m.crossed);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn bad_dumps_are_clear_errors() {
    assert_eq!(
        decode(&[0x03; 100]).unwrap_err(),
        ModuleDecodeError::TooShort(100)
    );
    assert_eq!(
        decode(&sfp_10g_sr()[..300]).unwrap_err(),
        ModuleDecodeError::Ragged(300)
    );
    assert_eq!(
        decode(&[0u8; 256]).unwrap_err(),
        ModuleDecodeError::UnknownIdentifier(0)
    );
    let mut sfp = sfp_10g_sr();
    sfp.extend([0u8; 128]);
    assert_eq!(
        decode(&sfp).unwrap_err(),
        ModuleDecodeError::TooLong(640, 512)
    );
    let mut q = qsfp28_100g_sr4();
    q[128] = 0x0D;
    assert_eq!(
        decode(&q).unwrap_err(),
        ModuleDecodeError::IdentifierMismatch {
            lower: 0x11,
            upper: 0x0D
        }
    );
    let mut bad = qsfp28_100g_sr4();
    bad[170] ^= 0xff;
    let m = decode(&bad).unwrap();
    assert!(
        m.warnings.iter().any(|w| w.contains("checksum")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn every_page_prefix_decodes_or_fails_cleanly() {
    for (name, bytes) in fixtures() {
        for pages in 1..=bytes.len() / 128 {
            let m = decode(&bytes[..pages * 128])
                .unwrap_or_else(|e| panic!("{name} at {pages} pages: {e}"));
            assert_eq!(m.dump_bytes, pages * 128);
            if pages * 128 < bytes.len() && pages > 1 {
                assert!(!m.warnings.is_empty(), "{name}: a cut dump must say so");
            }
        }
    }
}

#[test]
fn inspect_decodes_a_dump_file_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_linkbench-inspect"))
        .args(["--eeprom"])
        .arg(fixture_dir().join("qsfp28-100g-sr4.bin"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "identifier",
        "vendor",
        "part_number",
        "serial_number",
        "media",
        "temperature_c",
        "voltage_v",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["media"], "optical");
    assert_eq!(v["lanes"].as_array().unwrap().len(), 4);
    assert!(v["lanes"][0]["rx_power_mw"].is_number());
    let dac = Command::new(env!("CARGO_BIN_EXE_linkbench-inspect"))
        .arg("--eeprom")
        .arg(fixture_dir().join("qsfp28-dac-3m.bin"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&dac.stdout).unwrap();
    assert_eq!(v["media"], "copper");
    assert!(v["temperature_c"].is_null() && v["lanes"][0]["rx_power_mw"].is_null());
}

#[test]
fn inspect_refuses_a_bad_dump_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.bin");
    std::fs::write(&short, [0x11u8; 77]).unwrap();
    for (path, expect) in [
        (short, "at least 128"),
        (dir.path().join("missing.bin"), "missing.bin"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_linkbench-inspect"))
            .arg("--eeprom")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = common::stderr_lines(&out);
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].contains(expect), "{err:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn random_and_truncated_dumps_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x1b_2026);
    let mut decoded = 0;
    for (name, bytes) in fixtures() {
        // Every truncation, byte by byte.
        for len in 0..=bytes.len() {
            let _ = decode(&bytes[..len]);
        }
        // Random corruption of a real layout, keeping the identifier half the time.
        for _ in 0..3000 {
            let mut d = bytes.clone();
            for _ in 0..rng.gen_range(1..64) {
                let at = rng.gen_range(0..d.len());
                d[at] = rng.gen();
            }
            if rng.gen_bool(0.5) {
                d[0] = bytes[0];
                if d.len() > 128 {
                    d[128] = bytes[0];
                }
            }
            if let Ok(m) = decode(&d) {
                decoded += 1;
                assert!(m.lanes.len() <= 8, "{name}");
                for v in [
                    m.temperature_c,
                    m.voltage_v,
                    m.cable_length_m,
                    m.wavelength_nm,
                ]
                .into_iter()
                .flatten()
                {
                    assert!(v.is_finite(), "{name}");
                }
            }
        }
    }
    // Pure noise of every page count.
    for pages in 1..=6 {
        for _ in 0..500 {
            let d: Vec<u8> = (0..pages * 128).map(|_| rng.gen()).collect();
            let _ = decode(&d);
        }
    }
    assert!(
        decoded > 1000,
        "corrupted but well-formed dumps must still decode: {decoded}"
    );
}

// Issue 13: what real modules do that the first decoders got wrong, each built byte by byte from the
// specification (the real dumps that showed them are in tests/fixtures/eeprom/real/).

fn flag_names(m: &linkbench::diag::module::ModuleInfo) -> Vec<String> {
    m.flags
        .iter()
        .flatten()
        .map(|f| {
            let lane = f.lane.map(|l| format!(" lane {l}")).unwrap_or_default();
            format!("{}{lane} {}", f.monitor, f.level)
        })
        .collect()
}

#[test]
fn the_modules_own_flags_are_its_alarm_state() {
    let sfp = decode(&sfp_10g_sr()).unwrap();
    assert_eq!(flag_names(&sfp), ["rx_power_mw lane 1 low_warning"]);
    let qsfp = decode(&qsfp28_100g_sr4()).unwrap();
    assert_eq!(flag_names(&qsfp), ["rx_power_mw lane 4 low_alarm"]);
    let cmis = decode(&qsfp_dd_400g_dr4()).unwrap();
    assert_eq!(
        cmis.flags,
        Some(vec![]),
        "a CMIS module with nothing raised"
    );
    // A flat DAC has no page 03h: its flags are unknown, not "none".
    assert_eq!(decode(&qsfp28_dac_3m()).unwrap().flags, None);
}

#[test]
fn sff8636_before_rev_2_8_has_temperature_and_voltage_whatever_byte_220_says() {
    // Every real QSFP28 tried declares a revision below 2.8 and zero in byte 220 bits 5-4: "not
    // implemented or pre-Rev 2.8" (SFF-8636 Table 6-24); ethtool reads the monitors.
    let mut d = qsfp28_100g_sr4();
    d[1] = 0x07; // SFF-8636 Rev 2.5, 2.6 and 2.7
    d[220] = 0x04; // only Tx power advertised
    d[223] = d[192..223].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    let m = decode(&d).unwrap();
    assert!(close(m.temperature_c, 40.25), "{:?}", m.temperature_c);
    assert!(close(m.voltage_v, 3.29));
    // From Rev 2.8 on, a zero there means the module has no such monitor.
    d[1] = 0x08;
    let m = decode(&d).unwrap();
    assert_eq!((m.temperature_c, m.voltage_v), (None, None));
}

/// A 1000BASE-T SFP (RJ45): byte 6 bit 3, connector 0x22, 100 m of copper in byte 18, and a stray 1 in
/// the single-mode km byte that once made it "optical, 1,000 m".
fn sfp_1000base_t() -> Vec<u8> {
    let mut d = Dump::new(256);
    d.byte(0, 0x03).byte(1, 0x04).byte(2, 0x22).byte(6, 0x08);
    d.byte(12, 0x0D).byte(14, 0x01).byte(18, 100);
    d.text(20, 16, "LINKBENCH FIXT").text(40, 16, "LB-SFP-1G-T");
    d.checksum(0, 63);
    d.text(68, 16, "SFPT0001").text(84, 8, "261124");
    d.checksum(64, 95);
    d.0
}

#[test]
fn a_1000base_t_sfp_is_copper_with_its_copper_length() {
    let m = decode(&sfp_1000base_t()).unwrap();
    assert_eq!(m.media, Media::Copper);
    assert_eq!(m.cable_length_m, Some(100.0));
    assert_eq!(m.wavelength_nm, None);
    assert_eq!(m.connector.as_deref(), Some("RJ45"));
    // 10GBASE-T by its extended compliance code (SFF-8024 0x1C), with an LC-looking connector byte left 0.
    let mut t = sfp_1000base_t();
    t[2] = 0x00;
    t[6] = 0x00;
    t[36] = 0x1C;
    assert_eq!(decode(&t).unwrap().media, Media::Copper);
}

#[test]
fn cmis_passive_copper_that_advertises_monitors_has_them_read() {
    let mut d = qsfp_dd_400g_dr4();
    d[85] = 0x03; // passive copper
    d[212] = 0x0A; // copper cable, unequalized
    let p1 = 256 - 128;
    d[p1 + 160] = 0x00; // no lane monitors
    let m = decode(&d).unwrap();
    assert_eq!(m.media, Media::Copper);
    assert!(close(m.temperature_c, 45.0), "{:?}", m.temperature_c);
    assert!(close(m.voltage_v, 3.31));
    assert!(m.lanes.iter().all(|l| l.tx_bias_ma.is_none()));
    // Not advertised: not read, whatever the bytes hold.
    d[p1 + 159] = 0x00;
    let m = decode(&d).unwrap();
    assert_eq!((m.temperature_c, m.voltage_v), (None, None));
}

#[test]
fn a_dark_transmitter_and_unprogrammed_limits_raise_no_alarm() {
    // Lane 2 disabled: Tx bias and power 0, below the low alarm limits. The module flags only lane 4's
    // real Rx loss; the computed comparison names lane 2 as well, and stays a separate list.
    let mut d = qsfp28_100g_sr4();
    for at in [44, 52] {
        d[at] = 0;
        d[at + 1] = 0;
    }
    let m = decode(&d).unwrap();
    assert_eq!(flag_names(&m), ["rx_power_mw lane 4 low_alarm"]);
    assert!(m
        .crossed
        .iter()
        .any(|c| c.lane == Some(2) && c.monitor == "tx_bias_ma"));
    // Thresholds never programmed (page 03h all zero): no computed crossing either.
    let mut blank = qsfp28_100g_sr4();
    blank[512..640].fill(0);
    let m = decode(&blank).unwrap();
    assert!(m.crossed.is_empty(), "{:?}", m.crossed);
}

#[test]
fn an_externally_calibrated_sfp_has_its_monitors_calibrated() {
    // SFF-8472 9.3: byte 92 bit 4; A2h 56-91 hold the constants, the monitors A/D counts.
    let mut d = Dump(sfp_10g_sr());
    d.byte(92, 0x58).checksum(64, 95);
    let a2 = 256;
    d.0[a2 + 56..a2 + 60].copy_from_slice(&0.0f32.to_be_bytes());
    d.0[a2 + 60..a2 + 64].copy_from_slice(&0.0f32.to_be_bytes());
    d.0[a2 + 64..a2 + 68].copy_from_slice(&0.0f32.to_be_bytes());
    d.0[a2 + 68..a2 + 72].copy_from_slice(&1.5f32.to_be_bytes());
    d.0[a2 + 72..a2 + 76].copy_from_slice(&10.0f32.to_be_bytes());
    d.byte(a2 + 76, 2).byte(a2 + 77, 0).word(a2 + 78, 0); // bias x2
    d.byte(a2 + 80, 1).byte(a2 + 81, 0).word(a2 + 82, 100); // tx power +10 uW
    d.byte(a2 + 84, 1).byte(a2 + 85, 0).word(a2 + 86, 512); // temperature +2 C
    d.byte(a2 + 88, 1).byte(a2 + 89, 0).word(a2 + 90, 0); // voltage as is
    d.checksum(a2, a2 + 95);
    let m = decode(&d.0).unwrap();
    assert!(close(m.temperature_c, 37.5), "{:?}", m.temperature_c);
    assert!(close(m.voltage_v, 3.3));
    let lane = &m.lanes[0];
    assert!(close(lane.tx_bias_ma, 12.0), "{lane:?}");
    assert!(close(lane.tx_power_mw, 0.51));
    // Rx power: 1.5 x 300 counts + 10, in 0.1 uW.
    assert!(close(lane.rx_power_mw, 0.046));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let t = m.thresholds.as_ref().unwrap();
    assert!((t.temperature_c.high_alarm - 77.0).abs() < 1e-9);
}
