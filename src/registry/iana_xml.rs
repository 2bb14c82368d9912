//! Parser of IANA's `service-names-port-numbers.xml`, the registry's primary format,
//! into the twelve columns of IANA's own CSV flattening, plus the `<people>` section.
//!
//! Shared, file for file, by the build script (which indexes the embedded copy in
//! `registry/`) and the library (which reads a newer copy given with `--iana FILE` at run
//! time): it uses nothing but `std` and `quick-xml`, reads no files and knows nothing of
//! the rest of portghost.
//!
//! How a `<record>` becomes the CSV's columns, as IANA flattens it (the test suite holds
//! the result equal to IANA's CSV of 2026-02-13, field by field):
//!
//! - Service Name, Port Number, Transport Protocol, Description, Service Code,
//!   Unauthorized Use Reported and Assignment Notes are the text of `name`, `number`,
//!   `protocol`, `description`, `sc`, `unauthorized` and `note`;
//! - Assignee is the `<xref type="person">` handles inside `<assignee>`, or when there is
//!   none, the person `xref`s of the record itself; Contact is the record's own person
//!   `xref`s; Reference is its other `xref`s (`rfc`, `draft`, `uri`, `text`, `note`);
//! - Registration and Modification Date are the record's `date` and `updated` attributes;
//! - an `xref` is written `[DATA]` (`rfc` data upper-cased: `[RFC6335]`), or `[TEXT]` when it
//!   has text; several are written one after the other, `[A][B]`;
//! - inside text, `<br/>` is a line break, each `<paragraph>` starts indented by eight
//!   spaces, blank lines are dropped, a line ending in a space joins the next indented line
//!   with one space, and the field is trimmed.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

/// The columns of a record, in IANA's CSV order: Service Name, Port Number, Transport
/// Protocol, Description, Assignee, Contact, Registration Date, Modification Date,
/// Reference, Service Code, Unauthorized Use Reported, Assignment Notes. Empty strings
/// for columns the record does not have.
pub type XmlRecord = [String; 12];

/// One `<person>` of the `<people>` section: a contact handle and who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlPerson {
    /// The handle records cite, e.g. `Jon_Postel`.
    pub id: String,
    /// `<name>`: a person's name; empty for an organisation.
    pub name: String,
    /// `<org>`: the organisation; often empty.
    pub org: String,
    /// `<uri>`: usually `mailto:` with IANA's `&` for `@`; empty when absent.
    pub uri: String,
    /// `<updated>`: when IANA last changed the contact (`YYYY-MM-DD` or `YYYY-MM`); often empty.
    pub updated: String,
}

/// The parsed registry.
#[derive(Debug, Clone, Default)]
pub struct XmlRegistry {
    /// The registry's own `<updated>` date (`YYYY-MM-DD`).
    pub updated: String,
    /// Every `<record>`, in file order.
    pub records: Vec<XmlRecord>,
    /// Every `<person>`, in file order.
    pub people: Vec<XmlPerson>,
}

/// Why a file is not a usable IANA registry, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column (characters) of the problem.
    pub column: usize,
    /// What is wrong, one line.
    pub message: String,
}

/// 1-based (line, column) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before.get(start..).map_or(0, |s| s.chars().count()) + 1)
}

/// Normalises a text field as IANA's CSV does: whitespace-only lines are dropped, a line
/// that ends in a space is joined to the next line with one space when that line is
/// indented, and the whole is trimmed.
pub fn normalize(s: &str) -> String {
    let lines: Vec<&str> = s.split('\n').filter(|l| !l.trim().is_empty()).collect();
    let mut out = String::with_capacity(s.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            let prev_space = lines[i - 1].ends_with(' ');
            if prev_space && line.starts_with(' ') {
                let trimmed = out.trim_end_matches(' ').len();
                out.truncate(trimmed);
                out.push(' ');
                out.push_str(line.trim_start_matches(' '));
                continue;
            }
            out.push('\n');
        }
        out.push_str(line);
    }
    out.trim().to_string()
}

/// `s` on one line: every run of whitespace (newlines included) becomes one space, and the
/// ends are trimmed. The registry applies it to every field when it loads records (the
/// embedded ones at build time, a `--iana` file at run time), so that text such as the 190
/// descriptions IANA breaks over two lines prints as one line, not with an escaped `\n`.
/// IANA's text is trusted data; process-supplied text is escaped instead.
pub fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which text is being collected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// A record column (index into [`XmlRecord`]).
    Field(usize),
    /// A `<person>` child: 0 name, 1 org, 2 uri, 3 updated.
    Person(usize),
    /// The registry's own `<updated>`.
    Updated,
}

