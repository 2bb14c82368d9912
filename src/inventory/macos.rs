//! macOS specifics of the portable inventory: the launchd job (its label, such as
//! `com.openssh.sshd`) each process runs as, best effort.
//!
//! Owns the one call of `launchctl list` and the parsing of its output. launchd answers
//! for the domain of the caller: run as root, the system daemons; run as a user, that
//! user's agents. A process launchd did not start itself (a child of a job, or anything
//! started from a shell) has no label here, nor does a job launchd reports without a PID.
//! Never fails a scan: when `launchctl` cannot be run, no owner gets a label.
//!
//! The parser is pure and tested on every OS; only macOS runs `launchctl`.

use std::collections::HashMap;

/// Labels of the running launchd jobs of the caller's domain by PID, from
/// `/bin/launchctl list`; empty when it cannot be run or fails.
#[cfg(target_os = "macos")]
pub(super) fn launchd_labels() -> HashMap<u32, String> {
    match std::process::Command::new("/bin/launchctl")
        .arg("list")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => parse_list(&String::from_utf8_lossy(&out.stdout)),
        _ => HashMap::new(),
    }
}

/// Parses `launchctl list`: a header line, then `PID<TAB>STATUS<TAB>LABEL` per job, with
/// `-` for a job that is not running. Several jobs of one PID (rare) are joined by `, ` in
/// sorted order, as Windows service names are. Lines that do not fit are skipped.
pub(super) fn parse_list(text: &str) -> HashMap<u32, String> {
    let mut labels: HashMap<u32, Vec<&str>> = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split('\t');
        let (Some(pid), Some(_status), Some(label)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (Ok(pid), label) = (pid.trim().parse::<u32>(), label.trim()) else {
            continue;
        };
        if pid > 0 && !label.is_empty() {
            labels.entry(pid).or_default().push(label);
        }
    }
    labels
        .into_iter()
        .map(|(pid, mut names)| {
            names.sort_unstable();
            names.dedup();
            (pid, names.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_jobs_by_pid() {
        let text = "PID\tStatus\tLabel\n\
                    -\t0\tcom.apple.SafariHistoryServiceAgent\n\
                    412\t0\tcom.openssh.sshd\n\
                    77\t-9\tcom.apple.b\n\
                    77\t0\tcom.apple.a\n\
                    0\t0\tcom.example.zero\n\
                    garbage line\n\
                    99\t0\t\n";
        let labels = parse_list(text);
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert_eq!(labels[&412], "com.openssh.sshd");
        assert_eq!(labels[&77], "com.apple.a, com.apple.b");
    }
}
