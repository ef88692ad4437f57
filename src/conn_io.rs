//! Moving one connection's bytes between its socket and its core, and
//! handing the core's events to the handler.

use std::io;

use crate::conn_id::ConnId;
use crate::ctx::Ctx;
use crate::diag;
use crate::handler::{ConnError, Decision, Handler, HttpResponse, Message};
use crate::loop_core::LoopCore;
use crate::proto::connection::Connection;
use crate::proto::event::Event;
use crate::proto::ProtocolError;
use crate::proto::Timestamp;
use crate::transmit;

/// What one round of reading did.
pub(crate) struct ReadOutcome {
    pub(crate) reads: usize,
}

/// Read while the socket has data, the core wants it and the budget
/// lasts, dispatching events after every read so the receive buffer never
/// holds more than one read beyond the frame in progress.
pub(crate) fn read_some<H: Handler>(
    core: &mut LoopCore,
    handler: &mut H,
    idx: usize,
    hup: bool,
    budget: usize,
) -> ReadOutcome {
    let mut reads = 0;
    while reads < budget {
        let now = core.now();
        let Some(slot) = core.slots.get_mut(idx) else {
            break;
        };
        let Some(conn) = slot.conn.as_mut() else {
            break;
        };
        if !slot.can_read || !conn.wants_read() {
            break;
        }
        let id = ConnId::new(idx, slot.gen);
        let buf = conn.recv_buf();
        let room = buf.len();
        let failure = match slot.socket.read(buf) {
            Ok(0) => {
                slot.can_read = false;
                if slot.handshaking {
                    log::debug!("{id} dropped: the peer closed TCP during the handshake");
                } else if conn.is_open() && !conn.close_sent() {
                    log::debug!("{id} dropped: the peer closed TCP without a close frame");
                }
                conn.recv_eof(now);
                None
            }
            Ok(n) => {
                conn.commit_recv(n);
                // Linux epoll, edge-triggered: a short read drained the
                // socket and new data raises a new edge, so the read that
                // would only say WouldBlock is skipped. A peer's half-close
                // shows only as a further read returning 0, so not then.
                if cfg!(target_os = "linux") && !hup && slot.socket.read_drained(n, room) {
                    slot.can_read = false;
                }
                None
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                slot.can_read = false;
                None
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                slot.can_read = false;
                conn.abort();
                Some(e)
            }
        };
        diag::handle_timeout(conn, now, slot.handshaking, id);
        reads += 1;
        if let Some(e) = failure {
            report_io_error(core, handler, idx, e);
        }
        dispatch(core, handler, idx);
    }
    ReadOutcome { reads }
}

/// Write queued output until the socket refuses more: each write is one
/// `writev` over up to [`transmit::MAX_IOV`] of the core's chunks (owned
/// frames, and broadcasts' frames straight from their shared buffer).
/// Returns whether anything was written.
pub(crate) fn flush<H: Handler>(core: &mut LoopCore, handler: &mut H, idx: usize) -> bool {
    let mut wrote = false;
    let failure = {
        let Some(slot) = core.slots.get_mut(idx) else {
            return false;
        };
        let Some(conn) = slot.conn.as_mut() else {
            return false;
        };
        let mut failure = None;
        while slot.can_write && !slot.connecting {
            let mut chunks: [&[u8]; transmit::MAX_IOV] = [&[]; transmit::MAX_IOV];
            let n = conn.pending_chunks(&mut chunks);
            if n == 0 {
                // Encrypted bytes may still wait for the socket.
                match slot.socket.flush_pending() {
                    Ok(true) => {}
                    Ok(false) => slot.can_write = false,
                    Err(e) => {
                        slot.can_write = false;
                        conn.abort();
                        failure = Some(e);
                    }
                }
                break;
            }
            match slot
                .socket
                .write_chunks(chunks.get(..n).unwrap_or_default())
            {
                Ok(0) => {
                    slot.can_write = false;
                    break;
                }
                Ok(n) => {
                    conn.consume_output(n);
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    slot.can_write = false;
                }
                Err(e) => {
                    slot.can_write = false;
                    conn.abort();
                    failure = Some(e);
                }
            }
        }
        failure
    };
    if let Some(e) = failure {
        report_io_error(core, handler, idx, e);
    }
    wrote
}

/// A client socket's non-blocking connect: once writable, find out
/// whether it succeeded. Returns false while it is still in progress.
pub(crate) fn finish_connect<H: Handler>(core: &mut LoopCore, handler: &mut H, idx: usize) -> bool {
    let Some(slot) = core.slots.get_mut(idx) else {
        return false;
    };
    if !slot.connecting {
        return true;
    }
    if !slot.can_write && !slot.can_read {
        return false;
    }
    let result = match slot.socket.tcp.take_error() {
        Ok(Some(e)) | Err(e) => Err(e),
        Ok(None) => match slot.socket.tcp.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(true) => {
            slot.connecting = false;
            let _ = slot.socket.tcp.set_nodelay(true);
            true
        }
        Ok(false) => {
            slot.can_write = false;
            slot.can_read = false;
            false
        }
        Err(e) => {
            if let Some(conn) = slot.conn.as_mut() {
                conn.abort();
            }
            report_io_error(core, handler, idx, e);
            dispatch(core, handler, idx);
            false
        }
    }
}

fn report_io_error<H: Handler>(core: &mut LoopCore, handler: &mut H, idx: usize, e: io::Error) {
    let Some(id) = core.id(idx) else { return };
    let error = ConnError::from_io(e);
    log::debug!("{id} dropped: {error}");
    if core.slots.get(idx).is_none_or(|s| s.closed_reported) {
        return;
    }
    let mut ctx = Ctx::new(core, None);
    handler.on_error(&mut ctx, id, &error);
}

