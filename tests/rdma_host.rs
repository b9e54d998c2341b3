//! RDMA on a host without RDMA (this one, and CI's): the binaries do not link libibverbs, `--transport
//! rdma` is a one-line error that says what to install or check and still writes its report, a server
//! asked for an RDMA trial says why it cannot and goes on serving TCP, and RDMA flags need the transport.
//! (The verbs themselves run under soft-RoCE: scripts/softroce-vm.sh.)

mod common;

use common::{client, read_valid_report, stderr_lines, ServerProcess};
use linkbench::control::{frame, ClientMessage, ServerMessage, CONTROL_PREAMBLE, PROTOCOL_VERSION};
use linkbench::plan::{RdmaOp, RdmaSettings, StopCondition, TestKind, TransportKind, TrialSpec};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Whether this host really has no usable RDMA device (then the error paths below are the ones taken).
/// On a host with one (a developer's RDMA machine, a soft-RoCE setup) these paths cannot be reached, so
/// the tests that need them are skipped, loudly. That cannot be a failure: nothing is missing, the host
/// just has what makes the test moot, and CI (no RDMA device) always runs them. The RDMA paths
/// themselves are tested under soft-RoCE (scripts/softroce-vm.sh).
fn host_without_rdma(test: &str) -> bool {
    match linkbench::transport::rdma::setup::check_available() {
        Err(_) => true,
        Ok(_) => {
            eprintln!(
                "SKIPPED: {test}: this host has a usable RDMA device, so the no-RDMA paths this test \
                 checks cannot be taken (CI, without RDMA, runs it)"
            );
            false
        }
    }
}

#[test]
fn the_binaries_do_not_link_libibverbs() {
    for bin in [
        env!("CARGO_BIN_EXE_linkbench-client"),
        env!("CARGO_BIN_EXE_linkbench-server"),
    ] {
        let out = std::process::Command::new("ldd").arg(bin).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "ldd {bin}: {text}");
        assert!(
            !text.contains("ibverbs") && !text.contains("rdmacm"),
            "{bin} links the verbs libraries at load time, so it would not start without rdma-core:\n{text}"
        );
    }
}

#[test]
fn transport_rdma_without_rdma_is_a_one_line_error_with_a_report() {
    if !host_without_rdma("transport_rdma_without_rdma_is_a_one_line_error_with_a_report") {
        return;
    }
    let server = ServerProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let output = client(&server.addr)
        .args(["--transport", "rdma", "--op", "send", "--iterations", "10"])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    let error: Vec<&String> = lines.iter().filter(|l| l.contains("error:")).collect();
    assert_eq!(error.len(), 1, "{lines:?}");
    let e = error[0];
    assert!(
        (e.contains("RDMA is not available") && e.contains("install rdma-core"))
            || (e.contains("no RDMA device") && e.contains("rdma_rxe")),
        "{e}"
    );
    assert!(e.contains("--transport tcp"), "{e}");
    let report = read_valid_report(&json);
    assert_eq!(report["status"], "incomplete");
    assert!(report["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("RDMA"));

    // The same binaries still run TCP.
    let output = client(&server.addr)
        .args(["--iterations", "200", "--warmup", "0", "--quiet"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", stderr_lines(&output));
}

fn rdma_spec() -> TrialSpec {
    TrialSpec {
        transport: TransportKind::Rdma,
        test: TestKind::Bw,
        message_size: 65536,
        streams: 1,
        stop: StopCondition::Iterations { count: 10 },
        warmup_s: 0.0,
        interval_s: 1.0,
        reverse: false,
        zerocopy: false,
        busy_poll: false,
        recv_mode: Default::default(),
        server_cpus: None,
        trial: 0,
        rdma: Some(RdmaSettings::perftest_defaults(RdmaOp::Write, TestKind::Bw)),
        link_samples: false,
        probe: None,
    }
}

#[test]
fn a_server_without_rdma_says_why_and_keeps_serving() {
    if !host_without_rdma("a_server_without_rdma_says_why_and_keeps_serving") {
        return;
    }
    let mut server = ServerProcess::start(&[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(CONTROL_PREAMBLE).unwrap();
    frame::write_frame(
        &mut s,
        &ClientMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            tool_version: "test".into(),
            client_nonce: None,
        },
    )
    .unwrap();
    let mut preamble = [0u8; 8];
    s.read_exact(&mut preamble).unwrap();
    assert!(matches!(
        frame::read_frame::<ServerMessage>(&mut s, 1 << 20).unwrap(),
        ServerMessage::Welcome { .. }
    ));
    // An RDMA setup without the client's queue pairs, then one with made-up queue pairs: both get an
    // error that names the problem, and the session stays usable.
    let endpoint = linkbench::transport::rdma::QpEndpoint {
        qpn: 17,
        psn: 1,
        lid: 0,
        gid: "::ffff:127.0.0.1".into(),
        rkey: 1,
        addr: 4096,
        len: 65536,
    };
    let offer = linkbench::transport::rdma::RdmaOffer {
        endpoints: vec![endpoint],
        port: Default::default(),
    };
    for (rdma, expect) in [
        (None, "needs the client's queue pairs"),
        (Some(Box::new(offer)), "RDMA"),
    ] {
        frame::write_frame(
            &mut s,
            &ClientMessage::Setup {
                spec: rdma_spec(),
                rdma,
            },
        )
        .unwrap();
        match frame::read_frame::<ServerMessage>(&mut s, 1 << 20).unwrap() {
            ServerMessage::Error { message } => assert!(message.contains(expect), "{message}"),
            other => panic!("expected an error, got {other:?}"),
        }
    }
    frame::write_frame(&mut s, &ClientMessage::Bye).unwrap();
    drop(s);
    assert!(server.is_running());
    let output = client(&server.addr)
        .args(["--iterations", "200", "--warmup", "0", "--quiet"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{:?}", stderr_lines(&output));
}

#[test]
fn rdma_flags_need_the_rdma_transport_and_tcp_flags_the_tcp_one() {
    for (args, expect) in [
        (
            vec!["--op", "read"],
            "--op applies to --transport rdma only",
        ),
        (
            vec!["--tx-depth", "64"],
            "--tx-depth applies to --transport rdma only",
        ),
        (vec!["--transport", "rdma", "--zerocopy"], "TCP options"),
        (
            vec!["--transport", "rdma", "--mtu", "1500"],
            "not an RDMA path MTU",
        ),
        (
            vec!["--transport", "rdma", "--op", "atomic", "--size", "64"],
            "--op atomic moves 8 bytes",
        ),
        (
            vec!["--transport", "rdma", "--op", "cas"],
            "invalid value 'cas'",
        ),
    ] {
        let output = client("127.0.0.1:9").args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let lines = stderr_lines(&output);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains(expect), "{args:?}: {}", lines[0]);
    }
}
