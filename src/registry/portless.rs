//! The portless registry: programs known to need a packet or raw IP socket.
//!
//! Owns the embedded `registry/portless.toml` (format in `registry/README.md`, checked by
//! the build script) and its lookup by executable. It reads no file at run time and makes
//! no verdict: `classify` decides what a match is worth.

use crate::model::{PortlessProgram, SocketKind};
use serde::Deserialize;
use std::sync::LazyLock;

/// The embedded file, as written.
pub const PORTLESS_TOML: &str = include_str!("../../registry/portless.toml");

/// The file's shape; `[[reference]]` tables are for people and not kept.
#[derive(Deserialize)]
struct PortlessFile {
    program: Vec<PortlessProgram>,
    #[serde(default, rename = "reference")]
    _reference: Vec<toml::Table>,
}

/// Every `[[program]]` of the embedded file, in file order. The build script has checked
/// the file, so it always parses; were it not to, the list would be empty and every
/// portless socket unexpected (failing closed).
pub fn programs() -> &'static [PortlessProgram] {
    static PROGRAMS: LazyLock<Vec<PortlessProgram>> = LazyLock::new(|| {
        toml::from_str::<PortlessFile>(PORTLESS_TOML)
            .map(|f| f.program)
            .unwrap_or_default()
    });
    &PROGRAMS
}

/// The first program that opens `kind` sockets and is installed at `exe` (an absolute
/// path, compared exactly), if any.
pub fn program_at(exe: &str, kind: SocketKind) -> Option<&'static PortlessProgram> {
    programs()
        .iter()
        .find(|p| p.sockets.contains(&kind) && p.executables.iter().any(|e| e == exe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_parses() {
        let file: Result<PortlessFile, _> = toml::from_str(PORTLESS_TOML);
        assert!(file.is_ok(), "{:?}", file.err());
        assert!(programs().len() >= 20);
        assert_eq!(
            program_at("/usr/bin/tcpdump", SocketKind::Packet).map(|p| p.name.as_str()),
            Some("tcpdump")
        );
        assert!(program_at("/usr/bin/tcpdump", SocketKind::Raw).is_none());
    }
}
