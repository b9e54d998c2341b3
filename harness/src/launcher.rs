//! Launchers: how a command reaches a host. Each turns (node, argv) into a local command line: `ssh`,
//! `pdsh -w`, `srun --nodelist`, or the command itself (`local`), optionally behind a `wrap` prefix
//! (`nsenter --net=/run/netns/{host}` for namespaces). The harness adds nothing of its own on the hosts:
//! they need only linkbench-server, linkbench-client and coreutils' `timeout`.

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
            c.arg(node);
            c.arg("--");
            c.arg(
                full.iter()
                    .map(|w| shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            c
        }
        LauncherKind::Pdsh => {
            let mut c = Command::new("pdsh");
            // -S: exit with the remote command's status.
            c.args(["-S", "-w", node]);
            if let Some(r) = &launcher.pdsh_rcmd {
                c.args(["-R", r]);
            }
            c.args(&full);
            c
        }
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

/// Removes a launcher's per-line prefix (`pdsh` writes `node: ` before every line).
pub fn strip_prefix<'a>(launcher: &Launcher, node: &str, line: &'a str) -> &'a str {
    match launcher.kind {
        LauncherKind::Pdsh => line.strip_prefix(&format!("{node}: ")).unwrap_or(line),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn launcher(kind: &str, extra: &str) -> Launcher {
        let text = format!(
            "name='x'\n[launcher]\nkind='{kind}'\n{extra}\n[hosts]\na='1'\nb='2'\n[[suite]]\ntopology='all-pairs'\ntests=[{{}}]\n"
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
            ssh[ssh.len() - 2..],
            ["--", "linkbench-server --bind 10.0.0.1:18515"]
        );
        let pdsh = argv(&command(
            &launcher(
                "pdsh",
                "pdsh_rcmd='exec'\nwrap=['nsenter','--net=/run/netns/{host}']",
            ),
            "h2",
            &a,
        ));
        assert_eq!(pdsh[..6], ["pdsh", "-S", "-w", "h2", "-R", "exec"]);
        assert_eq!(pdsh[6..8], ["nsenter", "--net=/run/netns/h2"]);
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
    }
}