/// An `xref` being read: its type, its data and its text so far.
struct Xref {
    kind: String,
    data: String,
    text: String,
}

impl Xref {
    fn render(&self) -> String {
        let text = normalize(&self.text);
        if !text.is_empty() {
            format!("[{text}]")
        } else if self.kind == "rfc" {
            format!("[{}]", self.data.to_uppercase())
        } else {
            format!("[{}]", self.data)
        }
    }
}

#[derive(Default)]
struct RecordBuilder {
    fields: XmlRecord,
    assignee: String,
    persons: String,
    refs: String,
}

/// Parses the text of an IANA `service-names-port-numbers.xml`.
///
/// # Errors
/// An [`XmlError`] at the line and column of the problem: malformed XML (mismatched or
/// unclosed tags, bad entities, bad attributes), a root element that is not IANA's
/// `<registry>`, a `<record>` or `<person>` nested where it cannot be, or a file with no
/// `<updated>` date or no records.
pub fn parse(text: &str) -> Result<XmlRegistry, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let err_at = |offset: u64, message: String| {
        let (line, column) = position(text, usize::try_from(offset).unwrap_or(usize::MAX));
        XmlError { line, column, message }
    };
    let mut out = XmlRegistry::default();
    let mut path: Vec<String> = Vec::new();
    let mut record: Option<RecordBuilder> = None;
    let mut person: Option<XmlPerson> = None;
    let mut sink: Option<(Sink, String, usize)> = None;
    let mut paragraph: Option<String> = None;
    let mut xref: Option<Xref> = None;
    let mut saw_root = false;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| err_at(reader.error_position(), e.to_string()))?;
        // Text to append to whatever is being collected, and an element just closed.
        let mut text_in: Option<String> = None;
        let mut closed: Option<String> = None;
        match event {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = local(e);
                open(
                    &name,
                    e,
                    &path,
                    &mut saw_root,
                    &mut record,
                    &mut person,
                    &mut sink,
                    &mut paragraph,
                    &mut xref,
                )
                .map_err(|m| err_at(at, m))?;
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                } else {
                    // An empty element opens and closes at once.
                    if name == "br" {
                        text_in = Some("\n".to_string());
                    }
                    closed = Some(name);
                }
            }
            Event::End(_) => {
                closed = path.pop();
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| err_at(at, e.to_string()))?;
                text_in = Some(s.into_owned());
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| err_at(at, e.to_string()))?;
                text_in = Some(s.into_owned());
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().map_err(|e| err_at(at, e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| err_at(at, e.to_string()))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| err_at(at, format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                text_in = Some(s);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        if let Some(s) = text_in {
            if let Some(x) = xref.as_mut() {
                x.text.push_str(&s);
            } else if let Some(p) = paragraph.as_mut() {
                p.push_str(&s);
            } else if let Some((_, buf, _)) = sink.as_mut() {
                buf.push_str(&s);
            }
        }
        if let Some(name) = closed {
            close(
                &name,
                &path,
                &mut out,
                &mut record,
                &mut person,
                &mut sink,
                &mut paragraph,
                &mut xref,
            );
        }
    }
    if !saw_root {
        return Err(err_at(0, "not an IANA registry: no <registry> element".to_string()));
    }
    if out.updated.is_empty() {
        return Err(err_at(0, "the registry has no <updated> date".to_string()));
    }
    if out.records.is_empty() {
        return Err(err_at(0, "the registry has no <record> elements".to_string()));
    }
    Ok(out)
}

