//! The JSON Schemas (draft 2020-12) of `scan --format json`, of one line of `--format jsonl`
//! and of `diff --format json`: what `portghost schema --kind scan|jsonl|diff` prints and
//! what `schema/*.schema.json` in the repository holds.
//!
//! Owns the description of the contract for consumers; [`super::wire`], [`super::objects`]
//! and [`super::diff`] own the output itself, and the tests hold the two together (real
//! scans validate against these schemas, every key path of `tests/fixtures/schema/v1-keys.txt`
//! is described here, and the files in `schema/` are these documents). Enumerated values
//! come from the vocabularies of [`super::names`], so a new value cannot be left out.
//!
//! Every object allows additional properties: a field added under the versioning rule (same
//! `schema_version`) never makes a document invalid. Every field portghost writes is
//! `required`, since portghost always writes it. Pure: builds values, does no I/O.

use super::SCHEMA_VERSION;
use super::names::{
    ConfidenceName, EvidenceKindName, ExposureChangeName, ExposureName, FamilyName, FilterStatusName, FindingKindName,
    GhostStatusName, InventoryName, ModeName, OwnerStatusName, ProtocolName, SeverityName, SocketKindName,
    StrengthName, UseKindName, VerdictName, ViewName,
};
use serde_json::{Map, Value, json};

/// Which document a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `portghost scan --format json`: one object.
    Scan,
    /// One line of `portghost scan --format jsonl`.
    Jsonl,
    /// `portghost diff --format json`: one object.
    Diff,
}

impl SchemaKind {
    /// Every kind, in the order the README lists them.
    pub const ALL: [SchemaKind; 3] = [SchemaKind::Scan, SchemaKind::Jsonl, SchemaKind::Diff];

    /// `scan`, `jsonl` or `diff`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaKind::Scan => "scan",
            SchemaKind::Jsonl => "jsonl",
            SchemaKind::Diff => "diff",
        }
    }

    /// The file name in the repository's `schema/` directory: `portghost-scan.schema.json`.
    pub fn file_name(self) -> String {
        format!("portghost-{}.schema.json", self.as_str())
    }
}

/// The `$id` of the schema of `kind` for the current [`SCHEMA_VERSION`]:
/// `urn:portghost:schema:scan:v1`.
pub fn schema_id(kind: SchemaKind) -> String {
    format!("urn:portghost:schema:{}:v{SCHEMA_VERSION}", kind.as_str())
}

/// The JSON Schema of `kind`, as a value.
pub fn schema(kind: SchemaKind) -> Value {
    let (title, description, body) = match kind {
        SchemaKind::Scan => (
            "portghost scan",
            "The output of `portghost scan --format json`: one object per scan.",
            scan_object(),
        ),
        SchemaKind::Jsonl => (
            "portghost scan, one JSON Lines line",
            "One line of `portghost scan --format jsonl`: a listener (the fields of a `listeners[]` element of the scan) or a portless listener (those of a `portless[]` element), with the scan's schema_version, host and scanned_at.",
            jsonl_object(),
        ),
        SchemaKind::Diff => (
            "portghost diff",
            "The output of `portghost diff --format json`: the changes between two scans.",
            diff_object(),
        ),
    };
    let mut doc = Map::new();
    doc.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    doc.insert("$id".into(), Value::String(schema_id(kind)));
    doc.insert("title".into(), json!(title));
    doc.insert(
        "description".into(),
        json!(format!(
            "{description} Objects may carry properties not listed here: fields added without a schema_version change (see the README's versioning rule)."
        )),
    );
    if let Value::Object(body) = body {
        doc.extend(body);
    }
    doc.insert("$defs".into(), Value::Object(defs(kind)));
    Value::Object(doc)
}

/// The schema of `kind` as the pretty JSON that `portghost schema` prints and `schema/`
/// holds, ending in a newline.
pub fn schema_text(kind: SchemaKind) -> String {
    let mut text = serde_json::to_string_pretty(&schema(kind)).unwrap_or_default();
    text.push('\n');
    text
}

