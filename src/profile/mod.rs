//! The qualification profile of a soak (`--profile FILE.toml`): thresholds chosen per module, layered
//! the way SONiC's transceiver test plans are, `[default]`, then `[media.optical]` / `[media.copper]`,
//! then `[speed.N]` (N in Gbit/s), then `[part."PART-NUMBER"]` (the decoded part number), each overriding
//! the one before; built-in defaults under all of them (no uncorrectable block, no flap, 90% of the
//! port's speed). A profile with an unknown key, a value of the wrong type or an impossible value is a
//! one-line error before any traffic. [`figures`] gathers what the soak measured, [`judge`] decides.

pub mod figures;
pub mod judge;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

/// A profile that cannot be used, named with its file.
#[derive(Debug, Error, PartialEq)]
#[error("profile {path}: {why}; fix the file (see README, Soak)")]
pub struct ProfileError {
    pub path: String,
    pub why: String,
}

/// One layer's thresholds; every one optional (a layer sets only what it changes).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Highest pre-FEC bit error ratio, judged on the cumulative 95% upper bound.
    pub max_pre_fec_ber: Option<f64>,
    pub max_uncorrectable_blocks: Option<u64>,
    pub max_link_flaps: Option<u64>,
    /// The highest FEC histogram bin (its lowest count of symbol errors per codeword) allowed to count.
    pub max_fec_bin: Option<u64>,
    /// Lowest sample throughput as a fraction of the port's speed.
    pub min_throughput_fraction: Option<f64>,
    /// Rx power window, per lane, dBm.
    pub min_rx_power_dbm: Option<f64>,
    pub max_rx_power_dbm: Option<f64>,
    /// Largest change of a lane's Rx power from the first window's median to the last window's, dB.
    pub max_rx_power_drift_db: Option<f64>,
    pub max_temperature_c: Option<f64>,
    /// Highest latency probe p99 in any sample, microseconds.
    pub max_probe_p99_us: Option<f64>,
    /// Highest pre-FEC BER the module itself measured on a media lane in any sample (CMIS VDM, the
    /// current value of type 15, pre-FEC BER media input).
    pub max_vdm_pre_fec_ber: Option<f64>,
}

/// The profile file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub default: Thresholds,
    #[serde(default)]
    pub media: BTreeMap<String, Thresholds>,
    #[serde(default)]
    pub speed: BTreeMap<String, Thresholds>,
    #[serde(default)]
    pub part: BTreeMap<String, Thresholds>,
}

/// A threshold's value and the layer it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen<T> {
    pub value: T,
    /// `built-in default`, `[default]`, `[media.optical]`, `[speed.400]`, `[part."PN"]`.
    pub source: String,
}

/// What selects the layers: the module's media and part number, the port's speed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// `optical` or `copper`.
    pub media: Option<String>,
    pub speed_gbps: Option<f64>,
    pub part_number: Option<String>,
}

/// Every threshold with the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub max_pre_fec_ber: Option<Chosen<f64>>,
    pub max_uncorrectable_blocks: Option<Chosen<u64>>,
    pub max_link_flaps: Option<Chosen<u64>>,
    pub max_fec_bin: Option<Chosen<u64>>,
    pub min_throughput_fraction: Option<Chosen<f64>>,
    pub min_rx_power_dbm: Option<Chosen<f64>>,
    pub max_rx_power_dbm: Option<Chosen<f64>>,
    pub max_rx_power_drift_db: Option<Chosen<f64>>,
    pub max_temperature_c: Option<Chosen<f64>>,
    pub max_probe_p99_us: Option<Chosen<f64>>,
    pub max_vdm_pre_fec_ber: Option<Chosen<f64>>,
}

const BUILT_IN: &str = "built-in default";

