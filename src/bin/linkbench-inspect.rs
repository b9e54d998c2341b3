//! linkbench-inspect: what this host's links are made of. No arguments: every interface and RDMA device
//! as JSON; `--interface IF` one; `--eeprom FILE` decodes a raw module EEPROM dump
//! (`ethtool -m IF raw on > FILE`: a regular file of at most 768 bytes, the largest dump the decoders
//! accept). Exit 0; 1 when standard output cannot be written; 2 with a one-line error for bad input.

use clap::Parser;
use linkbench::cli::parse_or_exit;
use linkbench::diag::module;
use linkbench::inspect;
use std::path::PathBuf;

/// Output format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Table,
}

/// linkbench-inspect: host, interface, transceiver and RDMA inventory.
#[derive(Debug, Parser)]
#[command(name = "linkbench-inspect", version, about, long_about = None)]
struct Args {
    /// Inspect only this network interface.
    #[arg(long, value_name = "IF", conflicts_with = "eeprom")]
    interface: Option<String>,
    /// Decode a raw module EEPROM dump instead of inspecting the host.
    #[arg(long, value_name = "FILE")]
    eeprom: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Read sysfs/procfs under this directory instead of / (a fixture tree; no kernel calls are made).
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    root: PathBuf,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("linkbench-inspect: error: {message}");
    std::process::exit(2);
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("inventory serializes") + "\n"
}

fn main() {
    let args: Args = parse_or_exit("linkbench-inspect");
    let text = if let Some(path) = &args.eeprom {
        let limit = linkbench::files::Limit {
            bytes: module::MAX_DUMP_BYTES as u64,
            what: "a module EEPROM dump",
        };
        let bytes = linkbench::files::read_regular(path, limit).unwrap_or_else(|e| fail(e));
        let m = module::decode(&bytes).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        match args.format {
            Format::Json => json(&m),
            Format::Table => inspect::module_table(&m),
        }
    } else if let Some(name) = &args.interface {
        let one = inspect::interface(&args.root, name).unwrap_or_else(|e| fail(e));
        match args.format {
            Format::Json => json(&one),
            Format::Table => inspect::inventory_table(&inspect::Inventory {
                host: linkbench::diag::HostFacts::collect(&args.root),
                interfaces: vec![one],
                rdma_devices: Vec::new(),
                unavailable: Vec::new(),
            }),
        }
    } else {
        let inv = inspect::inventory(&args.root).unwrap_or_else(|e| fail(e));
        match args.format {
            Format::Json => json(&inv),
            Format::Table => inspect::inventory_table(&inv),
        }
    };
    if let Err(e) = linkbench::cli::print_stdout(&text, "redirect it to a file with room") {
        eprintln!("linkbench-inspect: error: {e}");
        std::process::exit(1);
    }
}
