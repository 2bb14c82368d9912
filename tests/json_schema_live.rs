//! Real scans validate against the JSON Schemas that `portghost schema` prints: empty, small
//! and large scans, IPv4 and IPv6, a ghost port with evidence, hidden owners (as `nobody`)
//! and several network namespaces (`--all-netns`, as root), in `--format json` and
//! `--format jsonl`; and `diff --format json` between two of them.

mod common;

use common::live_scans::scans;
use serde_json::Value;

fn validator(kind: &str) -> jsonschema::Validator {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portghost"))
        .args(["schema", "--kind", kind])
        .output()
        .expect("run portghost schema");
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{kind} schema: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} does not validate:\n{}", errors.join("\n"));
}

#[test]
fn real_scans_validate_against_the_scan_schema() {
    let scan = validator("scan");
    let outputs = scans("json", &[]);
    let mut evidence = false;
    let mut families = std::collections::BTreeSet::new();
    for (label, text) in &outputs {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{label}: not JSON ({e})"));
        assert_valid(&scan, label, &v);
        for l in v["listeners"].as_array().expect("listeners") {
            families.insert(l["family"].as_str().unwrap_or_default().to_string());
            evidence |= l["findings"].as_array().is_some_and(|f| {
                f.iter()
                    .any(|f| f["evidence"].as_array().is_some_and(|e| !e.is_empty()))
            });
        }
    }
    assert!(evidence, "some finding carries evidence");
    assert!(families.contains("ipv4") && families.contains("ipv6"), "{families:?}");
    let sizes: Vec<usize> = outputs
        .iter()
        .map(|(_, t)| {
            serde_json::from_str::<Value>(t).expect("JSON")["listeners"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert!(sizes.contains(&0) && sizes.iter().any(|&n| n >= 150), "sizes {sizes:?}");
    if common::Lab::root() {
        let hidden = outputs.iter().any(|(_, t)| {
            t.contains("\"owner_status\":\"permission\"") || t.contains("\"owner_status\": \"permission\"")
        });
        assert!(hidden, "the scan as nobody has hidden owners");
    }
    if common::Lab::can_isolate() {
        let (label, text) = outputs.last().expect("the --all-netns scan");
        let v: Value = serde_json::from_str(text).expect("JSON");
        assert!(v["namespaces"].as_array().map_or(0, Vec::len) >= 2, "{label}");
    }

    // diff --format json between two real scans (a file and stdin).
    let dir = tempfile::tempdir().expect("tempdir");
    let small = dir.path().join("small.json");
    let large = dir.path().join("large.json");
    std::fs::write(&small, &outputs[1].1).expect("write");
    std::fs::write(&large, &outputs[2].1).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portghost"))
        .args(["diff", "--format", "json"])
        .arg(&small)
        .arg(&large)
        .output()
        .expect("run diff");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    assert!(v["summary"]["added"].as_u64().unwrap_or(0) >= 150, "{v:#}");
    assert_valid(&validator("diff"), "diff of two real scans", &v);
}

#[test]
fn real_json_lines_validate_against_the_jsonl_schema() {
    let line = validator("jsonl");
    let mut seen = 0;
    for (label, text) in scans("jsonl", &[]) {
        for (n, l) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{label} line {}: {e}", n + 1));
            assert_valid(&line, &format!("{label}, line {}", n + 1), &v);
            seen += 1;
        }
    }
    assert!(seen >= 155, "{seen} lines");
}
