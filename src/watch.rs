//! What `portghost watch` reports between two scans: a pure function of the previous and
//! the current [`Report`] ([`changes`]), and the first cycle's [`snapshot`].
//!
//! A listener is the same listener while its network namespace, kind (tcp, udp, packet,
//! raw), address, port and socket inode stay the same: a program that restarts and binds
//! again is a removal and an addition. Its owners are compared by PID, name and
//! executable. No I/O, no clock: the caller renders the events ([`Event::to_json`]).

use crate::model::{Classified, ClassifiedPortless, Owner, Report};
use crate::schema::watch::{AnyListenerJson, EventJson};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// A listener of either kind in a report.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A port listener.
    Port(&'a Classified),
    /// A packet or raw socket.
    Portless(&'a ClassifiedPortless),
}

/// What happened to a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// It listened when the watch started.
    Snapshot,
    /// It appeared.
    ListenerAdded,
    /// It is gone.
    ListenerRemoved,
    /// Its verdict changed.
    VerdictChanged,
    /// Its owners changed (a process exited, forked or exec'd).
    OwnerChanged,
}

impl EventKind {
    /// The `event` field of the JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Snapshot => "snapshot",
            EventKind::ListenerAdded => "listener-added",
            EventKind::ListenerRemoved => "listener-removed",
            EventKind::VerdictChanged => "verdict-changed",
            EventKind::OwnerChanged => "owner-changed",
        }
    }
}

/// One change: the listener now (as last seen, when removed) and, for a changed verdict or
/// owner, as it was.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The listener.
    pub listener: Item<'a>,
    /// The listener in the previous report, for `verdict-changed` and `owner-changed`.
    pub previous: Option<Item<'a>>,
}

impl<'a> Event<'a> {
    /// The JSON line of this event, at `time` on `host`.
    pub fn to_json(&self, time: &'a str, host: &'a str) -> EventJson<'a> {
        EventJson::listener(
            self.kind.as_str(),
            time,
            host,
            json(self.listener),
            self.previous.map(json),
        )
    }
}

/// How urgent a journal entry is: syslog priorities 3, 4 and 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// `err` (3): a failed cycle, a policy that could not be reloaded.
    Error,
    /// `warning` (4): an unexpected listener appeared or became unexpected.
    Warning,
    /// `notice` (5): every other change.
    Notice,
}

/// One event as a systemd journal entry: the priority, the human `MESSAGE` and the
/// structured fields, every one named `PORTGHOST_*` (journal field names: upper-case
/// letters, digits and `_`). Values are plain text; the message is made safe for a
/// terminal, since process names are chosen by whoever started the process. Sending it is
/// the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The syslog priority.
    pub priority: Priority,
    /// `MESSAGE`: one line, for `journalctl`.
    pub message: String,
    /// The structured fields, in order: `PORTGHOST_EVENT` first and `PORTGHOST_JSON` (the
    /// event's JSON line without its newline) last; `PORTGHOST_PORT` only on a port
    /// listener, `PORTGHOST_PREVIOUS_VERDICT` only on `verdict-changed`, `PORTGHOST_PID`
    /// and `PORTGHOST_PROCESS` only when an owner is known, `PORTGHOST_NETNS` (the
    /// namespace inode) only when the listener's namespace is known.
    pub fields: Vec<(&'static str, String)>,
}

impl JournalEntry {
    /// An entry about no listener (`error`, `policy-reloaded`): `event`, `message` and
    /// the JSON line.
    pub fn note(priority: Priority, event: &str, message: &str, json_line: &str) -> JournalEntry {
        JournalEntry {
            priority,
            message: crate::sanitize::terminal_safe(&format!("portghost watch: {event}: {message}")).into_owned(),
            fields: vec![
                ("PORTGHOST_EVENT", event.to_owned()),
                ("PORTGHOST_JSON", json_line.trim_end_matches('\n').to_owned()),
            ],
        }
    }
}

