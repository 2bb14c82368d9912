//! Policy files: which listeners a host may have, bound to the programs that hold them.
//!
//! Owns the policy model ([`Policy`], [`Rule`]), its strict TOML parser ([`parse`]), rule
//! matching and the verdicts a policy gives ([`rules`]), and the generation of a policy
//! from a scan ([`baseline`]). Everything here is pure except [`load`], which reads the
//! one file it is given. It never scans the OS, reads the clock or the environment: the
//! caller passes today's date in.

pub mod baseline;
pub mod parse;
pub mod rules;
pub mod trust;

use crate::diag::FileError;
use crate::model::Protocol;
use chrono::{Datelike as _, NaiveDate};
use globset::GlobMatcher;
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// The policy file format version this portghost reads.
pub const VERSION: i64 = 1;

/// Where `portghost scan` looks for a policy when neither `--policy` nor `--no-policy` is
/// given, in order: the first file that exists is used.
pub const DISCOVERY_PATHS: [&str; 2] = ["./portghost.toml", "/etc/portghost/policy.toml"];

pub use crate::model::Mode;

/// Parses an `expires` date written exactly `YYYY-MM-DD`, with a year from 1 to 9999.
///
/// # Errors
/// A sentence naming `s` when it is not such a date, or the date does not exist.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    // chrono alone would also take `2027-6-30` and `+2027-06-30`.
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .and_then(usable)
        .ok_or_else(|| format!("{s:?} is not a date like 2027-06-30"))
}

/// `date` if its year is 1 to 9999, so that it prints as `YYYY-MM-DD`.
fn usable(date: NaiveDate) -> Option<NaiveDate> {
    (1..=9999).contains(&date.year()).then_some(date)
}

/// One entry of `port` / `ports`: a single port, or an inclusive range written `"8000-8100"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMatch {
    /// Exactly this port. Only this form counts as naming a port explicitly.
    Single(u16),
    /// Every port from the first to the second, both included, first <= second.
    Range(u16, u16),
}

impl PortMatch {
    /// True when `port` is this port or lies in this range.
    pub fn contains(self, port: u16) -> bool {
        match self {
            PortMatch::Single(p) => p == port,
            PortMatch::Range(a, b) => (a..=b).contains(&port),
        }
    }
}

impl fmt::Display for PortMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortMatch::Single(p) => write!(f, "{p}"),
            PortMatch::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

/// The `address` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressMatch {
    /// A loopback address (`127.0.0.0/8`, `::1`). Does not match a wildcard listener.
    Loopback,
    /// The wildcard address `0.0.0.0` or `::` (a dual-stack `[::]` listener included).
    Wildcard,
    /// Exactly this local address (an IPv4-mapped IPv6 address equals its IPv4 form).
    Ip(IpAddr),
    /// Any local address inside this network. A wildcard listener is never inside one.
    Cidr(IpNet),
}

impl fmt::Display for AddressMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressMatch::Loopback => f.write_str("loopback"),
            AddressMatch::Wildcard => f.write_str("wildcard"),
            AddressMatch::Ip(ip) => write!(f, "{ip}"),
            AddressMatch::Cidr(net) => write!(f, "{net}"),
        }
    }
}

/// A glob as written in the policy, with its compiled matcher. `*` and `?` do not cross
/// `/`; `**` does; `[abc]` and `{a,b}` work as in a shell. Matching is case-sensitive.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The glob as written.
    pub text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    /// Compiles `text`.
    ///
    /// # Errors
    /// The glob syntax error, as a sentence.
    pub fn new(text: &str) -> Result<Pattern, String> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        Ok(Pattern {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    /// True when `s` matches the glob.
    pub fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

/// Whether a rule allows or denies what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// An `[[allow]]` rule.
    Allow,
    /// A `[[deny]]` rule.
    Deny,
}

impl RuleKind {
    /// `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Allow => "allow",
            RuleKind::Deny => "deny",
        }
    }
}

/// One `[[allow]]` or `[[deny]]` rule. Every field that is present must match; an empty
/// list or `None` matches anything. Identity fields (`process`, `exe`, `user`, `unit`,
/// `container`) must hold for every owner of the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Allow or deny.
    pub kind: RuleKind,
    /// 1-based line of the rule's `[[allow]]` / `[[deny]]` header in the file.
    pub line: usize,
    /// Ports the rule covers (`port` or `ports`); empty: any port.
    pub ports: Vec<PortMatch>,
    /// Transport protocol; `None`: both.
    pub protocol: Option<Protocol>,
    /// Local address; `None`: any.
    pub address: Option<AddressMatch>,
    /// Process names (`/proc/PID/comm`), compared exactly; empty: any.
    pub process: Vec<String>,
    /// Globs on the executable path; empty: any.
    pub exe: Vec<Pattern>,
    /// User names, or decimal UIDs; empty: any.
    pub user: Vec<String>,
    /// Globs on the systemd unit; empty: any.
    pub unit: Vec<Pattern>,
    /// Globs on `RUNTIME:FULL_ID` or `RUNTIME:SHORT_ID` of the container; empty: any.
    pub container: Vec<Pattern>,
    /// Network namespaces, each `host` (the host's initial one), an `ip netns` name, or a
    /// namespace inode in decimal; empty: any.
    pub netns: Vec<String>,
    /// `socket = "packet"` or `"raw"`: the rule matches portless listeners of that kind
    /// only, and no port listener; `None`: port listeners only, never a portless one.
    pub socket: Option<crate::model::SocketKind>,
    /// Free text saying why the rule exists.
    pub comment: Option<String>,
    /// Last day the rule applies (allow rules only); from the next day it matches nothing.
    pub expires: Option<NaiveDate>,
}

