//! The indexed judge: a policy's rules indexed by (protocol, port), so that each listener
//! meets only the rules that can match it, in file order.
//!
//! Owns [`Judge`], [`Decision`] and [`Closest`]: deciding a listener exactly as comparing
//! every rule with [`evaluate`](super::evaluate) would, with cheap fields (port, protocol,
//! address, namespace, socket kind, process, user) tested before globs. Pure: no I/O.

#[allow(unused_imports)]
use super::*;
use crate::model::Protocol;
use std::collections::HashMap;

/// Port ranges up to this many ports are indexed port by port; a rule with a wider range is
/// tried for every listener.
pub(super) const INDEXED_RANGE: u32 = 64;

/// The rules of one kind, indexed by the (protocol, port) they can match.
#[derive(Debug, Default)]
struct Candidates {
    /// Positions (in file order) of the rules that can match a listener on this protocol
    /// and port, ascending.
    by_port: HashMap<(Protocol, u16), Vec<usize>>,
    /// Positions of the rules without a port, or with a range too wide to index: they can
    /// match any listener, ascending.
    rest: Vec<usize>,
}

impl Candidates {
    fn new(rules: &[Rule]) -> Candidates {
        let mut index = Candidates::default();
        for (i, rule) in rules.iter().enumerate() {
            let wide = |p: &PortMatch| match *p {
                PortMatch::Single(_) => false,
                PortMatch::Range(a, b) => u32::from(b) - u32::from(a) >= INDEXED_RANGE,
            };
            if rule.ports.is_empty() || rule.ports.iter().any(wide) {
                index.rest.push(i);
                continue;
            }
            let protocols: &[Protocol] = match rule.protocol {
                Some(Protocol::Tcp) => &[Protocol::Tcp],
                Some(Protocol::Udp) => &[Protocol::Udp],
                None => &[Protocol::Tcp, Protocol::Udp],
            };
            for p in &rule.ports {
                let (first, last) = match *p {
                    PortMatch::Single(port) => (port, port),
                    PortMatch::Range(a, b) => (a, b),
                };
                for port in first..=last {
                    for &protocol in protocols {
                        let list = index.by_port.entry((protocol, port)).or_default();
                        // Rules come in order, so a repeat can only be the last entry.
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        index
    }

    fn at(&self, protocol: Protocol, port: u16) -> &[usize] {
        self.by_port.get(&(protocol, port)).map_or(&[], Vec::as_slice)
    }

    /// The positions, ascending, of every rule that can match a listener on `protocol` and
    /// `port`: any other rule mismatches its port or protocol.
    fn for_listener(&self, protocol: Protocol, port: u16) -> Merged<'_> {
        Merged {
            a: self.at(protocol, port),
            b: &self.rest,
        }
    }

    /// The positions, ascending, of every rule whose ports may include `port`, whatever
    /// its protocol.
    fn for_port(&self, port: u16) -> Vec<usize> {
        let mut all: Vec<usize> = Merged {
            a: self.at(Protocol::Tcp, port),
            b: self.at(Protocol::Udp, port),
        }
        .chain(self.rest.iter().copied())
        .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Two ascending lists of positions merged into one, ascending, without repeats.
struct Merged<'a> {
    a: &'a [usize],
    b: &'a [usize],
}

impl Iterator for Merged<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let next = match (self.a.first(), self.b.first()) {
            (None, None) => return None,
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (Some(&x), Some(&y)) => x.min(y),
        };
        if self.a.first() == Some(&next) {
            self.a = self.a.get(1..).unwrap_or_default();
        }
        if self.b.first() == Some(&next) {
            self.b = self.b.get(1..).unwrap_or_default();
        }
        Some(next)
    }
}

/// How one rule fares against one listener, for deciding: as [`evaluate`] says, but
/// stopping at the first field that fails, and testing cheap fields (port, protocol,
/// address, process, user) before globs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quick {
    /// Some field does not hold (`evaluate(..).mismatched` is not empty).
    Mismatch,
    /// Every field holds.
    Match,
    /// The owners are unknown and the rule names this identity field first; every other
    /// field holds.
    Unverifiable(Field),
}

fn quick(rule: &Rule, l: &Listener) -> Quick {
    if !rule.ports.is_empty() && !rule.ports.iter().any(|p| p.contains(l.port)) {
        return Quick::Mismatch;
    }
    if rule.protocol.is_some_and(|p| p != l.protocol) {
        return Quick::Mismatch;
    }
    if rule.address.as_ref().is_some_and(|a| !address_matches(a, l)) {
        return Quick::Mismatch;
    }
    // As in `evaluate`: the namespace must match, and a packet or raw socket rule never
    // matches a port listener.
    if rule.socket.is_some() || !netns_matches(rule, l) {
        return Quick::Mismatch;
    }
    let Some(first) = Field::IDENTITY.into_iter().find(|&f| names(rule, f)) else {
        return Quick::Match;
    };
    if l.owner_status == OwnerStatus::Kernel {
        return Quick::Mismatch;
    }
    if !owners_known(l) {
        return Quick::Unverifiable(first);
    }
    for field in Field::IDENTITY_BY_COST {
        if names(rule, field) && !l.owners.iter().all(|o| owner_satisfies(rule, field, o)) {
            return Quick::Mismatch;
        }
    }
    Quick::Match
}

/// What a policy decides for one listener: which rule, if any, settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'p> {
    /// The first deny rule that matches, or cannot be ruled out because the owners are
    /// unknown and it names this identity field (`unverifiable`).
    Denied {
        /// The deny rule.
        rule: &'p Rule,
        /// The identity field that could not be checked, when the owners are unknown.
        unverifiable: Option<Field>,
    },
    /// An allow rule matches (the first, given here), but an owner runs a suspicious
    /// executable, which no rule can allow.
    Suspicious(&'p Rule),
    /// Allowed by this rule: the first unexpired allow rule that matches, or, when the
    /// registry flagged the listener, the first that also names its port explicitly.
    Allowed(&'p Rule),
    /// The registry flagged the listener and the allow rules that match (the first given
    /// here) do not name its port explicitly.
    PortNotNamed(&'p Rule),
    /// No rule matches.
    NoRule,
}

/// The allow rule that comes closest to allowing a listener that no rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closest<'p> {
    /// The first allow rule that would match but has expired.
    Expired(&'p Rule),
    /// The first unexpired allow rule whose ports include the listener's with the fewest
    /// mismatched fields (a rule that is only unverifiable first), and how it fares.
    Near(&'p Rule, Evaluation),
    /// No allow rule covers the port.
    Nothing,
}

/// A policy ready to judge many listeners: its rules indexed by (protocol, port), so that
/// each listener is compared only with the rules that can match it, in file order. Built
/// once per scan; judging with it gives exactly what comparing every rule would.
#[derive(Debug)]
pub struct Judge<'p> {
    ctx: PolicyContext<'p>,
    allow: Candidates,
    deny: Candidates,
}

impl<'p> Judge<'p> {
    /// Indexes the rules of `ctx.policy`.
    pub fn new(ctx: PolicyContext<'p>) -> Judge<'p> {
        Judge {
            ctx,
            allow: Candidates::new(&ctx.policy.allow),
            deny: Candidates::new(&ctx.policy.deny),
        }
    }

    /// Decides `c` (its listener, the registry's verdict, and whether a finding calls an
    /// owner's executable suspicious):
    ///
    /// 1. A matching deny rule denies it; so does a deny rule that names an identity when
    ///    the owners cannot be seen (it cannot be ruled out).
    /// 2. A matching, unexpired allow rule allows it, unless the registry judged it
    ///    unexpected and the rule does not name its port explicitly (a later matching rule
    ///    that does then allows it), or an owner runs a suspicious executable.
    /// 3. Otherwise no rule applies.
    pub fn decide(&self, c: &Classified) -> Decision<'p> {
        let policy = self.ctx.policy;
        let l = &c.listener;
        for i in self.deny.for_listener(l.protocol, l.port) {
            let Some(rule) = policy.deny.get(i) else { continue };
            match quick(rule, l) {
                Quick::Mismatch => {}
                Quick::Match => {
                    return Decision::Denied {
                        rule,
                        unverifiable: None,
                    };
                }
                Quick::Unverifiable(field) => {
                    return Decision::Denied {
                        rule,
                        unverifiable: Some(field),
                    };
                }
            }
        }
        let flagged = c.verdict == Verdict::Unexpected;
        let suspicious = c.findings.iter().any(|f| f.kind == FindingKind::SuspiciousExecutable);
        let mut first = None;
        for i in self.allow.for_listener(l.protocol, l.port) {
            let Some(rule) = policy.allow.get(i) else { continue };
            if rule.expired(self.ctx.today) || quick(rule, l) != Quick::Match {
                continue;
            }
            if first.is_none() {
                first = Some(rule);
                if suspicious {
                    return Decision::Suspicious(rule);
                }
            }
            if !flagged || rule.names_port(l.port) {
                return Decision::Allowed(rule);
            }
        }
        first.map_or(Decision::NoRule, Decision::PortNotNamed)
    }

    /// The allow rule that comes closest to allowing `l`, for saying why none does.
    pub fn closest(&self, l: &Listener) -> Closest<'p> {
        let policy = self.ctx.policy;
        let today = self.ctx.today;
        if let Some(rule) = self
            .allow
            .for_listener(l.protocol, l.port)
            .filter_map(|i| policy.allow.get(i))
            .find(|r| r.expired(today) && evaluate(r, l).matches())
        {
            return Closest::Expired(rule);
        }
        self.allow
            .for_port(l.port)
            .into_iter()
            .filter_map(|i| policy.allow.get(i))
            .filter(|r| !r.expired(today))
            .map(|r| (r, evaluate(r, l)))
            .filter(|(_, ev)| !ev.mismatched.contains(&Field::Port))
            .min_by_key(|(_, ev)| (ev.mismatched.len(), ev.unverifiable.is_none()))
            .map_or(Closest::Nothing, |(r, ev)| Closest::Near(r, ev))
    }

    /// Why no allow rule allows `l`, naming the rule that came closest (see
    /// [`why_not_allowed`]).
    pub fn why_not_allowed(&self, l: &Listener) -> String {
        let policy = self.ctx.policy;
        let (rule, ev) = match self.closest(l) {
            Closest::Expired(r) => {
                let d = r.expires.map(|d| d.to_string()).unwrap_or_default();
                return format!("rule at {} expired on {d} and no longer allows anything", policy.at(r));
            }
            Closest::Nothing => return format!("no rule matches port {}", l.port),
            Closest::Near(rule, ev) => (rule, ev),
        };
        let at = policy.at(rule);
        if ev.mismatched.is_empty() {
            let field = ev.unverifiable.unwrap_or(Field::Process);
            let (why, hint) = unknown_owners(l);
            return format!(
                "{why}: rule at {at} names {}, so it cannot vouch for this listener{hint}",
                field.noun()
            );
        }
        let what = if rule.ports.is_empty() {
            "any port".to_string()
        } else {
            format!("port {}", l.port)
        };
        let conditions: Vec<String> = ev.mismatched.iter().map(|&f| qualifier(rule, f)).collect();
        format!("rule at {at} allows {what} {} only", conditions.join(", "))
    }

    /// Applies the policy to a listener the registry has judged, changing its verdict and
    /// adding a finding that names the rule or explains why none applies, as
    /// [`Judge::decide`] decides:
    ///
    /// - denied: unexpected (`denied`, high);
    /// - allowed: `expected` (`allowed`, info);
    /// - a suspicious owner, or a flagged port no matching rule names: it stays unexpected
    ///   (`not-allowed`, high);
    /// - no rule: in allowlist mode unexpected (`not-allowed`, high), with the rule that
    ///   came closest; in ghosts mode the registry's verdict stands.
    pub fn apply(&self, c: &mut Classified) {
        let policy: &Policy = self.ctx.policy;
        let decision = self.decide(c);
        let who = || describe(&c.listener);
        let not_allowed = |who: String, reason: String| format!("{who} is not allowed by {}: {reason}", policy.file);
        match decision {
            Decision::Denied { rule, unverifiable } => {
                debug_assert_eq!(rule.kind, RuleKind::Deny);
                let message = match unverifiable {
                    None => format!("{} is denied by rule at {}{}", who(), policy.at(rule), comment(rule)),
                    Some(field) => {
                        let (why, hint) = unknown_owners(&c.listener);
                        format!(
                            "{} may be denied by rule at {}{}: {why}, and the rule names {}, so it cannot be ruled out{hint}",
                            who(),
                            policy.at(rule),
                            comment(rule),
                            field.noun()
                        )
                    }
                };
                push_first(c, FindingKind::Denied, Severity::High, message);
                c.verdict = Verdict::Unexpected;
            }
            Decision::Suspicious(first) => {
                let message = not_allowed(
                    who(),
                    format!(
                        "rule at {} matches, but an owner runs a suspicious executable, which no rule can allow",
                        policy.at(first)
                    ),
                );
                push_first(c, FindingKind::NotAllowed, Severity::High, message);
            }
            Decision::Allowed(rule) => {
                let message = format!("{} is allowed by rule at {}{}", who(), policy.at(rule), comment(rule));
                push_first(c, FindingKind::Allowed, Severity::Info, message);
                c.verdict = Verdict::Expected;
            }
            Decision::PortNotNamed(first) => {
                let message = not_allowed(
                    who(),
                    format!(
                        "rule at {} matches but does not name port {} explicitly, and only a rule that names the port can allow a {} listener",
                        policy.at(first),
                        c.listener.port,
                        registry_flag(c)
                    ),
                );
                push_first(c, FindingKind::NotAllowed, Severity::High, message);
            }
            Decision::NoRule if policy.mode == Mode::Allowlist => {
                let message = not_allowed(who(), self.why_not_allowed(&c.listener));
                push_first(c, FindingKind::NotAllowed, Severity::High, message);
                c.verdict = Verdict::Unexpected;
            }
            Decision::NoRule => {}
        }
    }
}
