//! linkbench-server: parse arguments, serve until stopped.

use linkbench::cli::{parse_or_exit, ServerArgs};
use linkbench::server::Server;

fn main() {
    let args: ServerArgs = parse_or_exit("linkbench-server");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINKBENCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("linkbench-server: error: {e}");
            std::process::exit(2);
        }
    };
    let server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("linkbench-server: error: {e}");
            std::process::exit(1);
        }
    };
    match server.local_addr() {
        Ok(addr) => tracing::info!(
            "linkbench-server {} listening on {addr}",
            env!("CARGO_PKG_VERSION")
        ),
        Err(e) => tracing::warn!("listening (address unknown: {e})"),
    }
    if let Err(e) = server.run() {
        eprintln!("linkbench-server: error: {e}");
        std::process::exit(1);
    }
}
