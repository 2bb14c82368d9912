//! The JSON contract held still: every key path and value type that `scan --format json`,
//! `--format jsonl` and `diff --format json` write must be the ones listed in
//! `tests/fixtures/schema/v1-keys.txt`, so renaming a model field (or a wire field by
//! accident) fails here instead of changing the schema. Plus the round trip (a scan read
//! back by the typed reader gives every field the report had) and the live diff (a snapshot
//! built from a report equals the one read back from its JSON, and so does the diff).
//!
//! After a deliberate change to the schema, regenerate the list with
//! `PORTGHOST_BLESS_SCHEMA=1 cargo test --test schema` and review the difference.

#[path = "common/fixture.rs"]
mod fixture;

use chrono::NaiveDate;
use portghost as drift;
use portghost::Registry;
use portghost::classify_with;
use portghost::model::{Protocol, Report};
use portghost::policy::{PolicyContext, parse};
use portghost::render::{diff as diff_report, json, jsonl};
use portghost::schema::Snapshot;
use portghost::schema::names::{OwnerStatusName, ProtocolName, VerdictName};
use portghost::schema::wire::OwnerJson;
use portghost::schema::{self, SCHEMA_VERSION};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

const KEYS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/v1-keys.txt");

/// The fixture judged with a policy, so the scan has a `policy` object and `expected`
/// verdicts.
fn with_policy() -> Report {
    let text = "version = 1\n\n[[allow]]\nport = 22\nprocess = \"sshd\"\n\n[[allow]]\nport = 60123\nexpires = 2020-01-01\n\n[[deny]]\nport = 3317\n";
    let policy = parse::parse("policy.toml", text).unwrap_or_else(|e| panic!("policy parses: {e}"));
    let ctx = PolicyContext {
        policy: &policy,
        today: NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
    };
    classify_with(fixture::inventory(), Registry::builtin().expect("registry"), Some(ctx))
}

/// Reports that between them fill every field: ghosts with unofficial uses, services,
/// findings, hidden owners, containers in two namespaces, a policy.
fn reports() -> Vec<Report> {
    vec![
        fixture::report(),
        fixture::two_namespaces("lab1", Some("0b1c2d3e-aaaa-bbbb-cccc-0123456789ab")),
        with_policy(),
        with_portless(),
    ]
}

/// The fixture with two portless listeners: a packet socket with a filter, a membership
/// and a suspicious owner in a named namespace, and a raw ICMP socket whose owner was not
/// looked up.
fn with_portless() -> Report {
    let mut inv = fixture::inventory();
    let packet = serde_json::json!({
        "kind": "packet", "socket_type": "raw", "protocol": 3, "ifindex": 1, "interface": "lo",
        "memberships": [{"ifindex": 1, "interface": "lo", "kind": "multicast", "address": "01:00:5e:00:00:12"}],
        "ring": true, "fanout": 5, "filter_status": "attached",
        "filter": [{"code": 6, "jt": 0, "jf": 0, "k": 65535}],
        "inode": 99, "uid": 0,
        "owners": [{"pid": 7, "name": "kworker/0:1", "exe": "/dev/shm/x", "cmdline": "x", "uid": 0, "user": "root"}],
        "owner_status": "known",
        "netns": {"inode": 4026532301_u64, "name": "lab", "host": false}
    });
    let raw = serde_json::json!({
        "kind": "raw", "socket_type": "raw", "protocol": 1, "local_address": "0.0.0.0",
        "filter_status": "unavailable", "inode": 100, "owner_status": "not-looked"
    });
    for p in [packet, raw] {
        inv.portless
            .push(serde_json::from_value(p).expect("a portless listener"));
    }
    portghost::classify(inv, Registry::builtin().expect("registry"))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_u64() => "uint",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every `path: type` in `v`, array elements as `[]`.
fn key_paths(path: &str, v: &Value, out: &mut BTreeSet<String>) {
    out.insert(format!("{path}: {}", json_type(v)));
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                key_paths(&format!("{path}.{k}"), child, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                key_paths(&format!("{path}[]"), child, out);
            }
        }
        _ => {}
    }
}

