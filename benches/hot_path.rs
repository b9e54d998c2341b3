//! Hot-path costs: one timestamp plus one histogram record (what every latency sample pays), and one
//! control frame encoded and decoded.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use linkbench::control::frame::{decode_body, encode_frame};
use linkbench::control::ClientMessage;
use linkbench::plan::{StopCondition, TestKind, TransportKind, TrialSpec};
use linkbench::stats::LatencyRecorder;
use std::time::Instant;

fn timestamp_and_record(c: &mut Criterion) {
    let mut recorder = LatencyRecorder::new();
    let start = Instant::now();
    c.bench_function("timestamp + histogram record", |b| {
        b.iter(|| {
            let now = Instant::now();
            recorder.record(black_box(
                now.duration_since(start).as_nanos() as u64 % 1_000_000 + 1,
            ));
        })
    });
    c.bench_function("timestamp only", |b| b.iter(|| black_box(Instant::now())));
}

fn frame_codec(c: &mut Criterion) {
    let setup = ClientMessage::Setup {
        spec: TrialSpec {
            transport: TransportKind::Tcp,
            test: TestKind::Bw,
            message_size: 65536,
            streams: 4,
            stop: StopCondition::Duration { seconds: 5.0 },
            warmup_s: 1.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: Some(vec![2, 3]),
            trial: 0,
            rdma: None,
            link_samples: false,
            probe: None,
        },
        rdma: None,
    };
    c.bench_function("frame encode (setup)", |b| {
        b.iter(|| encode_frame(black_box(&setup)).unwrap())
    });
    let frame = encode_frame(&setup).unwrap();
    c.bench_function("frame decode (setup)", |b| {
        b.iter(|| decode_body::<ClientMessage>(black_box(&frame[4..])).unwrap())
    });
}

criterion_group!(benches, timestamp_and_record, frame_codec);
criterion_main!(benches);
