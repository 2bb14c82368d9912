//! Rule matching and the verdicts a policy gives.
//!
//! Owns how a [`Rule`] is compared with a [`Listener`] ([`evaluate`]) and how a policy turns
//! the registry's judgement of a listener into the final one ([`Judge`], which indexes the
//! rules by protocol and port so that a listener meets only the rules that can match it;
//! [`apply`] for one listener): deny wins, expired
//! allow rules match nothing, a listener the registry flags needs a rule that names its
//! port, suspicious executables are never allowed, and identity rules fail closed when the
//! owners cannot be seen. Portless listeners ([`apply_portless`]) match only rules with
//! `socket`, and such rules match nothing else. Pure: no I/O, no clock.

use super::{AddressMatch, Mode, Policy, PolicyContext, PortMatch, Rule, RuleKind};
use crate::model::{Classified, Finding, FindingKind, Severity, Verdict, group_owners};
use crate::model::{ClassifiedPortless, Listener, Owner, OwnerStatus, PortlessListener};
use std::net::IpAddr;

mod judge;
pub use judge::{Closest, Decision, Judge};

/// A key of a rule that selects listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `port` / `ports`.
    Port,
    /// `protocol`.
    Protocol,
    /// `address`.
    Address,
    /// `process`.
    Process,
    /// `exe`.
    Exe,
    /// `user`.
    User,
    /// `unit`.
    Unit,
    /// `user_unit`.
    UserUnit,
    /// `container`.
    Container,
    /// `netns`.
    Netns,
    /// `socket`.
    Socket,
}

impl Field {
    /// The identity fields, in the order messages name them.
    pub const IDENTITY: [Field; 6] = [
        Field::Process,
        Field::Exe,
        Field::User,
        Field::Unit,
        Field::UserUnit,
        Field::Container,
    ];

    /// The identity fields in the order they are cheapest to test: exact comparisons
    /// before globs.
    const IDENTITY_BY_COST: [Field; 6] = [
        Field::Process,
        Field::User,
        Field::Exe,
        Field::Unit,
        Field::UserUnit,
        Field::Container,
    ];

    /// A noun for messages: "a process", "an executable".
    pub fn noun(self) -> &'static str {
        match self {
            Field::Port => "a port",
            Field::Protocol => "a protocol",
            Field::Address => "an address",
            Field::Process => "a process",
            Field::Exe => "an executable",
            Field::User => "a user",
            Field::Unit => "a systemd unit",
            Field::UserUnit => "a user's systemd unit",
            Field::Container => "a container",
            Field::Netns => "a network namespace",
            Field::Socket => "a socket kind",
        }
    }
}

/// How one rule fares against one listener (expiry aside).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evaluation {
    /// The fields the listener does not satisfy, in rule-key order.
    pub mismatched: Vec<Field>,
    /// The first identity field the rule names when the listener's owners are unknown
    /// (hidden, not looked up, or none): the rule can neither match nor be ruled out.
    pub unverifiable: Option<Field>,
}

impl Evaluation {
    /// True when every field of the rule holds for the listener.
    pub fn matches(&self) -> bool {
        self.mismatched.is_empty() && self.unverifiable.is_none()
    }
}

/// `a` with an IPv4-mapped IPv6 address turned into its IPv4 form.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// True when the listener's local address satisfies `m`.
pub fn address_matches(m: &AddressMatch, l: &Listener) -> bool {
    match m {
        AddressMatch::Loopback => l.is_loopback(),
        AddressMatch::Wildcard => l.is_wildcard(),
        AddressMatch::Ip(ip) => canonical(*ip) == canonical(l.local_address),
        AddressMatch::Cidr(net) => !l.is_wildcard() && net.contains(&canonical(l.local_address)),
    }
}

