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

/// The longest glob a policy may hold, in bytes.
pub const GLOB_MAX_LEN: usize = 1024;

/// How deep `{...}` alternatives may nest in a glob.
pub const GLOB_MAX_BRACE_DEPTH: usize = 3;

/// How many `{...}` alternatives a glob may have in all.
pub const GLOB_MAX_ALTERNATIVES: usize = 64;

/// A glob as written in the policy, with its compiled matcher. `*` and `?` do not cross
/// `/`; `**` does; `[abc]` and `{a,b}` work as in a shell. Matching is case-sensitive.
///
/// A glob without metacharacters (as `baseline` writes executable paths) is compared as a
/// string; any other is compiled to the regular expression globset would build for it.
/// Clones share the compiled matcher.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The glob as written.
    pub text: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// The glob has no metacharacter: it matches exactly this string (its escapes undone),
    /// or exactly `text` when `None`.
    Literal(Option<Box<str>>),
    /// Globset's translation of the glob, compiled as globset's `GlobMatcher` compiles it.
    Regex(std::sync::Arc<regex_automata::meta::Regex>),
}

/// The string a glob matches exactly, when it has no metacharacter: `Some(None)` when that
/// is the glob itself, `Some(Some(s))` when escapes had to be undone, `None` when the glob
/// has a metacharacter (or ends in a lone backslash, for globset to report).
fn literal(text: &str) -> Option<Option<Box<str>>> {
    if !text.contains(['*', '?', '[', ']', '{', '}', ',', '!', '\\']) {
        return Some(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '*' | '?' | '[' | ']' | '{' | '}' | ',' | '!' => return None,
            c => out.push(c),
        }
    }
    Some(Some(out.into_boxed_str()))
}

/// Checks the bounds every glob must keep, so that compiling it stays cheap: at most
/// [`GLOB_MAX_LEN`] bytes, braces nested at most [`GLOB_MAX_BRACE_DEPTH`] deep, at most
/// [`GLOB_MAX_ALTERNATIVES`] alternatives. Braces inside a `[...]` class are not counted.
fn within_bounds(text: &str) -> Result<(), String> {
    if text.len() > GLOB_MAX_LEN {
        return Err(format!(
            "the glob is {} bytes long; a policy glob may have at most {GLOB_MAX_LEN}",
            text.len()
        ));
    }
    let (mut depth, mut alternatives) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                // A class: `]` right after `[`, `[!` or `[^` is a member, not its end.
                if matches!(chars.peek(), Some('!' | '^')) {
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                }
                while let Some(m) = chars.next() {
                    match m {
                        '\\' => {
                            chars.next();
                        }
                        ']' => break,
                        _ => {}
                    }
                }
            }
            '{' => {
                depth += 1;
                alternatives += 1;
                if depth > GLOB_MAX_BRACE_DEPTH {
                    return Err(format!(
                        "braces nest more than {GLOB_MAX_BRACE_DEPTH} deep; write the alternatives out as separate globs"
                    ));
                }
            }
            '}' => depth = depth.saturating_sub(1),
            ',' if depth > 0 => alternatives += 1,
            _ => {}
        }
        if alternatives > GLOB_MAX_ALTERNATIVES {
            return Err(format!(
                "more than {GLOB_MAX_ALTERNATIVES} brace alternatives; split the glob into several"
            ));
        }
    }
    Ok(())
}

impl Pattern {
    /// Checks and compiles `text`.
    ///
    /// # Errors
    /// A sentence: the glob is longer than [`GLOB_MAX_LEN`] bytes, nests braces deeper
    /// than [`GLOB_MAX_BRACE_DEPTH`], has more than [`GLOB_MAX_ALTERNATIVES`] alternatives,
    /// is not valid glob syntax, or its regular expression cannot be built.
    pub fn new(text: &str) -> Result<Pattern, String> {
        within_bounds(text)?;
        if let Some(exact) = literal(text) {
            return Ok(Pattern {
                text: text.to_string(),
                matcher: Matcher::Literal(exact),
            });
        }
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        // What `Glob::compile_matcher` does, except that a regex it cannot build (it would
        // panic) is an error.
        let syntax = regex_automata::util::syntax::Config::new()
            .utf8(false)
            .dot_matches_new_line(true);
        let config = regex_automata::meta::Regex::config()
            .utf8_empty(false)
            .nfa_size_limit(Some(10 * (1 << 20)))
            .hybrid_cache_capacity(10 * (1 << 20));
        let regex = regex_automata::meta::Regex::builder()
            .syntax(syntax)
            .configure(config)
            .build(glob.regex())
            .map_err(|e| format!("the glob is too complex to compile ({e})"))?;
        Ok(Pattern {
            text: text.to_string(),
            matcher: Matcher::Regex(std::sync::Arc::new(regex)),
        })
    }

    /// True when `s` matches the glob.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.matcher {
            Matcher::Literal(None) => s == self.text,
            Matcher::Literal(Some(exact)) => s == &**exact,
            Matcher::Regex(re) => re.is_match(s.as_bytes()),
        }
    }

    /// True when the glob is compared as a plain string, without a regular expression.
    pub fn is_literal(&self) -> bool {
        matches!(self.matcher, Matcher::Literal(_))
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
/// `user_unit`, `container`) must hold for every owner of the socket.
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
    /// Globs on the system's systemd unit; empty: any. A unit under a user's own service
    /// manager (`user@UID.service`) never matches: a user names their units freely.
    pub unit: Vec<Pattern>,
    /// Globs on a unit run by a user's own service manager (`systemd-run --user`, units
    /// under `user@UID.service`); empty: any. A system unit never matches.
    pub user_unit: Vec<Pattern>,
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
            user_unit: Vec::new(),
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
