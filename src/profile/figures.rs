//! What a soak measured on each side's link, gathered line by line as the series is written: flaps,
//! the worst FEC histogram bin, the hottest module temperature, the Rx power extremes per lane and each
//! lane's drift from the first window's median to the last window's. Memory is bounded by the drift
//! windows (two windows of samples per lane), not by the soak's length.

use crate::diag::sampler::LinkSample;
use crate::model::series::{Extreme, LaneDrift, SideFigures};
use crate::model::SeriesLine;
use std::collections::{BTreeMap, VecDeque};

/// A drift window: an hour, or a quarter of a soak shorter than four hours, in samples (at least one).
pub fn drift_window_samples(soak_s: f64, sample_interval_s: f64) -> usize {
    let window_s = (soak_s / 4.0).min(3600.0);
    ((window_s / sample_interval_s).round() as usize).max(1)
}

/// Power in mW as dBm; a dark lane (under 0.1 uW) reads -40 dBm, the floor of any Rx window.
pub fn dbm(mw: f64) -> f64 {
    if mw <= 1e-4 {
        -40.0
    } else {
        10.0 * mw.log10()
    }
}

/// Both sides' figures, gathered from the lines.
#[derive(Debug)]
pub struct SoakFigures {
    client: SideGather,
    server: SideGather,
}

impl SoakFigures {
    pub fn new(window: usize) -> SoakFigures {
        SoakFigures {
            client: SideGather::new(window),
            server: SideGather::new(window),
        }
    }

    /// Takes one written line.
    pub fn note(&mut self, line: &SeriesLine) {
        if let Some(s) = &line.client {
            self.client.note(s, line.sample);
        }
        if let Some(s) = &line.server {
            self.server.note(s, line.sample);
        }
    }

    /// (client, server); a side that never sent a sample has none.
    pub fn finish(&self) -> (Option<SideFigures>, Option<SideFigures>) {
        (self.client.finish(), self.server.finish())
    }
}

#[derive(Debug)]
struct SideGather {
    window: usize,
    samples: u64,
    flaps: u64,
    uncorrectable: Option<u64>,
    ber_upper: Option<f64>,
    fec_bin: Option<Extreme>,
    temperature: Option<Extreme>,
    vdm_ber: Option<Extreme>,
    rx_min: Option<Extreme>,
    rx_max: Option<Extreme>,
    first: BTreeMap<u8, Vec<f64>>,
    last: BTreeMap<u8, VecDeque<f64>>,
    cost_sum_us: f64,
    cost_max_us: f64,
    /// Rx power readings per lane so far.
    lane_samples: BTreeMap<u8, u64>,
}

/// Keeps `candidate` when it is beyond `current` in the direction `higher` says.
fn keep_extreme(current: &mut Option<Extreme>, candidate: Extreme, higher: bool) {
    if !candidate.value.is_finite() {
        return;
    }
    let beyond = match current {
        None => true,
        Some(c) if higher => candidate.value > c.value,
        Some(c) => candidate.value < c.value,
    };
    if beyond {
        *current = Some(candidate);
    }
}

/// Times the link went down in a sample's interval: netdev `carrier_down_count` plus IB `link_downed`.
/// Only a kernel without `carrier_down_count` (before 4.16) falls back to the carrier changes, halved
/// and rounded up: there a flap whose down and up fall in two samples counts in both.
pub fn link_downs(sample: &LinkSample) -> u64 {
    let delta = &sample.interval.delta;
    let netdev = match delta.netdev.get("carrier_down_count") {
        Some(&downs) => downs,
        None => delta
            .netdev
            .get("carrier_changes")
            .map_or(0, |c| c.div_ceil(2)),
    };
    let ib = delta
        .ib_port
        .as_ref()
        .and_then(|m| m.get("link_downed"))
        .copied()
        .unwrap_or(0);
    netdev.saturating_add(ib)
}

