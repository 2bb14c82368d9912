//! The typed reader: a `portghost scan --format json` file read back into [`Snapshot`].
//!
//! Owns the reading side of the contract: which `schema_version`s are accepted
//! ([`super::READABLE_VERSIONS`]), which fields are required (`schema_version`,
//! `listeners`, and per listener `protocol`, `local_address`, `port`, `owners`, an owner's
//! `pid` and `name`), and errors that name `FILE:LINE:COL`. Every other field may be absent
//! (older or hand-made files); unknown fields are ignored. Enumerated values are read into
//! the vocabularies of [`super::names`], never as strings. It does no I/O and compares
//! nothing: callers read the file and decide what the snapshot means.

use super::names::{ExposureName, FamilyName, OwnerStatusName, ProtocolName, VerdictName, ViewName};
use super::wire::{ContainerJson, FindingJson, GhostJson, NetnsJson, OwnerJson, PolicyJson, ServiceJson, SummaryJson};
use super::{READABLE_VERSIONS, SCHEMA_VERSION};
use crate::diag::FileError;
use crate::model::Report;
use crate::sanitize::terminal_safe;
use serde::Deserialize;
use std::net::IpAddr;

/// A scan as read back from `portghost scan --format json`. Unknown fields are ignored, so
/// newer additive fields do not break old readers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a portghost scan object (the output of `portghost scan --format json`)")]
pub struct Snapshot {
    /// One of [`READABLE_VERSIONS`]; checked by [`parse`] before the rest is read.
    pub schema_version: u32,
    /// Host name, if the file has one.
    #[serde(default)]
    pub host: Option<String>,
    /// RFC 3339 time of the scan, if the file has one.
    #[serde(default)]
    pub scanned_at: Option<String>,
    /// Whether the scan saw every owner, if the file says.
    #[serde(default)]
    pub complete: Option<bool>,
    /// Whether the scan could see every process, if the file says.
    #[serde(default)]
    pub privileged: Option<bool>,
    /// The scan's warnings; empty when absent.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// `host` or `container`, if the file says.
    #[serde(default)]
    pub view: Option<ViewName>,
    /// Every network namespace scanned; empty when absent.
    #[serde(default)]
    pub namespaces: Vec<NetnsJson<'static>>,
    /// The policy the listeners were judged with, if any.
    #[serde(default)]
    pub policy: Option<PolicyJson<'static>>,
    /// The counts, if the file has them.
    #[serde(default)]
    pub summary: Option<SummaryJson>,
    /// The listeners.
    pub listeners: Vec<SnapshotListener>,
}

/// One listener of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a listener object")]
pub struct SnapshotListener {
    /// Transport protocol.
    pub protocol: ProtocolName,
    /// Address family, if recorded.
    #[serde(default)]
    pub family: Option<FamilyName>,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// How far the address reaches, if recorded.
    #[serde(default)]
    pub exposure: Option<ExposureName>,
    /// For IPv6: whether `IPV6_V6ONLY` is set.
    #[serde(default)]
    pub v6only: Option<bool>,
    /// True for an IPv6 wildcard socket that also accepts IPv4; false when absent.
    #[serde(default)]
    pub dual_stack: bool,
    /// Socket inode, if recorded.
    #[serde(default)]
    pub inode: Option<u64>,
    /// UID that created the socket, if recorded.
    #[serde(default)]
    pub uid: Option<u32>,
    /// The network namespace, present in scans that record one.
    #[serde(default)]
    pub netns: Option<SnapshotNetns>,
    /// Every owning process (`pid` and `name` required).
    pub owners: Vec<OwnerJson<'static>>,
    /// Why the owners are or are not known; absent means `known`.
    #[serde(default)]
    pub owner_status: Option<OwnerStatusName>,
    /// The sentence explaining `owner_status`, if recorded.
    #[serde(default)]
    pub owner_reason: Option<String>,
    /// The IANA record for the port, if any.
    #[serde(default)]
    pub service: Option<ServiceJson<'static>>,
    /// The ghost registry entry, if any.
    #[serde(default)]
    pub ghost: Option<GhostJson<'static>>,
    /// The verdict the scan gave, if recorded.
    #[serde(default)]
    pub verdict: Option<VerdictName>,
    /// The reasons, most severe first; empty when absent.
    #[serde(default)]
    pub findings: Vec<FindingJson<'static>>,
}

