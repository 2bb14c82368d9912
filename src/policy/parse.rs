//! The strict policy parser: TOML text in, a validated [`Policy`] or one [`FileError`] out.
//!
//! Owns the file format and every message about a malformed policy. Each error names the
//! file, the line and column, and the offending key. It parses the TOML into spanned values
//! (`toml::de::DeTable`) and checks every key by hand, so unknown keys, wrong types, bad
//! ranges, addresses and globs are all reported where they are written. No I/O.

use super::{AddressMatch, Mode, Pattern, Policy, PortMatch, Rule, RuleKind, VERSION, parse_date, usable};
use crate::diag::{FileError, LineIndex};
use crate::model::Protocol;
use crate::model::platform::{self, Platform};
use crate::sanitize::terminal_safe;
use chrono::NaiveDate;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The keys a policy file may have at the top level.
const TOP_KEYS: [&str; 4] = ["version", "mode", "allow", "deny"];

/// The keys that select listeners; a rule needs at least one.
const MATCHERS: [&str; 12] = [
    "port",
    "ports",
    "protocol",
    "address",
    "process",
    "exe",
    "user",
    "unit",
    "user_unit",
    "container",
    "netns",
    "socket",
];

/// The keys a rule may have besides its [`MATCHERS`]: they select nothing.
const ANNOTATIONS: [&str; 2] = ["comment", "expires"];

/// The longest process name the kernel keeps in `/proc/PID/comm`, in bytes.
const COMM_MAX: usize = 15;

/// Where an error points and what it says, before the file's text turns it into a
/// [`FileError`].
struct Problem {
    span: Range<usize>,
    message: String,
}

type Check<T> = Result<T, Problem>;

fn problem(span: Range<usize>, message: impl Into<String>) -> Problem {
    Problem {
        span,
        message: message.into(),
    }
}

/// The name of a TOML value's type, for "found …" in messages.
fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn backticked(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// Parses the policy `text` of the file named `file` (the name is only used in messages).
///
/// # Errors
/// The first problem in the file, as a [`FileError`] with line and column: invalid TOML,
/// an unknown key, a value of the wrong type, a missing or unsupported `version`, a bad
/// `mode`, a port outside 1-65535 or a range that ends before it starts, an address that is
/// not `loopback`, `wildcard`, an IP or a CIDR (or a CIDR with host bits set), a bad
/// `protocol`, an invalid glob, an impossible `process` name or `exe` glob, a date that
/// does not exist, `expires` on a deny rule, both `port` and `ports`, or a rule without any
/// key that selects listeners.
pub fn parse(file: &str, text: &str) -> Result<Policy, FileError> {
    parse_for(file, text, Platform::current())
}

/// [`parse`] with the rules of `platform`, where they differ: the 15-byte limit on
/// `process` names holds on Linux only.
///
/// # Errors
/// As [`parse`].
pub fn parse_for(file: &str, text: &str, platform: Platform) -> Result<Policy, FileError> {
    let doc = DeTable::parse(text).map_err(|e| {
        let mut err = FileError::from_toml(file, text, &e);
        if err.message == "duplicate key" {
            let rest = e.span().and_then(|s| text.get(s.start..)).unwrap_or("");
            let key: String = match rest.chars().next() {
                // A quoted key: everything up to the closing quote.
                Some(q @ ('"' | '\'')) => rest.chars().skip(1).take_while(|&c| c != q).collect(),
                _ => rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                    .collect(),
            };
            err.message = format!("duplicate key `{key}`: each key may appear once in a table");
        }
        err.message = terminal_safe(&err.message).into_owned();
        err
    })?;
    let lines = LineIndex::new(text);
    parse_document(file, &lines, doc.get_ref(), platform).map_err(|p| {
        let (line, column) = lines.line_col(p.span.start);
        FileError {
            file: file.to_string(),
            line: Some(line),
            column: Some(column),
            message: terminal_safe(&p.message).into_owned(),
        }
    })
}

/// The entries of a table in the order they are written.
fn in_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

fn parse_document(file: &str, lines: &LineIndex<'_>, doc: &DeTable<'_>, platform: Platform) -> Check<Policy> {
    let mut version = None;
    let mut mode = None;
    let mut allow = Vec::new();
    let mut deny = Vec::new();
    let mut patterns = Patterns::default();
    for (key, value) in in_order(doc) {
        let span = value.span();
        match key.get_ref().as_ref() {
            "version" => {
                let v = integer("version", value)?;
                if v != VERSION {
                    return Err(problem(
                        span,
                        format!("`version`: unsupported policy version {v}; this portghost reads version {VERSION}"),
                    ));
                }
                version = Some(v);
            }
            "mode" => {
                let s = string("mode", value)?;
                mode = Some(
                    s.parse::<Mode>()
                        .map_err(|e| problem(span.clone(), format!("`mode`: {e}")))?,
                );
            }
            k @ ("allow" | "deny") => {
                let kind = if k == "allow" { RuleKind::Allow } else { RuleKind::Deny };
                let DeValue::Array(items) = value.get_ref() else {
                    return Err(problem(
                        span,
                        format!(
                            "`{k}`: expected a list of rules written as [[{k}]] tables, found {}",
                            type_name(value.get_ref())
                        ),
                    ));
                };
                for item in items.iter() {
                    let DeValue::Table(t) = item.get_ref() else {
                        return Err(problem(
                            item.span(),
                            format!("`{k}`: expected a rule table, found {}", type_name(item.get_ref())),
                        ));
                    };
                    let line = lines.line_col(item.span().start).0;
                    let rule = parse_rule(kind, line, item.span(), t, &mut patterns, platform)?;
                    if kind == RuleKind::Allow {
                        allow.push(rule);
                    } else {
                        deny.push(rule);
                    }
                }
            }
            other => {
                return Err(problem(
                    key.span(),
                    format!(
                        "unknown key `{other}` at the top level; expected one of {}",
                        backticked(&TOP_KEYS)
                    ),
                ));
            }
        }
    }
    if version.is_none() {
        return Err(problem(
            0..0,
            format!("`version` is missing; a policy starts with `version = {VERSION}`"),
        ));
    }
    Ok(Policy {
        file: file.to_string(),
        mode: mode.unwrap_or_default(),
        allow,
        deny,
    })
}

fn integer(key: &str, value: &Spanned<DeValue<'_>>) -> Check<i64> {
    match value.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map_err(|_| problem(value.span(), format!("`{key}`: {i} is too large"))),
        other => Err(problem(
            value.span(),
            format!("`{key}`: expected an integer, found {}", type_name(other)),
        )),
    }
}

