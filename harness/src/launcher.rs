//! Launchers: how a command reaches a host. Each turns (node, argv) into a local command line: `ssh`,
//! `pdsh -w`, `srun --nodelist`, or the command itself (`local`), optionally behind a `wrap` prefix
//! (`nsenter --net=/run/netns/{host}` for namespaces). The harness adds nothing of its own on the hosts:
//! they need only linkbench-server, linkbench-client and coreutils' `timeout`.
//!
//! Every word arrives on the host as the same single word, whatever it holds (a label may carry spaces,
//! quotes, `;`, `$(...)` or `%`), because each is quoted for what parses it there:
//! - `ssh` and pdsh's shell rcmds (`ssh`, `rsh` and the others: pdsh joins the words into one line that
//!   the remote login shell runs): POSIX shell quoting; for pdsh the line also holds no `%`, which pdsh's
//!   ssh rcmd would read as `%h`/`%u`/`%n` (each `%` is written `"$(printf '\045')"`).
//! - pdsh `-R exec` runs the words as argv without a shell but expands `%h`, `%u`, `%n` and `%%` in all
//!   words after the first: each `%` there is doubled. It also ends the command at an empty word, so a
//!   command with one goes as `sh -c LINE` (run locally, as exec runs everything).
//! - `srun` and `local` pass argv as it is.
//!
//! The destination can never be read as an option: `ssh ... -- NODE COMMAND`; `pdsh -w NODE` and
//! `srun --nodelist NODE` take the node as the option's value; the plan refuses nodes that are not host
//! names or addresses (`plan::host_name_problem`).

use crate::plan::{Launcher, LauncherKind};
use std::process::Command;