impl Event<'_> {
    /// This event as a journal entry, carrying `json_line` (its line from
    /// [`Event::to_json`]) in `PORTGHOST_JSON`.
    pub fn journal(&self, json_line: &str) -> JournalEntry {
        let (protocol, port, address, verdict, owners, netns) = match self.listener {
            Item::Port(c) => {
                let l = &c.listener;
                (
                    l.protocol.as_str(),
                    Some(l.port),
                    Some(l.local_address),
                    c.verdict,
                    &l.owners,
                    l.netns.as_ref().map(|n| n.inode),
                )
            }
            Item::Portless(c) => {
                let l = &c.listener;
                (
                    l.kind.as_str(),
                    None,
                    l.local_address,
                    c.verdict,
                    &l.owners,
                    l.netns.as_ref().map(|n| n.inode),
                )
            }
        };
        let previous = self.previous.map(|p| match p {
            Item::Port(c) => c.verdict,
            Item::Portless(c) => c.verdict,
        });
        let event = self.kind.as_str();
        let mut fields = vec![
            ("PORTGHOST_EVENT", event.to_owned()),
            ("PORTGHOST_PROTOCOL", protocol.to_owned()),
        ];
        if let Some(port) = port {
            fields.push(("PORTGHOST_PORT", port.to_string()));
        }
        if let Some(address) = address {
            fields.push(("PORTGHOST_ADDRESS", address.to_string()));
        }
        fields.push(("PORTGHOST_VERDICT", verdict.as_str().to_owned()));
        if self.kind == EventKind::VerdictChanged
            && let Some(previous) = previous
        {
            fields.push(("PORTGHOST_PREVIOUS_VERDICT", previous.as_str().to_owned()));
        }
        if let Some(owner) = owners.first() {
            fields.push(("PORTGHOST_PID", owner.pid.to_string()));
            let name = crate::sanitize::terminal_safe(&owner.name).into_owned();
            fields.push(("PORTGHOST_PROCESS", name));
        }
        if let Some(netns) = netns {
            fields.push(("PORTGHOST_NETNS", netns.to_string()));
        }
        fields.push(("PORTGHOST_JSON", json_line.trim_end_matches('\n').to_owned()));
        let place = match (address, port) {
            (Some(IpAddr::V6(a)), Some(port)) => format!("[{a}]:{port}"),
            (Some(a), Some(port)) => format!("{a}:{port}"),
            (Some(a), None) => a.to_string(),
            (None, Some(port)) => format!("port {port}"),
            (None, None) => "socket".to_owned(),
        };
        let verdict_text = match (self.kind, previous) {
            (EventKind::VerdictChanged, Some(was)) => format!("{} (was {})", verdict.as_str(), was.as_str()),
            _ => verdict.as_str().to_owned(),
        };
        let owner = owners
            .first()
            .map_or_else(|| "owner unknown".to_owned(), |o| format!("{} (pid {})", o.name, o.pid));
        let message = format!("portghost watch: {event}: {protocol} {place}, {verdict_text}, {owner}");
        let priority = match (self.kind, verdict) {
            (
                EventKind::ListenerAdded | EventKind::VerdictChanged | EventKind::Snapshot,
                crate::model::Verdict::Unexpected,
            ) => Priority::Warning,
            _ => Priority::Notice,
        };
        JournalEntry {
            priority,
            message: crate::sanitize::terminal_safe(&message).into_owned(),
            fields,
        }
    }
}

fn json(item: Item<'_>) -> AnyListenerJson<'_> {
    match item {
        Item::Port(c) => AnyListenerJson::port(c),
        Item::Portless(c) => AnyListenerJson::portless(c),
    }
}

/// Identity of a listener across scans: namespace inode, kind, address, port, inode.
type Key = (u64, &'static str, Option<IpAddr>, u16, u64);

/// A [`Key`] in a hash table: hashed by namespace and socket inode only (which nearly
/// always tell listeners apart), compared by all of it.
#[derive(PartialEq, Eq)]
struct Hashed(Key);

impl std::hash::Hash for Hashed {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.0);
        state.write_u64(self.0.4);
    }
}