fn string<'v>(key: &str, value: &'v Spanned<DeValue<'_>>) -> Check<&'v str> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        other => Err(problem(
            value.span(),
            format!("`{key}`: expected a string, found {}", type_name(other)),
        )),
    }
}

/// A string, or a non-empty list of strings; each string non-empty. Returns each string
/// with its span.
fn strings(key: &str, value: &Spanned<DeValue<'_>>) -> Check<Vec<(String, Range<usize>)>> {
    let expected = |found: &DeValue<'_>, span: Range<usize>| {
        problem(
            span,
            format!(
                "`{key}`: expected a string or a list of strings, found {}",
                type_name(found)
            ),
        )
    };
    let items: Vec<&Spanned<DeValue<'_>>> = match value.get_ref() {
        DeValue::String(_) => vec![value],
        DeValue::Array(a) if a.is_empty() => {
            return Err(problem(value.span(), format!("`{key}`: the list is empty")));
        }
        DeValue::Array(a) => a.iter().collect(),
        other => return Err(expected(other, value.span())),
    };
    items
        .into_iter()
        .map(|item| match item.get_ref() {
            DeValue::String(s) if s.is_empty() => Err(problem(item.span(), format!("`{key}`: empty string"))),
            DeValue::String(s) => Ok((s.to_string(), item.span())),
            other => Err(expected(other, item.span())),
        })
        .collect()
}