/// True when `owner` satisfies the identity field `field` of `rule` (a field the rule does
/// not name is satisfied). A value the owner does not have (no readable exe, no user, no
/// unit, no container) never satisfies a named field.
pub fn owner_satisfies(rule: &Rule, field: Field, o: &Owner) -> bool {
    match field {
        Field::Process => rule.process.is_empty() || rule.process.contains(&o.name),
        // Windows paths are matched with `/` separators and a lower-case drive letter.
        Field::Exe => {
            rule.exe.is_empty()
                || o.exe.as_deref().is_some_and(|e| {
                    let e = crate::model::platform::normalize_exe(e);
                    rule.exe.iter().any(|p| p.is_match(&e))
                })
        }
        Field::User => {
            rule.user.is_empty()
                || rule.user.iter().any(|u| {
                    o.user.as_deref() == Some(u.as_str())
                        || o.uid.is_some_and(|uid| itoa::Buffer::new().format(uid) == u)
                })
        }
        // A unit under a user's own service manager is the user's, whatever its name.
        Field::Unit => {
            rule.unit.is_empty()
                || (o.user_unit_uid.is_none()
                    && o.unit
                        .as_deref()
                        .is_some_and(|u| rule.unit.iter().any(|p| p.is_match(u))))
        }
        Field::UserUnit => {
            rule.user_unit.is_empty()
                || (o.user_unit_uid.is_some()
                    && o.unit
                        .as_deref()
                        .is_some_and(|u| rule.user_unit.iter().any(|p| p.is_match(u))))
        }
        Field::Container => {
            rule.container.is_empty()
                || o.container.as_ref().is_some_and(|c| {
                    let full = c.full_label();
                    let short = c.label();
                    rule.container.iter().any(|p| p.is_match(&full) || p.is_match(&short))
                })
        }
        Field::Port | Field::Protocol | Field::Address | Field::Netns | Field::Socket => true,
    }
}

/// True when the listener's network namespace is one `rule` names (or the rule names
/// none). `host` is the host's initial namespace, digits its inode, anything else its
/// `ip netns` name; a listener whose namespace is unknown matches no named one.
pub fn netns_matches(rule: &Rule, l: &Listener) -> bool {
    if rule.netns.is_empty() {
        return true;
    }
    let Some(ns) = l.netns.as_deref() else {
        return false;
    };
    rule.netns.iter().any(|want| {
        if want == "host" {
            ns.host
        } else if want.bytes().all(|b| b.is_ascii_digit()) {
            want.parse::<u64>().is_ok_and(|inode| inode == ns.inode)
        } else {
            ns.name.as_deref() == Some(want.as_str())
        }
    })
}

/// True when `rule` names `field` (has a value for it).
pub fn names(rule: &Rule, field: Field) -> bool {
    match field {
        Field::Port => !rule.ports.is_empty(),
        Field::Protocol => rule.protocol.is_some(),
        Field::Address => rule.address.is_some(),
        Field::Process => !rule.process.is_empty(),
        Field::Exe => !rule.exe.is_empty(),
        Field::User => !rule.user.is_empty(),
        Field::Unit => !rule.unit.is_empty(),
        Field::UserUnit => !rule.user_unit.is_empty(),
        Field::Container => !rule.container.is_empty(),
        Field::Netns => !rule.netns.is_empty(),
        Field::Socket => rule.socket.is_some(),
    }
}

/// True when the owners of `l` are known well enough to test identity fields: the status
/// is `known` and there is at least one owner.
pub fn owners_known(l: &Listener) -> bool {
    l.owner_status == OwnerStatus::Known && !l.owners.is_empty()
}

/// Compares `rule` with `l`, ignoring `expires`. Identity fields must hold for every owner;
/// when the owners are not known, a named identity field makes the rule unverifiable. A
/// socket held by the kernel has no process, so a named identity field never matches it.
pub fn evaluate(rule: &Rule, l: &Listener) -> Evaluation {
    let mut ev = Evaluation::default();
    if !rule.ports.is_empty() && !rule.ports.iter().any(|p| p.contains(l.port)) {
        ev.mismatched.push(Field::Port);
    }
    if rule.protocol.is_some_and(|p| p != l.protocol) {
        ev.mismatched.push(Field::Protocol);
    }
    if rule.address.as_ref().is_some_and(|a| !address_matches(a, l)) {
        ev.mismatched.push(Field::Address);
    }
    if !netns_matches(rule, l) {
        ev.mismatched.push(Field::Netns);
    }
    // A rule for packet or raw sockets never matches a port listener.
    if rule.socket.is_some() {
        ev.mismatched.push(Field::Socket);
    }
    identity(rule, &l.owners, l.owner_status, &mut ev);
    ev
}