/// The network namespace of a listener, as `--format json` writes it; every field may be
/// absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotNetns {
    /// The namespace's inode number.
    #[serde(default)]
    pub inode: Option<u64>,
    /// Its name (`ip netns` name), when it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// The container whose processes live in it, if any.
    #[serde(default)]
    pub container: Option<ContainerJson<'static>>,
    /// True for the host's initial network namespace.
    #[serde(default)]
    pub host: bool,
}

impl SnapshotNetns {
    /// The label that identifies the namespace across scans: none for the host's (so a
    /// scan that recorded no namespace compares with one that did, and a reboot that
    /// renumbers the host's namespace changes nothing), else its name, else its inode.
    pub fn label(&self) -> Option<String> {
        match (&self.name, self.inode) {
            _ if self.host => None,
            (Some(n), _) => Some(n.clone()),
            (None, Some(i)) => Some(i.to_string()),
            (None, None) => None,
        }
    }
}

impl Snapshot {
    /// The snapshot that parsing `report`'s `--format json` output would give, built
    /// straight from the report.
    pub fn from_report(r: &Report) -> Snapshot {
        Snapshot {
            schema_version: SCHEMA_VERSION,
            host: Some(r.host.clone()),
            scanned_at: Some(r.scanned_at.clone()),
            complete: Some(r.complete),
            privileged: Some(r.privileged),
            warnings: r.warnings.clone(),
            view: r.view.map(ViewName::from),
            namespaces: r
                .namespaces
                .iter()
                .map(|n| NetnsJson::from_netns(n).into_owned())
                .collect(),
            policy: r.policy.as_ref().map(|p| PolicyJson::from_info(p).into_owned()),
            summary: Some(r.summary.into()),
            listeners: r
                .listeners
                .iter()
                .map(|c| {
                    let l = &c.listener;
                    SnapshotListener {
                        protocol: l.protocol.into(),
                        family: Some(l.family().into()),
                        local_address: l.local_address,
                        port: l.port,
                        exposure: Some(l.exposure().into()),
                        v6only: l.v6only,
                        dual_stack: l.is_dual_stack(),
                        inode: l.inode,
                        uid: l.uid,
                        netns: l.netns.as_deref().map(|n| SnapshotNetns {
                            inode: Some(n.inode),
                            name: n.name.clone(),
                            container: n
                                .container
                                .as_ref()
                                .map(|c| ContainerJson::from_container(c).into_owned()),
                            host: n.host,
                        }),
                        owners: l.owners.iter().map(|o| OwnerJson::from_owner(o).into_owned()).collect(),
                        owner_status: Some(l.owner_status.into()),
                        owner_reason: Some(l.owner_status.reason().to_string()),
                        service: c.service.map(|s| ServiceJson::from_record(s).into_owned()),
                        ghost: c.ghost.as_deref().map(|g| GhostJson::from_entry(g).into_owned()),
                        verdict: Some(c.verdict.into()),
                        findings: c
                            .findings
                            .iter()
                            .map(|f| FindingJson::from_finding(f).into_owned())
                            .collect(),
                    }
                })
                .collect(),
        }
    }
}

/// The `schema_version` of a document that must be a JSON object; every other member is
/// skipped unread, so a later-version file is rejected before its shape is judged.
struct VersionProbe(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for VersionProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Probe;
        impl<'de> serde::de::Visitor<'de> for Probe {
            type Value = VersionProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a portghost scan object (the output of `portghost scan --format json`)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<VersionProbe, A::Error> {
                let mut version = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "schema_version" {
                        version = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(VersionProbe(version))
            }
        }
        d.deserialize_map(Probe)
    }
}

fn json_error(file: &str, text: &str, err: &serde_json::Error) -> FileError {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    if message.starts_with("trailing characters") && text.trim_start().starts_with('{') {
        message.push_str(
            "; diff reads the single object of `portghost scan --format json`, not JSON Lines (`--format jsonl`)",
        );
    }
    FileError {
        file: file.to_string(),
        line: Some(err.line().max(1)),
        column: Some(err.column().max(1)),
        message: terminal_safe(&message).into_owned(),
    }
}

