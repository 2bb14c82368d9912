//! The judgement of portless listeners: packet and raw IP sockets, which receive traffic
//! without a port, as magic-packet backdoors (BPFDoor) do.
//!
//! Owns the rules: a socket held by a program of the portless registry whose executable
//! belongs to one of the packages the registry names is `info` (unreviewed); anything else
//! is unexpected, `high` when an owner runs a suspicious executable, masquerades (a process
//! name unlike its executable's, or a kernel thread's name on a userspace program), or the
//! socket's filter compares payload bytes with constants; `medium` otherwise. Also owns
//! [`masquerade`]. Pure: plain data in, a [`ClassifiedPortless`] out.

use super::bpf::{self, Link};
use super::suspicious_executable;
use crate::model::{
    ClassifiedPortless, Evidence, EvidenceKind, FilterStatus, Finding, FindingKind, Owner, OwnerStatus,
    PortlessListener, Provenance, Severity, SocketKind, SocketType, Strength, Verdict,
};
use crate::registry::portless::program_at;

/// Names of kernel threads (as `/proc/PID/comm` shows them, without the brackets `ps`
/// adds) that malware borrows. A process with an executable is never a kernel thread.
const KERNEL_THREAD_PREFIXES: [&str; 22] = [
    "kworker",
    "ksoftirqd",
    "kthreadd",
    "migration/",
    "rcu_",
    "kswapd",
    "watchdog",
    "jbd2/",
    "kdmflush",
    "kdmtmpflush",
    "kblockd",
    "khugepaged",
    "irq/",
    "kauditd",
    "kcompactd",
    "kdevtmpfs",
    "ksmd",
    "oom_reaper",
    "writeback",
    "cpuhp/",
    "kintegrityd",
    "scsi_eh",
];

/// Executables that legitimately run under other names: interpreters (the script names the
/// process), multi-call binaries (the applet does), shells.
const RENAMING_EXECUTABLES: [&str; 12] = [
    "busybox", "python", "perl", "ruby", "node", "java", "bash", "sh", "dash", "toybox", "php", "systemd",
];

/// Why `o`'s name is a disguise, if it is: a kernel thread's name (`kworker/0:1`,
/// `[kworker/0:1]`) on a process that runs an executable, or a process name that is neither
/// its executable's file name nor a prefix of it (BPFDoor runs `/dev/shm/kdmtmpflush` as
/// `/sbin/udevd -d`). Interpreters and multi-call binaries, which legitimately take other
/// names, are not judged by name.
pub fn masquerade(o: &Owner) -> Option<String> {
    let exe = o.exe.as_deref()?;
    let who = format!("{}({})", o.name, o.pid);
    let bare = o.name.trim_start_matches('[');
    let argv0 = o.cmdline.as_deref().unwrap_or("");
    if o.name.starts_with('[') || argv0.starts_with('[') || KERNEL_THREAD_PREFIXES.iter().any(|p| bare.starts_with(p)) {
        return Some(format!(
            "{who} is named like a kernel thread, but kernel threads run no executable and this one runs {exe}"
        ));
    }
    let file = exe.rsplit('/').next().unwrap_or(exe);
    if RENAMING_EXECUTABLES.iter().any(|r| {
        file == *r
            || file.strip_prefix(r).is_some_and(|rest| {
                rest.starts_with(['.', '-']) || rest.chars().all(|c| c.is_ascii_digit() || c == '.')
            })
    }) {
        return None;
    }
    // comm keeps at most 15 bytes of the name.
    let cut = |s: &str| -> String {
        s.chars()
            .scan(0, |n, c| {
                *n += c.len_utf8();
                (*n <= 15).then_some(c)
            })
            .collect()
    };
    let (name, file_cut) = (o.name.as_str(), cut(file));
    if name == file_cut || file.starts_with(name) || name.starts_with(&file_cut) {
        return None;
    }
    Some(format!("{who} calls itself {:?} but runs {exe}", o.name))
}