/// Compares the identity fields of `rule` with `owners` (see [`evaluate`]).
fn identity(rule: &Rule, owners: &[std::sync::Arc<Owner>], status: OwnerStatus, ev: &mut Evaluation) {
    let known = status == OwnerStatus::Known && !owners.is_empty();
    for field in Field::IDENTITY {
        if !names(rule, field) {
            continue;
        }
        if status == OwnerStatus::Kernel {
            ev.mismatched.push(field);
        } else if !known {
            ev.unverifiable.get_or_insert(field);
        } else if !owners.iter().all(|o| owner_satisfies(rule, field, o)) {
            ev.mismatched.push(field);
        }
    }
}

/// Compares `rule` with the portless listener `p`, ignoring `expires`: the rule must name
/// `socket = "<kind>"` of `p`'s kind (ghost-style: a rule without `socket` never matches a
/// portless listener), and its identity fields hold as for [`evaluate`].
pub fn evaluate_portless(rule: &Rule, p: &PortlessListener) -> Evaluation {
    let mut ev = Evaluation::default();
    if rule.socket != Some(p.kind) {
        ev.mismatched.push(Field::Socket);
    }
    identity(rule, &p.owners, p.owner_status, &mut ev);
    ev
}

/// `packet socket tcpdump(812)`: a portless listener and its owners, for messages.
pub fn describe_portless(p: &PortlessListener) -> String {
    let owners = match p.owner_status {
        OwnerStatus::Known if !p.owners.is_empty() => group_owners(p.owners.iter().map(|o| &**o), |o| o.name.as_str())
            .iter()
            .map(|(n, pids)| {
                let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
                format!("{n}({})", pids.join(","))
            })
            .collect::<Vec<_>>()
            .join(" "),
        OwnerStatus::Permission | OwnerStatus::Unavailable => "(owner hidden)".to_string(),
        OwnerStatus::NotLooked => "(owner not looked up)".to_string(),
        OwnerStatus::Kernel => "(kernel)".to_string(),
        OwnerStatus::Known | OwnerStatus::NoProcess => "(no process)".to_string(),
    };
    format!("{} socket {owners}", p.kind)
}

/// Applies `ctx.policy` to a classified portless listener, as [`apply`] does to a port
/// listener: a matching deny rule makes it unexpected; a matching allow rule makes it
/// `expected` unless an owner runs a suspicious executable or masquerades (which no rule
/// can allow); otherwise allowlist mode makes it unexpected, naming the rule that came
/// closest, and ghosts mode keeps the registry's verdict.
pub fn apply_portless(ctx: PolicyContext<'_>, c: &mut ClassifiedPortless) {
    let policy: &Policy = ctx.policy;
    let who = describe_portless(&c.listener);
    for rule in &policy.deny {
        let ev = evaluate_portless(rule, &c.listener);
        if !ev.mismatched.is_empty() {
            continue;
        }
        let message = match ev.unverifiable {
            None => format!("{who} is denied by rule at {}{}", policy.at(rule), comment(rule)),
            Some(field) => format!(
                "{who} may be denied by rule at {}{}: its owners are not known and the rule names {}",
                policy.at(rule),
                comment(rule),
                field.noun()
            ),
        };
        c.findings
            .insert(0, Finding::new(FindingKind::Denied, Severity::High, message));
        c.verdict = Verdict::Unexpected;
        return;
    }
    let forbidden = c
        .findings
        .iter()
        .any(|f| matches!(f.kind, FindingKind::SuspiciousExecutable | FindingKind::Masquerade));
    let matching = policy
        .allow
        .iter()
        .find(|r| !r.expired(ctx.today) && evaluate_portless(r, &c.listener).matches());
    let not_allowed = |reason: String| format!("{who} is not allowed by {}: {reason}", policy.file);
    if let Some(rule) = matching {
        if forbidden {
            let message = not_allowed(format!(
                "rule at {} matches, but an owner runs a suspicious executable or masquerades, which no rule can allow",
                policy.at(rule)
            ));
            c.findings
                .insert(0, Finding::new(FindingKind::NotAllowed, Severity::High, message));
            c.verdict = Verdict::Unexpected;
        } else {
            let message = format!("{who} is allowed by rule at {}{}", policy.at(rule), comment(rule));
            c.findings
                .insert(0, Finding::new(FindingKind::Allowed, Severity::Info, message));
            c.verdict = Verdict::Expected;
        }
        return;
    }
    if policy.mode == Mode::Allowlist {
        let kind = c.listener.kind;
        let best = policy
            .allow
            .iter()
            .filter(|r| !r.expired(ctx.today) && r.socket == Some(kind))
            .map(|r| (r, evaluate_portless(r, &c.listener)))
            .min_by_key(|(_, ev)| (ev.mismatched.len(), ev.unverifiable.is_none()));
        let reason = match best {
            None => format!("no rule has socket = \"{kind}\""),
            Some((rule, ev)) if ev.mismatched.is_empty() => format!(
                "its owners are not known, and rule at {} names {}",
                policy.at(rule),
                ev.unverifiable.unwrap_or(Field::Process).noun()
            ),
            Some((rule, ev)) => {
                let conditions: Vec<String> = ev.mismatched.iter().map(|&f| qualifier(rule, f)).collect();
                format!(
                    "rule at {} allows {kind} sockets {} only",
                    policy.at(rule),
                    conditions.join(", ")
                )
            }
        };
        c.findings.insert(
            0,
            Finding::new(FindingKind::NotAllowed, Severity::High, not_allowed(reason)),
        );
        c.verdict = Verdict::Unexpected;
    }
}