/// The verdict and owners compared across scans.
type State<'a> = (crate::model::Verdict, &'a [Arc<Owner>]);

/// Whether two owner lists are the same by PID, name and executable, in order.
fn same_owners(a: &[Arc<Owner>], b: &[Arc<Owner>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.pid == b.pid && a.name == b.name && a.exe == b.exe)
}

fn item_key(item: Item<'_>) -> Key {
    match item {
        Item::Port(c) => {
            let l = &c.listener;
            (
                l.netns.as_ref().map_or(0, |n| n.inode),
                l.protocol.as_str(),
                Some(l.local_address),
                l.port,
                l.inode.unwrap_or(0),
            )
        }
        Item::Portless(c) => {
            let l = &c.listener;
            (
                l.netns.as_ref().map_or(0, |n| n.inode),
                l.kind.as_str(),
                l.local_address,
                0,
                l.inode,
            )
        }
    }
}

fn item_state(item: Item<'_>) -> State<'_> {
    match item {
        Item::Port(c) => (c.verdict, &c.listener.owners),
        Item::Portless(c) => (c.verdict, &c.listener.owners),
    }
}

/// Every listener of `report`, in report order (port listeners, then portless).
pub fn items(report: &Report) -> impl Iterator<Item = Item<'_>> {
    report
        .listeners
        .iter()
        .map(Item::Port)
        .chain(report.portless.iter().map(Item::Portless))
}

/// A `snapshot` event for every listener of `report`.
pub fn snapshot(report: &Report) -> Vec<Event<'_>> {
    items(report)
        .map(|listener| Event {
            kind: EventKind::Snapshot,
            listener,
            previous: None,
        })
        .collect()
}

/// What changed from `previous` to `current`: removals (in the previous report's order),
/// then additions, verdict changes and owner changes (in the current report's order; a
/// listener whose verdict and owners both changed has both events, verdict first).
pub fn changes<'a>(previous: &'a Report, current: &'a Report) -> Vec<Event<'a>> {
    let before: HashMap<Hashed, Item<'a>> = items(previous).map(|i| (Hashed(item_key(i)), i)).collect();
    let now: HashSet<Hashed> = items(current).map(|i| Hashed(item_key(i))).collect();
    let mut events: Vec<Event<'a>> = items(previous)
        .filter(|i| !now.contains(&Hashed(item_key(*i))))
        .map(|listener| Event {
            kind: EventKind::ListenerRemoved,
            listener,
            previous: None,
        })
        .collect();
    for listener in items(current) {
        let Some(&was) = before.get(&Hashed(item_key(listener))) else {
            events.push(Event {
                kind: EventKind::ListenerAdded,
                listener,
                previous: None,
            });
            continue;
        };
        let (old_verdict, old_owners) = item_state(was);
        let (verdict, owners) = item_state(listener);
        if old_verdict != verdict {
            events.push(Event {
                kind: EventKind::VerdictChanged,
                listener,
                previous: Some(was),
            });
        }
        if !same_owners(old_owners, owners) {
            events.push(Event {
                kind: EventKind::OwnerChanged,
                listener,
                previous: Some(was),
            });
        }
    }
    events
}

