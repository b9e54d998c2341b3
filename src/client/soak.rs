//! A soak from the client's side: the series file (JSON Lines, created new, one line appended, flushed
//! and synced per sample, so a crash or power cut loses at most the sample in progress), the client's
//! half of each sample taken when the server's half arrives, and the summary the report carries.
//!
//! One sample is written for each `interval` frame the server sends (a soak's interval is its sample
//! interval): the server's link sample rides on that frame, taken at the end of its interval, and the
//! client samples its own link on receipt, so the two halves of a line are at most the control
//! connection's delay apart.

use super::ClientError;
use crate::diag::sampler::{LinkSample, LinkSampler};
use crate::engine::probe::ProbeWindow;
use crate::engine::progress::ProgressSample;
use crate::model::report::LinkSides;
use crate::model::series::{Extreme, FlapAt, SampleThroughput, SoakModule, ThroughputExtremes};
use crate::model::{Direction, ProbeSample, SeriesLine, SoakSummary, SERIES_SCHEMA_VERSION};
use crate::plan::{TestKind, TransportKind, TrialSpec};
use crate::profile::figures::{drift_window_samples, link_downs, SoakFigures};
use crate::profile::judge::{judge, Judged};
use crate::profile::{Profile, Resolved, Selector};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a soak needs from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakSettings {
    pub series: PathBuf,
    pub sample_interval_s: f64,
    /// `--profile`: the file and its thresholds (checked before any traffic).
    pub profile: Option<(PathBuf, Profile)>,
    /// `--replay-link`: the client's link samples come from these recorded steps, not the live link.
    pub replay: Option<PathBuf>,
}

/// Refuses, before anything runs, a series path that exists (a soak never overwrites one), whose
/// directory is missing, or that cannot be created there (the file is created and removed again:
/// permission bits do not tell for root, nor a read-only mount).
pub fn check_new(path: &Path) -> Result<(), ClientError> {
    let refuse = |why: &str| {
        Err(ClientError::SeriesUnusable(format!(
            "{}: {why}",
            path.display()
        )))
    };
    if path.symlink_metadata().is_ok() {
        return refuse(ALREADY_EXISTS);
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if parent.is_some_and(|p| !p.is_dir()) {
        return refuse("its directory does not exist; create it or give another --series path");
    }
    SeriesWriter::create(path)?;
    std::fs::remove_file(path)
        .or_else(|e| refuse(&format!("created but cannot be removed again: {e}")))
}

const ALREADY_EXISTS: &str =
    "it already exists; a soak never overwrites a series: give a new --series path";

/// The series file, open for appending.
#[derive(Debug)]
pub struct SeriesWriter {
    file: File,
    path: PathBuf,
    length: u64,
}

impl SeriesWriter {
    /// Creates `path`, which must not exist: a soak never overwrites one. Its directory is synced, so
    /// the file's name survives a power cut with its first line.
    pub fn create(path: &Path) -> Result<SeriesWriter, ClientError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                let why = match e.kind() {
                    std::io::ErrorKind::AlreadyExists => ALREADY_EXISTS.to_string(),
                    _ => format!(
                        "cannot create it: {e}; give a --series path in a writable directory"
                    ),
                };
                ClientError::SeriesUnusable(format!("{}: {why}", path.display()))
            })?;
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(SeriesWriter {
            file,
            path: path.to_path_buf(),
            length: 0,
        })
    }

    /// Appends one line and syncs it to the disk. A line that cannot be written whole is cut off
    /// again, so the file always ends with a whole line.
    pub fn append(&mut self, line: &SeriesLine) -> Result<(), String> {
        let mut text = serde_json::to_string(line).map_err(|e| e.to_string())?;
        text.push('\n');
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.length += text.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.length);
                Err(format!(
                    "series {}: sample {} could not be written ({e}); the soak was ended, the series \
                     holds every sample before it; free space there or give --series on another disk",
                    self.path.display(),
                    line.sample
                ))
            }
        }
    }
}