/// `tcp/9090 python3(4242)`: the listener and its owners, grouped by name, for messages.
pub fn describe(l: &Listener) -> String {
    let owners = match l.owner_status {
        OwnerStatus::Known if !l.owners.is_empty() => group_owners(l.owners.iter().map(|o| &**o), |o| o.name.as_str())
            .iter()
            .map(|(n, pids)| {
                let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
                format!("{n}({})", pids.join(","))
            })
            .collect::<Vec<_>>()
            .join(" "),
        OwnerStatus::Known => "(no owner)".to_string(),
        OwnerStatus::Permission | OwnerStatus::Unavailable => "(owner hidden)".to_string(),
        OwnerStatus::NoProcess => "(no process)".to_string(),
        OwnerStatus::Kernel => "(kernel)".to_string(),
        OwnerStatus::NotLooked => "(owner not looked up)".to_string(),
    };
    format!("{}/{} {owners}", l.protocol, l.port)
}

/// Why the owners of `l` are unknown, and what would help: "owners hidden (permission)",
/// "; run as root".
fn unknown_owners(l: &Listener) -> (&'static str, &'static str) {
    match l.owner_status {
        OwnerStatus::Permission => (
            "owners hidden (permission)",
            crate::model::Platform::current().privilege_suffix(),
        ),
        OwnerStatus::Unavailable => ("owners hidden (no process table)", ""),
        OwnerStatus::NotLooked => ("owners not looked up", "; scan without --no-owners"),
        OwnerStatus::NoProcess => ("no process holds the socket", ""),
        OwnerStatus::Kernel => ("held by the kernel", ""),
        OwnerStatus::Known => ("no owner found", ""),
    }
}

fn or_list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { one.to_string() } else { many.to_string() }
}

/// The condition of `rule` on `field`, as a phrase: "over udp", "for process nginx".
fn qualifier(rule: &Rule, field: Field) -> String {
    match field {
        Field::Port => {
            let ports: Vec<String> = rule.ports.iter().map(ToString::to_string).collect();
            format!("on {} {}", plural(ports.len(), "port", "ports"), ports.join(", "))
        }
        Field::Protocol => format!("over {}", rule.protocol.map_or("", |p| p.as_str())),
        Field::Address => match &rule.address {
            Some(AddressMatch::Loopback) => "on loopback".to_string(),
            Some(AddressMatch::Wildcard) => "on the wildcard address".to_string(),
            Some(a) => format!("on {a}"),
            None => String::new(),
        },
        Field::Process => format!(
            "for {} {}",
            plural(rule.process.len(), "process", "processes"),
            or_list(&rule.process)
        ),
        Field::Exe => {
            let globs: Vec<&str> = rule.exe.iter().map(|p| p.text.as_str()).collect();
            format!(
                "for {} {}",
                plural(globs.len(), "executable", "executables"),
                or_list(&globs)
            )
        }
        Field::User => format!(
            "for {} {}",
            plural(rule.user.len(), "user", "users"),
            or_list(&rule.user)
        ),
        Field::Unit => {
            let globs: Vec<&str> = rule.unit.iter().map(|p| p.text.as_str()).collect();
            format!("in {} {}", plural(globs.len(), "unit", "units"), or_list(&globs))
        }
        Field::UserUnit => {
            let globs: Vec<&str> = rule.user_unit.iter().map(|p| p.text.as_str()).collect();
            format!(
                "in {} {}",
                plural(globs.len(), "user unit", "user units"),
                or_list(&globs)
            )
        }
        Field::Container => {
            let globs: Vec<&str> = rule.container.iter().map(|p| p.text.as_str()).collect();
            format!(
                "in {} {}",
                plural(globs.len(), "container", "containers"),
                or_list(&globs)
            )
        }
        Field::Netns => format!(
            "in network {} {}",
            plural(rule.netns.len(), "namespace", "namespaces"),
            or_list(&rule.netns)
        ),
        Field::Socket => match rule.socket {
            Some(kind) => format!("for {kind} sockets"),
            None => "for port listeners".to_string(),
        },
    }
}

