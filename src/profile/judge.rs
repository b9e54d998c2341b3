//! A soak's verdict: every resolved threshold against the figure it bounds, each listed with its value,
//! the layer that set it, what was measured and where, and pass, fail or not measured. The soak passes
//! when no threshold fails.

use super::{Chosen, Resolved};
use crate::model::series::{
    SideFigures, SoakVerdict, ThresholdOutcome, ThresholdResult, ThroughputExtremes,
};
use crate::model::Direction;

/// What the verdict is made of.
pub struct Judged<'a> {
    pub profile: Option<String>,
    /// Each side's thresholds (resolved with its own module and port) and figures: `Err` says why a
    /// side has none (its thresholds are then listed as not measured, never silently left out).
    pub sides: Vec<(&'static str, &'a Resolved, Result<&'a SideFigures, String>)>,
    /// Why the soak ended before its planned end, if it did: a partial soak does not pass.
    pub ended_early: Option<String>,
    /// The thresholds the traffic is judged by (the client's port).
    pub traffic: &'a Resolved,
    pub throughput: &'a [ThroughputExtremes],
    /// The port's speed, bit/s; null when the driver reports none.
    pub port_speed_bps: Option<f64>,
    /// The latency probe's highest per-sample p99 (us) and its sample; null without a probe.
    pub probe_p99_us: Option<crate::model::series::Extreme>,
}

/// One threshold that bounds a figure from above (`upper`) or below.
struct Check<'a> {
    name: &'static str,
    side: Option<&'static str>,
    unit: &'static str,
    upper: bool,
    /// Where the figure was seen, or why there is none.
    detail: String,
    measured: Option<f64>,
    chosen: &'a Option<Chosen<f64>>,
}

impl Check<'_> {
    fn result(self) -> Option<ThresholdResult> {
        let chosen = self.chosen.as_ref()?;
        let result = match self.measured {
            None => ThresholdOutcome::NotMeasured,
            Some(m) if (self.upper && m > chosen.value) || (!self.upper && m < chosen.value) => {
                ThresholdOutcome::Fail
            }
            Some(_) => ThresholdOutcome::Pass,
        };
        Some(ThresholdResult {
            name: self.name.into(),
            side: self.side.map(str::to_string),
            value: chosen.value,
            source: chosen.source.clone(),
            measured: self.measured,
            unit: self.unit.into(),
            result,
            detail: self.detail,
        })
    }
}

fn as_f64(c: &Option<Chosen<u64>>) -> Option<Chosen<f64>> {
    c.as_ref().map(|c| Chosen {
        value: c.value as f64,
        source: c.source.clone(),
    })
}

fn at_sample(e: &Option<crate::model::series::Extreme>, missing: &str) -> String {
    match e {
        Some(e) => match e.lane {
            Some(lane) => format!("lane {lane}, sample {}", e.sample),
            None => format!("sample {}", e.sample),
        },
        None => missing.into(),
    }
}

/// A check of one side's figure.
fn on_side<'a>(
    side: &'static str,
    name: &'static str,
    unit: &'static str,
    upper: bool,
    chosen: &'a Option<Chosen<f64>>,
) -> Check<'a> {
    Check {
        name,
        side: Some(side),
        unit,
        upper,
        detail: String::new(),
        measured: None,
        chosen,
    }
}

impl<'a> Check<'a> {
    fn figure(self, measured: Option<f64>, detail: String) -> Option<ThresholdResult> {
        Check {
            measured,
            detail,
            ..self
        }
        .result()
    }
}

/// The checks of one side's link: flaps and FEC.
fn link_checks(side: &'static str, t: &Resolved, f: &SideFigures) -> Vec<Option<ThresholdResult>> {
    let no_fec = "the link reports no FEC statistics";
    let (flaps, uncorrectable, bin) = (
        as_f64(&t.max_link_flaps),
        as_f64(&t.max_uncorrectable_blocks),
        as_f64(&t.max_fec_bin),
    );
    let or_no_fec = |present: bool, what: &str| {
        if present {
            what.to_string()
        } else {
            no_fec.to_string()
        }
    };
    vec![
        on_side(side, "max_link_flaps", "flaps", true, &flaps).figure(
            Some(f.link_flaps as f64),
            format!("the link went down {} time(s)", f.link_flaps),
        ),
        on_side(
            side,
            "max_uncorrectable_blocks",
            "blocks",
            true,
            &uncorrectable,
        )
        .figure(
            f.uncorrectable_blocks.map(|u| u as f64),
            or_no_fec(
                f.uncorrectable_blocks.is_some(),
                "FEC uncorrectable blocks over the soak",
            ),
        ),
        on_side(side, "max_pre_fec_ber", "ratio", true, &t.max_pre_fec_ber).figure(
            f.pre_fec_ber_upper_95,
            or_no_fec(
                f.pre_fec_ber_upper_95.is_some(),
                "cumulative 95% upper bound at the last sample",
            ),
        ),
        on_side(
            side,
            "max_fec_bin",
            "symbol errors per codeword",
            true,
            &bin,
        )
        .figure(
            f.max_fec_bin.as_ref().map(|e| e.value),
            at_sample(
                &f.max_fec_bin,
                "no FEC histogram bin counted, or the kernel has none",
            ),
        ),
    ]
}