/// A running total and when it was taken.
#[derive(Debug, Clone, Copy)]
struct Mark {
    seconds: f64,
    bytes: u64,
    /// The counting side was in its measured phase (its totals count from the phase's start).
    measuring: bool,
}

/// The latency probe's part of a sample.
pub enum ProbeTake {
    /// The trial runs no probe.
    NoProbe,
    /// The probe's window since the last sample.
    Took(ProbeWindow),
    /// A round trip was still in flight after this long: the next sample's window covers both.
    InFlight(Duration),
    /// The probe ended with this side's data and handed over its last window before.
    Ended,
}

/// The server's half of a sample, as its `interval` frame carried it.
pub struct ServerHalf {
    pub elapsed_s: f64,
    pub measuring: bool,
    pub bytes: u64,
    pub link: Option<LinkSample>,
}

/// Records a soak's samples and keeps what its summary needs.
#[derive(Debug)]
pub struct SoakRecorder {
    settings: SoakSettings,
    writer: SeriesWriter,
    sampler: Option<LinkSampler>,
    started: Instant,
    /// Which direction each side's counted bytes moved, if that side counts any.
    server_counts: Option<Direction>,
    client_counts: Option<Direction>,
    server_mark: Option<Mark>,
    client_mark: Option<Mark>,
    samples: u64,
    measured_samples: u64,
    extremes: Vec<ThroughputExtremes>,
    /// The probe's highest p99 over the measured samples, us.
    probe_p99_us: Option<Extreme>,
    flaps: Vec<FlapAt>,
    last_client: Option<LinkSample>,
    last_server: Option<LinkSample>,
    figures: SoakFigures,
    failed: Option<String>,
    /// A replayed client link: what the report says of it, and its module and port for the profile.
    replayed: Option<(String, Selector)>,
    /// The replayed module, as its EEPROM names it.
    replayed_module: Option<SoakModule>,
}

impl SoakRecorder {
    /// Creates the series file; the sampler starts with [`SoakRecorder::start`].
    pub fn create(settings: &SoakSettings, spec: &TrialSpec) -> Result<SoakRecorder, ClientError> {
        let writer = SeriesWriter::create(&settings.series)?;
        let (server_counts, client_counts) = counting_directions(spec);
        let soak_s = match spec.stop {
            crate::plan::StopCondition::Duration { seconds } => seconds,
            crate::plan::StopCondition::Iterations { .. } => settings.sample_interval_s,
        };
        let window = drift_window_samples(soak_s, settings.sample_interval_s);
        let mut recorder = SoakRecorder {
            settings: settings.clone(),
            writer,
            sampler: None,
            started: Instant::now(),
            server_counts,
            client_counts,
            server_mark: None,
            client_mark: None,
            samples: 0,
            measured_samples: 0,
            extremes: Vec::new(),
            probe_p99_us: None,
            flaps: Vec::new(),
            last_client: None,
            last_server: None,
            figures: SoakFigures::new(window),
            failed: None,
            replayed: None,
            replayed_module: None,
        };
        if let Some(dir) = &settings.replay {
            recorder.replay_from(dir)?;
        }
        Ok(recorder)
    }

    /// The trial started at `at`; `live` reads this side's link (its baseline now), unless the link is
    /// replayed from recorded steps.
    pub fn start(&mut self, live: Option<LinkSampler>, at: Instant) {
        self.started = at;
        if self.replayed.is_none() {
            self.sampler = live;
        }
    }

    /// Reads a replay's first step: the client's samples will come from `dir`.
    fn replay_from(&mut self, dir: &Path) -> Result<(), ClientError> {
        let sampler = LinkSampler::replay(dir).map_err(|e| ClientError::Series(e.to_string()))?;
        // The first step's module, read once: it names the module and picks the profile's layers.
        let first = sampler.replayed_module();
        self.replayed_module = first
            .as_ref()
            .map(|(m, _)| SoakModule::named("client", m, true));
        let selector = match first {
            Some((module, rate_bps)) => Selector {
                media: media_name(module.media),
                speed_gbps: rate_bps.map(|b| b / 1e9),
                part_number: module.part_number,
            },
            None => Selector::default(),
        };
        let what = format!(
            "the client's link samples were replayed from {} (recorded or specification-built steps), \
             not read from the live link; the server's are live",
            dir.display()
        );
        self.replayed = Some((what, selector));
        self.sampler = Some(sampler);
        Ok(())
    }

