//! The wire types of `--format sarif`: the part of SARIF 2.1.0 (OASIS) that portghost
//! writes, field by field, serialised with serde.
//!
//! Hand-written rather than taken from a crate: a few objects suffice, and
//! `tests/ci_reports.rs` validates real output against the SARIF 2.1.0 JSON schema
//! (`tests/fixtures/sarif/sarif-schema-2.1.0.json`). Optional members are
//! left out when empty, as SARIF prefers. No I/O and no decisions: the SARIF
//! renderer (`portghost::render::sarif`) fills them in.

use serde::Serialize;
use serde_json::{Map, Value};

/// The `$schema` written: the OASIS 2.1.0 schema (errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// A SARIF log: the top-level object.
#[derive(Debug, Serialize)]
pub struct SarifLog {
    /// [`SARIF_SCHEMA`].
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// Always `2.1.0`.
    pub version: &'static str,
    /// One run per scan.
    pub runs: Vec<Run>,
}

/// One run of the tool.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The tool and its rules.
    pub tool: Tool,
    /// How the run went.
    pub invocations: Vec<Invocation>,
    /// The results.
    pub results: Vec<SarifResult>,
    /// The scan's facts: host, scanned_at, complete, privileged.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

/// `tool`.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// The tool component.
    pub driver: ToolComponent,
}

/// `tool.driver`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolComponent {
    /// `portghost`.
    pub name: &'static str,
    /// The version of portghost.
    pub version: &'static str,
    /// The same, as SARIF's semantic version.
    pub semantic_version: &'static str,
    /// One rule per check that a result refers to.
    pub rules: Vec<ReportingDescriptor>,
}

/// A rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    /// `portghost/ghost-port`.
    pub id: String,
    /// `ghost-port`.
    pub name: String,
    /// A sentence describing the check.
    pub short_description: Message,
    /// The level of its results when nothing else says.
    pub default_configuration: ReportingConfiguration,
}

/// A rule's `defaultConfiguration`.
#[derive(Debug, Serialize)]
pub struct ReportingConfiguration {
    /// `error`, `warning` or `note`.
    pub level: &'static str,
}

/// A message.
#[derive(Debug, Serialize)]
pub struct Message {
    /// Plain text.
    pub text: String,
}

/// An invocation.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// True: the scan ran (a failed scan writes no report).
    pub execution_successful: bool,
    /// The scan's warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<Notification>,
}

/// A notification (a scan warning).
#[derive(Debug, Serialize)]
pub struct Notification {
    /// The warning.
    pub message: Message,
    /// `warning`.
    pub level: &'static str,
}

/// A result: one listener.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's index in `tool.driver.rules`.
    pub rule_index: usize,
    /// `error`, `warning` or `note`.
    pub level: &'static str,
    /// What is wrong.
    pub message: Message,
    /// Where it points: the policy rule, or `portghost-scan`.
    pub locations: Vec<Location>,
    /// The stable identity of the result across runs.
    pub partial_fingerprints: Map<String, Value>,
    /// The listener's facts.
    pub properties: Map<String, Value>,
}

/// A location.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The file and line.
    pub physical_location: PhysicalLocation,
    /// The listener, named.
    pub logical_locations: Vec<LogicalLocation>,
}

/// A physical location.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    /// The file.
    pub artifact_location: ArtifactLocation,
    /// The line.
    pub region: Region,
}

/// An artifact location.
#[derive(Debug, Serialize)]
pub struct ArtifactLocation {
    /// The file, as a relative or absolute URI reference.
    pub uri: String,
}

/// A region.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// 1-based line.
    pub start_line: usize,
}

/// A logical location: the listener.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    /// `tcp/3237 0.0.0.0`.
    pub name: String,
    /// With the namespace: `netns host: tcp 0.0.0.0:3237`.
    pub fully_qualified_name: String,
    /// `resource`.
    pub kind: &'static str,
}