fn parse_rule(
    kind: RuleKind,
    line: usize,
    span: Range<usize>,
    t: &DeTable<'_>,
    patterns: &mut Patterns,
    platform: Platform,
) -> Check<Rule> {
    let header = format!("[[{}]]", kind.as_str());
    let mut rule = Rule::new(kind, line);
    let mut has_matcher = false;
    let mut port_key: Option<&str> = None;
    for (key, value) in in_order(t) {
        let k = key.get_ref().as_ref();
        let vspan = value.span();
        if MATCHERS.contains(&k) {
            has_matcher = true;
        }
        match k {
            "port" | "ports" => {
                if let Some(first) = port_key {
                    return Err(problem(
                        key.span(),
                        format!("`{k}`: this rule already has `{first}`; give either `port` or `ports`, not both"),
                    ));
                }
                port_key = Some(if k == "port" { "port" } else { "ports" });
                rule.ports = ports(k, value)?;
            }
            "protocol" => {
                let s = string(k, value)?;
                rule.protocol = Some(match s {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    other => {
                        return Err(problem(
                            vspan,
                            format!("`protocol`: {other:?} is not \"tcp\" or \"udp\""),
                        ));
                    }
                });
            }
            "address" => rule.address = Some(address(string(k, value)?, vspan)?),
            "socket" => {
                rule.socket = Some(
                    string(k, value)?
                        .parse()
                        .map_err(|e: String| problem(vspan, format!("`socket`: {e}")))?,
                );
            }
            "process" => {
                for (name, s) in strings(k, value)? {
                    if platform.limits_process_names() && name.len() > COMM_MAX {
                        let cut: String = truncate_bytes(&name, COMM_MAX);
                        return Err(problem(
                            s,
                            format!(
                                "`process`: {name:?} is longer than {COMM_MAX} bytes, the most /proc/PID/comm holds, so it never matches; write {cut:?}, or match the path with `exe`"
                            ),
                        ));
                    }
                    rule.process.push(name);
                }
            }
            "exe" => {
                for (glob, s) in strings(k, value)? {
                    if !(glob.starts_with('/') || glob.starts_with('*') || platform::is_drive_path(&glob)) {
                        return Err(problem(
                            s,
                            format!(
                                "`exe`: {glob:?} can never match an executable path, which is absolute; write the full path (/usr/sbin/x, or C:\\x\\x.exe on Windows), a glob such as \"**/{glob}\", or use `process`"
                            ),
                        ));
                    }
                    let glob = platform::normalize_exe_glob(&glob);
                    rule.exe.push(patterns.get(k, &glob, s)?);
                }
            }
            "user" => rule.user = strings(k, value)?.into_iter().map(|(u, _)| u).collect(),
            "unit" | "user_unit" | "container" => {
                let mut globs = Vec::new();
                for (glob, s) in strings(k, value)? {
                    globs.push(patterns.get(k, &glob, s)?);
                }
                match k {
                    "unit" => rule.unit = globs,
                    "user_unit" => rule.user_unit = globs,
                    _ => rule.container = globs,
                }
            }
            "netns" => {
                for (ns, s) in strings(k, value)? {
                    let ok = ns == "host"
                        || (!ns.is_empty() && ns.bytes().all(|b| b.is_ascii_digit()) && ns.parse::<u64>().is_ok())
                        || (!ns.is_empty() && !ns.contains('/') && ns != "." && ns != "..");
                    if !ok {
                        return Err(problem(
                            s,
                            format!(
                                "`netns`: {ns:?} is not \"host\", a name from `ip netns list`, or a namespace inode such as \"4026532301\""
                            ),
                        ));
                    }
                    rule.netns.push(ns);
                }
            }
            "comment" => rule.comment = Some(string(k, value)?.to_string()),
            "expires" => {
                if kind == RuleKind::Deny {
                    return Err(problem(
                        key.span(),
                        "`expires`: only [[allow]] rules expire; a [[deny]] rule always applies",
                    ));
                }
                rule.expires = Some(date(value)?);
            }
            other => {
                return Err(problem(
                    key.span(),
                    format!(
                        "unknown key `{other}` in a {header} rule; expected one of {}",
                        backticked(&[MATCHERS.as_slice(), ANNOTATIONS.as_slice()].concat())
                    ),
                ));
            }
        }
    }
    if rule.socket.is_some() && (!rule.ports.is_empty() || rule.protocol.is_some() || rule.address.is_some()) {
        return Err(problem(
            span,
            format!(
                "{header} rule has `socket`, which selects packet or raw sockets, and `port`, `ports`, `protocol` or \
                 `address`, which only port listeners have: it could never match; split it in two"
            ),
        ));
    }
    if !has_matcher {
        return Err(problem(
            span,
            format!(
                "{header} rule selects no listener; give at least one of {}",
                backticked(&MATCHERS)
            ),
        ));
    }
    Ok(rule)
}

/// `name` cut to at most `max` bytes at a character boundary.
fn truncate_bytes(name: &str, max: usize) -> String {
    let mut end = max.min(name.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name).to_string()
}