/// True when `text` is JSON Lines of `scan --format jsonl`: its first non-blank line is a
/// whole JSON object with a `port` and no `listeners`. (A pretty scan starts with a lone
/// `{`; a compact one has `listeners`.)
fn looks_like_lines(text: &str) -> bool {
    text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l)
            .is_ok_and(|m| m.contains_key("port") && !m.contains_key("listeners"))
    })
}

/// One line of `scan --format jsonl`, as read back.
#[derive(Deserialize)]
#[serde(expecting = "a listener line of `portghost scan --format jsonl`")]
struct SnapshotLine {
    schema_version: u32,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    scanned_at: Option<String>,
    #[serde(flatten)]
    listener: SnapshotListener,
}

/// Parses the text of a `portghost scan --format jsonl` file named `file`: one listener a
/// line, blank lines skipped. The snapshot's host and time are the first line's; it records
/// no namespaces, warnings or summary (JSON Lines has none).
///
/// # Errors
/// As [`parse`], with the line of the listener at fault; a line whose `schema_version` is
/// not readable is refused.
fn parse_lines(file: &str, text: &str) -> Result<Snapshot, FileError> {
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        host: None,
        scanned_at: None,
        complete: None,
        privileged: None,
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        policy: None,
        summary: None,
        listeners: Vec::new(),
    };
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |message: String, column: usize| FileError {
            file: file.to_string(),
            line: Some(i + 1),
            column: Some(column.max(1)),
            message: terminal_safe(&message).into_owned(),
        };
        let parsed: SnapshotLine = serde_json::from_str(line).map_err(|e| {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            at(full.strip_suffix(&suffix).unwrap_or(&full).to_string(), e.column())
        })?;
        if !READABLE_VERSIONS.contains(&parsed.schema_version) {
            return Err(at(
                format!(
                    "schema_version {} is not supported: this portghost reads scans with schema_version {SCHEMA_VERSION}",
                    parsed.schema_version
                ),
                1,
            ));
        }
        if snapshot.listeners.is_empty() {
            snapshot.host = parsed.host;
            snapshot.scanned_at = parsed.scanned_at;
        }
        snapshot.listeners.push(parsed.listener);
    }
    Ok(snapshot)
}