/// The local name of an element, as a `String`.
fn local(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

/// The unescaped value of attribute `name` of `e`, or empty.
fn attr(e: &BytesStart<'_>, name: &str) -> Result<String, String> {
    match e.try_get_attribute(name).map_err(|err| err.to_string())? {
        Some(a) => a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(std::borrow::Cow::into_owned)
            .map_err(|err| err.to_string()),
        None => Ok(String::new()),
    }
}

/// Handles an opening (or empty) element `name` whose ancestors are `path`.
#[allow(clippy::too_many_arguments, reason = "the parser's state, passed by parts")]
fn open(
    name: &str,
    e: &BytesStart<'_>,
    path: &[String],
    saw_root: &mut bool,
    record: &mut Option<RecordBuilder>,
    person: &mut Option<XmlPerson>,
    sink: &mut Option<(Sink, String, usize)>,
    paragraph: &mut Option<String>,
    xref: &mut Option<Xref>,
) -> Result<(), String> {
    if path.is_empty() {
        if name != "registry" {
            return Err(format!(
                "not an IANA registry: the root element is <{name}>, not <registry>"
            ));
        }
        *saw_root = true;
        return Ok(());
    }
    let parent = path.last().map_or("", String::as_str);
    match name {
        "record" => {
            if record.is_some() || person.is_some() {
                return Err("<record> inside another record".to_string());
            }
            let mut r = RecordBuilder::default();
            r.fields[6] = attr(e, "date")?;
            r.fields[7] = attr(e, "updated")?;
            *record = Some(r);
        }
        "person" if parent == "people" => {
            *person = Some(XmlPerson {
                id: attr(e, "id")?,
                ..XmlPerson::default()
            });
        }
        "xref" => {
            *xref = Some(Xref {
                kind: attr(e, "type")?,
                data: attr(e, "data")?,
                text: String::new(),
            });
        }
        "paragraph" if sink.is_some() => *paragraph = Some(String::new()),
        "updated" if path.len() == 1 => *sink = Some((Sink::Updated, String::new(), path.len())),
        _ if person.is_some() && parent == "person" => {
            let idx = match name {
                "name" => Some(0),
                "org" => Some(1),
                "uri" => Some(2),
                "updated" => Some(3),
                _ => None,
            };
            if let Some(i) = idx {
                *sink = Some((Sink::Person(i), String::new(), path.len()));
            }
        }
        _ if record.is_some() && parent == "record" => {
            let idx = match name {
                "name" => Some(0),
                "number" => Some(1),
                "protocol" => Some(2),
                "description" => Some(3),
                "sc" => Some(9),
                "unauthorized" => Some(10),
                "note" => Some(11),
                _ => None,
            };
            if let Some(i) = idx {
                *sink = Some((Sink::Field(i), String::new(), path.len()));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Handles the end of element `name`; `path` holds its ancestors.
#[allow(clippy::too_many_arguments, reason = "the parser's state, passed by parts")]
fn close(
    name: &str,
    path: &[String],
    out: &mut XmlRegistry,
    record: &mut Option<RecordBuilder>,
    person: &mut Option<XmlPerson>,
    sink: &mut Option<(Sink, String, usize)>,
    paragraph: &mut Option<String>,
    xref: &mut Option<Xref>,
) {
    let parent = path.last().map_or("", String::as_str);
    match name {
        "xref" => {
            let Some(x) = xref.take() else { return };
            let rendered = x.render();
            if let Some(p) = paragraph.as_mut() {
                p.push_str(&rendered);
            } else if let Some((_, buf, _)) = sink.as_mut() {
                buf.push_str(&rendered);
            } else if let Some(r) = record.as_mut() {
                if parent == "assignee" {
                    r.assignee.push_str(&rendered);
                } else if parent == "record" {
                    if x.kind == "person" {
                        r.persons.push_str(&rendered);
                    } else {
                        r.refs.push_str(&rendered);
                    }
                }
            }
        }
        "paragraph" => {
            if let (Some(p), Some((_, buf, _))) = (paragraph.take(), sink.as_mut()) {
                buf.push_str("        ");
                buf.push_str(&p);
            }
        }
        "record" => {
            if let Some(mut r) = record.take() {
                r.fields[4] = if r.assignee.is_empty() {
                    r.persons.clone()
                } else {
                    r.assignee
                };
                r.fields[5] = r.persons;
                r.fields[8] = r.refs;
                out.records.push(r.fields);
            }
        }
        "person" => {
            if let Some(p) = person.take() {
                out.people.push(p);
            }
        }
        _ => {
            if sink.as_ref().is_none_or(|s| s.2 != path.len()) {
                return;
            }
            let Some((kind, buf, _)) = sink.take() else { return };
            let value = normalize(&buf);
            match kind {
                Sink::Updated => out.updated = value,
                Sink::Field(i) => {
                    if let Some(r) = record.as_mut() {
                        r.fields[i] = value;
                    }
                }
                Sink::Person(i) => {
                    if let Some(p) = person.as_mut() {
                        *match i {
                            0 => &mut p.name,
                            1 => &mut p.org,
                            2 => &mut p.uri,
                            _ => &mut p.updated,
                        } = value;
                    }
                }
            }
        }
    }
}
