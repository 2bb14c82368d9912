//! The SARIF 2.1.0 output (`--format sarif`), for code-scanning dashboards (GitHub code
//! scanning, Azure DevOps, SARIF viewers).
//!
//! Owns the mapping of a scan onto SARIF: one run; one rule per check a result refers to
//! (`portghost/ghost-port`…); one result per issue ([`super::ci::issues`]: every unexpected
//! listener, and every other listener whose owners are hidden; then every unexpected
//! portless listener, a packet or raw socket, [`super::ci::portless_issues`]) with level `error` (high),
//! `warning` (medium) or `note`, the message of its findings, a location at the policy
//! rule that allowed, denied or would allow it (or `portghost-scan` line 1), a logical
//! location naming the listener, and the stable fingerprint
//! `partialFingerprints["portghostListener/v1"]`. Scan warnings are the invocation's
//! notifications. Process text is made visible with [`terminal_safe`]. The wire types are
//! in [`crate::schema::sarif`].

use super::ci;
use super::github::subject_line;
use super::text::finding_with_evidence;
use crate::model::{Report, Severity};
use crate::policy::PolicyContext;
use crate::sanitize::terminal_safe;
use crate::schema::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, Notification, PhysicalLocation, Region,
    ReportingConfiguration, ReportingDescriptor, Run, SARIF_SCHEMA, SarifLog, SarifResult, Tool, ToolComponent,
};
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// SARIF's level for a severity: high is `error`, medium `warning`, low and info `note`.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// What each check means, for the rule's description.
fn describe(kind: &str) -> &'static str {
    match kind {
        "ghost-port" => "A listener on a port whose standard was withdrawn or whose vendor is gone.",
        "historic-protocol" => "A listener speaking a historic protocol.",
        "alive-restricted" => "A restricted service exposed beyond where it belongs.",
        "common-squatter" => "A port commonly squatted by software other than its assignee.",
        "unofficial-use" => "A port known for unofficial or malicious use.",
        "unregistered-port" => "A listener on a port IANA has not assigned.",
        "owner-hidden" => "A listener whose owning processes could not be seen.",
        "suspicious-executable" => "A listener owned by an executable in a suspicious place.",
        "no-owner" => "A listener held by no process.",
        "not-allowed" => "A listener the policy does not allow.",
        "denied" => "A listener a deny rule of the policy names.",
        _ => "An unexpected listener.",
    }
}

/// The index of the rule `portghost/KIND` in `rules`, added (described by `description`,
/// at the level of `severity`) the first time a result refers to it.
fn rule_index(rules: &mut Vec<ReportingDescriptor>, kind: &str, severity: Severity, description: &str) -> usize {
    let id = format!("portghost/{kind}");
    if let Some(i) = rules.iter().position(|r| r.id == id) {
        return i;
    }
    rules.push(ReportingDescriptor {
        id,
        name: kind.to_string(),
        short_description: Message {
            text: description.to_string(),
        },
        default_configuration: ReportingConfiguration { level: level(severity) },
    });
    rules.len() - 1
}

/// What a result says about where its listener is: the policy file and line it points at,
/// the listener's name and network namespace, and its stable fingerprint.
struct Place {
    path: String,
    line: usize,
    name: String,
    netns: String,
    fingerprint: String,
}

/// One result of rule `rules[index]`, at `place`, with `text` and `properties`.
fn result(
    rules: &[ReportingDescriptor],
    index: usize,
    severity: Severity,
    text: String,
    place: Place,
    properties: Map<String, Value>,
) -> SarifResult {
    let mut fingerprints = Map::new();
    fingerprints.insert("portghostListener/v1".into(), Value::String(place.fingerprint));
    SarifResult {
        rule_id: rules[index].id.clone(),
        rule_index: index,
        level: level(severity),
        message: Message { text },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: terminal_safe(&place.path).into_owned(),
                },
                region: Region { start_line: place.line },
            },
            logical_locations: vec![LogicalLocation {
                fully_qualified_name: format!("netns {}: {}", terminal_safe(&place.netns), place.name),
                name: place.name,
                kind: "resource",
            }],
        }],
        partial_fingerprints: fingerprints,
        properties,
    }
}