impl Profile {
    /// Reads and checks a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let fail = |why: String| ProfileError {
            path: path.display().to_string(),
            why,
        };
        let limit = crate::files::Limit {
            bytes: 1 << 20,
            what: "a qualification profile (TOML)",
        };
        let bytes = crate::files::read_regular(path, limit).map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
        Profile::parse(&text).map_err(fail)
    }

    /// Parses and checks profile text; the error is one line (with the line number where TOML gives one).
    pub fn parse(text: &str) -> Result<Profile, String> {
        let profile: Profile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            let message = e.message().replace('\n', " ");
            match line {
                Some(n) => format!("line {n}: {message}"),
                None => message,
            }
        })?;
        profile.check()?;
        Ok(profile)
    }

    fn check(&self) -> Result<(), String> {
        self.default.check("[default]")?;
        for (name, t) in &self.media {
            if name != "optical" && name != "copper" {
                return Err(format!(
                    "[media.{name}]: media is optical or copper (the module's decoded media)"
                ));
            }
            t.check(&format!("[media.{name}]"))?;
        }
        for (name, t) in &self.speed {
            if !name.parse::<f64>().is_ok_and(|s| s.is_finite() && s > 0.0) {
                return Err(format!(
                    "[speed.{name}]: the speed is the port's in Gbit/s, e.g. [speed.400]"
                ));
            }
            t.check(&format!("[speed.{name}]"))?;
        }
        for (name, t) in &self.part {
            t.check(&format!("[part.\"{name}\"]"))?;
        }
        Ok(())
    }

    /// The thresholds for one module and port, each with the layer that set it.
    pub fn resolve(&self, selector: &Selector) -> Resolved {
        let mut layers: Vec<(String, &Thresholds)> = vec![("[default]".into(), &self.default)];
        if let Some((name, t)) = selector
            .media
            .as_deref()
            .and_then(|m| self.media.get_key_value(m))
        {
            layers.push((format!("[media.{name}]"), t));
        }
        if let Some(speed) = selector.speed_gbps {
            let matching = self
                .speed
                .iter()
                .find(|(k, _)| k.parse::<f64>().is_ok_and(|s| (s - speed).abs() < 1e-6));
            if let Some((name, t)) = matching {
                layers.push((format!("[speed.{name}]"), t));
            }
        }
        if let Some((name, t)) = selector
            .part_number
            .as_deref()
            .and_then(|p| self.part.get_key_value(p))
        {
            layers.push((format!("[part.\"{name}\"]"), t));
        }
        Resolved::from_layers(&layers)
    }
}

impl Thresholds {
    fn check(&self, layer: &str) -> Result<(), String> {
        let within = |name: &str, v: Option<f64>, lo: f64, hi: f64, what: &str| match v {
            Some(x) if !(x.is_finite() && x >= lo && x <= hi) => {
                Err(format!("{layer} {name} = {x}: {what}"))
            }
            _ => Ok(()),
        };
        within(
            "max_pre_fec_ber",
            self.max_pre_fec_ber,
            1e-30,
            1.0,
            "a bit error ratio is above 0 and at most 1",
        )?;
        within(
            "max_vdm_pre_fec_ber",
            self.max_vdm_pre_fec_ber,
            1e-30,
            1.0,
            "a bit error ratio is above 0 and at most 1",
        )?;
        within(
            "min_throughput_fraction",
            self.min_throughput_fraction,
            0.0,
            1.0,
            "a fraction of the port's speed, 0 to 1",
        )?;
        within(
            "min_rx_power_dbm",
            self.min_rx_power_dbm,
            -40.0,
            10.0,
            "an optical power from -40 to 10 dBm",
        )?;
        within(
            "max_rx_power_dbm",
            self.max_rx_power_dbm,
            -40.0,
            10.0,
            "an optical power from -40 to 10 dBm",
        )?;
        within(
            "max_rx_power_drift_db",
            self.max_rx_power_drift_db,
            0.0,
            40.0,
            "a change from 0 to 40 dB",
        )?;
        within(
            "max_temperature_c",
            self.max_temperature_c,
            -40.0,
            150.0,
            "a module temperature from -40 to 150 C",
        )?;
        within(
            "max_probe_p99_us",
            self.max_probe_p99_us,
            1e-3,
            1e9,
            "a latency in microseconds above 0",
        )?;
        if let (Some(lo), Some(hi)) = (self.min_rx_power_dbm, self.max_rx_power_dbm) {
            if lo >= hi {
                return Err(format!(
                    "{layer} min_rx_power_dbm {lo} is not below max_rx_power_dbm {hi}"
                ));
            }
        }
        Ok(())
    }
}

