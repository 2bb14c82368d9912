//! Attribution of a process to its systemd unit and container, from the text of
//! `/proc/PID/cgroup`.
//!
//! Owns the parsing of that file (cgroup v2 `0::/path` lines and cgroup v1
//! `N:controllers:/path` lines) and the naming rules of systemd units, Docker, Podman,
//! containerd, CRI-O and Kubernetes cgroups. It is pure string parsing: it must not read
//! files, call the OS or fail; text it does not recognise yields an empty [`Attribution`].

use crate::model::Container;

/// Length of a full container ID (Docker, Podman, containerd, CRI-O): 64 hex digits.
const FULL_ID_LEN: usize = 64;

/// Length of the short container ID, as `docker ps` shows it.
const SHORT_ID_LEN: usize = 12;

/// Unit types a process can run in; `.slice` units only group other units.
const UNIT_SUFFIXES: [&str; 5] = [".service", ".scope", ".socket", ".mount", ".swap"];

/// Container scopes named `<prefix><64 hex>` (with or without `.scope`), and their runtime.
/// Longest prefix first is not needed: no prefix is a prefix of another.
const SCOPE_PREFIXES: [(&str, &str); 4] = [
    ("docker-", "docker"),
    ("libpod-", "podman"),
    ("cri-containerd-", "containerd"),
    ("crio-", "cri-o"),
];

/// What a process's cgroup says about where it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The innermost systemd unit (`ssh.service`, `session-3.scope`, `docker-….scope`),
    /// or `None` when the cgroup path names none.
    pub unit: Option<String>,
    /// When `unit` lies inside a user's service manager (`user@1000.service/…`), that
    /// user's UID: the unit is the user's, not the system's.
    pub user_unit_uid: Option<u32>,
    /// The innermost container, or `None` when the process runs in none that is recognised.
    pub container: Option<Container>,
}

impl Attribution {
    /// True when neither a unit nor a container was found.
    pub fn is_empty(&self) -> bool {
        self.unit.is_none() && self.container.is_none()
    }
}

/// Attributes a process from the text of its `/proc/PID/cgroup`.
///
/// The cgroup v2 line (`0::/path`) is preferred; when it is missing or names nothing (a
/// hybrid host whose v2 hierarchy is unused), the v1 `name=systemd` line, then any other
/// line. Never fails: empty or unrecognised text gives an empty [`Attribution`].
pub fn attribute(cgroup_file: &str) -> Attribution {
    let entries = || cgroup_file.lines().filter_map(parse_line);
    let v2 = entries().filter(|e| e.hierarchy == "0" && e.controllers.is_empty());
    let systemd = entries().filter(|e| e.controllers.split(',').any(|c| c == "name=systemd"));
    v2.chain(systemd)
        .chain(entries())
        .map(|e| attribute_path(e.path))
        .find(|a| !a.is_empty())
        .unwrap_or_default()
}

/// One line of `/proc/PID/cgroup`: `hierarchy-ID:controller-list:path`.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    hierarchy: &'a str,
    controllers: &'a str,
    path: &'a str,
}

/// Splits one line; `None` when it is not `ID:controllers:/path`.
fn parse_line(line: &str) -> Option<Entry<'_>> {
    let mut fields = line.splitn(3, ':');
    let hierarchy = fields.next()?;
    let controllers = fields.next()?;
    let path = fields.next()?;
    if hierarchy.is_empty() || !hierarchy.bytes().all(|b| b.is_ascii_digit()) || !path.starts_with('/') {
        return None;
    }
    // A cgroup removed while the process still sits in it (a zombie) is marked so.
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    Some(Entry {
        hierarchy,
        controllers,
        path,
    })
}

/// The unit and container named by one cgroup path.
fn attribute_path(path: &str) -> Attribution {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let innermost = parts.iter().rposition(|p| is_unit(p));
    // A unit below `user@UID.service` belongs to that user's own service manager.
    let user_unit_uid = innermost.and_then(|i| parts[..i].iter().rev().find_map(|p| user_manager_uid(p)));
    Attribution {
        unit: innermost.map(|i| parts[i].to_owned()),
        user_unit_uid,
        container: container_of(&parts),
    }
}

/// The UID of a user service manager's unit, `user@1000.service`.
fn user_manager_uid(part: &str) -> Option<u32> {
    let uid = part.strip_prefix("user@")?.strip_suffix(".service")?;
    if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    uid.parse().ok()
}