/// An object with `properties`, each required, more allowed.
fn object(description: &str, properties: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    for (name, schema) in properties {
        props.insert((*name).to_string(), schema.clone());
    }
    let required: Vec<&str> = properties.iter().map(|(n, _)| *n).collect();
    json!({
        "description": description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": true,
    })
}

fn string(description: &str) -> Value {
    json!({ "description": description, "type": "string" })
}

fn string_or_null(description: &str) -> Value {
    json!({ "description": description, "type": ["string", "null"] })
}

fn uint(description: &str) -> Value {
    json!({ "description": description, "type": "integer", "minimum": 0 })
}

fn uint_max(description: &str, maximum: u64) -> Value {
    json!({ "description": description, "type": "integer", "minimum": 0, "maximum": maximum })
}

fn uint_or_null(description: &str) -> Value {
    json!({ "description": description, "type": ["integer", "null"], "minimum": 0 })
}

fn boolean(description: &str) -> Value {
    json!({ "description": description, "type": "boolean" })
}

fn strings(description: &str) -> Value {
    json!({ "description": description, "type": "array", "items": { "type": "string" } })
}

fn names(description: &str, names: &[&str]) -> Value {
    json!({ "description": description, "type": "string", "enum": names })
}

fn names_or_null(description: &str, names: &[&str]) -> Value {
    let mut values: Vec<Value> = names.iter().map(|n| json!(n)).collect();
    values.push(Value::Null);
    json!({ "description": description, "type": ["string", "null"], "enum": values })
}

fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{def}") })
}

fn reference_or_null(description: &str, def: &str) -> Value {
    json!({ "description": description, "anyOf": [reference(def), { "type": "null" }] })
}

fn array_of(description: &str, def: &str) -> Value {
    json!({ "description": description, "type": "array", "items": reference(def) })
}

fn version() -> Value {
    json!({
        "description": "The version of this schema; a consumer should refuse a version it does not know.",
        "const": SCHEMA_VERSION,
    })
}

/// The properties of one listener, shared by `listeners[]` and a JSON Lines line.
fn listener_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("protocol", names("Transport protocol.", ProtocolName::NAMES)),
        ("family", names("Address family.", FamilyName::NAMES)),
        ("local_address", string("Local address, e.g. 0.0.0.0 or ::1.")),
        ("port", uint_max("Local port.", 65_535)),
        ("exposure", names("How far the address reaches.", ExposureName::NAMES)),
        (
            "v6only",
            json!({ "description": "For IPv6: whether IPV6_V6ONLY is set; null for IPv4.", "type": ["boolean", "null"] }),
        ),
        (
            "dual_stack",
            boolean("True for an IPv6 wildcard socket that also accepts IPv4."),
        ),
        ("inode", uint_or_null("Socket inode, or null where the OS has none.")),
        ("uid", uint_or_null("UID that created the socket, or null.")),
        ("netns", reference_or_null("The network namespace, or null.", "netns")),
        ("owners", array_of("Every process holding the socket.", "owner")),
        (
            "owner_status",
            names("Why the owners are, or are not, known.", OwnerStatusName::NAMES),
        ),
        ("owner_reason", string("A sentence explaining owner_status.")),
        (
            "service",
            reference_or_null("The IANA record of the port, or null when unassigned.", "service"),
        ),
        (
            "ghost",
            reference_or_null("The ghost registry entry of the port, or null.", "ghost"),
        ),
        ("verdict", names("The verdict.", VerdictName::NAMES)),
        ("findings", array_of("The reasons, most severe first.", "finding")),
    ]
}

