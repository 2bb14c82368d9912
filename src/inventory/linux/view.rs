//! What part of the machine portghost can see: the host's view or a container's, and
//! whether `/proc` hides other users' processes (`hidepid`).
//!
//! Owns reading `/proc/self/cgroup`, the container marker files (`/.dockerenv`,
//! `/run/.containerenv`) and `/proc/self/mountinfo`, and the pure parsing of the `/proc`
//! mount's options. It must not print anything or fail: what cannot be read is unknown.

use crate::inventory::cgroup;
use crate::model::{Container, View};
use std::path::Path;

/// Files container runtimes create in a container's root: Docker, Podman.
const CONTAINER_MARKERS: [&str; 2] = ["/.dockerenv", "/run/.containerenv"];

/// Where portghost itself runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Placement {
    /// Host or container; `None` when it cannot be told.
    pub view: Option<View>,
    /// The container portghost's own cgroup names, if any.
    pub container: Option<Container>,
}

/// Decides where portghost runs, given whether it is in the host's PID namespace and
/// whether its network namespace is the host's.
///
/// - in the host's PID and network namespaces: the host; it sees every process and the
///   host's sockets, whatever its cgroup or root filesystem say (nothing is read);
/// - outside the host's PID namespace: a container (it sees only its own processes);
/// - its own cgroup names a container: a container;
/// - in the host's PID namespace otherwise: the host, whatever marker files the root
///   filesystem holds (an image turned into a machine keeps its `/.dockerenv`);
/// - when the PID namespace is unknown (no `/proc`): a container if a marker file exists,
///   else unknown.
pub(super) fn placement(in_host_pid_namespace: Option<bool>, in_host_netns: Option<bool>) -> Placement {
    if in_host_pid_namespace == Some(true) && in_host_netns == Some(true) {
        return Placement {
            view: Some(View::Host),
            container: None,
        };
    }
    let container = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|text| cgroup::attribute(&text).container);
    let marker = || CONTAINER_MARKERS.iter().any(|m| Path::new(m).exists());
    let view = decide(in_host_pid_namespace, container.is_some(), marker);
    Placement { view, container }
}

/// The rules of [`placement`], on plain facts. `marker` is only asked when needed.
fn decide(
    in_host_pid_namespace: Option<bool>,
    cgroup_names_container: bool,
    marker: impl FnOnce() -> bool,
) -> Option<View> {
    match in_host_pid_namespace {
        Some(false) => Some(View::Container),
        _ if cgroup_names_container => Some(View::Container),
        Some(true) => Some(View::Host),
        None if marker() => Some(View::Container),
        None => None,
    }
}

/// How the `/proc` mount hides processes, from its `hidepid=` and `gid=` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ProcHiding {
    /// The `hidepid=` value as mounted: `1`/`noaccess`, `2`/`invisible`, `4`/`ptraceable`.
    pub hidepid: String,
    /// The mount's `gid=` group, whose members see every process.
    pub gid: Option<u32>,
}

impl ProcHiding {
    /// The warning that tells the user what is hidden and what to do.
    pub fn warning(&self) -> String {
        let remedy = match self.gid {
            Some(gid) => format!("run as root, or as a member of the mount's gid= group (gid {gid})"),
            None => "run as root, or remount /proc with gid=GROUP and run as a member of that group".to_owned(),
        };
        format!(
            "/proc is mounted with hidepid={}, which hides other users' processes, so their sockets show no owner; {remedy}",
            self.hidepid
        )
    }
}

/// The hiding options of the `/proc` mount in the text of `/proc/self/mountinfo`: the
/// last procfs mounted on `/proc` (the one visible). `None` when there is none or it
/// hides nothing (`hidepid=0`/`off`, or no `hidepid=`).
pub(super) fn proc_hiding(mountinfo: &str) -> Option<ProcHiding> {
    let options = mountinfo.lines().rev().find_map(proc_super_options)?;
    let mut hiding = ProcHiding {
        hidepid: String::new(),
        gid: None,
    };
    for option in options.split(',') {
        if let Some(value) = option.strip_prefix("hidepid=") {
            value.clone_into(&mut hiding.hidepid);
        } else if let Some(value) = option.strip_prefix("gid=") {
            hiding.gid = value.parse().ok();
        }
    }
    match hiding.hidepid.as_str() {
        "" | "0" | "off" => None,
        _ => Some(hiding),
    }
}