/// Quotes one word for a POSIX shell (ssh runs the remote command through one).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Like [`shell_quote`], with every `%` written as `"$(printf '\045')"`: the shell turns it back into
/// `%`, and nothing on the way (pdsh's ssh rcmd expands `%h`, `%u`, `%n`) sees a `%`.
pub fn shell_quote_without_percent(word: &str) -> String {
    if !word.contains('%') {
        return shell_quote(word);
    }
    word.split('%')
        .map(|part| {
            if part.is_empty() {
                String::new()
            } else {
                shell_quote(part)
            }
        })
        .collect::<Vec<_>>()
        .join(r#""$(printf '\045')""#)
}

/// One command line for a remote shell: the words quoted by `quote` and joined with spaces. A first
/// word that starts with `-` gets an empty `''` before it (the shell drops it), so that a program that
/// reads options after the host (ssh under pdsh) cannot take the line for one.
pub fn remote_line(words: &[String], quote: fn(&str) -> String) -> String {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let q = quote(w);
            if i == 0 && q.starts_with('-') {
                format!("''{q}")
            } else {
                q
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Doubles every `%`: pdsh `-R exec` expands `%h`, `%u`, `%n` and `%%` in the words after the first.
pub fn pdsh_exec_escape(word: &str) -> String {
    word.replace('%', "%%")
}

/// The rcmd pdsh will use: the plan's `pdsh_rcmd`, else `PDSH_RCMD_TYPE` from the environment.
/// `None`: pdsh's built-in default (`rsh`, or whatever it was built with), which runs a shell.
fn pdsh_rcmd(launcher: &Launcher) -> Option<String> {
    launcher
        .pdsh_rcmd
        .clone()
        .or_else(|| std::env::var("PDSH_RCMD_TYPE").ok())
}

fn pdsh(launcher: &Launcher, node: &str, full: &[String]) -> Command {
    let mut c = Command::new("pdsh");
    // -S: exit with the remote command's status.
    c.args(["-S", "-w", node]);
    if let Some(r) = &launcher.pdsh_rcmd {
        c.args(["-R", r]);
    }
    c.arg("--");
    if pdsh_rcmd(launcher).as_deref() == Some("exec") {
        if full[1..].iter().any(String::is_empty) {
            // pdsh -R exec ends the command at an empty word: a local sh carries it instead.
            let line = remote_line(full, shell_quote);
            c.args(["sh", "-c", &pdsh_exec_escape(&line)]);
        } else {
            // pdsh runs full[0] itself (no expansion there) with the rest expanded.
            c.arg(&full[0]);
            c.args(full[1..].iter().map(|w| pdsh_exec_escape(w)));
        }
    } else {
        c.arg(remote_line(full, shell_quote_without_percent));
    }
    c
}

/// The local command that runs `argv` on `node`.
pub fn command(launcher: &Launcher, node: &str, argv: &[String]) -> Command {
    let mut full: Vec<String> = launcher
        .wrap
        .iter()
        .map(|w| w.replace("{host}", node))
        .collect();
    full.extend(argv.iter().cloned());
    match launcher.kind {
        LauncherKind::Local => {
            let mut c = Command::new(&full[0]);
            c.args(&full[1..]);
            c
        }
        LauncherKind::Ssh => {
            let mut c = Command::new("ssh");
            if let Some(cfg) = &launcher.ssh_config {
                c.args(["-F", cfg]);
            }
            c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
            c.args(&launcher.ssh_options);
            // After `--` ssh reads no more options: the node is the destination whatever it holds.
            c.arg("--");
            c.arg(node);
            c.arg(remote_line(&full, shell_quote));
            c
        }
        LauncherKind::Pdsh => pdsh(launcher, node, &full),
        LauncherKind::Slurm => {
            let mut c = Command::new("srun");
            c.args([
                "--nodelist",
                node,
                "--nodes=1",
                "--ntasks=1",
                "--job-name=linkbench",
                "--quiet",
                "--kill-on-bad-exit=1",
            ]);
            c.args(&launcher.srun_args);
            c.args(&full);
            c
        }
    }
}

/// Removes a launcher's per-line prefix (`pdsh` writes `node: ` before every line; for a node name
/// with dots it writes the name up to the first dot).
pub fn strip_prefix<'a>(launcher: &Launcher, node: &str, line: &'a str) -> &'a str {
    if launcher.kind != LauncherKind::Pdsh {
        return line;
    }
    let short = match node.split_once('.') {
        Some((first, _)) if node.parse::<std::net::IpAddr>().is_err() => first,
        _ => node,
    };
    [node, short]
        .iter()
        .find_map(|n| line.strip_prefix(n)?.strip_prefix(": "))
        .unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn launcher(kind: &str, extra: &str) -> Launcher {
        let text = format!(
            "name='x'\n[launcher]\nkind='{kind}'\n{extra}\n[hosts]\na='1.1.1.1'\nb='2.2.2.2'\n[[suite]]\ntopology='all-pairs'\ntests=[{{}}]\n"
        );
        Plan::parse(&text, "x").unwrap().launcher
    }

    fn argv(c: &Command) -> Vec<String> {
        std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn each_launcher_builds_its_command_line() {
        let a = vec![
            "linkbench-server".to_string(),
            "--bind".into(),
            "10.0.0.1:18515".into(),
        ];
        let ssh = argv(&command(&launcher("ssh", "ssh_config='/t/cfg'"), "h1", &a));
        assert_eq!(ssh[..3], ["ssh", "-F", "/t/cfg"]);
        assert_eq!(
            ssh[ssh.len() - 3..],
            ["--", "h1", "linkbench-server --bind 10.0.0.1:18515"]
        );
        let pdsh = argv(&command(
            &launcher(
                "pdsh",
                "pdsh_rcmd='exec'\nwrap=['nsenter','--net=/run/netns/{host}']",
            ),
            "h2",
            &a,
        ));
        assert_eq!(pdsh[..7], ["pdsh", "-S", "-w", "h2", "-R", "exec", "--"]);
        assert_eq!(pdsh[7..9], ["nsenter", "--net=/run/netns/h2"]);
        let pdsh_ssh = argv(&command(
            &launcher("pdsh", "pdsh_rcmd='ssh'"),
            "h2",
            &["a b".to_string(), "50%".into()],
        ));
        assert_eq!(
            pdsh_ssh[4..],
            ["-R", "ssh", "--", r#"'a b' 50"$(printf '\045')""#]
        );
        let srun = argv(&command(&launcher("slurm", ""), "h3", &a));
        assert_eq!(srun[..3], ["srun", "--nodelist", "h3"]);
        assert_eq!(srun[srun.len() - 3..], a[..]);
        let local = argv(&command(&launcher("local", ""), "h4", &a));
        assert_eq!(local, a);
    }

    #[test]
    fn quoting_survives_a_remote_shell() {
        assert_eq!(shell_quote("plain-1.0:x"), "plain-1.0:x");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b;rm -rf /"), "'a b;rm -rf /'");
        assert_eq!(shell_quote_without_percent("plain"), "plain");
        assert_eq!(
            shell_quote_without_percent("%h x%"),
            r#""$(printf '\045')"'h x'"$(printf '\045')""#
        );
        let words: Vec<String> = ["-x", "-y", "a%b", "", "it's", "$(x)", "`x`", "a\nb", "%"]
            .map(String::from)
            .to_vec();
        let line = remote_line(&words, shell_quote_without_percent);
        assert!(line.starts_with("''-x -y "), "{line}");
        assert!(!line.contains('%'), "{line}");
        let out = Command::new("sh")
            .args(["-c", &format!("printf '<%s>' {line}")])
            .output()
            .unwrap();
        let want: String = words.iter().map(|w| format!("<{w}>")).collect();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want);
        assert_eq!(pdsh_exec_escape("50%h%"), "50%%h%%");
    }

    #[test]
    fn pdsh_prefixes_come_off_for_short_and_full_names() {
        let l = launcher("pdsh", "");
        assert_eq!(strip_prefix(&l, "h1", "h1: {}"), "{}");
        assert_eq!(strip_prefix(&l, "n1.example.org", "n1: {}"), "{}");
        assert_eq!(strip_prefix(&l, "n1.example.org", "n1.example.org: x"), "x");
        assert_eq!(strip_prefix(&l, "10.0.0.1", "10.0.0.1: x"), "x");
        assert_eq!(strip_prefix(&l, "10.0.0.1", "10: x"), "10: x");
    }
}
