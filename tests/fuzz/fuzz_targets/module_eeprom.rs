//! The module EEPROM decoders (SFF-8472, SFF-8636, CMIS) and the ethtool netlink attribute parser on
//! arbitrary bytes: never a panic, and a decoded module never holds a non-finite figure.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = linkbench::diag::module::decode(data) {
        assert_eq!(m.dump_bytes, data.len());
        assert!(m.lanes.len() <= 8);
        for v in [m.temperature_c, m.voltage_v, m.cable_length_m, m.wavelength_nm]
            .into_iter()
            .flatten()
        {
            assert!(v.is_finite());
        }
    }
    let mut out = std::collections::BTreeMap::new();
    linkbench::diag::netlink::parse_fec_stats(data, &mut out);
});