/// The globs of one policy file, compiled once each: a glob written in many rules shares
/// one compiled matcher. Globs without metacharacters need no compiling and are not kept.
#[derive(Default)]
struct Patterns {
    compiled: HashMap<String, Pattern>,
}

impl Patterns {
    fn get(&mut self, key: &str, glob: &str, span: Range<usize>) -> Check<Pattern> {
        if let Some(p) = self.compiled.get(glob) {
            return Ok(p.clone());
        }
        let p = Pattern::new(glob).map_err(|e| problem(span, format!("`{key}`: invalid glob {glob:?}: {e}")))?;
        if !p.is_literal() {
            self.compiled.insert(glob.to_string(), p.clone());
        }
        Ok(p)
    }
}

/// `port = 22`, `port = "8000-8100"`, `ports = [80, 443, "8000-8100"]`.
fn ports(key: &str, value: &Spanned<DeValue<'_>>) -> Check<Vec<PortMatch>> {
    match (key, value.get_ref()) {
        ("port", DeValue::Array(_)) => Err(problem(
            value.span(),
            "`port`: expected one port or range; write a list as `ports = [...]`",
        )),
        ("port", _) => Ok(vec![port_entry(key, value)?]),
        (_, DeValue::Array(a)) if a.is_empty() => Err(problem(value.span(), "`ports`: the list is empty")),
        (_, DeValue::Array(a)) => a.iter().map(|item| port_entry(key, item)).collect(),
        (_, other) => Err(problem(
            value.span(),
            format!(
                "`ports`: expected a list of ports and ranges, found {}",
                type_name(other)
            ),
        )),
    }
}

fn port_number(key: &str, text: &str, span: &Range<usize>) -> Check<u16> {
    let n: i64 = text.trim().parse().map_err(|_| {
        problem(
            span.clone(),
            format!("`{key}`: {text:?} is not a port or a range like \"8000-8100\""),
        )
    })?;
    if !(1..=65535).contains(&n) {
        return Err(problem(
            span.clone(),
            format!("`{key}`: {n} is not a port; ports run from 1 to 65535"),
        ));
    }
    u16::try_from(n).map_err(|_| problem(span.clone(), format!("`{key}`: {n} is not a port")))
}

fn port_entry(key: &str, item: &Spanned<DeValue<'_>>) -> Check<PortMatch> {
    let span = item.span();
    match item.get_ref() {
        DeValue::Integer(_) => {
            let n = integer(key, item)?;
            port_number(key, &n.to_string(), &span).map(PortMatch::Single)
        }
        DeValue::String(s) => match s.split_once('-') {
            None => port_number(key, s, &span).map(PortMatch::Single),
            Some((a, b)) => {
                // "-5" or "80-": not a range, so name the whole value, not its empty half.
                if a.trim().is_empty() || b.trim().is_empty() {
                    return Err(problem(
                        span,
                        format!("`{key}`: {:?} is not a port or a range like \"8000-8100\"", s.as_ref()),
                    ));
                }
                let (a, b) = (port_number(key, a, &span)?, port_number(key, b, &span)?);
                if a > b {
                    return Err(problem(
                        span,
                        format!("`{key}`: the range \"{a}-{b}\" ends before it starts; write \"{b}-{a}\""),
                    ));
                }
                Ok(PortMatch::Range(a, b))
            }
        },
        other => Err(problem(
            span,
            format!(
                "`{key}`: expected a port number or a range like \"8000-8100\", found {}",
                type_name(other)
            ),
        )),
    }
}

fn address(s: &str, span: Range<usize>) -> Check<AddressMatch> {
    match s {
        "loopback" => return Ok(AddressMatch::Loopback),
        "wildcard" => return Ok(AddressMatch::Wildcard),
        _ => {}
    }
    if s.contains('/') {
        let net: IpNet = s.parse().map_err(|_| {
            problem(
                span.clone(),
                format!("`address`: {s:?} is not a valid CIDR such as \"10.0.0.0/8\" or \"fd00::/8\""),
            )
        })?;
        if net.trunc() != net {
            return Err(problem(
                span,
                format!(
                    "`address`: {s:?} has host bits set; write {:?}",
                    net.trunc().to_string()
                ),
            ));
        }
        return Ok(AddressMatch::Cidr(net));
    }
    s.parse::<IpAddr>().map(AddressMatch::Ip).map_err(|_| {
        problem(
            span,
            format!("`address`: {s:?} is not \"loopback\", \"wildcard\", an IP address or a CIDR"),
        )
    })
}