/// The checks of one side's module: temperature, Rx power window and drift.
fn module_checks(
    side: &'static str,
    t: &Resolved,
    f: &SideFigures,
) -> Vec<Option<ThresholdResult>> {
    let no_module = "no module monitors were read";
    let worst_drift = f
        .rx_power_drift
        .iter()
        .max_by(|a, b| a.drift_db.abs().total_cmp(&b.drift_db.abs()));
    let value = |e: &Option<crate::model::series::Extreme>| e.as_ref().map(|e| e.value);
    vec![
        on_side(side, "max_temperature_c", "C", true, &t.max_temperature_c).figure(
            value(&f.max_temperature_c),
            at_sample(&f.max_temperature_c, no_module),
        ),
        on_side(
            side,
            "max_vdm_pre_fec_ber",
            "ratio",
            true,
            &t.max_vdm_pre_fec_ber,
        )
        .figure(
            value(&f.max_vdm_pre_fec_ber),
            at_sample(
                &f.max_vdm_pre_fec_ber,
                "the module reports no VDM pre-FEC BER (CMIS pages 20h-2Fh)",
            ),
        ),
        on_side(side, "min_rx_power_dbm", "dBm", false, &t.min_rx_power_dbm).figure(
            value(&f.min_rx_power_dbm),
            at_sample(&f.min_rx_power_dbm, no_module),
        ),
        on_side(side, "max_rx_power_dbm", "dBm", true, &t.max_rx_power_dbm).figure(
            value(&f.max_rx_power_dbm),
            at_sample(&f.max_rx_power_dbm, no_module),
        ),
        on_side(
            side,
            "max_rx_power_drift_db",
            "dB",
            true,
            &t.max_rx_power_drift_db,
        )
        .figure(
            worst_drift.map(|d| d.drift_db.abs()),
            worst_drift.map_or(no_module.to_string(), |d| {
                format!(
                    "lane {}: {:.2} -> {:.2} dBm (medians of {} samples)",
                    d.lane, d.first_median_dbm, d.last_median_dbm, f.drift_window_samples
                )
            }),
        ),
    ]
}

/// A side without figures: each of its thresholds (the same list the checks make), not measured, with
/// the reason.
fn unmeasured_side(side: &'static str, t: &Resolved, why: &str) -> Vec<ThresholdResult> {
    let nothing = SideFigures {
        link_flaps: 0,
        uncorrectable_blocks: None,
        pre_fec_ber_upper_95: None,
        max_fec_bin: None,
        max_temperature_c: None,
        max_vdm_pre_fec_ber: None,
        min_rx_power_dbm: None,
        max_rx_power_dbm: None,
        rx_power_drift: Vec::new(),
        drift_window_samples: 0,
        sample_cost_mean_us: 0.0,
        sample_cost_max_us: 0.0,
    };
    link_checks(side, t, &nothing)
        .into_iter()
        .chain(module_checks(side, t, &nothing))
        .flatten()
        .map(|r| ThresholdResult {
            measured: None,
            result: ThresholdOutcome::NotMeasured,
            detail: why.to_string(),
            ..r
        })
        .collect()
}

/// The traffic's checks: each direction's lowest sample against the port's speed, and the probe.
fn traffic_checks(j: &Judged) -> Vec<Option<ThresholdResult>> {
    let mut out = Vec::new();
    for e in j.throughput {
        let dir = match e.direction {
            Direction::ClientToServer => "client->server",
            Direction::ServerToClient => "server->client",
        };
        let measured = j.port_speed_bps.map(|s| e.min_bits_per_second / s);
        let detail = match j.port_speed_bps {
            Some(s) => format!(
                "{dir}: lowest sample {} at {:.3} Gbit/s of a {:.0} Gbit/s port",
                e.min_at_sample,
                e.min_bits_per_second / 1e9,
                s / 1e9
            ),
            None => format!("{dir}: the port reports no speed"),
        };
        out.push(
            Check {
                name: "min_throughput_fraction",
                side: None,
                unit: "of the port's speed",
                upper: false,
                detail,
                measured,
                chosen: &j.traffic.min_throughput_fraction,
            }
            .result(),
        );
    }
    out.push(
        Check {
            name: "max_probe_p99_us",
            side: None,
            unit: "us",
            upper: true,
            detail: at_sample(
                &j.probe_p99_us,
                "no latency probe ran (--probe-rate), or none of its samples had a round trip",
            ),
            measured: j.probe_p99_us.as_ref().map(|e| e.value),
            chosen: &j.traffic.max_probe_p99_us,
        }
        .result(),
    );
    out
}