impl Rule {
    /// A rule of `kind` whose header is on `line`, with no matcher, comment or expiry yet:
    /// it matches every listener until fields are set.
    pub fn new(kind: RuleKind, line: usize) -> Rule {
        Rule {
            kind,
            line,
            ports: Vec::new(),
            protocol: None,
            address: None,
            process: Vec::new(),
            exe: Vec::new(),
            user: Vec::new(),
            unit: Vec::new(),
            container: Vec::new(),
            netns: Vec::new(),
            socket: None,
            comment: None,
            expires: None,
        }
    }

    /// True when the rule names `port` as a single port (`port = 3237`, or `3237` in a
    /// `ports` list). A range, or a rule without ports, does not name it.
    pub fn names_port(&self, port: u16) -> bool {
        self.ports.contains(&PortMatch::Single(port))
    }

    /// True when the rule has expired on `today`: its `expires` date is before today.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|d| d < today)
    }
}

/// A parsed, validated policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The file's name as the user gave it (`policy.toml`, `/etc/portghost/policy.toml`),
    /// used in every message that points at a rule.
    pub file: String,
    /// How listeners that no rule mentions are judged.
    pub mode: Mode,
    /// The `[[allow]]` rules, in file order.
    pub allow: Vec<Rule>,
    /// The `[[deny]]` rules, in file order.
    pub deny: Vec<Rule>,
}

impl Policy {
    /// Total number of rules.
    pub fn rule_count(&self) -> usize {
        self.allow.len() + self.deny.len()
    }

    /// `policy.toml:7`, where a rule sits.
    pub fn at(&self, rule: &Rule) -> String {
        format!("{}:{}", self.file, rule.line)
    }

    /// One warning for every allow rule that has expired on `today`:
    /// "rule at policy.toml:7 expired on 2026-01-01 and no longer allows anything".
    pub fn warnings(&self, today: NaiveDate) -> Vec<String> {
        self.allow
            .iter()
            .filter_map(|r| {
                let d = r.expires.filter(|_| r.expired(today))?;
                Some(format!(
                    "rule at {} expired on {d} and no longer allows anything",
                    self.at(r)
                ))
            })
            .collect()
    }
}

/// A policy and the day to judge with, as `classify_with` needs them.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Today's date (UTC), for `expires`.
    pub today: NaiveDate,
}

/// Checks that the policy at `path` may be trusted ([`trust::check`]), then reads and
/// parses it; messages name the file as `path` is written.
///
/// # Errors
/// A [`FileError`] naming the file (and, for a parse error, the line, column and key): the
/// file or a directory above it is owned or writable by someone `trust` does not trust,
/// the file cannot be read or is not valid UTF-8, or any problem [`parse::parse`] reports.
pub fn load(path: &Path, trust: &trust::Trust) -> Result<Policy, FileError> {
    let file = path.display().to_string();
    trust::check(path, trust).map_err(|message| FileError {
        file: file.clone(),
        line: None,
        column: None,
        message,
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: file.clone(),
        line: None,
        column: None,
        message: format!("cannot read the policy: {e}"),
    })?;
    parse::parse(&file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly_and_order() {
        assert_eq!(
            parse_date("2027-06-30"),
            Ok(NaiveDate::from_ymd_opt(2027, 6, 30).expect("date"))
        );
        for bad in [
            "2027-6-30",
            "2027-06-31",
            "2027-13-01",
            "2026-02-29",
            "20270630",
            "2027-06-3x",
            "+027-06-30",
            "0000-01-01",
            " 2027-6-30",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2000-02-29").is_ok());
        assert!(parse_date("1900-02-29").is_err());
        let a = parse_date("2026-12-31").expect("date");
        let b = parse_date("2027-01-01").expect("date");
        assert!(a < b);
        assert_eq!(
            parse_date("2027-02-30"),
            Err("\"2027-02-30\" is not a date like 2027-06-30".to_string())
        );
        assert_eq!(
            parse_date("0001-01-01").map(|d| d.to_string()).as_deref(),
            Ok("0001-01-01")
        );
    }
}