/// True when one of `events` is a `listener-added` whose owners were looked for and not
/// found (hidden, no process, or the kernel's). A socket opened while a scan runs can be
/// seen by its socket dump but not by its `/proc` walk, which started earlier: the caller
/// scans again at the next interval, so the owner follows in an `owner-changed` event
/// instead of waiting for `--owner-interval`.
pub fn added_without_owner(events: &[Event<'_>]) -> bool {
    use crate::model::OwnerStatus;
    events.iter().any(|e| {
        let (owners, status) = match e.listener {
            Item::Port(c) => (&c.listener.owners, c.listener.owner_status),
            Item::Portless(c) => (&c.listener.owners, c.listener.owner_status),
        };
        e.kind == EventKind::ListenerAdded
            && owners.is_empty()
            && !matches!(status, OwnerStatus::NotLooked | OwnerStatus::Unavailable)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{listener, owner};
    use crate::model::{Inventory, Listener, Provenance, Verdict};

    fn report(listeners: Vec<Listener>) -> Report {
        let inventory = Inventory {
            host: "h".to_owned(),
            scanned_at: "2026-11-21T08:28:04Z".to_owned(),
            listeners,
            privileged: true,
            host_pid_namespace: Some(true),
            warnings: Vec::new(),
            view: None,
            namespaces: Vec::new(),
            provenance: Provenance::default(),
            portless: Vec::new(),
            kind: crate::model::InventoryKind::Linux,
        };
        crate::classify::classify(inventory, crate::registry::Registry::builtin().expect("registry"))
    }

    fn kinds(events: &[Event<'_>]) -> Vec<(&'static str, u16)> {
        events
            .iter()
            .map(|e| {
                let port = match e.listener {
                    Item::Port(c) => c.listener.port,
                    Item::Portless(_) => 0,
                };
                (e.kind.as_str(), port)
            })
            .collect()
    }

    #[test]
    fn the_same_scan_twice_changes_nothing() {
        let a = report(vec![listener(22, 1, vec![owner(10, "sshd")])]);
        let b = report(vec![listener(22, 1, vec![owner(10, "sshd")])]);
        assert!(changes(&a, &b).is_empty());
        assert_eq!(kinds(&snapshot(&a)), [("snapshot", 22)]);
    }

    #[test]
    fn additions_removals_and_owner_changes_are_reported() {
        let a = report(vec![
            listener(22, 1, vec![owner(10, "sshd")]),
            listener(8080, 2, vec![owner(11, "web")]),
        ]);
        let b = report(vec![
            listener(22, 1, vec![owner(10, "sshd"), owner(12, "sshd")]),
            listener(3237, 3, vec![owner(13, "x")]),
        ]);
        let events = changes(&a, &b);
        let mut got = kinds(&events);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                ("listener-added", 3237),
                ("listener-removed", 8080),
                ("owner-changed", 22)
            ]
        );
        let added = events
            .iter()
            .find(|e| e.kind == EventKind::ListenerAdded)
            .expect("added");
        assert!(matches!(added.listener, Item::Port(c) if c.verdict == Verdict::Unexpected));
        let changed = events
            .iter()
            .find(|e| e.kind == EventKind::OwnerChanged)
            .expect("owner-changed");
        assert!(matches!(changed.previous, Some(Item::Port(c)) if c.listener.owners.len() == 1));
    }

    #[test]
    fn an_added_listener_without_an_owner_asks_for_another_scan() {
        let a = report(vec![listener(22, 1, vec![owner(10, "sshd")])]);
        let mut orphan = listener(3237, 2, Vec::new());
        orphan.owner_status = crate::model::OwnerStatus::Kernel;
        let b = report(vec![listener(22, 1, vec![owner(10, "sshd")]), orphan.clone()]);
        assert!(added_without_owner(&changes(&a, &b)));
        let c = report(vec![
            listener(22, 1, vec![owner(10, "sshd")]),
            listener(3237, 2, vec![owner(11, "x")]),
        ]);
        assert!(!added_without_owner(&changes(&a, &c)));
        // Already there before: no new scan for it.
        assert!(!added_without_owner(&changes(&b, &b)));
        orphan.owner_status = crate::model::OwnerStatus::NotLooked;
        let d = report(vec![listener(22, 1, vec![owner(10, "sshd")]), orphan]);
        assert!(
            !added_without_owner(&changes(&a, &d)),
            "--no-owners: nothing to wait for"
        );
    }

    #[test]
    fn a_new_socket_inode_is_a_new_listener() {
        let a = report(vec![listener(22, 1, vec![owner(10, "sshd")])]);
        let b = report(vec![listener(22, 2, vec![owner(10, "sshd")])]);
        let mut got = kinds(&changes(&a, &b));
        got.sort_unstable();
        assert_eq!(got, [("listener-added", 22), ("listener-removed", 22)]);
    }

    fn field<'e>(entry: &'e JournalEntry, name: &str) -> Option<&'e str> {
        entry.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn journal_entries_carry_the_structured_fields() {
        let a = report(vec![listener(3237, 1, vec![owner(10, "x\u{1b}[2J")])]);
        let mut b = report(vec![listener(3237, 1, vec![owner(10, "x\u{1b}[2J")])]);
        b.listeners[0].verdict = crate::model::Verdict::Expected;
        let events = changes(&a, &b);
        let entry = events[0].journal("{\"event\":\"verdict-changed\"}\n");
        assert_eq!(entry.priority, Priority::Notice);
        let names: Vec<&str> = entry.fields.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "PORTGHOST_EVENT",
                "PORTGHOST_PROTOCOL",
                "PORTGHOST_PORT",
                "PORTGHOST_ADDRESS",
                "PORTGHOST_VERDICT",
                "PORTGHOST_PREVIOUS_VERDICT",
                "PORTGHOST_PID",
                "PORTGHOST_PROCESS",
                "PORTGHOST_JSON"
            ]
        );
        assert_eq!(field(&entry, "PORTGHOST_EVENT"), Some("verdict-changed"));
        assert_eq!(field(&entry, "PORTGHOST_PORT"), Some("3237"));
        assert_eq!(field(&entry, "PORTGHOST_PROTOCOL"), Some("tcp"));
        assert_eq!(field(&entry, "PORTGHOST_VERDICT"), Some("expected"));
        assert_eq!(field(&entry, "PORTGHOST_PREVIOUS_VERDICT"), Some("unexpected"));
        assert_eq!(field(&entry, "PORTGHOST_PID"), Some("10"));
        assert_eq!(field(&entry, "PORTGHOST_JSON"), Some("{\"event\":\"verdict-changed\"}"));
        // The process name is the process's to choose: no escape sequence gets through.
        assert!(!entry.message.contains('\u{1b}'), "{}", entry.message);
        assert!(!field(&entry, "PORTGHOST_PROCESS").is_some_and(|p| p.contains('\u{1b}')));
        assert_eq!(
            entry.message,
            "portghost watch: verdict-changed: tcp 127.0.0.1:3237, expected (was unexpected), x\\x1b[2J (pid 10)"
        );
        let added = snapshot(&a);
        let entry = Event {
            kind: EventKind::ListenerAdded,
            ..added[0]
        }
        .journal("{}");
        assert_eq!(entry.priority, Priority::Warning, "an unexpected listener appeared");
        assert_eq!(field(&entry, "PORTGHOST_PREVIOUS_VERDICT"), None);
        let note = JournalEntry::note(Priority::Error, "error", "policy.toml:4:8: bad", "{}\n");
        assert_eq!(note.message, "portghost watch: error: policy.toml:4:8: bad");
        assert_eq!(
            note.fields,
            [
                ("PORTGHOST_EVENT", "error".to_owned()),
                ("PORTGHOST_JSON", "{}".to_owned())
            ]
        );
    }

    #[test]
    fn a_verdict_change_carries_the_previous_listener() {
        let a = report(vec![listener(3237, 1, vec![owner(10, "x")])]);
        let mut b = report(vec![listener(3237, 1, vec![owner(10, "x")])]);
        b.listeners[0].verdict = Verdict::Expected;
        let events = changes(&a, &b);
        assert_eq!(kinds(&events), [("verdict-changed", 3237)]);
        let line = serde_json::to_value(events[0].to_json("t", "h")).expect("json");
        assert_eq!(line["event"], "verdict-changed");
        assert_eq!(line["listener"]["verdict"], "expected");
        assert_eq!(line["previous"]["verdict"], "unexpected");
    }
}