/// Builds the SARIF log of `report`, judged with `policy` (for the locations).
pub fn build(report: &Report, policy: Option<PolicyContext<'_>>) -> SarifLog {
    let issues = ci::issues(report);
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut results = Vec::new();
    for issue in &issues {
        let c = issue.listener;
        let index = rule_index(&mut rules, issue.kind, issue.severity, describe(issue.kind));
        let mut text = format!("{}: ", subject_line(c, report));
        if issue.unexpected {
            text.push_str(&terminal_safe(&c.reason()));
            for line in c.findings.iter().skip(1).flat_map(finding_with_evidence) {
                text.push('\n');
                text.push_str(&line);
            }
        } else {
            text.push_str(c.listener.owner_status.reason());
        }
        let (path, line) = ci::location(policy, c);
        let l = &c.listener;
        let mut properties = Map::new();
        properties.insert("netns".into(), json!(terminal_safe(&ci::netns_key(l))));
        properties.insert("protocol".into(), json!(l.protocol.as_str()));
        properties.insert("local_address".into(), json!(l.local_address.to_string()));
        properties.insert("port".into(), json!(l.port));
        properties.insert("verdict".into(), json!(c.verdict.as_str()));
        properties.insert("owner_status".into(), json!(l.owner_status.as_str()));
        properties.insert(
            "owners".into(),
            json!(
                l.owners
                    .iter()
                    .map(|o| json!({ "pid": o.pid, "name": terminal_safe(&o.name) }))
                    .collect::<Vec<_>>()
            ),
        );
        let place = Place {
            path,
            line,
            name: format!("{}/{} {}", l.protocol, l.port, l.local_address),
            netns: ci::netns_key(l),
            fingerprint: ci::fingerprint(&report.host, l, issue.kind),
        };
        results.push(result(&rules, index, issue.severity, text, place, properties));
    }
    for issue in ci::portless_issues(report) {
        let c = issue.listener;
        let l = &c.listener;
        let index = rule_index(
            &mut rules,
            issue.kind,
            issue.severity,
            "A packet or raw socket (a listener with no port) that is not expected.",
        );
        let mut text = format!(
            "{} socket {} {}: {}",
            l.kind,
            terminal_safe(&l.endpoint()),
            super::portless_owners_cell(l),
            terminal_safe(&c.reason())
        );
        for line in c.findings.iter().skip(1).flat_map(finding_with_evidence) {
            text.push('\n');
            text.push_str(&line);
        }
        let (path, line) = ci::portless_location(policy, c);
        let netns = ci::namespace_key(l.netns.as_deref());
        let mut properties = Map::new();
        properties.insert("netns".into(), json!(terminal_safe(&netns)));
        properties.insert("socket".into(), json!(l.kind.to_string()));
        properties.insert("protocol".into(), json!(l.protocol_name()));
        properties.insert("verdict".into(), json!(c.verdict.as_str()));
        properties.insert("owner_status".into(), json!(l.owner_status.as_str()));
        if let Some(f) = &c.filter {
            properties.insert("filter".into(), json!(terminal_safe(&f.summary)));
        }
        let place = Place {
            path,
            line,
            name: format!("{} {} {}", l.kind, l.protocol_name(), terminal_safe(&l.endpoint())),
            netns,
            fingerprint: ci::portless_fingerprint(&report.host, l, issue.kind),
        };
        results.push(result(&rules, index, issue.severity, text, place, properties));
    }
    let mut properties = Map::new();
    properties.insert("host".into(), json!(terminal_safe(&report.host)));
    properties.insert("scanned_at".into(), json!(report.scanned_at));
    properties.insert("complete".into(), json!(report.complete));
    properties.insert("privileged".into(), json!(report.privileged));
    properties.insert("listeners".into(), json!(report.summary.listeners));
    SarifLog {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: ToolComponent {
                    name: "portghost",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: report
                    .warnings
                    .iter()
                    .map(|w| Notification {
                        message: Message {
                            text: terminal_safe(w).into_owned(),
                        },
                        level: "warning",
                    })
                    .collect(),
            }],
            results,
            properties,
        }],
    }
}

/// Renders `report` as a SARIF 2.1.0 log, pretty when `pretty`.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(
    out: &mut impl Write,
    report: &Report,
    policy: Option<PolicyContext<'_>>,
    pretty: bool,
) -> io::Result<()> {
    let log = build(report, policy);
    if pretty {
        serde_json::to_writer_pretty(&mut *out, &log)?;
    } else {
        serde_json::to_writer(&mut *out, &log)?;
    }
    writeln!(out)
}