/// `packet socket (all protocols, any interface)`, `raw socket (icmp, 0.0.0.0)`.
fn describe(p: &PortlessListener) -> String {
    let proto = match (p.kind, p.protocol_name().as_str()) {
        (SocketKind::Packet, "all") => "all protocols".to_owned(),
        (_, name) => name.to_owned(),
    };
    let mut s = format!("{} socket ({proto}, {}", p.kind, p.endpoint());
    if p.promiscuous() {
        s.push_str(", promiscuous");
    }
    s.push(')');
    s
}

/// Classifies one portless listener; see the module documentation for the rules.
pub fn classify_portless(p: PortlessListener, sees_all: bool, provenance: &Provenance) -> ClassifiedPortless {
    let link = if p.kind == SocketKind::Packet && p.socket_type == SocketType::Raw {
        Link::Ethernet
    } else {
        Link::Network
    };
    let filter = p.filter.as_deref().map(|insns| bpf::decode(insns, link));
    let what = describe(&p);
    let mut findings: Vec<Finding> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut high = false;

    for o in &p.owners {
        for message in suspicious_executable(o, provenance) {
            evidence.push(Evidence::new(
                EvidenceKind::SuspiciousExecutable,
                Some(Strength::Weak),
                &message,
            ));
            findings.push(Finding::new(FindingKind::SuspiciousExecutable, Severity::High, message));
            high = true;
        }
        if let Some(message) = masquerade(o) {
            evidence.push(Evidence::new(EvidenceKind::Masquerade, Some(Strength::Weak), &message));
            findings.push(Finding::new(FindingKind::Masquerade, Severity::High, message));
            high = true;
        }
    }
    let filter_words = match (p.filter_status, &filter) {
        (FilterStatus::Attached, Some(d)) => format!("its filter {}", d.summary),
        (FilterStatus::Hidden, _) => {
            "its filter could not be read (the kernel shows socket filters only to root: CAP_NET_ADMIN)".to_owned()
        }
        (FilterStatus::Unavailable, _) => "the kernel does not report its filter".to_owned(),
        _ => "it has no classic BPF filter: it receives everything its protocol and interface deliver".to_owned(),
    };
    evidence.push(Evidence::new(EvidenceKind::Filter, None, &filter_words));
    if let Some(d) = filter.as_ref().filter(|d| d.payload_match) {
        findings.push(Finding::new(
            FindingKind::PayloadFilter,
            Severity::High,
            format!(
                "the socket's filter compares payload bytes with constants, as magic-packet backdoors such as BPFDoor do: it {}",
                d.summary
            ),
        ));
    }
    let payload = filter.as_ref().is_some_and(|d| d.payload_match);

    // Which owners are a known program, and how strongly.
    let seen = p.owner_status == OwnerStatus::Known && !p.owners.is_empty();
    let mut program: Option<String> = None;
    let mut all_known = seen;
    let mut holders: Vec<String> = Vec::new();
    for o in &p.owners {
        let who = format!("{}({})", o.name, o.pid);
        holders.push(who.clone());
        let file = provenance.owners.get(&o.pid).and_then(|op| op.exe.as_ref());
        let exe = file.map(|f| f.path.as_str()).or(o.exe.as_deref());
        let known =
            exe.and_then(|e| program_at(e, p.kind).or_else(|| o.exe.as_deref().and_then(|e| program_at(e, p.kind))));
        match (known, file.and_then(|f| f.package.as_deref())) {
            (Some(prog), Some(pkg)) if prog.packages.iter().any(|x| x == pkg) => {
                evidence.push(Evidence::new(
                    EvidenceKind::Package,
                    Some(Strength::Strong),
                    format!("{} from package {pkg}", exe.unwrap_or_default()),
                ));
                program.get_or_insert_with(|| prog.name.clone());
            }
            (Some(prog), pkg) => {
                all_known = false;
                let why = match pkg {
                    Some(other) => format!("from package {other}, not one that ships {}", prog.name),
                    None => "in no installed package".to_owned(),
                };
                evidence.push(Evidence::new(
                    EvidenceKind::Package,
                    Some(Strength::Weak),
                    format!(
                        "{who} runs {} where {} is installed, but {why}",
                        exe.unwrap_or_default(),
                        prog.name
                    ),
                ));
            }
            (None, _) => {
                all_known = false;
                evidence.push(Evidence::new(
                    EvidenceKind::ProcessName,
                    Some(Strength::Weak),
                    format!(
                        "{who} runs {}, not a program known to need a {} socket",
                        exe.unwrap_or("an unreadable executable"),
                        p.kind
                    ),
                ));
            }
        }
    }
    let holders = holders.join(", ");
    let lead = if all_known && !high {
        let name = program.clone().unwrap_or_default();
        let why = crate::registry::portless::programs()
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.why.clone())
            .unwrap_or_default();
        let mut f = Finding::new(
            FindingKind::KnownPortless,
            Severity::Info,
            format!("{what} held by {holders}: {name}, from its package, {why}; {filter_words}"),
        );
        f.evidence = evidence;
        findings.insert(0, f);
        findings.sort_by_key(|f| f.severity);
        return ClassifiedPortless {
            listener: p,
            filter,
            program,
            verdict: Verdict::Unreviewed,
            findings,
        };
    } else {
        let who = if seen {
            let why = if program.is_some()
                || p.owners
                    .iter()
                    .any(|o| o.exe.as_deref().and_then(|e| program_at(e, p.kind)).is_some())
            {
                "whose executable is not from the package of a program known to need one"
            } else {
                "which is not a program known to need one"
            };
            format!("held by {holders}, {why}")
        } else {
            let status = match p.owner_status {
                OwnerStatus::Kernel => "no process holds it although every process was inspected (a kernel socket, or a process hiding from /proc)".to_owned(),
                OwnerStatus::NoProcess if sees_all => "no process holds it although every process was inspected".to_owned(),
                status => format!("its owner was not seen ({}), so it cannot be matched to a program known to need one", status.reason()),
            };
            evidence.push(Evidence::new(EvidenceKind::OwnerUnseen, None, &status));
            status
        };
        let severity = if high || payload || p.owner_status == OwnerStatus::Kernel {
            Severity::High
        } else {
            Severity::Medium
        };
        let mut f = Finding::new(
            FindingKind::UnknownPortless,
            severity,
            format!("{what} {who}; {filter_words}"),
        );
        f.evidence = evidence;
        f
    };
    findings.insert(0, lead);
    // Stable: the socket's own finding stays first among equals.
    findings.sort_by_key(|f| f.severity);
    ClassifiedPortless {
        listener: p,
        filter,
        program: None,
        verdict: Verdict::Unexpected,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str, exe: &str) -> Owner {
        Owner {
            pid: 42,
            name: name.into(),
            exe: Some(exe.into()),
            cmdline: None,
            uid: Some(0),
            user: None,
            unit: None,
            user_unit_uid: None,
            exe_deleted: false,
            container: None,
        }
    }

    #[test]
    fn masquerades_are_named() {
        assert!(masquerade(&owner("tcpdump", "/usr/bin/tcpdump")).is_none());
        assert!(masquerade(&owner("systemd-network", "/usr/lib/systemd/systemd-networkd")).is_none());
        assert!(masquerade(&owner("udhcpc", "/usr/bin/busybox")).is_none());
        assert!(masquerade(&owner("python3", "/usr/bin/python3.11")).is_none());
        let k = masquerade(&owner("kworker/0:1", "/dev/shm/x")).unwrap_or_default();
        assert!(k.contains("kernel thread"), "{k}");
        let u = masquerade(&owner("udevd", "/dev/shm/kdmtmpflush")).unwrap_or_default();
        assert!(u.contains("calls itself \"udevd\""), "{u}");
    }
}