/// Answer a request (plain, or an upgrade being refused) with `response`.
fn respond_with(conn: &mut Connection, now: Timestamp, response: &HttpResponse) {
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _ = conn.respond(now, response.status, &headers, &response.body);
}

/// Hand every event the core has to the handler. The connection is taken
/// out of its slot meanwhile, so the handler can send to it (through the
/// event's sender, straight from the receive buffer) and to any other
/// connection (through the table) in the same callback.
pub(crate) fn dispatch<H: Handler>(core: &mut LoopCore, handler: &mut H, idx: usize) {
    let Some(id) = core.id(idx) else { return };
    let Some(mut conn) = core.slots.get_mut(idx).and_then(|s| s.conn.take()) else {
        return;
    };
    loop {
        // Records from sends made elsewhere, or from the last event.
        while let Some(frame) = conn.poll_trace() {
            let mut ctx = Ctx::new(core, Some((id, conn.sender())));
            handler.on_frame(&mut ctx, id, &frame);
        }
        // The instant the handler's decision (accept, reject) takes effect.
        let now = core.now();
        let Some((event, sender)) = conn.poll_event_with_sender() else {
            break;
        };
        let settles_handshake = matches!(
            event,
            Event::Request(_)
                | Event::HttpRequest(_)
                | Event::Connected(_)
                | Event::Failed(_)
                | Event::Closed { .. }
        );
        let mut plain_http = false;
        if settles_handshake {
            if let Some(slot) = core.slots.get_mut(idx) {
                slot.handshaking = false;
                slot.plain_http |= matches!(event, Event::HttpRequest(_));
                plain_http = slot.plain_http;
            }
        }
        // The server's own policies come before the handler, which never
        // hears of a connection they refuse (§10.2: 403 for an Origin).
        if let Event::Request(request) = &event {
            let secure = core.secure();
            let LoopCore {
                admission, slots, ..
            } = &mut *core;
            let Some(slot) = slots.get_mut(idx) else {
                break;
            };
            if let Some(refusal) = admission.screen(id, request, secure, &mut slot.held, now) {
                slot.closed_reported = true;
                let mut body = String::from(refusal.reason);
                body.push('\n');
                let _ = conn.respond(now, refusal.status, refusal.headers(), body.as_bytes());
                continue;
            }
        }
        if core.slots.get(idx).is_some_and(|s| s.closed_reported) {
            continue;
        }
        // §10.4: the rate limit is the server's policy; a pause is counted
        // here and the handler never hears of it, a close is counted and
        // the handler gets `on_error` below, as for any failure.
        match &event {
            Event::Throttled => {
                core.admission.rate_limited(id, false, now);
                continue;
            }
            Event::Failed(ProtocolError::RateLimited) => {
                core.admission.rate_limited(id, true, now);
            }
            _ => {}
        }
        let mut ctx = Ctx::new(core, Some((id, sender)));
        match event {
            Event::Request(request) => {
                let decision = handler.on_request(&mut ctx, id, &request);
                match decision {
                    Decision::Accept { protocol, deflate } => {
                        deflate.apply(&mut conn);
                        match conn.accept(now, protocol.as_deref(), &[]) {
                            Ok(()) => {
                                let mut ctx = Ctx::new(core, Some((id, conn.sender())));
                                handler.on_open(&mut ctx, id, None);
                            }
                            // Only a subprotocol the client never offered makes
                            // accepting fail: a server bug, answered as one.
                            Err(_) => {
                                log::warn!(
                                    "{id} the handler chose subprotocol {:?}, which the client did not offer: answered 500",
                                    protocol.as_deref().unwrap_or("")
                                );
                                let _ = conn.reject(
                                    now,
                                    500,
                                    "server chose a subprotocol the client did not offer",
                                );
                            }
                        }
                    }
                    Decision::Reject { status, reason } => {
                        core.admission.handler_refused(id, status, &reason, now);
                        let _ = conn.reject(now, status, &reason);
                    }
                    Decision::Refuse(response) => {
                        let reason = response.reason();
                        core.admission
                            .handler_refused(id, response.status, reason, now);
                        respond_with(&mut conn, now, &response);
                    }
                }
            }
            Event::HttpRequest(request) => {
                let response = handler.on_http(&mut ctx, id, &request);
                respond_with(&mut conn, now, &response);
            }
            Event::Connected(response) => handler.on_open(&mut ctx, id, Some(&response)),
            Event::Text(text) => handler.on_message(&mut ctx, id, Message::Text(text)),
            Event::Binary(data) => handler.on_message(&mut ctx, id, Message::Binary(data)),
            Event::Ping(payload) => handler.on_ping(&mut ctx, id, payload),
            Event::Pong(payload) => handler.on_pong(&mut ctx, id, payload),
            Event::CloseReceived { code, reason } => handler.on_close(&mut ctx, id, code, reason),
            Event::Writable => handler.on_writable(&mut ctx, id),
            Event::Failed(err) => {
                diag::protocol_error(id, &err);
                handler.on_error(&mut ctx, id, &ConnError::Protocol(err));
            }
            Event::Closed { code, clean } => {
                // A plain HTTP exchange ends without close frames by design.
                if !plain_http {
                    log::debug!(
                        "{id} closed {code} {}",
                        if clean { "clean" } else { "unclean" }
                    );
                }
                handler.on_closed(&mut ctx, id, code, clean);
                if let Some(slot) = core.slots.get_mut(idx) {
                    slot.closed_reported = true;
                }
            }
            // The core's events can grow (`#[non_exhaustive]`); one this
            // loop does not know yet has no callback to go to.
            _ => {}
        }
    }
    if let Some(slot) = core.slots.get_mut(idx) {
        slot.conn = Some(conn);
    }
}