/// The properties of one portless listener (packet or raw IP socket), shared by
/// `portless[]` and a portless JSON Lines line.
fn portless_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("socket", names("Packet or raw IP socket.", SocketKindName::NAMES)),
        ("socket_type", string("`raw`, `dgram`, or `type-N`.")),
        (
            "protocol",
            uint_max(
                "EtherType (packet: 3 is ETH_P_ALL, 2048 IPv4) or IP protocol number (raw: 1 ICMP).",
                65_535,
            ),
        ),
        (
            "protocol_name",
            string("The protocol's short name: all, ipv4, arp, icmp, or the number."),
        ),
        (
            "local_address",
            string_or_null("For a raw socket, its local address; null for a packet socket."),
        ),
        (
            "ifindex",
            uint("The interface index it is bound to; 0 for every interface."),
        ),
        (
            "interface",
            string_or_null("The interface's name in its namespace, or null."),
        ),
        (
            "promiscuous",
            boolean("True when the socket holds a promiscuous membership."),
        ),
        (
            "memberships",
            array_of("Memberships (multicast groups, promiscuous, allmulti).", "membership"),
        ),
        ("ring", boolean("True when the socket has a receive or transmit ring.")),
        (
            "fanout",
            uint_or_null("The fanout group (ID in the low 16 bits, mode and flags above), or null."),
        ),
        (
            "filter_status",
            names(
                "Whether a classic BPF filter is attached, and whether it could be read.",
                FilterStatusName::NAMES,
            ),
        ),
        (
            "filter",
            reference_or_null("The filter, decoded, when it could be read.", "filter"),
        ),
        ("inode", uint("Socket inode.")),
        ("uid", uint_or_null("UID that created the socket, or null.")),
        ("netns", reference_or_null("The network namespace, or null.", "netns")),
        ("owners", array_of("Every process holding the socket.", "owner")),
        (
            "owner_status",
            names("Why the owners are, or are not, known.", OwnerStatusName::NAMES),
        ),
        ("owner_reason", string("A sentence explaining owner_status.")),
        (
            "program",
            string_or_null("The portless registry's program an owner matched, or null."),
        ),
        ("verdict", names("The verdict.", VerdictName::NAMES)),
        ("findings", array_of("The reasons, most severe first.", "finding")),
    ]
}

fn scan_object() -> Value {
    object(
        "A scan.",
        &[
            ("schema_version", version()),
            ("host", string("Host name.")),
            ("scanned_at", string("RFC 3339 time of the scan.")),
            (
                "complete",
                boolean("False when any owner was hidden or any part of the scan failed."),
            ),
            (
                "privileged",
                boolean("Whether the scan could see every process (root or the needed capabilities)."),
            ),
            (
                "inventory",
                names(
                    "The inventory that enumerated the sockets and owners: the native Linux one, or the portable one (netstat2 and sysinfo; the only one on other operating systems).",
                    InventoryName::NAMES,
                ),
            ),
            ("warnings", strings("Problems that made the scan less than complete.")),
            (
                "view",
                names_or_null("Whose view of the machine this is; null when unknown.", ViewName::NAMES),
            ),
            (
                "namespaces",
                array_of("Every network namespace scanned, the host's first.", "netns"),
            ),
            (
                "policy",
                reference_or_null("The policy the listeners were judged with, or null.", "policy"),
            ),
            ("registry", reference("registry")),
            ("summary", reference("summary")),
            ("listeners", array_of("The listeners, unexpected first.", "listener")),
            (
                "portless",
                array_of(
                    "The portless listeners: packet and raw IP sockets.",
                    "portless_listener",
                ),
            ),
        ],
    )
}

fn jsonl_object() -> Value {
    let mut properties = vec![
        ("schema_version", version()),
        ("host", string("Host name of the machine scanned.")),
        ("scanned_at", string("RFC 3339 time of the scan.")),
    ];
    let mut portless = properties.clone();
    properties.extend(listener_properties());
    portless.extend(portless_properties());
    let mut line = Map::new();
    line.insert(
        "anyOf".into(),
        json!([
            object("One listener, with the scan it came from.", &properties),
            object("One portless listener, with the scan it came from.", &portless),
        ]),
    );
    Value::Object(line)
}

fn diff_object() -> Value {
    object(
        "The changes between two scans.",
        &[
            ("schema_version", version()),
            ("old", reference("scan_source")),
            ("new", reference("scan_source")),
            ("added", array_of("Listeners only in the new scan.", "diff_listener")),
            ("removed", array_of("Listeners only in the old scan.", "diff_listener")),
            (
                "changed",
                array_of("Listeners in both whose owner, executable or user changed.", "changed"),
            ),
            (
                "address_changed",
                array_of("Listeners that moved to another address.", "address_changed"),
            ),
            (
                "notes",
                strings("What could not be compared, and why (hidden owners, a namespace missing from one scan)."),
            ),
            ("summary", reference("diff_summary")),
        ],
    )
}