    /// Writes one line: the server's half as it arrived, this side's taken now. An error (the series
    /// could not be written) ends the soak; it is kept for the summary.
    /// `own_measuring`: every one of this side's measuring threads is in its measured phase.
    pub fn record(
        &mut self,
        server: ServerHalf,
        own: &ProgressSample,
        own_measuring: bool,
        probe: ProbeTake,
    ) -> Result<(), String> {
        if let Some(why) = &self.failed {
            return Err(why.clone());
        }
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let client = self.sampler.as_mut().map(LinkSampler::take);
        let mut throughput = Vec::new();
        if let Some(direction) = self.server_counts {
            let now = Mark {
                seconds: server.elapsed_s,
                bytes: server.bytes,
                measuring: server.measuring,
            };
            throughput.extend(interval_rate(direction, "server", self.server_mark, now));
            self.server_mark = Some(now);
        }
        if let Some(direction) = self.client_counts {
            let now = Mark {
                seconds: elapsed_s,
                bytes: own.bytes,
                measuring: own_measuring,
            };
            throughput.extend(interval_rate(direction, "client", self.client_mark, now));
            self.client_mark = Some(now);
        }
        let (server_link, mut notes) = bounded(server.link);
        let probe = match probe {
            ProbeTake::NoProbe => None,
            ProbeTake::Ended => {
                notes.push(
                    "probe: ended with this side's data threads; its last round trips are in an earlier sample"
                        .into(),
                );
                None
            }
            ProbeTake::Took(w) => Some(probe_sample(&w)),
            ProbeTake::InFlight(wait) => {
                notes.push(format!(
                    "probe: a round trip was still in flight {:.0} ms after the sample was due; the next \
                     sample's probe window covers this one too",
                    wait.as_secs_f64() * 1e3
                ));
                None
            }
        };
        // Warm-up traffic is not counted: its totals stay 0 until the measured phase starts.
        let measuring = server.measuring || own_measuring;
        let line = SeriesLine {
            schema_version: SERIES_SCHEMA_VERSION.into(),
            sample: self.samples,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            elapsed_s,
            measuring,
            throughput: if measuring { throughput } else { Vec::new() },
            client,
            server: server_link,
            probe,
            notes,
        };
        if let Err(why) = self.writer.append(&line) {
            self.failed = Some(why.clone());
            return Err(why);
        }
        self.note(line);
        Ok(())
    }

    /// Folds a written line into the summary's figures.
    fn note(&mut self, line: SeriesLine) {
        self.figures.note(&line);
        // The same count as the figures' `link_flaps`: a flap whose down and up fall in two samples
        // is listed once, where it went down.
        for (side, sample) in [("client", &line.client), ("server", &line.server)] {
            if sample.as_ref().is_some_and(|s| link_downs(s) > 0) {
                self.flaps.push(FlapAt {
                    side: side.into(),
                    sample: line.sample,
                    elapsed_s: line.elapsed_s,
                });
            }
        }
        if line.measuring {
            self.measured_samples += 1;
            for t in &line.throughput {
                note_extreme(&mut self.extremes, t, line.sample);
            }
            let p99_us = line
                .probe
                .as_ref()
                .and_then(|p| p.p99_ns)
                .map(|ns| ns as f64 / 1e3);
            if let Some(value) =
                p99_us.filter(|v| self.probe_p99_us.as_ref().is_none_or(|w| *v > w.value))
            {
                self.probe_p99_us = Some(Extreme {
                    value,
                    sample: line.sample,
                    lane: None,
                });
            }
        }
        self.samples += 1;
        self.last_client = line.client.or(self.last_client.take());
        self.last_server = line.server.or(self.last_server.take());
    }

    /// How long a sample waits for the probe's window: a quarter of the sample interval, at most 0.5 s.
    pub fn probe_wait(&self) -> Duration {
        Duration::from_secs_f64((self.settings.sample_interval_s / 4.0).min(0.5))
    }