/// The lowest symbol-error count of the highest FEC histogram bin that counted (`hist_LO_HI` keys).
fn highest_fec_bin(sample: &LinkSample) -> Option<f64> {
    let fec = sample.interval.delta.fec.as_ref()?;
    fec.iter()
        .filter(|(_, &v)| v > 0)
        .filter_map(|(k, _)| {
            k.strip_prefix("hist_")?
                .split('_')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .max()
        .map(f64::from)
}

impl SideGather {
    fn new(window: usize) -> SideGather {
        SideGather {
            window,
            samples: 0,
            flaps: 0,
            uncorrectable: None,
            ber_upper: None,
            fec_bin: None,
            temperature: None,
            vdm_ber: None,
            rx_min: None,
            rx_max: None,
            first: BTreeMap::new(),
            last: BTreeMap::new(),
            cost_sum_us: 0.0,
            cost_max_us: 0.0,
            lane_samples: BTreeMap::new(),
        }
    }

    fn note(&mut self, s: &LinkSample, sample: u64) {
        self.samples += 1;
        self.flaps = self.flaps.saturating_add(link_downs(s));
        // A cost from the peer is a figure like any other: only a finite, non-negative one counts.
        if s.cost_us.is_finite() && s.cost_us >= 0.0 {
            self.cost_sum_us += s.cost_us;
            self.cost_max_us = self.cost_max_us.max(s.cost_us);
        }
        self.uncorrectable = s.cumulative.uncorrectable_errors.or(self.uncorrectable);
        self.ber_upper = s.cumulative.pre_fec_ber_upper_95.or(self.ber_upper);
        let at = |value, lane| Extreme {
            value,
            sample,
            lane,
        };
        if let Some(bin) = highest_fec_bin(s) {
            keep_extreme(&mut self.fec_bin, at(bin, None), true);
        }
        let Some(module) = &s.module else { return };
        if let Some(t) = module.temperature_c {
            keep_extreme(&mut self.temperature, at(t, None), true);
        }
        // CMIS VDM type 15: the module's current pre-FEC BER on a media (line side) input lane.
        for o in module.vdm.iter().filter(|o| o.type_id == 15) {
            keep_extreme(&mut self.vdm_ber, at(o.value, Some(o.lane)), true);
        }
        for lane in &module.lanes {
            let Some(mw) = lane.rx_power_mw else { continue };
            let p = dbm(mw);
            if !p.is_finite() {
                continue;
            }
            *self.lane_samples.entry(lane.lane).or_default() += 1;
            keep_extreme(&mut self.rx_min, at(p, Some(lane.lane)), false);
            keep_extreme(&mut self.rx_max, at(p, Some(lane.lane)), true);
            let first = self.first.entry(lane.lane).or_default();
            if first.len() < self.window {
                first.push(p);
            }
            let last = self.last.entry(lane.lane).or_default();
            if last.len() == self.window {
                last.pop_front();
            }
            last.push_back(p);
        }
    }

    fn finish(&self) -> Option<SideFigures> {
        // Each window is at most half the samples a lane has, so a soak that ended early never compares
        // a window with itself; a lane with fewer than two samples has no drift.
        let seen = |lane: &u8| {
            self.last
                .get(lane)
                .map_or(0, |_| self.lane_samples.get(lane).copied().unwrap_or(0))
        };
        let used = |lane: &u8| (self.window as u64).min(seen(lane) / 2) as usize;
        (self.samples > 0).then(|| SideFigures {
            link_flaps: self.flaps,
            uncorrectable_blocks: self.uncorrectable,
            pre_fec_ber_upper_95: self.ber_upper,
            max_fec_bin: self.fec_bin.clone(),
            max_temperature_c: self.temperature.clone(),
            max_vdm_pre_fec_ber: self.vdm_ber.clone(),
            min_rx_power_dbm: self.rx_min.clone(),
            max_rx_power_dbm: self.rx_max.clone(),
            rx_power_drift: self
                .first
                .iter()
                .filter_map(|(&lane, first)| {
                    let n = used(&lane);
                    let last: Vec<f64> = self.last.get(&lane)?.iter().copied().collect();
                    if n == 0 {
                        return None;
                    }
                    let (a, b) = (median(&first[..n]), median(&last[last.len() - n..]));
                    Some(LaneDrift {
                        lane,
                        first_median_dbm: a,
                        last_median_dbm: b,
                        drift_db: b - a,
                    })
                })
                .collect(),
            drift_window_samples: self.first.keys().map(|l| used(l) as u64).max().unwrap_or(0),
            sample_cost_mean_us: self.cost_sum_us / self.samples as f64,
            sample_cost_max_us: self.cost_max_us,
        })
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_an_hour_or_a_quarter_of_a_short_soak() {
        assert_eq!(drift_window_samples(24.0 * 3600.0, 10.0), 360);
        assert_eq!(drift_window_samples(600.0, 10.0), 15);
        assert_eq!(drift_window_samples(1.0, 10.0), 1);
    }

    #[test]
    fn dbm_of_a_milliwatt_is_zero_and_darkness_is_the_floor() {
        assert!(dbm(1.0).abs() < 1e-12);
        assert!((dbm(0.5) + 3.0103).abs() < 1e-3);
        assert_eq!(dbm(0.0), -40.0);
    }

    fn carrier(changes: u64, downs: Option<u64>) -> LinkSample {
        use crate::diag::counters::CounterDelta;
        use crate::diag::link::LinkVerdict;
        use crate::diag::sampler::LinkInterval;
        let mut delta = CounterDelta::default();
        delta.netdev.insert("carrier_changes".into(), changes);
        if let Some(d) = downs {
            delta.netdev.insert("carrier_down_count".into(), d);
        }
        LinkSample {
            interface: "eth0".into(),
            operstate: Some("up".into()),
            at_s: 0.0,
            interval: LinkInterval {
                seconds: 1.0,
                delta,
                verdict: LinkVerdict::default(),
            },
            cumulative: LinkVerdict::default(),
            module: None,
            module_unavailable: None,
            unavailable: Vec::new(),
            cost_us: 1.0,
            replayed_from: None,
        }
    }

    #[test]
    fn a_flap_split_over_two_samples_counts_once() {
        let mut side = SideGather::new(4);
        // Down in one sample, up in the next: the down count moved once, the changes twice.
        side.note(&carrier(1, Some(1)), 0);
        side.note(&carrier(1, Some(0)), 1);
        assert_eq!(side.finish().unwrap().link_flaps, 1);
        // A kernel without carrier_down_count: half the changes, rounded up, per sample.
        let mut old = SideGather::new(4);
        old.note(&carrier(2, None), 0);
        assert_eq!(old.finish().unwrap().link_flaps, 1);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