/// Why no allow rule of `policy` allows `l`, naming the rule that came closest:
/// "no rule matches port 9090", "rule at policy.toml:7 allows port 8080 for process nginx
/// only", "rule at policy.toml:7 expired on 2026-01-01 and no longer allows anything".
/// Judging many listeners, build a [`Judge`] once and use [`Judge::why_not_allowed`].
pub fn why_not_allowed(ctx: PolicyContext<'_>, l: &Listener) -> String {
    Judge::new(ctx).why_not_allowed(l)
}

/// " (comment)" when the rule has a comment.
fn comment(rule: &Rule) -> String {
    rule.comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
}

/// The kind of the registry finding that makes a listener unexpected, for messages.
fn registry_flag(c: &Classified) -> &'static str {
    c.findings
        .iter()
        .find(|f| matches!(f.severity, Severity::High | Severity::Medium))
        .map_or("flagged", |f| f.kind.as_str())
}

/// Applies `ctx.policy` to a listener the registry has judged; see [`Judge::apply`].
/// Judging many listeners, build a [`Judge`] once: this builds one per call.
pub fn apply(ctx: PolicyContext<'_>, c: &mut Classified) {
    Judge::new(ctx).apply(c);
}

/// The rule of `ctx.policy` that decides about `l`, or would: a deny rule that matches;
/// else the allow rule that allows it (one that names its port when `flagged`, the
/// registry having judged it unexpected; else the first that matches); else an expired
/// allow rule that would allow it; else the allow rule that came closest, as
/// [`why_not_allowed`] names it. `None` when no rule comes near (the place for a new rule is
/// then the policy file itself). CI reports point at this rule's line.
pub fn governing_rule<'p>(ctx: PolicyContext<'p>, l: &Listener, flagged: bool) -> Option<&'p Rule> {
    let policy = ctx.policy;
    if let Some(r) = policy.deny.iter().find(|r| evaluate(r, l).mismatched.is_empty()) {
        return Some(r);
    }
    let matching: Vec<&Rule> = policy
        .allow
        .iter()
        .filter(|r| !r.expired(ctx.today) && evaluate(r, l).matches())
        .collect();
    if let Some(first) = matching.first() {
        let naming = matching.iter().find(|r| r.names_port(l.port));
        return Some(if flagged { naming.unwrap_or(first) } else { first });
    }
    if let Some(r) = policy
        .allow
        .iter()
        .find(|r| r.expired(ctx.today) && evaluate(r, l).matches())
    {
        return Some(r);
    }
    policy
        .allow
        .iter()
        .filter(|r| !r.expired(ctx.today))
        .map(|r| (r, evaluate(r, l)))
        .filter(|(_, ev)| !ev.mismatched.contains(&Field::Port))
        .min_by_key(|(_, ev)| (ev.mismatched.len(), ev.unverifiable.is_none()))
        .map(|(r, _)| r)
}

/// Puts a finding in front of the others: the policy's word comes first.
fn push_first(c: &mut Classified, kind: FindingKind, severity: Severity, message: String) {
    c.findings.insert(0, Finding::new(kind, severity, message));
}
