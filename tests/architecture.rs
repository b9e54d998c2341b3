//! The module graph is one-way: every top-level module of `src/` may use only modules in layers below
//! its own (README, "Design notes"). This test reads every `crate::NAME` path in the code (comments and
//! `#[cfg(test)]` sections left out) and fails on any reference that goes up or sideways, naming the
//! file and both modules, so the graph cannot knot again without someone changing the layers here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first; a module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Leaves: plain helpers and the plan.
    &["files", "plan", "stats", "sysfs", "text", "units"],
    // Facts about the machine: its clock, host, links, modules, RDMA ports.
    &["clock", "cputime", "diag"],
    // What travels between the sides and what a report says.
    &["model"],
    // Data paths (the only raw calls, with diag's ioctl).
    &["transport"],
    // The loops on pinned threads.
    &["engine"],
    // Figures from what the loops measured.
    &["results", "profile"],
    // The control protocol; reports written and shown.
    &["control", "report"],
    // One trial, as both sides run it.
    &["trial"],
    // Sessions and tools.
    &["client", "server", "inspect", "compare"],
    // Command lines.
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its test module (`#[cfg(test)] mod ...`).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module named after `crate::`, including those in grouped imports (`crate::{a, b::c}`).
fn used_modules(code: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            used.extend(group.split(',').filter_map(|part| first_name(part.trim())));
        } else if let Some(name) = first_name(rest) {
            used.push(name);
        }
    }
    used
}

fn first_name(path: &str) -> Option<String> {
    let name: String = path
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The top-level module a file belongs to (`src/engine/rdma.rs` is `engine`); `None` for the crate root
/// and the binaries.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "bin").then_some(name)
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut unlayered = Vec::new();
    let mut violations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            unlayered.push(module);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in used_modules(&code(&text)) {
            let Some(theirs) = layer_of(&used) else {
                continue;
            };
            if used != module && theirs >= own {
                let rel = file.strip_prefix(&src).unwrap().display().to_string();
                violations
                    .entry(format!("{module} -> {used}"))
                    .or_default()
                    .push(rel);
            }
        }
    }
    unlayered.sort();
    unlayered.dedup();
    assert!(
        unlayered.is_empty(),
        "modules not in any layer (add them to LAYERS in tests/architecture.rs): {unlayered:?}"
    );
    assert!(
        violations.is_empty(),
        "modules using modules that are not below them: {violations:#?}"
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_paths() {
    let text =
        "use crate::{engine::x, model};\n// crate::cli in a comment\nlet a = crate::report::f();";
    assert_eq!(used_modules(&code(text)), ["engine", "model", "report"]);
}
