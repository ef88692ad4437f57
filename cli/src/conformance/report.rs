//! The reports, in wstest's shape so existing checkers read them
//! unchanged: `index.json` (agent → case → behavior, behaviorClose,
//! duration, remoteCloseCode, reportfile), a JSON file per case, and an
//! HTML index with a page per case showing its wire log.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::case::{Observed, Verdict};
use super::peer::Peer;
use super::wirelog::Entry;

/// One case's result, everything the reports show.
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Its 1-based index in the run's case list.
    pub index: usize,
    /// The agent it ran against.
    pub agent: String,
    /// What it sends.
    pub description: String,
    /// What it expects.
    pub expectation: String,
    /// When it started (UTC, RFC 3339).
    pub started: String,
    /// How long it took, in ms.
    pub duration_ms: u64,
    /// The judged connection.
    pub peer: Peer,
    /// The HTTP request of the opening handshake.
    pub http_request: String,
    /// The HTTP response of the opening handshake.
    pub http_response: String,
}

impl CaseResult {
    /// The verdict on the events.
    pub fn behavior(&self) -> Verdict {
        self.peer.outcome.behavior
    }

    /// The verdict on the close.
    pub fn behavior_close(&self) -> Verdict {
        self.peer.outcome.behavior_close
    }
}

/// `agent_case_1_2_3.json`: wstest's names (the agent trimmed and lower-cased,
/// every character other than a letter or digit made `_`).
pub fn report_file(agent: &str, id: &str, ext: &str) -> String {
    let lower = agent.trim().to_lowercase();
    let spaced: String = lower
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = spaced.trim().replace(' ', "_");
    format!("{clean}_case_{}.{ext}", id.replace('.', "_"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => format!("0x{}", hex(bytes)),
    }
}

fn observed(o: &Observed) -> Value {
    // wstest's asciiLogData: past 60 bytes, the first 64 and " ...".
    let cut = |b: &[u8]| {
        if b.len() > 60 {
            printable(b.get(..b.len().min(64)).unwrap_or_default()) + " ..."
        } else {
            printable(b)
        }
    };
    match o {
        Observed::Message(p, binary) => json!(["message", cut(p), binary]),
        Observed::Pong(p) => json!(["pong", cut(p)]),
        Observed::Timeout(tag) => json!(["timeout", tag]),
    }
}

fn wire_line(i: usize, e: &Entry) -> String {
    match e {
        Entry::RxOctets(n, head) => format!("{i:03} RX OCTETS: {} ({n})", hex(head)),
        Entry::TxOctets(n, head, sync) => {
            format!("{i:03} TX OCTETS: {} ({n}{})", hex(head), if *sync { ", sync" } else { "" })
        }
        Entry::RxFrame { opcode, fin, rsv, len, head, masked } => format!(
            "{i:03} RX FRAME : OPCODE={opcode}, FIN={fin}, RSV={rsv}, PAYLOAD-LEN={len}, MASKED={masked}{}",
            if head.is_empty() { String::new() } else { format!(", PAYLOAD={}", printable(head)) }
        ),
        Entry::TxFrame { opcode, fin, rsv, len, head, chop, sync } => format!(
            "{i:03} TX FRAME : OPCODE={opcode}, FIN={fin}, RSV={rsv}, PAYLOAD-LEN={len}, CHOPSIZE={}, SYNC={sync}, PAYLOAD={}",
            chop.map_or("None".to_string(), |c| c.to_string()),
            printable(head)
        ),
        Entry::Note(text) => format!("{i:03} {text}"),
    }
}

fn case_json(r: &CaseResult) -> Value {
    let p = &r.peer;
    let o = &p.outcome;
    let expected: Map<String, Value> = o
        .expected
        .iter()
        .map(|(v, events)| {
            (
                v.as_str().to_string(),
                Value::Array(events.iter().map(observed).collect()),
            )
        })
        .collect();
    json!({
        "agent": r.agent,
        "behavior": o.behavior.as_str(),
        "behaviorClose": o.behavior_close.as_str(),
        "case": r.index,
        "closedByMe": p.closed_by_me,
        "description": r.description,
        "droppedByMe": p.dropped_by_me,
        "duration": r.duration_ms,
        "expectation": r.expectation,
        "expected": expected,
        "expectedClose": {
            "closedByMe": o.expected_close.closed_by_me,
            "closeCode": o.expected_close.codes,
            "requireClean": o.expected_close.require_clean,
            "closedByWrongEndpointIsFatal": o.expected_close.wrong_endpoint_is_fatal,
        },
        "failedByMe": p.failed_by_me,
        "httpRequest": r.http_request,
        "httpResponse": r.http_response,
        "id": r.id,
        "isServer": p.is_server,
        "localCloseCode": p.local_close_code,
        "localCloseReason": p.local_close_reason.as_deref().map(printable),
        "received": o.received.iter().map(observed).collect::<Vec<_>>(),
        "remoteCloseCode": p.remote_close_code,
        "remoteCloseReason": p.remote_close_reason,
        "reportTime": o.report_time,
        "result": o.result,
        "resultClose": o.result_close,
        "started": r.started,
        "wasClean": p.was_clean,
        "wasNotCleanReason": p.was_not_clean_reason,
        "wirelog": p.wirelog.entries().iter().enumerate().map(|(i, e)| wire_line(i, e)).collect::<Vec<_>>(),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const CSS: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}.OK{background:#9f9}\
.NON-STRICT{background:#ff9}.FAILED,.UNCLEAN,.WRONG{background:#f99}\
.INFORMATIONAL,.UNIMPLEMENTED{background:#ddd}pre{margin:0;font-size:12px}";

fn class(v: Verdict) -> &'static str {
    v.as_str().split(' ').next().unwrap_or("")
}

fn case_html(r: &CaseResult) -> String {
    let p = &r.peer;
    let o = &p.outcome;
    let mut h = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{agent} - case {id}</title><style>{CSS}</style></head><body>\
<h1>{agent} - case {id}: <span class=\"{bc}\">{b}</span> / <span class=\"{cc}\">{c}</span></h1>\
<p><b>Description:</b> {desc}</p><p><b>Expectation:</b> {exp}</p>\
<p><b>Result:</b> {res}</p><p><b>Close:</b> {resc}</p>\
<table><tr><td>closedByMe</td><td>{cbm}</td></tr><tr><td>failedByMe</td><td>{fbm}</td></tr>\
<tr><td>droppedByMe</td><td>{dbm}</td></tr><tr><td>wasClean</td><td>{wc}</td></tr>\
<tr><td>wasNotCleanReason</td><td>{wncr}</td></tr><tr><td>remoteCloseCode</td><td>{rcc}</td></tr>\
<tr><td>duration</td><td>{dur} ms</td></tr></table><h2>Handshake</h2><pre>{req}</pre><pre>{resp}</pre><h2>Wire log</h2>",
        agent = esc(&r.agent),
        id = r.id,
        bc = class(o.behavior),
        b = o.behavior.as_str(),
        cc = class(o.behavior_close),
        c = o.behavior_close.as_str(),
        desc = r.description,
        exp = r.expectation,
        res = esc(&o.result),
        resc = esc(&o.result_close),
        cbm = p.closed_by_me,
        fbm = p.failed_by_me,
        dbm = p.dropped_by_me,
        wc = p.was_clean,
        wncr = esc(p.was_not_clean_reason.as_deref().unwrap_or("None")),
        rcc = p.remote_close_code.map_or("None".into(), |c| c.to_string()),
        dur = r.duration_ms,
        req = esc(&r.http_request),
        resp = esc(&r.http_response),
    );
    for (i, e) in p.wirelog.entries().iter().enumerate() {
        let _ = write!(h, "<pre>{}</pre>", esc(&wire_line(i, e)));
    }
    let last = p.wirelog.entries().len();
    let by = if p.dropped_by_me { "ME" } else { "PEER" };
    let _ = write!(h, "<pre>{last:03} TCP DROPPED BY {by}</pre></body></html>");
    h
}

fn index_html(results: &[&CaseResult], agents: &[String]) -> String {
    let mut h = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ws6455 conformance</title><style>{CSS}</style></head><body>\
<h1>WebSocket conformance (Autobahn case catalog, ws6455 conformance)</h1><table><tr><th>case</th>"
    );
    for a in agents {
        let _ = write!(h, "<th colspan=\"2\">{}</th>", esc(a));
    }
    h.push_str("</tr>");
    let mut ids: Vec<&CaseResult> = results.to_vec();
    ids.sort_by_key(|r| super::catalog::id_key(&r.id));
    ids.dedup_by(|a, b| a.id == b.id);
    for row in ids {
        let _ = write!(
            h,
            "<tr><td title=\"{}\">{}</td>",
            esc(&row.description),
            row.id
        );
        for a in agents {
            match results.iter().find(|r| r.id == row.id && &r.agent == a) {
                Some(r) => {
                    let _ = write!(
                        h,
                        "<td class=\"{}\"><a href=\"{}\">{}</a></td><td class=\"{}\">{}</td>",
                        class(r.behavior()),
                        report_file(a, &r.id, "html"),
                        r.behavior().as_str(),
                        class(r.behavior_close()),
                        r.peer
                            .remote_close_code
                            .map_or("-".into(), |c| c.to_string())
                    );
                }
                None => h.push_str("<td colspan=\"2\">Missing</td>"),
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table></body></html>");
    h
}

/// Write every report into `dir`: `index.json`, `index.html`, and a JSON
/// and an HTML page per case.
pub fn write(dir: &Path, results: &[&CaseResult]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut index: Map<String, Value> = Map::new();
    let mut agents: Vec<String> = Vec::new();
    for r in results {
        if !agents.contains(&r.agent) {
            agents.push(r.agent.clone());
        }
        let entry = index
            .entry(r.agent.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(cases) = entry {
            cases.insert(
                r.id.clone(),
                json!({
                    "behavior": r.behavior().as_str(),
                    "behaviorClose": r.behavior_close().as_str(),
                    "duration": r.duration_ms,
                    "remoteCloseCode": r.peer.remote_close_code,
                    "reportfile": report_file(&r.agent, &r.id, "json"),
                }),
            );
        }
        let detail = serde_json::to_string_pretty(&case_json(r)).map_err(io::Error::other)?;
        fs::write(dir.join(report_file(&r.agent, &r.id, "json")), detail)?;
        fs::write(dir.join(report_file(&r.agent, &r.id, "html")), case_html(r))?;
    }
    agents.sort();
    let text = serde_json::to_string_pretty(&Value::Object(index)).map_err(io::Error::other)?;
    fs::write(dir.join("index.json"), text)?;
    fs::write(dir.join("index.html"), index_html(results, &agents))?;
    Ok(())
}