    /// Removes the series when the trial failed before any sample: an empty file would only make the
    /// same command refuse its path on the rerun.
    pub fn discard_if_empty(&self) {
        if self.samples == 0 && self.failed.is_none() {
            let _ = std::fs::remove_file(&self.settings.series);
        }
    }

    /// What the report says about the soak; `link` (the trial's link facts and modules) selects the
    /// profile's layers for each side.
    /// `ended_early` is why the trial ended before its plan (the series failing is noted already).
    pub fn summary(&self, link: Option<&LinkSides>, ended_early: Option<String>) -> SoakSummary {
        let ended_early = self.failed.clone().or(ended_early);
        let (client_figures, server_figures) = self.figures.finish();
        let empty = Profile::default();
        let (path, profile) = match &self.settings.profile {
            Some((path, p)) => (Some(path.display().to_string()), p),
            None => (None, &empty),
        };
        let resolve =
            |side: Option<&crate::diag::link::LinkReport>| profile.resolve(&selector(side));
        let client_t = match &self.replayed {
            Some((_, selector)) => profile.resolve(selector),
            None => resolve(link.and_then(|l| l.client.as_ref())),
        };
        let server_t = resolve(link.and_then(|l| l.server.as_ref()));
        let sides: Vec<(&'static str, &Resolved, Result<&_, String>)> = vec![
            (
                "client",
                &client_t,
                client_figures
                    .as_ref()
                    .ok_or_else(|| "no sample of the client's link (no interface to sample)".into()),
            ),
            (
                "server",
                &server_t,
                server_figures.as_ref().ok_or_else(|| {
                    "no sample of the server's link arrived (a server older than report 1.5.0, or none \
                     sent before the soak ended)"
                        .into()
                }),
            ),
        ];
        // The traffic runs over the live link whatever is replayed: its port's speed judges it.
        let port_speed_bps = link
            .and_then(|l| l.client.as_ref().or(l.server.as_ref()))
            .and_then(|r| r.facts.line_rate_bps());
        let verdict = judge(&Judged {
            profile: path,
            sides,
            traffic: &client_t,
            throughput: &self.extremes,
            port_speed_bps,
            probe_p99_us: self.probe_p99_us.clone(),
            ended_early: ended_early.clone(),
        });
        SoakSummary {
            replayed: self.replayed.as_ref().map(|(what, _)| what.clone()),
            client_figures: client_figures.clone(),
            server_figures: server_figures.clone(),
            verdict,
            series: self.settings.series.display().to_string(),
            sample_interval_s: self.settings.sample_interval_s,
            samples: self.samples,
            measured_samples: self.measured_samples,
            throughput: self.extremes.clone(),
            link_flaps: self.flaps.clone(),
            client_link: self.last_client.as_ref().map(|s| s.cumulative.clone()),
            server_link: self.last_server.as_ref().map(|s| s.cumulative.clone()),
            probe_p99_us: self.probe_p99_us.clone(),
            modules: self.modules(link),
            ended_early,
        }
    }

    /// Each side's module: the replayed one for a replayed client, else the live port's.
    fn modules(&self, link: Option<&LinkSides>) -> Vec<SoakModule> {
        let live = |side: &str, l: Option<&crate::diag::link::LinkReport>| {
            l.and_then(|l| l.module.as_ref())
                .map(|m| SoakModule::named(side, &m.info, false))
        };
        let client = match &self.replayed {
            Some(_) => self.replayed_module.clone(),
            None => live("client", link.and_then(|l| l.client.as_ref())),
        };
        let server = live("server", link.and_then(|l| l.server.as_ref()));
        client.into_iter().chain(server).collect()
    }
}

/// What selects a side's profile layers: its module's media and part number, its port's speed.
fn selector(link: Option<&crate::diag::link::LinkReport>) -> Selector {
    let Some(link) = link else {
        return Selector::default();
    };
    let module = link.module.as_ref().map(|m| &m.info);
    Selector {
        media: module.and_then(|m| media_name(m.media)),
        speed_gbps: link.facts.line_rate_bps().map(|b| b / 1e9),
        part_number: module.and_then(|m| m.part_number.clone()),
    }
}

