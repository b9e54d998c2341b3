//! The harness's module graph stays one-way. `src/lib.rs` declares its modules from the bottom up; a
//! file of module M (`src/M.rs` or `src/M/**.rs`) may name `crate::N` only for an N declared before M.
//! Comments, string literals and `#[cfg(test)]` tails (tests may reach for helpers anywhere) are not
//! read. The layering table in lib.rs's doc must list the modules in the same order and, for each, the
//! modules it uses, so that the doc is the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules `lib.rs` declares (`pub mod NAME;` or `mod NAME;` at the start of a line), in order.
fn declared(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let l = l.trim_end();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_string())
        })
        .collect()
}

/// The layering table in lib.rs's doc: `//! | `module` | what | uses |`, uses a comma-separated list
/// or `-`; in order.
fn documented(lib: &str) -> Vec<(String, BTreeSet<String>)> {
    lib.lines()
        .filter_map(|l| l.strip_prefix("//! |"))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let uses = cells.get(cells.len().checked_sub(2)?)?;
            let uses = uses
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty() && *u != "-")
                .map(String::from)
                .collect();
            Some((name.to_string(), uses))
        })
        .collect()
}

/// Rust source with comments and the contents of string and character literals blanked out (a literal
/// becomes `""`), cut at the first `#[cfg(test)]`.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let get = |j: usize| c.get(j).copied().unwrap_or('\0');
        if c[i] == '/' && get(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && get(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    break;
                }
                if c[i] == '/' && get(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && get(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (get(i + 1) == '"'
                || (get(i + 1) == '#' && (get(i + 2) == '"' || get(i + 2) == '#')))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // r"..." or r#"..."#: ends at a quote followed by as many #.
            let mut hashes = 0;
            i += 1;
            while get(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < c.len() && !(c[i] == '"' && (1..=hashes).all(|k| get(i + k) == '#')) {
                i += 1;
            }
            i += 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (get(i + 2) == '\'' || get(i + 1) == '\\') {
            // A character literal ('x', '\n', '\'', '\u{..}'); a lifetime ('a) is left alone.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    match out.find("#[cfg(test)]") {
        Some(at) => out[..at].to_string(),
        None => out,
    }
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a piece of code names as `crate::NAME` or in `crate::{A, B::c, ...}`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|ch| ch.is_alphanumeric() || ch == '_' || ch == '$') {
            continue; // `linkbench_harness::`-like names, or `$crate` in a macro
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (k, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    ch if ch.is_whitespace() => continue,
                    _ => {}
                }
                if item_start && depth == 0 {
                    refs.insert(ident(&group[k..]).to_string());
                }
                item_start = false;
            }
        } else {
            refs.insert(ident(rest).to_string());
        }
    }
    refs.retain(|r| !r.is_empty() && r != "self");
    refs
}

/// Every .rs file under `dir`, with the top-level module it belongs to (`None` for lib.rs and main.rs).
fn files(dir: &Path, top: Option<&str>, out: &mut Vec<(PathBuf, Option<String>)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if p.is_dir() {
            files(&p, Some(top.unwrap_or(&name)), out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let module = match top {
                Some(t) => Some(t.to_string()),
                None if stem == "lib" || stem == "main" => None,
                None => Some(stem.to_string()),
            };
            out.push((p, module));
        }
    }
}

/// The module graph of `src/`: module -> modules it names, from the code outside test tails.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&src(), None, &mut all);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, module) in all {
        let Some(module) = module else { continue };
        let text = std::fs::read_to_string(&path).unwrap();
        let refs = crate_refs(&code_only(&text));
        graph
            .entry(module.clone())
            .or_default()
            .extend(refs.into_iter().filter(|r| *r != module));
    }
    graph
}

#[test]
fn every_module_uses_only_modules_declared_before_it() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let order = declared(&lib);
    let layer = |m: &str| order.iter().position(|d| d == m);
    let graph = graph();
    let mut problems = Vec::new();
    for (module, uses) in &graph {
        let Some(mine) = layer(module) else {
            problems.push(format!("src/{module}: not declared in src/lib.rs"));
            continue;
        };
        for used in uses {
            match layer(used) {
                None => problems.push(format!(
                    "{module} uses crate::{used}, which src/lib.rs does not declare"
                )),
                Some(theirs) if theirs > mine => problems.push(format!(
                    "{module} (layer {}) uses crate::{used} (layer {}), declared above it in \
                     src/lib.rs: move what it needs down, or {module} up",
                    mine + 1,
                    theirs + 1
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the module graph must be one-way:\n  {}",
        problems.join("\n  ")
    );
    let edges: Vec<String> = graph
        .iter()
        .flat_map(|(m, uses)| uses.iter().map(move |u| format!("{m} -> {u}")))
        .collect();
    eprintln!(
        "harness module graph ({} edges): {}",
        edges.len(),
        edges.join(", ")
    );
}

#[test]
fn the_layering_table_in_lib_rs_is_the_graph() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let table = documented(&lib);
    let names: Vec<&String> = table.iter().map(|(n, _)| n).collect();
    let order = declared(&lib);
    assert_eq!(
        names,
        order.iter().collect::<Vec<_>>(),
        "the table in lib.rs's doc lists the modules in their declared order"
    );
    let graph = graph();
    for (name, uses) in &table {
        let actual = graph.get(name).cloned().unwrap_or_default();
        assert_eq!(
            uses, &actual,
            "lib.rs's table says {name} uses {uses:?}; the code uses {actual:?}"
        );
    }
}

#[test]
fn the_checker_reads_paths_and_groups_and_skips_comments_strings_and_tests() {
    let code = r##"
//! Uses crate::export in a doc comment: not a use.
use crate::model::{PairOutcome, Verdict};
use crate::{
    plan::{Plan, Suite},
    schedule,
    self,
};
/* crate::runner in a /* nested */ block comment */
fn f() -> String {
    let _ = crate::judge::judge;
    let lifetime: &'static str = "crate::baseline in a string";
    let raw = r#"crate::launcher in a raw "string""#;
    let ch = '"';
    format!("{}{}{ch}", lifetime, raw) + "\"crate::export\""
}
fn g<'a>(x: &'a str) -> &'a str { linkbench_harness::export::x(); x }
#[cfg(test)]
mod tests {
    use crate::export::table;
}
"##;
    let refs = crate_refs(&code_only(code));
    let want: BTreeSet<String> = ["model", "plan", "schedule", "judge"]
        .map(String::from)
        .into();
    assert_eq!(refs, want);
    let lib = "//! | `a` | x | - |\n//! | `b` | y, z | a |\npub mod a;\n\nmod b;\n";
    assert_eq!(declared(lib), ["a", "b"]);
    assert_eq!(
        documented(lib),
        [
            ("a".to_string(), BTreeSet::new()),
            ("b".to_string(), ["a".to_string()].into())
        ]
    );
}