/// True for a unit a process can run in: a non-empty name ending in one of [`UNIT_SUFFIXES`].
fn is_unit(part: &str) -> bool {
    UNIT_SUFFIXES
        .iter()
        .any(|suffix| part.strip_suffix(suffix).is_some_and(|stem| !stem.is_empty()))
}

/// The innermost container along `parts`, with the Kubernetes pod that encloses it.
fn container_of(parts: &[&str]) -> Option<Container> {
    let mut found: Option<Container> = None;
    let mut pod: Option<String> = None;
    let mut in_kubepods = false;
    let mut parent: Option<&str> = None;
    for &part in parts {
        if let Some((runtime, full_id)) = scoped_container(part).or_else(|| bare_container(parent, part, in_kubepods)) {
            found = Some(Container {
                runtime: runtime.to_owned(),
                id: full_id.get(..SHORT_ID_LEN).unwrap_or(full_id).to_owned(),
                full_id: full_id.to_owned(),
                pod: pod.clone(),
            });
        }
        if part.contains("kubepods") {
            in_kubepods = true;
        }
        if in_kubepods && let Some(uid) = pod_uid(part) {
            pod = Some(uid);
        }
        parent = Some(part);
    }
    found
}

/// A runtime's own cgroup, `docker-<id>.scope` (systemd driver) or `crio-<id>` (cgroupfs
/// driver): the runtime and the full ID.
fn scoped_container(part: &str) -> Option<(&'static str, &str)> {
    let name = part.strip_suffix(".scope").unwrap_or(part);
    SCOPE_PREFIXES.iter().find_map(|&(prefix, runtime)| {
        let id = name.strip_prefix(prefix)?;
        is_full_id(id).then_some((runtime, id))
    })
}

/// A container cgroup named by its bare ID: `/docker/<id>` (Docker's cgroupfs driver) or
/// `/kubepods/…/pod<uid>/<id>` (the kubelet's cgroupfs driver, runtime unknown).
fn bare_container<'a>(parent: Option<&str>, part: &'a str, in_kubepods: bool) -> Option<(&'static str, &'a str)> {
    if !is_full_id(part) {
        return None;
    }
    match parent {
        Some("docker") => Some(("docker", part)),
        Some(p) if in_kubepods && p.starts_with("pod") => Some(("kubernetes", part)),
        _ => None,
    }
}

/// The pod UID of a kubelet pod cgroup, dashes restored: `kubepods-burstable-pod<uid with
/// underscores>.slice` (systemd driver) or `pod<uid>` (cgroupfs driver).
fn pod_uid(part: &str) -> Option<String> {
    let uid = match part.strip_suffix(".slice") {
        Some(slice) => slice.rsplit_once("-pod")?.1,
        None => part.strip_prefix("pod")?,
    };
    let valid = !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_' || b == b'-');
    valid.then(|| uid.replace('_', "-"))
}