fn render_json(r: &Report, pretty: bool) -> String {
    let mut out = Vec::new();
    json::render(&mut out, r, pretty).expect("render");
    String::from_utf8(out).expect("utf-8")
}

/// A second scan that drifted from `r` in every way a diff reports: a listener removed,
/// one added, one re-owned, one moved to the wildcard address.
fn drifted(r: &Report) -> Snapshot {
    let mut s = Snapshot::from_report(r);
    s.listeners.retain(|l| l.port != 3237);
    let mut added = s.listeners[0].clone();
    added.port = 9090;
    added.protocol = ProtocolName::Tcp;
    s.listeners.push(added);
    let changed = s
        .listeners
        .iter_mut()
        .find(|l| l.owner_status == Some(OwnerStatusName::Known) && !l.owners.is_empty())
        .expect("a listener with a known owner");
    changed.owners[0].name = "imposter".into();
    let moved = s
        .listeners
        .iter_mut()
        .find(|l| {
            l.local_address.is_loopback() && l.owner_status == Some(OwnerStatusName::Known) && !l.owners.is_empty()
        })
        .expect("a loopback listener with a known owner");
    moved.local_address = "0.0.0.0".parse().expect("address");
    s
}

fn diff_json(r: &Report) -> String {
    let d = drift::compare(&Snapshot::from_report(r), "old.json", &drifted(r), "new.json");
    assert!(
        !(d.added.is_empty() || d.removed.is_empty() || d.changed.is_empty() || d.address_changed.is_empty()),
        "every kind of change: {d:#?}"
    );
    let mut out = Vec::new();
    diff_report::render_json(&mut out, &d, false).expect("render");
    String::from_utf8(out).expect("utf-8")
}

/// The key paths of everything the schema writes for `reports()`.
fn written_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for r in reports() {
        for pretty in [false, true] {
            let v: Value = serde_json::from_str(&render_json(&r, pretty)).expect("scan JSON");
            key_paths("scan", &v, &mut keys);
        }
        let mut lines = Vec::new();
        jsonl::render(&mut lines, &r).expect("render");
        for line in String::from_utf8(lines).expect("utf-8").lines() {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            key_paths("jsonl", &v, &mut keys);
        }
        let v: Value = serde_json::from_str(&diff_json(&r)).expect("diff JSON");
        key_paths("diff", &v, &mut keys);
    }
    keys
}