/// Parses the text of a `portghost scan --format json` file named `file`; JSON Lines of
/// `--format jsonl` are read too, one listener a line.
///
/// # Errors
/// A [`FileError`] naming `file` and, for syntax and shape errors, the line and column:
/// invalid JSON, a missing required field (`listeners`, `protocol`, `local_address`, `port`,
/// `owners`, an owner's `pid` or `name`), a wrong type or an unknown enumerated value; or a
/// missing `schema_version` or one not in [`READABLE_VERSIONS`]. The message is safe to
/// print on a terminal.
pub fn parse(file: &str, text: &str) -> Result<Snapshot, FileError> {
    if looks_like_lines(text) {
        return parse_lines(file, text);
    }
    let probe: VersionProbe = serde_json::from_str(text).map_err(|e| json_error(file, text, &e))?;
    let at_file = |message: String| FileError {
        file: file.to_string(),
        line: None,
        column: None,
        message,
    };
    match probe.0 {
        None => {
            return Err(at_file(
                "no schema_version: not a portghost scan (expected the output of `portghost scan --format json`)"
                    .to_string(),
            ));
        }
        Some(v)
            if v.as_u64()
                .is_some_and(|n| READABLE_VERSIONS.iter().any(|&r| u64::from(r) == n)) => {}
        Some(v) => {
            return Err(at_file(format!(
                "schema_version {} is not supported: this portghost reads scans with schema_version {SCHEMA_VERSION}",
                terminal_safe(&v.to_string())
            )));
        }
    }
    serde_json::from_str(text).map_err(|e| json_error(file, text, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_a_scan_and_ignores_unknown_fields() {
        let text = r#"{"schema_version":1,"host":"h","future":{"x":1},"listeners":[
            {"protocol":"tcp","local_address":"::1","port":3517,"owners":[{"pid":1,"name":"x","new_field":true}],
             "owner_status":"known","netns":{"inode":5,"name":null,"container":null}}]}"#;
        let s = parse("scan.json", text).expect("parses");
        assert_eq!(s.listeners[0].port, 3517);
        assert_eq!(
            s.listeners[0].netns.as_ref().and_then(SnapshotNetns::label).as_deref(),
            Some("5")
        );
        assert!(s.listeners[0].owners[0].exe.is_none());
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let text = "{\"schema_version\": 1,\n \"listeners\": [\n  {\"protocol\": \"tcp\", \"local_address\": \"0.0.0.0\", \"owners\": []}\n ]\n}";
        let e = parse("old.json", text).expect_err("port is missing");
        assert_eq!((e.line, e.column), (Some(3), Some(63)));
        assert_eq!(e.to_string(), "old.json:3:63: missing field `port`");

        let e = parse("old.json", "{\"schema_version\": 1,\n  \"listeners\": [,]}").expect_err("syntax");
        assert_eq!(e.to_string(), "old.json:2:17: expected value");

        let e = parse("old.json", "").expect_err("empty");
        assert_eq!(e.to_string(), "old.json:1:1: EOF while parsing a value");

        let e = parse("old.json", "[1]").expect_err("array");
        assert!(
            e.to_string()
                .starts_with("old.json:1:1: invalid type: sequence, expected a portghost scan object"),
            "{e}"
        );

        let e = parse(
            "x.json",
            "{\"schema_version\":1,\"listeners\":[{\"protocol\":\"sctp\\u001b[2J\"}]}",
        )
        .expect_err("bad protocol");
        assert!(!e.to_string().contains('\x1b'), "{e}");
        assert!(e.to_string().contains("unknown variant `sctp\\x1b[2J`"), "{e}");
    }

    #[test]
    fn parse_rejects_other_schema_versions_and_jsonl() {
        let e = parse("new.json", r#"{"schema_version": 2, "listeners": []}"#).expect_err("v2");
        assert_eq!(
            e.to_string(),
            "new.json: schema_version 2 is not supported: this portghost reads scans with schema_version 1"
        );
        let e = parse("new.json", r#"{"listeners": []}"#).expect_err("no version");
        assert!(e.to_string().starts_with("new.json: no schema_version"), "{e}");
        // JSON Lines are read line by line: a line missing a field is named by its line.
        let lines = "{\"schema_version\":1,\"port\":1}\n{\"schema_version\":1,\"port\":2}\n";
        let e = parse("scan.jsonl", lines).expect_err("jsonl");
        assert!(e.to_string().starts_with("scan.jsonl:1:"), "{e}");
        assert!(e.to_string().contains("missing field"), "{e}");
        let lines = "{\"schema_version\":1,\"host\":\"h\",\"protocol\":\"tcp\",\"local_address\":\"::1\",\"port\":1,\"owners\":[]}\n\n{\"schema_version\":2,\"protocol\":\"udp\",\"local_address\":\"::1\",\"port\":2,\"owners\":[]}\n";
        let e = parse("scan.jsonl", lines).expect_err("v2 line");
        assert!(e.to_string().starts_with("scan.jsonl:3:1: schema_version 2"), "{e}");
        let s = parse(
            "scan.jsonl",
            &lines.replace("\"schema_version\":2", "\"schema_version\":1"),
        )
        .expect("jsonl");
        assert_eq!(s.listeners.len(), 2);
        assert_eq!(s.host.as_deref(), Some("h"));
    }

    #[test]
    fn enumerated_values_are_typed() {
        let text = r#"{"schema_version":1,"listeners":[{"protocol":"udp","local_address":"0.0.0.0","port":53,
            "owners":[],"owner_status":"no-process","verdict":"unexpected"}]}"#;
        let s = parse("scan.json", text).expect("parses");
        let l = &s.listeners[0];
        assert_eq!(l.protocol, ProtocolName::Udp);
        assert_eq!(l.owner_status, Some(OwnerStatusName::NoProcess));
        assert_eq!(l.verdict, Some(VerdictName::Unexpected));
        let e = parse("scan.json", &text.replace("\"unexpected\"", "\"bogus\"")).expect_err("verdict");
        assert!(e.to_string().contains("unknown variant `bogus`"), "{e}");
    }
}