/// True for exactly 64 hex digits.
fn is_full_id(s: &str) -> bool {
    s.len() == FULL_ID_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345678901234567890abcdef012";
    const ID2: &str = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d";
    const POD: &str = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";
    const POD_UNDERSCORED: &str = "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901";

    fn unit(text: &str) -> Option<String> {
        attribute(text).unit
    }

    fn container(text: &str) -> Container {
        attribute(text).container.expect("a container")
    }

    fn assert_container(text: &str, runtime: &str, full_id: &str, pod: Option<&str>) {
        let c = container(text);
        assert_eq!(c.runtime, runtime, "{text}");
        assert_eq!(c.full_id, full_id, "{text}");
        assert_eq!(c.id, &full_id[..12], "{text}");
        assert_eq!(c.pod.as_deref(), pod, "{text}");
    }

    #[test]
    fn systemd_service_and_scopes() {
        assert_eq!(unit("0::/system.slice/ssh.service\n").as_deref(), Some("ssh.service"));
        assert_eq!(unit("0::/init.scope\n").as_deref(), Some("init.scope"));
        assert_eq!(
            unit("0::/user.slice/user-1000.slice/session-3.scope\n").as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(
            unit("0::/system.slice/system-getty.slice/getty@tty1.service\n").as_deref(),
            Some("getty@tty1.service")
        );
        assert_eq!(unit("0::/system.slice/cups.socket\n").as_deref(), Some("cups.socket"));
        assert!(attribute("0::/system.slice/ssh.service\n").container.is_none());
    }

    #[test]
    fn user_service_is_the_innermost_unit() {
        let text = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n";
        assert_eq!(unit(text).as_deref(), Some("foo.service"));
        let manager = "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n";
        assert_eq!(unit(manager).as_deref(), Some("init.scope"));
        let app_scope = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-4242.scope\n";
        assert_eq!(unit(app_scope).as_deref(), Some("app-gnome-firefox-4242.scope"));
    }

    #[test]
    fn units_under_a_user_manager_are_user_units() {
        let delegated = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service\n";
        let a = attribute(delegated);
        assert_eq!(a.unit.as_deref(), Some("nginx.service"));
        assert_eq!(a.user_unit_uid, Some(1000));
        let manager = attribute("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n");
        assert_eq!(manager.user_unit_uid, Some(1000));
        let the_manager_itself = attribute("0::/user.slice/user-1000.slice/user@1000.service\n");
        assert_eq!(the_manager_itself.unit.as_deref(), Some("user@1000.service"));
        assert_eq!(
            the_manager_itself.user_unit_uid, None,
            "user@1000.service is a system unit"
        );
        for system in [
            "0::/system.slice/nginx.service\n",
            "0::/user.slice/user-1000.slice/session-3.scope\n",
            "0::/system.slice/user@x.service/nginx.service\n",
        ] {
            assert_eq!(attribute(system).user_unit_uid, None, "{system}");
        }
    }

    #[test]
    fn slices_alone_are_not_units() {
        assert_eq!(attribute("0::/user.slice/user-1000.slice\n"), Attribution::default());
        assert_eq!(unit("0::/.service\n"), None);
    }

    #[test]
    fn docker_systemd_driver_v2() {
        let text = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_container(&text, "docker", ID, None);
        assert_eq!(unit(&text), Some(format!("docker-{ID}.scope")));
    }

    #[test]
    fn docker_cgroupfs_driver_v2() {
        let text = format!("0::/docker/{ID}\n");
        assert_container(&text, "docker", ID, None);
        assert_eq!(unit(&text), None);
        assert_eq!(container(&text).id, "3f2a9c1b7d4e");
    }

    #[test]
    fn docker_systemd_driver_v1_multi_line() {
        let text = format!(
            "12:pids:/system.slice/docker-{ID}.scope\n\
             11:hugetlb:/system.slice/docker-{ID}.scope\n\
             10:net_cls,net_prio:/system.slice/docker-{ID}.scope\n\
             9:cpu,cpuacct:/system.slice/docker-{ID}.scope\n\
             8:memory:/system.slice/docker-{ID}.scope\n\
             2:cpuset:/system.slice/docker-{ID}.scope\n\
             1:name=systemd:/system.slice/docker-{ID}.scope\n"
        );
        assert_container(&text, "docker", ID, None);
        assert_eq!(unit(&text), Some(format!("docker-{ID}.scope")));
    }

    #[test]
    fn docker_cgroupfs_driver_v1_on_a_hybrid_host() {
        // The v2 line of a hybrid host names nothing; the v1 lines carry the container.
        let text = format!(
            "12:blkio:/docker/{ID}\n\
             4:memory:/docker/{ID}\n\
             1:name=systemd:/docker/{ID}\n\
             0::/\n"
        );
        assert_container(&text, "docker", ID, None);
        assert_eq!(unit(&text), None);
    }

    #[test]
    fn v2_is_preferred_over_v1() {
        let text = "1:name=systemd:/system.slice/old.service\n0::/system.slice/new.service\n";
        assert_eq!(unit(text).as_deref(), Some("new.service"));
        let v1_only = "5:memory:/system.slice/mem.service\n1:name=systemd:/system.slice/sd.service\n";
        assert_eq!(unit(v1_only).as_deref(), Some("sd.service"));
        let any_line = format!("3:cpu,cpuacct:/\n4:memory:/docker/{ID}\n");
        assert_container(&any_line, "docker", ID, None);
    }

    #[test]
    fn centos7_v1_service() {
        let text = "11:devices:/system.slice/sshd.service\n\
                    10:memory:/system.slice/sshd.service\n\
                    9:cpuset:/\n\
                    4:cpu,cpuacct:/system.slice/sshd.service\n\
                    1:name=systemd:/system.slice/sshd.service\n";
        assert_eq!(unit(text).as_deref(), Some("sshd.service"));
    }

    #[test]
    fn podman_rootful_and_rootless() {
        let rootful = format!("0::/machine.slice/libpod-{ID}.scope/container\n");
        assert_container(&rootful, "podman", ID, None);
        assert_eq!(unit(&rootful), Some(format!("libpod-{ID}.scope")));

        let rootless =
            format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n");
        assert_container(&rootless, "podman", ID, None);
        assert_eq!(unit(&rootless), Some(format!("libpod-{ID}.scope")));

        let cgroupfs = format!("1:name=systemd:/libpod_parent/libpod-{ID}\n");
        assert_container(&cgroupfs, "podman", ID, None);
    }

    #[test]
    fn podman_conmon_is_not_the_container() {
        let text = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        let a = attribute(&text);
        assert_eq!(a.container, None);
        assert_eq!(a.unit, Some(format!("libpod-conmon-{ID}.scope")));
    }

    #[test]
    fn containerd_in_kubernetes_systemd_driver() {
        let text = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_UNDERSCORED}.slice/cri-containerd-{ID}.scope\n"
        );
        assert_container(&text, "containerd", ID, Some(POD));
        assert_eq!(unit(&text), Some(format!("cri-containerd-{ID}.scope")));

        let guaranteed = format!("0::/kubepods.slice/kubepods-pod{POD_UNDERSCORED}.slice/cri-containerd-{ID}.scope\n");
        assert_container(&guaranteed, "containerd", ID, Some(POD));
    }

    #[test]
    fn kubernetes_cgroupfs_driver() {
        let v2 = format!("0::/kubepods/besteffort/pod{POD}/{ID}\n");
        assert_container(&v2, "kubernetes", ID, Some(POD));
        assert_eq!(unit(&v2), None);

        let v1 = format!(
            "11:memory:/kubepods/pod{POD}/{ID}\n\
             10:cpu,cpuacct:/kubepods/pod{POD}/{ID}\n\
             1:name=systemd:/kubepods/pod{POD}/{ID}\n"
        );
        assert_container(&v1, "kubernetes", ID, Some(POD));
    }

    #[test]
    fn cri_o() {
        let text = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{POD_UNDERSCORED}.slice/crio-{ID}.scope\n"
        );
        assert_container(&text, "cri-o", ID, Some(POD));
        assert_eq!(unit(&text), Some(format!("crio-{ID}.scope")));
    }

    #[test]
    fn innermost_container_wins_and_keeps_only_its_own_pod() {
        // kind: a Kubernetes node in a Docker container.
        let nested = format!(
            "0::/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/\
             kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{POD_UNDERSCORED}.slice/\
             cri-containerd-{ID}.scope\n"
        );
        assert_container(&nested, "containerd", ID, Some(POD));
        // The pod slice itself, with no container below it: the node's container, no pod.
        let node = format!(
            "0::/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/\
             kubelet-kubepods-pod{POD_UNDERSCORED}.slice\n"
        );
        assert_container(&node, "docker", ID2, None);
        let pod_only = format!("0::/kubepods.slice/kubepods-pod{POD_UNDERSCORED}.slice\n");
        assert_eq!(attribute(&pod_only).container, None);
    }

    #[test]
    fn ids_must_be_64_hex_digits() {
        for text in [
            "0::/docker/3f2a9c1b7d4e\n".to_owned(),
            format!("0::/docker/{ID}0\n"),
            format!("0::/docker/{}\n", ID.replace('f', "g")),
            format!("0::/system.slice/docker-{}.scope\n", &ID[1..]),
            format!("0::/somewhere/{ID}\n"),
        ] {
            assert_eq!(attribute(&text).container, None, "{text}");
        }
    }

    #[test]
    fn empty_garbage_and_root_give_nothing() {
        for text in [
            "",
            "\n\n",
            "0::/\n",
            "0::/\n1:name=systemd:/\n",
            "not a cgroup file\n",
            "::::\n\0\0\0\n",
            "x::/system.slice/ssh.service\n",
            "0::system.slice/ssh.service\n",
            "0:/system.slice/ssh.service\n",
        ] {
            assert_eq!(attribute(text), Attribution::default(), "{text:?}");
            assert!(attribute(text).is_empty());
        }
    }

    #[test]
    fn odd_but_valid_lines() {
        assert_eq!(
            unit("0::/system.slice/gone.service (deleted)\n").as_deref(),
            Some("gone.service")
        );
        assert_eq!(unit("0::/system.slice/ssh.service\r\n").as_deref(), Some("ssh.service"));
        assert_eq!(unit("0::/system.slice/ssh.service").as_deref(), Some("ssh.service"));
        // A colon inside the path belongs to the path.
        assert_eq!(unit("0::/odd:name.slice/x.service\n").as_deref(), Some("x.service"));
    }
}