#[test]
fn the_schema_is_the_checked_in_list_of_key_paths() {
    let written = written_keys();
    let text: String = written.iter().map(|k| format!("{k}\n")).collect();
    if std::env::var_os("PORTGHOST_BLESS_SCHEMA").is_some() {
        std::fs::write(KEYS_FILE, &text).expect("write the key list");
    }
    let expected: BTreeSet<String> = std::fs::read_to_string(KEYS_FILE)
        .expect("tests/fixtures/schema/v1-keys.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let missing: Vec<_> = expected.difference(&written).collect();
    let extra: Vec<_> = written.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the JSON schema changed (schema_version {SCHEMA_VERSION}).\nno longer written: {missing:#?}\nnewly written: {extra:#?}\n\
         Adding a field keeps schema_version; changing or removing one bumps it (src/schema/mod.rs)."
    );
}

#[test]
fn a_scan_read_back_gives_every_field_of_the_report() {
    for r in reports() {
        for pretty in [false, true] {
            let read = schema::parse("scan.json", &render_json(&r, pretty)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(read, Snapshot::from_report(&r), "reader and writer disagree");
            assert_eq!(read.schema_version, SCHEMA_VERSION);
            assert_eq!(read.host.as_deref(), Some(r.host.as_str()));
            assert_eq!(read.scanned_at.as_deref(), Some(r.scanned_at.as_str()));
            assert_eq!(read.complete, Some(r.complete));
            assert_eq!(read.privileged, Some(r.privileged));
            assert_eq!(read.warnings, r.warnings);
            assert_eq!(read.view.map(Into::into), r.view);
            assert_eq!(read.namespaces.len(), r.namespaces.len());
            for (n, m) in read.namespaces.iter().zip(&r.namespaces) {
                assert_eq!(
                    (n.inode, n.name.as_deref(), n.host),
                    (m.inode, m.name.as_deref(), m.host)
                );
                assert_eq!(n.container.as_ref().map(|c| c.to_container()), m.container);
            }
            match (&read.policy, &r.policy) {
                (Some(p), Some(q)) => {
                    assert_eq!(
                        (p.path.as_ref(), p.allow_rules, p.deny_rules),
                        (q.path.as_str(), q.allow_rules, q.deny_rules)
                    );
                    assert_eq!(portghost::model::Mode::from(p.mode), q.mode);
                    assert_eq!(p.warnings.as_ref(), q.warnings.as_slice());
                }
                (None, None) => {}
                other => panic!("policy read back as {other:?}"),
            }
            let s = read.summary.expect("summary");
            let t = r.summary;
            assert_eq!(
                (
                    s.listeners,
                    s.tcp,
                    s.udp,
                    s.unexpected,
                    s.unreviewed,
                    s.expected,
                    s.owners_hidden
                ),
                (
                    t.listeners,
                    t.tcp,
                    t.udp,
                    t.unexpected,
                    t.unreviewed,
                    t.expected,
                    t.owners_hidden
                )
            );
            assert_eq!(read.listeners.len(), r.listeners.len());
            for (l, c) in read.listeners.iter().zip(&r.listeners) {
                let m = &c.listener;
                assert_eq!(Protocol::from(l.protocol), m.protocol);
                assert_eq!(l.family.map(Into::into), Some(m.family()));
                assert_eq!((l.local_address, l.port), (m.local_address, m.port));
                assert_eq!(l.exposure.map(Into::into), Some(m.exposure()));
                assert_eq!((l.v6only, l.dual_stack), (m.v6only, m.is_dual_stack()));
                assert_eq!((l.inode, l.uid), (m.inode, m.uid));
                let netns = l.netns.as_ref().map(|n| {
                    (
                        n.inode,
                        n.name.clone(),
                        n.host,
                        n.container.as_ref().map(|c| c.to_container()),
                    )
                });
                let model_netns = m
                    .netns
                    .as_deref()
                    .map(|n| (Some(n.inode), n.name.clone(), n.host, n.container.clone()));
                assert_eq!(netns, model_netns);
                let owners: Vec<_> = l.owners.iter().map(OwnerJson::to_owner).map(Arc::new).collect();
                assert_eq!(owners, m.owners);
                assert_eq!(l.owner_status.map(Into::into), Some(m.owner_status));
                assert_eq!(l.owner_reason.as_deref(), Some(m.owner_status.reason()));
                assert_eq!(
                    l.service
                        .as_ref()
                        .map(|s| (s.name.as_ref(), s.port.as_ref(), s.assignment_notes.as_ref())),
                    c.service
                        .map(|s| (s.name.as_ref(), s.port.as_ref(), s.assignment_notes.as_ref()))
                );
                assert_eq!(l.service.is_some(), c.service.is_some());
                match (&l.ghost, &c.ghost) {
                    (Some(g), Some(h)) => {
                        assert_eq!(portghost::model::GhostStatus::from(g.status), h.status);
                        assert_eq!(
                            (g.registrant.as_ref(), g.fate.as_ref(), g.sources.as_ref()),
                            (h.registrant.as_str(), h.fate.as_str(), h.sources.as_slice())
                        );
                        assert_eq!(g.unofficial.len(), h.unofficial.len());
                        for (u, v) in g.unofficial.iter().zip(&h.unofficial) {
                            assert_eq!(
                                (u.name.as_ref(), u.ports.as_ref()),
                                (v.name.as_str(), v.ports.to_string().as_str())
                            );
                            assert_eq!(
                                u.transports.iter().map(|&p| Protocol::from(p)).collect::<Vec<_>>(),
                                v.transports
                            );
                        }
                    }
                    (None, None) => {}
                    other => panic!("ghost read back as {other:?}"),
                }
                assert_eq!(l.verdict.map(Into::into), Some(c.verdict));
                let findings: Vec<_> = l
                    .findings
                    .iter()
                    .map(|f| (f.kind.into(), f.severity.into(), f.message.to_string()))
                    .collect();
                let model_findings: Vec<_> = c
                    .findings
                    .iter()
                    .map(|f| (f.kind, f.severity, f.message.clone()))
                    .collect();
                assert_eq!(findings, model_findings);
            }
        }
    }
}

#[test]
fn the_live_diff_from_a_report_equals_the_diff_through_json() {
    for r in reports() {
        let mut saved_report = r.clone();
        saved_report.retain(|c| c.listener.port != 22);
        let saved = schema::parse("old.json", &render_json(&saved_report, false)).expect("saved scan");
        let through_json = schema::parse("this host now", &render_json(&r, false)).expect("scan");
        let direct = Snapshot::from_report(&r);
        assert_eq!(through_json, direct);
        let a = drift::compare(&saved, "old.json", &through_json, "this host now");
        let b = drift::compare(&saved, "old.json", &direct, "this host now");
        assert_eq!(a, b);
        assert!(a.summary.drift, "the saved scan lacks port 22: {a:#?}");
        let render = |d: &drift::Diff| {
            let mut out = Vec::new();
            diff_report::render_json(&mut out, d, true).expect("render");
            out
        };
        assert_eq!(render(&a), render(&b));
    }
}

#[test]
fn the_reader_accepts_every_version_written_so_far() {
    assert!(schema::READABLE_VERSIONS.contains(&SCHEMA_VERSION));
    for &v in schema::READABLE_VERSIONS {
        let text = format!(r#"{{"schema_version":{v},"listeners":[]}}"#);
        schema::parse("scan.json", &text).unwrap_or_else(|e| panic!("version {v}: {e}"));
    }
    let e = schema::parse("old.json", r#"{"schema_version":1,"listeners":[{"protocol":"tcp","local_address":"::1","port":1,"owners":[],"verdict":"maybe"}]}"#)
        .expect_err("unknown verdict");
    assert!(e.to_string().starts_with("old.json:1:"), "{e}");
    assert!(VerdictName::Unexpected.as_str() == "unexpected");
}

// ---- The JSON Schemas (schema/*.schema.json, `portghost schema`) ---------------------

use portghost::schema::json_schema::{SchemaKind, schema as json_schema_of, schema_text};

fn validator(kind: SchemaKind) -> jsonschema::Validator {
    let schema = json_schema_of(kind);
    jsonschema::draft202012::meta::validate(&schema)
        .unwrap_or_else(|e| panic!("the {} schema is not a valid draft 2020-12 schema: {e}", kind.as_str()));
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{} schema: {e}", kind.as_str()))
}

/// Panics with every validation error of `doc` (labelled `what`) against `v`.
fn assert_valid(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} does not validate:\n{}", errors.join("\n"));
}

#[test]
fn the_shipped_schema_files_are_what_portghost_schema_prints() {
    for kind in SchemaKind::ALL {
        let path = format!("{}/schema/{}", env!("CARGO_MANIFEST_DIR"), kind.file_name());
        let text = schema_text(kind);
        if std::env::var_os("PORTGHOST_BLESS_SCHEMA").is_some() {
            std::fs::write(&path, &text).expect("write schema file");
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == text,
            "{path} is not what `portghost schema --kind {}` prints; regenerate with PORTGHOST_BLESS_SCHEMA=1 cargo test --test schema",
            kind.as_str()
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portghost"))
            .args(["schema", "--kind", kind.as_str()])
            .output()
            .expect("run portghost schema");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8(out.stdout).expect("utf-8"), text);
    }
}

#[test]
fn the_fixture_reports_validate_against_the_schemas() {
    let scan = validator(SchemaKind::Scan);
    let line = validator(SchemaKind::Jsonl);
    let diff = validator(SchemaKind::Diff);
    for (i, r) in reports().iter().enumerate() {
        for pretty in [false, true] {
            let v: Value = serde_json::from_str(&render_json(r, pretty)).expect("scan JSON");
            assert_valid(&scan, &format!("fixture report {i} (pretty: {pretty})"), &v);
        }
        let mut lines = Vec::new();
        jsonl::render(&mut lines, r).expect("render");
        for (n, text) in String::from_utf8(lines).expect("utf-8").lines().enumerate() {
            let v: Value = serde_json::from_str(text).expect("a JSON line");
            assert_valid(&line, &format!("fixture report {i}, line {}", n + 1), &v);
        }
        let v: Value = serde_json::from_str(&diff_json(r)).expect("diff JSON");
        assert_valid(&diff, &format!("diff of fixture report {i}"), &v);
    }
}

#[test]
fn the_schemas_allow_new_fields_and_reject_wrong_values() {
    let scan = validator(SchemaKind::Scan);
    let mut v: Value = serde_json::from_str(&render_json(&fixture::report(), false)).expect("JSON");
    v["a_field_added_later"] = Value::Bool(true);
    v["listeners"][0]["owners"][0]["another"] = Value::from(1);
    v["registry"]["a_registry_field_added_later"] = Value::from("x");
    assert!(scan.is_valid(&v), "additional properties are allowed everywhere");

    let mut bad = v.clone();
    bad["listeners"][0]["verdict"] = Value::from("fine");
    assert!(!scan.is_valid(&bad), "an unknown verdict");
    let mut bad = v.clone();
    bad["schema_version"] = Value::from(2);
    assert!(!scan.is_valid(&bad), "another schema_version");
    let mut bad = v.clone();
    bad.as_object_mut().expect("object").remove("listeners");
    assert!(!scan.is_valid(&bad), "listeners are required");
    let mut bad = v;
    bad["listeners"][0]["port"] = Value::from(70_000);
    assert!(!scan.is_valid(&bad), "a port above 65535");
}

/// The schema node `path` (`listeners[].owners[].unit`, after the root) leads to in
/// `schema`, following `$ref`s and `anyOf` branches: every node it may be.
fn nodes_at<'a>(schema: &'a Value, root: &'a Value, path: &str) -> Vec<&'a Value> {
    fn expand<'a>(node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/$defs/").expect("local $ref");
            expand(&root["$defs"][name], root, out);
        } else if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
            for n in any {
                expand(n, root, out);
            }
        } else {
            out.push(node);
        }
    }
    let mut here = Vec::new();
    expand(schema, root, &mut here);
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, arrays) = match segment.find("[]") {
            Some(i) => (&segment[..i], segment[i..].matches("[]").count()),
            None => (segment, 0),
        };
        let mut next = Vec::new();
        for n in &here {
            if key.is_empty() {
                next.push(*n);
            } else if let Some(p) = n.get("properties").and_then(|p| p.get(key)) {
                expand(p, root, &mut next);
            }
        }
        for _ in 0..arrays {
            let mut items = Vec::new();
            for n in &next {
                if let Some(i) = n.get("items") {
                    expand(i, root, &mut items);
                }
            }
            next = items;
        }
        here = next;
    }
    here
}