/// A module's media as a profile's `[media.NAME]` names it.
fn media_name(media: crate::diag::module::Media) -> Option<String> {
    match media {
        crate::diag::module::Media::Optical => Some("optical".into()),
        crate::diag::module::Media::Copper => Some("copper".into()),
        crate::diag::module::Media::Unknown => None,
    }
}

/// The most bytes a server's link sample may take in the series: a real NIC's sample (only the
/// counters that moved, a module's monitors) is a few KiB; a server that sends more is not trusted
/// with the disk.
pub const MAX_SERVER_SAMPLE_BYTES: usize = 64 << 10;

/// The server's sample if it is within [`MAX_SERVER_SAMPLE_BYTES`], else a note saying it was left out.
fn bounded(link: Option<LinkSample>) -> (Option<LinkSample>, Vec<String>) {
    let size = link
        .as_ref()
        .and_then(|l| serde_json::to_vec(l).ok())
        .map_or(0, |v| v.len());
    if size <= MAX_SERVER_SAMPLE_BYTES {
        return (link, Vec::new());
    }
    (
        None,
        vec![format!(
            "the server's link sample was {size} bytes, over the {MAX_SERVER_SAMPLE_BYTES} a sample may \
             take; left out"
        )],
    )
}

/// Which direction the bytes each side counts moved: (server's, client's). A TCP side counts what it
/// received; an RDMA side what it posted (see [`crate::results::rdma_direction`]).
fn counting_directions(spec: &TrialSpec) -> (Option<Direction>, Option<Direction>) {
    if spec.test == TestKind::Lat {
        return (None, None);
    }
    match (spec.transport, &spec.rdma) {
        (TransportKind::Rdma, Some(rdma)) => (
            spec.server_sends()
                .then(|| crate::results::rdma_direction(rdma.op, false)),
            spec.client_sends()
                .then(|| crate::results::rdma_direction(rdma.op, true)),
        ),
        _ => (
            spec.client_sends().then_some(Direction::ClientToServer),
            spec.server_sends().then_some(Direction::ServerToClient),
        ),
    }
}

/// A probe window as the series line carries it.
fn probe_sample(w: &ProbeWindow) -> ProbeSample {
    ProbeSample {
        count: w.round_trips,
        p50_ns: w.p50_ns,
        p99_ns: w.p99_ns,
        max_ns: w.max_ns,
        missed_slots: w.missed_slots,
        window_s: w.seconds,
    }
}

/// The rate between two marks of one counting side; none for its first mark and for the interval in
/// which its measured phase started (part of it was warm-up, whose bytes are not counted).
fn interval_rate(
    direction: Direction,
    counted_by: &str,
    last: Option<Mark>,
    now: Mark,
) -> Option<SampleThroughput> {
    let last = last.filter(|l| l.measuring && now.measuring)?;
    let seconds = now.seconds - last.seconds;
    let bytes = now.bytes.saturating_sub(last.bytes);
    (seconds > 0.0).then(|| SampleThroughput {
        direction,
        bits_per_second: bytes as f64 * 8.0 / seconds,
        bytes,
        seconds,
        counted_by: counted_by.into(),
    })
}