/// The `$defs` the schema of `kind` refers to.
fn defs(kind: SchemaKind) -> Map<String, Value> {
    let mut d = Map::new();
    let mut put = |name: &str, v: Value| {
        d.insert(name.to_string(), v);
    };
    put(
        "container",
        object(
            "The container a process or namespace belongs to.",
            &[
                ("runtime", string("docker, podman, containerd, cri-o or kubernetes.")),
                ("id", string("Short ID (12 hex digits).")),
                ("full_id", string("Full 64-hex-digit ID.")),
                ("pod", string_or_null("Kubernetes pod UID, or null.")),
            ],
        ),
    );
    put(
        "owner",
        object(
            "A process holding the socket.",
            &[
                ("pid", uint("Process ID.")),
                ("name", string("Process name.")),
                ("exe", string_or_null("Executable path, or null when unreadable.")),
                ("cmdline", string_or_null("Command line, or null when unreadable.")),
                ("uid", uint_or_null("User ID, or null.")),
                ("user", string_or_null("User name, or null.")),
                ("unit", string_or_null("Innermost systemd unit, or null.")),
                (
                    "user_unit_uid",
                    uint_or_null(
                        "When unit runs under a user's own service manager, that user's UID; null for a system unit.",
                    ),
                ),
                (
                    "exe_deleted",
                    boolean("True when the executable is deleted or a memfd."),
                ),
                (
                    "container",
                    reference_or_null("The container the process runs in, or null.", "container"),
                ),
            ],
        ),
    );
    put(
        "netns",
        object(
            "A network namespace.",
            &[
                ("inode", uint("Inode number.")),
                ("name", string_or_null("ip netns name, or null.")),
                (
                    "container",
                    reference_or_null("The container whose processes live in it, or null.", "container"),
                ),
                ("host", boolean("True for the host's initial namespace.")),
            ],
        ),
    );
    if kind == SchemaKind::Diff {
        diff_defs(&mut put);
        return d;
    }
    put(
        "service",
        object(
            "The IANA record of the port: the registry's twelve columns, as strings (empty when IANA gives none).",
            &[
                ("name", string("Service name; empty for unassigned and reserved ports.")),
                ("port", string("Port number or range, as the registry writes it.")),
                (
                    "protocol",
                    string("Transport protocol; empty for protocol-less ranges."),
                ),
                ("description", string("Description.")),
                ("assignee", string("Assignee, as IANA contact handles.")),
                ("contact", string("Technical contact, as IANA contact handles.")),
                ("registration_date", string("Registration date, YYYY-MM-DD, or empty.")),
                ("modification_date", string("Modification date, YYYY-MM-DD, or empty.")),
                ("reference", string("Reference, e.g. [RFC6335].")),
                ("service_code", string("DCCP service code, where one applies.")),
                (
                    "unauthorized_use_reported",
                    string("Unauthorised use reported to IANA."),
                ),
                ("assignment_notes", string("Assignment notes.")),
            ],
        ),
    );
    put(
        "unofficial",
        object(
            "A known unofficial occupant of a ghost entry's port.",
            &[
                ("name", string("Software or malware name.")),
                (
                    "transports",
                    json!({ "description": "Transports it uses.", "type": "array", "items": { "type": "string", "enum": ProtocolName::NAMES } }),
                ),
                ("ports", string("Ports it uses: \"3317\" or \"3230-3237\".")),
                ("kind", names("Software or malware.", UseKindName::NAMES)),
                ("processes", strings("Process-name patterns that identify it.")),
                (
                    "executables",
                    strings("Executable paths, file names or script names that identify it on disk."),
                ),
                ("packages", strings("Distribution packages that ship it.")),
                ("sources", strings("Source URLs for this use.")),
            ],
        ),
    );
    put(
        "ghost",
        object(
            "The ghost registry entry of the port.",
            &[
                ("status", names("The status.", GhostStatusName::NAMES)),
                ("registrant", string("Who registered the port.")),
                ("summary", string("One-sentence story.")),
                ("fate", string("What happened, as a short clause.")),
                ("registered", string_or_null("Registration date, when known.")),
                ("evidence", string("The fact behind the status.")),
                (
                    "belongs",
                    string_or_null("Where it belongs, for alive-restricted ports."),
                ),
                ("sources", strings("Source URLs.")),
                (
                    "confidence",
                    names_or_null(
                        "confirmed (a primary source) or reported (secondary pages only).",
                        ConfidenceName::NAMES,
                    ),
                ),
                (
                    "contradicted",
                    string_or_null("What contradicts the entry's own story, when something does."),
                ),
                ("unofficial", array_of("Known unofficial uses.", "unofficial")),
                (
                    "source",
                    string_or_null("The local registry file the entry came from, or null for the embedded registry."),
                ),
            ],
        ),
    );
    put(
        "evidence",
        object(
            "One fact a finding weighed.",
            &[
                ("kind", names("What the fact is about.", EvidenceKindName::NAMES)),
                (
                    "strength",
                    names_or_null(
                        "For facts about the owner, how strongly it speaks; null for facts about the port, the namespace or the address.",
                        StrengthName::NAMES,
                    ),
                ),
                ("detail", string("The fact, as a sentence.")),
            ],
        ),
    );
    put(
        "finding",
        object(
            "One reason attached to a listener.",
            &[
                ("kind", names("What it is about.", FindingKindName::NAMES)),
                ("severity", names("How much it matters.", SeverityName::NAMES)),
                ("message", string("A sentence that explains itself.")),
                (
                    "evidence",
                    array_of(
                        "Every fact the finding weighed, in the order it was weighed.",
                        "evidence",
                    ),
                ),
            ],
        ),
    );
    put(
        "listener",
        object("A listening socket and its judgement.", &listener_properties()),
    );
    put(
        "portless_listener",
        object(
            "A packet or raw IP socket: a listener with no port, and its judgement.",
            &portless_properties(),
        ),
    );
    put(
        "membership",
        object(
            "One membership of a packet socket.",
            &[
                ("ifindex", uint("Interface index.")),
                ("interface", string_or_null("Interface name, or null.")),
                ("kind", string("multicast, promiscuous, allmulti, unicast or type-N.")),
                ("address", string_or_null("Link-layer address, or null.")),
            ],
        ),
    );
    put(
        "filter",
        object(
            "A socket's classic BPF filter, decoded.",
            &[
                ("summary", string("What the filter accepts, in one sentence.")),
                (
                    "payload_match",
                    boolean("True when it compares payload bytes with constants (a magic-packet trigger)."),
                ),
                ("listing", strings("The instructions as tcpdump -d lists them.")),
                (
                    "instructions",
                    array_of("The instructions as the kernel holds them.", "bpf_instruction"),
                ),
            ],
        ),
    );
    put(
        "bpf_instruction",
        object(
            "One struct sock_filter.",
            &[
                ("code", uint_max("Opcode.", 65_535)),
                ("jt", uint_max("Jump offset when true.", 255)),
                ("jf", uint_max("Jump offset when false.", 255)),
                ("k", uint_max("Constant operand.", 4_294_967_295)),
            ],
        ),
    );
    if kind == SchemaKind::Jsonl {
        return d;
    }
    put(
        "policy",
        object(
            "The policy the listeners were judged with.",
            &[
                ("path", string("The policy file, as named.")),
                (
                    "mode",
                    names("How listeners no rule mentions are judged.", ModeName::NAMES),
                ),
                ("allow_rules", uint("Number of [[allow]] rules.")),
                ("deny_rules", uint("Number of [[deny]] rules.")),
                ("warnings", strings("Problems with the policy (expired rules).")),
            ],
        ),
    );
    put(
        "registry",
        object(
            "The registries the listeners were judged with.",
            &[
                (
                    "iana_updated",
                    string("Date of the IANA registry, YYYY-MM-DD, read from the registry itself."),
                ),
                (
                    "iana_file",
                    string_or_null("The IANA file given with --iana or PORTGHOST_IANA, or null for the embedded one."),
                ),
                (
                    "local_files",
                    strings("The local registry files merged in, in the order they were read."),
                ),
            ],
        ),
    );
    put(
        "summary",
        object(
            "Counts over the listeners.",
            &[
                ("listeners", uint("All listeners shown.")),
                ("tcp", uint("TCP listeners.")),
                ("udp", uint("UDP listeners.")),
                ("unexpected", uint("Verdict unexpected.")),
                ("unreviewed", uint("Verdict unreviewed.")),
                ("expected", uint("Verdict expected.")),
                ("owners_hidden", uint("Listeners whose owners are hidden.")),
            ],
        ),
    );
    d
}