/// True when `node` allows a value of the v1-keys type `ty` (`uint`, `bool`, `null`…).
fn allows(node: &Value, ty: &str) -> bool {
    let json_ty = match ty {
        "uint" => "integer",
        "bool" => "boolean",
        other => other,
    };
    if let Some(c) = node.get("const") {
        return json_type(c) == ty;
    }
    match node.get("type") {
        Some(Value::String(t)) => t == json_ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == json_ty),
        _ => false,
    }
}

#[test]
fn every_key_path_of_the_v1_list_is_described_in_the_schema() {
    let text = std::fs::read_to_string(KEYS_FILE).expect("keys file");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (path, ty) = line.rsplit_once(": ").unwrap_or_else(|| panic!("bad line {line:?}"));
        let (root, rest) = match path.find(['.', '[']) {
            Some(i) => (&path[..i], &path[i..]),
            None => (path, ""),
        };
        let kind = match root {
            "scan" => SchemaKind::Scan,
            "jsonl" => SchemaKind::Jsonl,
            "diff" => SchemaKind::Diff,
            other => panic!("unknown root {other:?} in {line:?}"),
        };
        let schema = json_schema_of(kind);
        let nodes = nodes_at(&schema, &schema, rest);
        assert!(!nodes.is_empty(), "{path} is not described in the {root} schema");
        assert!(
            nodes.iter().any(|n| allows(n, ty)),
            "the {root} schema does not allow {ty} at {path}: {nodes:#?}"
        );
        checked += 1;
    }
    assert!(checked > 300, "only {checked} key paths read");
}