impl Resolved {
    fn from_layers(layers: &[(String, &Thresholds)]) -> Resolved {
        fn pick<T: Copy>(
            layers: &[(String, &Thresholds)],
            built_in: Option<T>,
            get: impl Fn(&Thresholds) -> Option<T>,
        ) -> Option<Chosen<T>> {
            let mut chosen = built_in.map(|value| Chosen {
                value,
                source: BUILT_IN.to_string(),
            });
            for (source, t) in layers {
                if let Some(value) = get(t) {
                    chosen = Some(Chosen {
                        value,
                        source: source.clone(),
                    });
                }
            }
            chosen
        }
        Resolved {
            max_pre_fec_ber: pick(layers, None, |t| t.max_pre_fec_ber),
            max_uncorrectable_blocks: pick(layers, Some(0), |t| t.max_uncorrectable_blocks),
            max_link_flaps: pick(layers, Some(0), |t| t.max_link_flaps),
            max_fec_bin: pick(layers, None, |t| t.max_fec_bin),
            min_throughput_fraction: pick(layers, Some(0.9), |t| t.min_throughput_fraction),
            min_rx_power_dbm: pick(layers, None, |t| t.min_rx_power_dbm),
            max_rx_power_dbm: pick(layers, None, |t| t.max_rx_power_dbm),
            max_rx_power_drift_db: pick(layers, None, |t| t.max_rx_power_drift_db),
            max_temperature_c: pick(layers, None, |t| t.max_temperature_c),
            max_probe_p99_us: pick(layers, None, |t| t.max_probe_p99_us),
            max_vdm_pre_fec_ber: pick(layers, None, |t| t.max_vdm_pre_fec_ber),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERED: &str = r#"
[default]
max_pre_fec_ber = 1e-6
max_temperature_c = 70.0

[media.optical]
max_temperature_c = 75.0
min_rx_power_dbm = -8.0

[speed.400]
max_pre_fec_ber = 2.4e-4

[part."QDD-400G-DR4-S"]
max_temperature_c = 80.0
"#;

    #[test]
    fn each_layer_overrides_the_one_before_and_says_so() {
        let p = Profile::parse(LAYERED).unwrap();
        let all = p.resolve(&Selector {
            media: Some("optical".into()),
            speed_gbps: Some(400.0),
            part_number: Some("QDD-400G-DR4-S".into()),
        });
        let t = all.max_temperature_c.unwrap();
        assert_eq!(
            (t.value, t.source.as_str()),
            (80.0, "[part.\"QDD-400G-DR4-S\"]")
        );
        let ber = all.max_pre_fec_ber.unwrap();
        assert_eq!((ber.value, ber.source.as_str()), (2.4e-4, "[speed.400]"));
        assert_eq!(all.min_rx_power_dbm.unwrap().source, "[media.optical]");
        let flaps = all.max_link_flaps.unwrap();
        assert_eq!(
            (flaps.value, flaps.source.as_str()),
            (0, "built-in default")
        );
        // A copper module at 100G: only [default] and the built-ins.
        let copper = p.resolve(&Selector {
            media: Some("copper".into()),
            speed_gbps: Some(100.0),
            part_number: Some("OTHER".into()),
        });
        assert_eq!(copper.max_temperature_c.unwrap().source, "[default]");
        assert!(copper.min_rx_power_dbm.is_none());
        assert_eq!(copper.min_throughput_fraction.unwrap().value, 0.9);
    }

    #[test]
    fn impossible_values_name_the_layer_and_the_key() {
        for (text, needle) in [
            ("[speed.fast]\nmax_link_flaps = 1", "[speed.fast]"),
            (
                "[part.\"X\"]\nmin_throughput_fraction = 1.5",
                "[part.\"X\"] min_throughput_fraction = 1.5",
            ),
            ("[default]\nmax_temperature_c = nan", "max_temperature_c"),
            ("[default]\nmax_link_flaps = -1", "line 2"),
            ("[bogus]\n", "unknown field `bogus`"),
        ] {
            let e = Profile::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(Profile::parse("").unwrap(), Profile::default());
    }
}
