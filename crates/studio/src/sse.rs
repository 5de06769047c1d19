//! The page's live feed: a server-sent event stream fed from the container's bus.
//!
//! Each packer event goes out as `event: packer` with its bus number as the `id`, so a
//! browser that reconnects sends `Last-Event-ID` and gets what it missed from the
//! journal. A stream that fell behind (its bus queue overflowed) says so with `event:
//! lagged`, and the page re-reads the state; lag reports about any subscriber go out
//! as `event: subscriber_lagged`.

use std::io::{self, Write};

use crossbeam_channel::Receiver;

use crate::bus::SubscriberLagged;
use crate::http::{self, Request};
use crate::packer::PackerEvent;
use crate::server::Shared;

/// Writes the stream until the page goes away (`gone` disconnects, or a write fails) or
/// the server shuts down. A comment line every `shared.heartbeat` keeps proxies from
/// closing a quiet stream.
pub fn stream(
    shared: &Shared,
    request: &Request,
    out: &mut impl Write,
    gone: &Receiver<()>,
) -> io::Result<()> {
    let workspace = &shared.workspace;
    // Subscribed before the journal is read: an event published in between is in the
    // queue, in the journal or both, and the numbers sort that out.
    let events = workspace.subscribe::<PackerEvent>("page event stream");
    let lag_reports = workspace.subscribe::<SubscriberLagged>("page event stream (lag reports)");
    let mut last = request
        .header("last-event-id")
        .or_else(|| request.query("since"))
        .and_then(|seq| seq.parse::<u64>().ok())
        .unwrap_or(0);
    http::write_event_stream_head(out)?;
    out.write_all(b"retry: 1000\n\n")?;
    let journal = workspace.journal_after(0);
    // An id past every event this Studio published comes from an earlier run (a page
    // left open across a restart on the same port): counting from it would hold back
    // every live event until the numbers caught up, so the stream starts over.
    let newest = journal.last().map_or(0, |event| event.seq);
    if last > newest {
        last = 0;
    }
    let after = last;
    for event in journal.into_iter().filter(|event| event.seq > after) {
        send_packer(out, &event)?;
        last = event.seq;
    }
    out.flush()?;
    loop {
        crossbeam_channel::select! {
            recv(events.receiver()) -> event => {
                let Ok(event) = event else { return Ok(()) };
                if event.seq <= last {
                    continue;
                }
                // The journal thread may have taken in what this queue missed.
                if event.seq > last + 1 {
                    for earlier in workspace.journal_after(last) {
                        if earlier.seq < event.seq {
                            send_packer(out, &earlier)?;
                        }
                    }
                }
                send_packer(out, &event)?;
                last = event.seq;
                let missed = events.take_missed();
                if missed > 0 {
                    send(out, "lagged", None, &serde_json::json!({ "missed": missed }))?;
                }
            }
            recv(lag_reports.receiver()) -> report => {
                let Ok(report) = report else { return Ok(()) };
                send(out, "subscriber_lagged", None, &report)?;
            }
            recv(shared.closed) -> _ => return Ok(()),
            recv(gone) -> _ => return Ok(()),
            default(shared.heartbeat) => out.write_all(b": keep-alive\n\n")?,
        }
        out.flush()?;
    }
}

fn send_packer(out: &mut impl Write, event: &PackerEvent) -> io::Result<()> {
    send(out, "packer", Some(event.seq), &event.event)
}

fn send(
    out: &mut impl Write,
    name: &str,
    id: Option<u64>,
    data: &impl serde::Serialize,
) -> io::Result<()> {
    let json = serde_json::to_string(data).map_err(io::Error::other)?;
    let mut frame = String::with_capacity(json.len() + 32);
    if let Some(id) = id {
        frame.push_str(&format!("id: {id}\n"));
    }
    // JSON from serde has no raw newline, so the data is one line.
    frame.push_str(&format!("event: {name}\ndata: {json}\n\n"));
    out.write_all(frame.as_bytes())
}
