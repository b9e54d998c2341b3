//! The control protocol spoken by hand, for tests that act as a hostile client: a session that says
//! hello, sets up a trial, opens its data connections and then misbehaves.

use linkbench::control::{
    frame, ClientMessage, ServerMessage, CONTROL_PREAMBLE, DATA_PREAMBLE, SERVER_PREAMBLE,
};
use linkbench::plan::{StopCondition, TestKind, TransportKind, TrialSpec};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A control session spoken by hand.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    /// Connects, says hello and returns the session with the server's first answer.
    pub fn hello(addr: &str) -> (Raw, ServerMessage) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(CONTROL_PREAMBLE).unwrap();
        frame::write_frame(
            &mut s,
            &ClientMessage::Hello {
                protocol_version: linkbench::control::PROTOCOL_VERSION,
                tool_version: "hostile".into(),
                client_nonce: None,
            },
        )
        .unwrap();
        let mut preamble = [0u8; 8];
        s.read_exact(&mut preamble).unwrap();
        assert_eq!(&preamble, SERVER_PREAMBLE);
        let mut raw = Raw { s };
        let first = raw.read();
        (raw, first)
    }

    /// A session that got its welcome.
    pub fn welcomed(addr: &str) -> Raw {
        let (raw, first) = Raw::hello(addr);
        assert!(matches!(first, ServerMessage::Welcome { .. }), "{first:?}");
        raw
    }

    pub fn send(&mut self, m: &ClientMessage) {
        frame::write_frame(&mut self.s, m).unwrap();
    }

    pub fn read(&mut self) -> ServerMessage {
        frame::read_frame(&mut self.s, 16 << 20).unwrap()
    }

    /// Reads past live updates to the next other message.
    pub fn read_past_intervals(&mut self) -> ServerMessage {
        loop {
            match self.read() {
                ServerMessage::Interval { .. } => {}
                other => return other,
            }
        }
    }

    /// Sets up `spec`, opens its data connections and says start; returns the data connections.
    pub fn start(&mut self, addr: &str, spec: TrialSpec) -> Vec<TcpStream> {
        let streams = spec.streams;
        self.send(&ClientMessage::Setup { spec, rdma: None });
        let ServerMessage::Ready { cookie, .. } = self.read() else {
            panic!("no ready")
        };
        let cookie = linkbench::control::auth::unhex(&cookie).unwrap();
        let data = (0..streams)
            .map(|i| {
                let mut d = TcpStream::connect(addr).unwrap();
                d.write_all(&[DATA_PREAMBLE.as_slice(), &cookie, &i.to_be_bytes()].concat())
                    .unwrap();
                d
            })
            .collect();
        self.send(&ClientMessage::Start);
        data
    }
}

pub fn spec(seconds: f64) -> TrialSpec {
    TrialSpec {
        transport: TransportKind::Tcp,
        test: TestKind::Bw,
        message_size: 4096,
        streams: 1,
        stop: StopCondition::Duration { seconds },
        warmup_s: 0.0,
        interval_s: 1.0,
        reverse: false,
        zerocopy: false,
        busy_poll: false,
        recv_mode: Default::default(),
        server_cpus: None,
        trial: 0,
        rdma: None,
        link_samples: false,
        probe: None,
    }
}