fn note_extreme(extremes: &mut Vec<ThroughputExtremes>, t: &SampleThroughput, sample: u64) {
    let Some(e) = extremes.iter_mut().find(|e| e.direction == t.direction) else {
        extremes.push(ThroughputExtremes {
            direction: t.direction,
            min_bits_per_second: t.bits_per_second,
            min_at_sample: sample,
            max_bits_per_second: t.bits_per_second,
            max_at_sample: sample,
            samples: 1,
        });
        return;
    };
    e.samples += 1;
    if t.bits_per_second < e.min_bits_per_second {
        e.min_bits_per_second = t.bits_per_second;
        e.min_at_sample = sample;
    }
    if t.bits_per_second > e.max_bits_per_second {
        e.max_bits_per_second = t.bits_per_second;
        e.max_at_sample = sample;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::counters::CounterDelta;
    use crate::diag::link::LinkVerdict;
    use crate::diag::sampler::LinkInterval;
    use crate::plan::{RdmaOp, RdmaSettings, StopCondition};

    fn spec(transport: TransportKind, test: TestKind, reverse: bool) -> TrialSpec {
        TrialSpec {
            transport,
            test,
            message_size: 65536,
            streams: 1,
            stop: StopCondition::Duration { seconds: 60.0 },
            warmup_s: 1.0,
            interval_s: 10.0,
            reverse,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: (transport == TransportKind::Rdma)
                .then(|| RdmaSettings::perftest_defaults(RdmaOp::Read, test)),
            link_samples: true,
            probe: None,
        }
    }

    #[test]
    fn each_side_counts_the_direction_it_receives_or_posts() {
        use Direction::{ClientToServer as C2S, ServerToClient as S2C};
        let tcp = |test, reverse| counting_directions(&spec(TransportKind::Tcp, test, reverse));
        assert_eq!(tcp(TestKind::Bw, false), (Some(C2S), None));
        assert_eq!(tcp(TestKind::Bw, true), (None, Some(S2C)));
        assert_eq!(tcp(TestKind::Bibw, false), (Some(C2S), Some(S2C)));
        assert_eq!(tcp(TestKind::Lat, false), (None, None));
        // An RDMA read posted by the client brings the server's data to it.
        let read = counting_directions(&spec(TransportKind::Rdma, TestKind::Bw, false));
        assert_eq!(read, (None, Some(S2C)));
    }

    #[test]
    fn a_rate_needs_two_measured_marks() {
        let mark = |seconds, bytes, measuring| Mark {
            seconds,
            bytes,
            measuring,
        };
        let d = Direction::ClientToServer;
        assert_eq!(interval_rate(d, "server", None, mark(1.0, 0, true)), None);
        // The phase started inside this interval: part of it was warm-up, so no figure.
        assert_eq!(
            interval_rate(d, "server", Some(mark(1.0, 0, false)), mark(2.0, 10, true)),
            None
        );
        let r = interval_rate(
            d,
            "server",
            Some(mark(2.0, 100, true)),
            mark(4.0, 1_000_100, true),
        );
        let r = r.unwrap();
        assert_eq!((r.bytes, r.seconds), (1_000_000, 2.0));
        assert!((r.bits_per_second - 4e6).abs() < 1e-6);
    }

    fn sample(notes: usize) -> LinkSample {
        let verdict = LinkVerdict {
            notes: vec!["x".repeat(1000); notes],
            ..Default::default()
        };
        LinkSample {
            interface: "eth0".into(),
            operstate: Some("up".into()),
            at_s: 1.0,
            interval: LinkInterval {
                seconds: 1.0,
                delta: CounterDelta::default(),
                verdict: verdict.clone(),
            },
            cumulative: verdict,
            module: None,
            module_unavailable: None,
            unavailable: Vec::new(),
            cost_us: 10.0,
            replayed_from: None,
        }
    }

    #[test]
    fn an_oversized_server_sample_is_left_out_with_a_note() {
        let (kept, notes) = bounded(Some(sample(2)));
        assert!(kept.is_some() && notes.is_empty());
        let (kept, notes) = bounded(Some(sample(300)));
        assert!(kept.is_none());
        assert!(notes[0].contains("left out"), "{notes:?}");
        assert_eq!(bounded(None), (None, Vec::new()));
    }

    #[test]
    fn extremes_remember_where_they_happened() {
        let mut e = Vec::new();
        let t = |bps: f64| SampleThroughput {
            direction: Direction::ClientToServer,
            bits_per_second: bps,
            bytes: 0,
            seconds: 1.0,
            counted_by: "server".into(),
        };
        for (i, bps) in [5.0, 9.0, 1.0, 7.0].into_iter().enumerate() {
            note_extreme(&mut e, &t(bps), i as u64);
        }
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].min_at_sample, e[0].max_at_sample, e[0].samples),
            (2, 1, 4)
        );
    }
}