/// The `$defs` of the diff only.
fn diff_defs(put: &mut impl FnMut(&str, Value)) {
    put(
        "scan_source",
        object(
            "One of the two scans compared.",
            &[
                (
                    "source",
                    string("The file it was read from, - for standard input, or \"this host now\"."),
                ),
                ("host", string_or_null("Its host name, if it has one.")),
                ("scanned_at", string_or_null("Its scan time, if it has one.")),
                (
                    "complete",
                    json!({ "description": "Whether it saw every owner, if it says.", "type": ["boolean", "null"] }),
                ),
                ("listeners", uint("How many listeners it holds.")),
            ],
        ),
    );
    put(
        "diff_listener",
        object(
            "A listener as the diff shows it.",
            &[
                (
                    "netns",
                    string_or_null("Its network namespace's name or inode; null for the host's."),
                ),
                ("protocol", names("Transport protocol.", ProtocolName::NAMES)),
                ("local_address", string("Local address.")),
                ("port", uint_max("Local port.", 65_535)),
                ("exposure", names("How far the address reaches.", ExposureName::NAMES)),
                (
                    "dual_stack",
                    boolean("True for an IPv6 wildcard socket that also accepts IPv4."),
                ),
                ("owners", array_of("Every process holding the socket.", "owner")),
                (
                    "owner_status",
                    names("Why the owners are, or are not, known.", OwnerStatusName::NAMES),
                ),
                (
                    "verdict",
                    names_or_null(
                        "The verdict its scan gave, or null when the scan has none.",
                        VerdictName::NAMES,
                    ),
                ),
            ],
        ),
    );
    put(
        "change",
        object(
            "One field that changed.",
            &[
                (
                    "field",
                    string("The field that changed: process, exe, user or dual-stack."),
                ),
                ("old", string("Its old value.")),
                ("new", string("Its new value.")),
            ],
        ),
    );
    put(
        "changed",
        object(
            "A listener whose owner, executable or user changed.",
            &[
                ("old", reference("diff_listener")),
                ("new", reference("diff_listener")),
                ("changes", array_of("What changed.", "change")),
            ],
        ),
    );
    put(
        "address_changed",
        object(
            "A listener that moved to another address.",
            &[
                ("old", reference("diff_listener")),
                ("new", reference("diff_listener")),
                (
                    "exposure_change",
                    names(
                        "Whether the move widened or narrowed its reach.",
                        ExposureChangeName::NAMES,
                    ),
                ),
                ("changes", array_of("What changed.", "change")),
            ],
        ),
    );
    put(
        "diff_summary",
        object(
            "Counts of the changes.",
            &[
                ("added", uint("Listeners added.")),
                ("removed", uint("Listeners removed.")),
                ("changed", uint("Listeners whose owner, executable or user changed.")),
                ("address_changed", uint("Listeners that moved.")),
                ("unchanged", uint("Listeners in both scans, unchanged.")),
                (
                    "not_compared",
                    uint("Listeners whose owners are hidden in one scan, so could not be compared."),
                ),
                ("drift", boolean("True when anything was added, removed or changed.")),
            ],
        ),
    );
}