/// The super options of a mountinfo line that mounts procfs on `/proc`.
///
/// A line is `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS`.
fn proc_super_options(line: &str) -> Option<&str> {
    let (before, after) = line.split_once(" - ")?;
    let mount_point = before.split(' ').nth(4)?;
    let mut after = after.split(' ');
    let fstype = after.next()?;
    let _source = after.next()?;
    let options = after.next()?;
    (mount_point == "/proc" && fstype == "proc").then_some(options)
}

/// How `/proc` hides processes from portghost: `None` when it hides nothing, or when
/// portghost is in the mount's `gid=` group. Only meaningful for an unprivileged process
/// (`CAP_SYS_PTRACE` sees through `hidepid`).
pub(super) fn hiding_from_me() -> Option<ProcHiding> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let hiding = proc_hiding(&mountinfo)?;
    if let Some(gid) = hiding.gid {
        let mine = rustix::process::getegid().as_raw() == gid
            || rustix::process::getgroups().is_ok_and(|groups| groups.iter().any(|g| g.as_raw() == gid));
        if mine {
            return None;
        }
    }
    Some(hiding)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw,discard
";

    #[test]
    fn no_hidepid_hides_nothing() {
        assert_eq!(proc_hiding(HOST), None);
        assert_eq!(proc_hiding(""), None);
        let off = "22 27 0:21 / /proc rw,nosuid - proc proc rw,hidepid=off\n";
        assert_eq!(proc_hiding(off), None);
        let zero = "22 27 0:21 / /proc rw,nosuid - proc proc rw,hidepid=0\n";
        assert_eq!(proc_hiding(zero), None);
    }

    #[test]
    fn hidepid_and_gid_are_read_from_the_visible_proc_mount() {
        // Debian with `proc /proc proc defaults,hidepid=2,gid=27`, kernel 5.8+ spelling.
        let text =
            "24 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw,gid=27,hidepid=invisible\n";
        assert_eq!(
            proc_hiding(text),
            Some(ProcHiding {
                hidepid: "invisible".into(),
                gid: Some(27)
            })
        );
        // Older kernels print the number.
        let old = "24 30 0:22 / /proc rw,relatime - proc proc rw,hidepid=2\n";
        assert_eq!(proc_hiding(old).map(|h| h.hidepid), Some("2".to_owned()));
        // A second procfs mounted over the first wins; other mount points do not count.
        let stacked = format!("{text}90 24 0:50 / /proc rw,relatime - proc proc rw\n");
        assert_eq!(proc_hiding(&stacked), None);
        let elsewhere = "91 30 0:51 / /mnt/proc rw - proc proc rw,hidepid=2\n";
        assert_eq!(proc_hiding(&format!("{HOST}{elsewhere}")), None);
        let tmpfs_over = format!("{text}92 24 0:52 / /proc rw - tmpfs tmpfs rw\n");
        assert_eq!(
            proc_hiding(&tmpfs_over).map(|h| h.hidepid),
            Some("invisible".to_owned()),
            "only procfs mounts count"
        );
    }

    #[test]
    fn the_warning_names_hidepid_and_the_remedy() {
        let with_gid = ProcHiding {
            hidepid: "invisible".into(),
            gid: Some(27),
        };
        let w = with_gid.warning();
        assert!(w.contains("hidepid=invisible"), "{w}");
        assert!(w.contains("run as root") && w.contains("gid 27"), "{w}");
        let without = ProcHiding {
            hidepid: "2".into(),
            gid: None,
        };
        assert!(without.warning().contains("remount /proc with gid="));
    }

    #[test]
    fn placement_rules() {
        assert_eq!(decide(Some(false), false, || false), Some(View::Container));
        assert_eq!(decide(Some(true), true, || false), Some(View::Container));
        assert_eq!(decide(Some(true), false, || true), Some(View::Host), "a stale marker");
        assert_eq!(decide(None, false, || true), Some(View::Container));
        assert_eq!(decide(None, false, || false), None);
    }
}