/// Every threshold against its figure.
pub fn judge(j: &Judged) -> SoakVerdict {
    let mut thresholds: Vec<ThresholdResult> = traffic_checks(j).into_iter().flatten().collect();
    for (side, t, f) in &j.sides {
        match f {
            Ok(f) => {
                thresholds.extend(link_checks(side, t, f).into_iter().flatten());
                thresholds.extend(module_checks(side, t, f).into_iter().flatten());
            }
            Err(why) => thresholds.extend(unmeasured_side(side, t, why)),
        }
    }
    SoakVerdict {
        pass: j.ended_early.is_none()
            && thresholds
                .iter()
                .all(|t| t.result != ThresholdOutcome::Fail),
        profile: j.profile.clone(),
        thresholds,
        incomplete: j.ended_early.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::series::{Extreme, LaneDrift};
    use crate::profile::{Profile, Selector};

    /// A side whose module ran hot with lane 3 sagging (figures as the specification-built replay
    /// would give them; no module exists on this machine).
    fn sagging() -> SideFigures {
        let at = |value, sample, lane| {
            Some(Extreme {
                value,
                sample,
                lane,
            })
        };
        SideFigures {
            link_flaps: 0,
            uncorrectable_blocks: Some(0),
            pre_fec_ber_upper_95: Some(3.1e-7),
            max_fec_bin: at(9.0, 40, None),
            max_temperature_c: at(71.5, 80, None),
            max_vdm_pre_fec_ber: at(4.2e-7, 81, Some(3)),
            min_rx_power_dbm: at(-9.2, 85, Some(3)),
            max_rx_power_dbm: at(1.1, 2, Some(1)),
            rx_power_drift: vec![
                LaneDrift {
                    lane: 1,
                    first_median_dbm: 1.0,
                    last_median_dbm: 0.9,
                    drift_db: -0.1,
                },
                LaneDrift {
                    lane: 3,
                    first_median_dbm: -6.0,
                    last_median_dbm: -9.0,
                    drift_db: -3.0,
                },
            ],
            drift_window_samples: 360,
            sample_cost_mean_us: 900.0,
            sample_cost_max_us: 2000.0,
        }
    }

    #[test]
    fn a_sagging_lane_fails_window_and_drift_and_passes_the_rest() {
        let profile = Profile::parse(
            "[default]\nmax_pre_fec_ber = 1e-6\nmax_fec_bin = 10\nmax_temperature_c = 75.0\n\
             min_rx_power_dbm = -8.0\nmax_rx_power_dbm = 4.0\nmax_rx_power_drift_db = 2.0\n",
        )
        .unwrap();
        let t = profile.resolve(&Selector::default());
        let figures = sagging();
        let v = judge(&Judged {
            profile: Some("qual.toml".into()),
            sides: vec![("client", &t, Ok(&figures))],
            ended_early: None,
            traffic: &t,
            throughput: &[],
            port_speed_bps: None,
            probe_p99_us: None,
        });
        assert!(!v.pass);
        let outcome = |name: &str| {
            let t = v.thresholds.iter().find(|t| t.name == name).unwrap();
            (t.result, t.detail.clone())
        };
        assert_eq!(outcome("min_rx_power_dbm").0, ThresholdOutcome::Fail);
        assert_eq!(outcome("min_rx_power_dbm").1, "lane 3, sample 85");
        let (drift, detail) = outcome("max_rx_power_drift_db");
        assert_eq!(drift, ThresholdOutcome::Fail);
        assert!(detail.starts_with("lane 3: -6.00 -> -9.00 dBm"), "{detail}");
        for pass in [
            "max_pre_fec_ber",
            "max_fec_bin",
            "max_temperature_c",
            "max_rx_power_dbm",
            "max_link_flaps",
            "max_uncorrectable_blocks",
        ] {
            assert_eq!(outcome(pass).0, ThresholdOutcome::Pass, "{pass}");
        }
        // No probe ran and no profile key asked for one: nothing listed for it.
        assert!(v.thresholds.iter().all(|t| t.name != "max_probe_p99_us"));
    }

    #[test]
    fn a_side_without_samples_lists_its_thresholds_as_not_measured() {
        let profile = Profile::parse("[default]\nmax_temperature_c = 70.0\n").unwrap();
        let t = profile.resolve(&Selector::default());
        let v = judge(&Judged {
            profile: None,
            sides: vec![(
                "server",
                &t,
                Err("no sample of the server's link arrived".into()),
            )],
            ended_early: None,
            traffic: &t,
            throughput: &[],
            port_speed_bps: None,
            probe_p99_us: None,
        });
        let names: Vec<&str> = v.thresholds.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "max_link_flaps",
                "max_uncorrectable_blocks",
                "max_temperature_c"
            ]
        );
        for t in &v.thresholds {
            assert_eq!(t.result, ThresholdOutcome::NotMeasured, "{t:?}");
            assert_eq!(t.measured, None);
            assert_eq!(t.detail, "no sample of the server's link arrived");
            assert_eq!(t.side.as_deref(), Some("server"));
        }
        assert!(v.pass, "not measured never fails");
    }
}
