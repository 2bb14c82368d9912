//! The systemd units in `examples/systemd/` are valid and confined: `systemd-analyze verify`
//! accepts them without a single warning (an unknown or misspelt key is only a warning to
//! systemd, so stderr must be empty too), and `systemd-analyze security --offline` rates
//! each service's exposure at most 5.0 (unconfined, a service rates 9.6). The binary path is
//! replaced with the one cargo built, since verify checks that the command exists. Needs
//! `systemd-analyze` (Debian: systemd); skipped with a note without it, except under CI=true.

mod common;

use common::{require, tool};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNITS: [&str; 3] = [
    "portghost-watch.service",
    "portghost-scan.service",
    "portghost-scan.timer",
];

/// The units copied to a temporary directory, with the built binary in `ExecStart`.
fn units(dir: &Path) -> Vec<PathBuf> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/systemd");
    UNITS
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(examples.join(name)).expect("read the unit");
            assert!(
                !name.ends_with(".service") || text.contains("ExecStart=/usr/local/bin/portghost "),
                "{name}: ExecStart names /usr/local/bin/portghost"
            );
            let path = dir.join(name);
            let text = text.replace("/usr/local/bin/portghost", env!("CARGO_BIN_EXE_portghost"));
            std::fs::write(&path, text).expect("write the unit");
            path
        })
        .collect()
}

fn shown(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_example_units_verify_cleanly_and_are_confined() {
    let Some(analyze) = tool("systemd-analyze") else {
        require("systemd-analyze (Debian: systemd)", false);
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = units(dir.path());
    // --man=no: the man page (Documentation=man:portghost(1)) is not installed here.
    let out = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .args(&paths)
        .current_dir(dir.path())
        .output()
        .expect("run systemd-analyze verify");
    assert!(out.status.success() && out.stderr.is_empty(), "{}", shown(&out));

    // The check can fail: a misspelt key is reported.
    let broken = dir.path().join("portghost-broken.service");
    let text = std::fs::read_to_string(&paths[0]).expect("read");
    std::fs::write(&broken, text.replace("RestrictNamespaces=", "RestrictNamespace=")).expect("write");
    let out = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&broken)
        .output()
        .expect("run systemd-analyze verify");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unknown key 'RestrictNamespace'"),
        "{}",
        shown(&out)
    );

    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "service")) {
        let out = Command::new(&analyze)
            .args(["security", "--offline=yes", "--threshold=50", "--no-pager"])
            .arg(path)
            .output()
            .expect("run systemd-analyze security");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: exposure above 5.0\n{}",
            path.display(),
            shown(&out)
        );
        assert!(text.contains("Overall exposure level"), "{}", shown(&out));
    }
}