/// `expires = 2027-06-30` (a TOML local date) or `expires = "2027-06-30"`.
fn date(value: &Spanned<DeValue<'_>>) -> Check<NaiveDate> {
    let span = value.span();
    match value.get_ref() {
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
                .and_then(usable)
                .ok_or_else(|| problem(span, format!("`expires`: {dt} is not a date that exists"))),
            _ => Err(problem(
                span,
                format!("`expires`: expected a date like 2027-06-30, found the date-time {dt}"),
            )),
        },
        DeValue::String(s) => parse_date(s).map_err(|e| problem(span, format!("`expires`: {e}"))),
        other => Err(problem(
            span,
            format!("`expires`: expected a date like 2027-06-30, found {}", type_name(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("p.toml", text).expect_err("should fail").to_string()
    }

    #[test]
    fn a_full_policy_parses() {
        let text = r#"version = 1
mode = "ghosts"

[[allow]]
ports = [80, 443, "8000-8100"]
protocol = "tcp"
address = "10.0.0.0/8"
process = ["nginx"]
exe = "/usr/sbin/*"
user = ["root", "www-data"]
unit = "nginx.service"
container = "docker:*"
comment = "web"
expires = 2027-06-30

[[allow]]
port = "22"
expires = "2027-01-01"

[[deny]]
port = 23
"#;
        let p = parse("p.toml", text).expect("parses");
        assert_eq!(p.mode, Mode::Ghosts);
        assert_eq!(p.allow.len(), 2);
        assert_eq!(p.deny.len(), 1);
        let r = &p.allow[0];
        assert_eq!(r.line, 4);
        assert_eq!(
            r.ports,
            vec![
                PortMatch::Single(80),
                PortMatch::Single(443),
                PortMatch::Range(8000, 8100)
            ]
        );
        assert_eq!(r.protocol, Some(Protocol::Tcp));
        assert_eq!(r.address, Some(AddressMatch::Cidr("10.0.0.0/8".parse().expect("net"))));
        assert_eq!(r.user, vec!["root", "www-data"]);
        assert_eq!(r.expires.map(|d| d.to_string()).as_deref(), Some("2027-06-30"));
        assert_eq!(p.allow[1].line, 16);
        assert!(p.allow[1].names_port(22));
        assert_eq!(p.deny[0].line, 20);
    }

    #[test]
    fn mode_defaults_to_allowlist() {
        let p = parse("p.toml", "version = 1\n").expect("parses");
        assert_eq!(p.mode, Mode::Allowlist);
        assert!(p.allow.is_empty());
    }

    #[test]
    fn errors_point_at_the_key_or_value() {
        assert_eq!(
            err("version = 1\n[[allow]]\nport = 22\nprot = \"tcp\"\n"),
            "p.toml:4:1: unknown key `prot` in a [[allow]] rule; expected one of `port`, `ports`, `protocol`, \
             `address`, `process`, `exe`, `user`, `unit`, `user_unit`, `container`, `netns`, `socket`, `comment`, `expires`"
        );
        assert_eq!(
            err("version = 1\n[[allow]]\nports = [22, 70000]\n"),
            "p.toml:3:14: `ports`: 70000 is not a port; ports run from 1 to 65535"
        );
        assert_eq!(
            err("mode = \"allowlist\"\n"),
            "p.toml:1:1: `version` is missing; a policy starts with `version = 1`"
        );
        assert!(err("version = 1\n[[allow]]\nport = 22\nport = 23\n").starts_with("p.toml:4:"));
    }

    #[test]
    fn netns_takes_host_a_name_or_an_inode() {
        let p = parse(
            "p.toml",
            "version = 1\n[[allow]]\nport = 22\nnetns = \"host\"\n[[allow]]\nport = 80\nnetns = [\"lab1\", \"4026532301\"]\n",
        )
        .expect("parses");
        assert_eq!(p.allow[0].netns, vec!["host"]);
        assert_eq!(p.allow[1].netns, vec!["lab1", "4026532301"]);
        assert_eq!(
            err("version = 1\n[[allow]]\nnetns = \"/proc/1/ns/net\"\n"),
            "p.toml:3:9: `netns`: \"/proc/1/ns/net\" is not \"host\", a name from `ip netns list`, or a namespace inode such as \"4026532301\""
        );
        assert!(err("version = 1\n[[allow]]\nnetns = \"\"\n").contains("`netns`"));
    }
}
