//! The GitLab Code Quality output (`--format gitlab`): the JSON array a merge request's
//! Code Quality widget reads from an `artifacts:reports:codequality` file.
//!
//! Owns the mapping of a scan onto Code Quality issues: one per unexpected listener, and one
//! (`minor`) per other listener whose owners are hidden ([`super::ci::issues`]), then one per
//! unexpected portless listener ([`super::ci::portless_issues`]). Each has
//! `description`, `check_name` (`portghost/ghost-port`…), a stable `fingerprint`
//! ([`super::ci::fingerprint`]: no PID, so an issue is the same issue from run to run),
//! `severity` (`info`, `minor`, `major`, `critical`, `blocker`) and a `location`: the policy
//! file and the line of the rule that allowed, denied or would allow the listener, or
//! `portghost-scan` line 1 when no policy judged the scan. Process text is made visible
//! with [`terminal_safe`]; JSON escaping does the rest. Writes to any `Write`.

use super::ci::{self, Issue};
use super::github::subject_line;
use crate::model::{FindingKind, Report, Severity};
use crate::policy::PolicyContext;
use crate::sanitize::terminal_safe;
use serde::Serialize;
use std::io::{self, Write};

/// One Code Quality issue.
#[derive(Debug, Serialize)]
pub struct CodeQualityIssue {
    /// What is wrong, in a sentence or a few lines.
    pub description: String,
    /// `portghost/` and the check: `portghost/ghost-port`.
    pub check_name: String,
    /// Stable identity of the issue across runs.
    pub fingerprint: String,
    /// `info`, `minor`, `major`, `critical` or `blocker`.
    pub severity: &'static str,
    /// Where it points.
    pub location: CodeQualityLocation,
}

/// The `location` of an issue.
#[derive(Debug, Serialize)]
pub struct CodeQualityLocation {
    /// The policy file, or `portghost-scan`.
    pub path: String,
    /// The line.
    pub lines: CodeQualityLines,
}

/// The `location.lines` of an issue.
#[derive(Debug, Serialize)]
pub struct CodeQualityLines {
    /// 1-based line.
    pub begin: usize,
}

/// GitLab's severity of an issue: a listener a deny rule names, or one on a
/// malware-associated port, is a `blocker`; otherwise high findings are `critical`, medium
/// `major`, low `minor` and info `info`.
pub fn severity(issue: &Issue<'_>) -> &'static str {
    let c = issue.listener;
    let malware = c
        .ghost
        .as_ref()
        .is_some_and(|g| g.status == crate::model::GhostStatus::MalwareAssociated);
    if issue.unexpected && (malware || c.findings.iter().any(|f| f.kind == FindingKind::Denied)) {
        return "blocker";
    }
    match issue.severity {
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}

/// The Code Quality issues of `report`, judged with `policy` (for the locations).
pub fn issues(report: &Report, policy: Option<PolicyContext<'_>>) -> Vec<CodeQualityIssue> {
    ci::issues(report)
        .iter()
        .map(|issue| {
            let c = issue.listener;
            let (path, line) = ci::location(policy, c);
            let mut description = subject_line(c, report);
            description.push_str(": ");
            if issue.unexpected {
                description.push_str(&terminal_safe(&c.reason()));
            } else {
                description.push_str(c.listener.owner_status.reason());
            }
            CodeQualityIssue {
                description,
                check_name: format!("portghost/{}", issue.kind),
                fingerprint: ci::fingerprint(&report.host, &c.listener, issue.kind),
                severity: severity(issue),
                location: CodeQualityLocation {
                    path: terminal_safe(&path).into_owned(),
                    lines: CodeQualityLines { begin: line },
                },
            }
        })
        .collect()
}

/// The Code Quality issues of `report`'s unexpected portless listeners.
pub fn portless_issues(report: &Report, policy: Option<PolicyContext<'_>>) -> Vec<CodeQualityIssue> {
    ci::portless_issues(report)
        .iter()
        .map(|issue| {
            let c = issue.listener;
            let l = &c.listener;
            let (path, line) = ci::portless_location(policy, c);
            let description = format!(
                "{} socket {} {}: {}",
                l.kind,
                terminal_safe(&l.endpoint()),
                super::portless_owners_cell(l),
                terminal_safe(&c.reason())
            );
            CodeQualityIssue {
                description,
                check_name: format!("portghost/{}", issue.kind),
                fingerprint: ci::portless_fingerprint(&report.host, l, issue.kind),
                severity: match issue.severity {
                    Severity::High => "critical",
                    Severity::Medium => "major",
                    Severity::Low => "minor",
                    Severity::Info => "info",
                },
                location: CodeQualityLocation {
                    path: terminal_safe(&path).into_owned(),
                    lines: CodeQualityLines { begin: line },
                },
            }
        })
        .collect()
}

/// Renders `report` as a GitLab Code Quality report: a JSON array, pretty when `pretty`.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(
    out: &mut impl Write,
    report: &Report,
    policy: Option<PolicyContext<'_>>,
    pretty: bool,
) -> io::Result<()> {
    let mut issues = issues(report, policy);
    issues.extend(portless_issues(report, policy));
    if pretty {
        serde_json::to_writer_pretty(&mut *out, &issues)?;
    } else {
        serde_json::to_writer(&mut *out, &issues)?;
    }
    writeln!(out)
}
