//! A [`Session`] against a real rustls client over loopback TCP: the
//! drain inference of [`Session::read`] (when the loop may skip the read
//! that would only say `WouldBlock`, and when it must not), its stash (a
//! whole message from one TCP read, what the caller had no room for kept
//! in order), plaintext before a bad record delivered before the error,
//! how [`Session::write_chunks`] seals a frame's chunks into records, and
//! that an idle session holds no buffer.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned};

use super::{provider, server_session, Session};

/// A server session on a non-blocking socket and a blocking rustls client
/// on the other end, handshake done.
fn pair() -> (
    Session,
    TcpStream,
    StreamOwned<ClientConnection, StdTcpStream>,
) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let server_config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("certificate");
    let mut roots = RootCertStore::empty();
    roots.add(cert).expect("root");
    let client_config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client_tcp = StdTcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server_tcp, _) = listener.accept().expect("accept");
    server_tcp.set_nonblocking(true).expect("nonblocking");
    let server_tcp = TcpStream::from_std(server_tcp);
    let mut session = server_session(Arc::new(server_config)).expect("session");

    let name = ServerName::try_from("localhost").expect("name");
    let client = ClientConnection::new(Arc::new(client_config), name).expect("client");
    let mut client = StreamOwned::new(client, client_tcp);
    // The blocking client handshakes on its first write; the server side
    // is driven by reading until the client's data arrives.
    let writer = std::thread::spawn(move || {
        client.write_all(b"hi").expect("client write");
        client.flush().expect("flush");
        client
    });
    let mut buf = [0u8; 16];
    assert_eq!(read_until_data(&mut session, &server_tcp, &mut buf), 2);
    let client = writer.join().expect("client thread");
    (session, server_tcp, client)
}

/// Read until plaintext comes (the socket is non-blocking).
fn read_until_data(session: &mut Session, tcp: &TcpStream, buf: &mut [u8]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match session.read(tcp, buf) {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no plaintext came");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

#[test]
fn a_small_record_read_whole_leaves_the_socket_drained() {
    let (mut session, tcp, mut client) = pair();
    client.write_all(b"0123456789").expect("write");
    client.flush().expect("flush");
    let mut buf = [0u8; 4096];
    assert_eq!(read_until_data(&mut session, &tcp, &mut buf), 10);
    assert!(session.drained(), "a short TCP read with nothing left over");
}

#[test]
fn plaintext_left_in_the_session_is_not_drained_until_it_is_read() {
    let (mut session, tcp, mut client) = pair();
    let payload = vec![7u8; 10_000];
    client.write_all(&payload).expect("write");
    client.flush().expect("flush");
    let mut buf = [0u8; 100];
    let mut got = read_until_data(&mut session, &tcp, &mut buf);
    assert_eq!(got, 100);
    assert!(
        !session.drained(),
        "decrypted bytes wait in the session: skipping the next read would strand them"
    );
    while got < payload.len() {
        let n = read_until_data(&mut session, &tcp, &mut buf);
        assert!(n > 0, "the stream ended early");
        got += n;
    }
    assert_eq!(got, payload.len());
}

#[test]
fn a_frame_header_and_its_payload_travel_in_one_record() {
    use std::io::Read;
    let (mut session, tcp, mut client) = pair();
    // The session tickets the server sent after its handshake come first:
    // take them in, so that only what the write below sends is counted.
    client.sock.set_nonblocking(true).expect("nonblocking");
    let _ = client.conn.read_tls(&mut client.sock);
    client.conn.process_new_packets().expect("tickets");
    client.sock.set_nonblocking(false).expect("blocking");
    // The header of a 5-byte text frame and its payload, as the core
    // hands them over: two chunks.
    let header: &[u8] = &[0x81, 0x05];
    assert_eq!(
        session
            .write_chunks(&tcp, &[header, b"hello"])
            .expect("write"),
        7
    );
    let mut wire = [0u8; 256];
    let n = client.sock.read(&mut wire).expect("read the records");
    let wire = wire.get(..n).expect("in range");
    // TLS 1.3 application data: type 23, legacy version 3.3, length.
    let mut records = 0;
    let mut rest = wire;
    while let [23, 3, 3, hi, lo, ..] = *rest {
        let len = 5 + usize::from(u16::from_be_bytes([hi, lo]));
        rest = rest.get(len..).expect("a whole record");
        records += 1;
    }
    assert!(rest.is_empty(), "only application data records: {wire:?}");
    assert_eq!(records, 1, "header and payload sealed together");

    // And they decrypt to the frame.
    client.conn.read_tls(&mut &wire[..]).expect("read_tls");
    client.conn.process_new_packets().expect("decrypt");
    let mut plain = [0u8; 16];
    let got = client.conn.reader().read(&mut plain).expect("plaintext");
    assert_eq!(plain.get(..got), Some(&b"\x81\x05hello"[..]));
}

#[test]
fn unwritten_skips_what_went_and_keeps_the_rest_in_order() {
    let chunks: [&[u8]; 3] = [b"ab", b"cde", b"f"];
    let mut out: [&[u8]; 4] = [&[]; 4];
    let n = super::unwritten(&chunks, 3, &mut out);
    assert_eq!(out.get(..n), Some(&[&b"de"[..], &b"f"[..]][..]));
    assert_eq!(super::unwritten(&chunks, 6, &mut out), 0);
    let n = super::unwritten(&chunks, 0, &mut out[..2]);
    assert_eq!(n, 2, "no more slices than room");
}

/// Everything the client's socket brings within a short wait, decrypted.
fn client_reads(client: &mut StreamOwned<ClientConnection, StdTcpStream>, want: usize) -> Vec<u8> {
    use std::io::Read;
    let mut got = vec![0u8; want];
    client
        .read_exact(&mut got)
        .expect("the client reads it all");
    got
}

#[test]
fn a_64_kib_frame_is_taken_and_sent_by_one_write() {
    let (mut session, tcp, mut client) = pair();
    // A 64 KiB binary frame as the core hands it over: its 10-byte
    // header (0x82, 127, 8-byte length) and the payload.
    let header = [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
    let payload: Vec<u8> = (0..64 << 10).map(|i| (i % 249) as u8).collect();
    let taken = session
        .write_chunks(&tcp, &[&header, &payload])
        .expect("write");
    assert_eq!(
        taken,
        header.len() + payload.len(),
        "the whole frame is taken at once"
    );
    assert!(!session.has_pending(), "and the socket took all of it");
    assert_eq!(session.pending.capacity(), 0, "nothing was copied to keep");
    let got = client_reads(&mut client, taken);
    assert_eq!(got.get(..10), Some(&header[..]));
    assert_eq!(got.get(10..), Some(&payload[..]));
}

#[test]
fn an_idle_session_holds_no_buffer() {
    let (mut session, tcp, mut client) = pair();
    // A message each way, then quiet.
    client.write_all(&[9u8; 30_000]).expect("write");
    client.flush().expect("flush");
    let mut buf = vec![0u8; 64 << 10];
    let mut got = 0;
    while got < 30_000 {
        got += read_until_data(&mut session, &tcp, &mut buf);
    }
    assert_eq!(
        session
            .write_chunks(&tcp, &[&[0x82, 3], b"abc"])
            .expect("write"),
        5
    );
    assert_eq!(client_reads(&mut client, 5), b"\x82\x03abc");
    let held = [
        session.stash.capacity(),
        session.plain_left.capacity(),
        session.pending.capacity(),
        session.early.capacity(),
    ];
    assert_eq!(held, [0; 4], "stash, plaintext, ciphertext, early bytes");
}

/// Wait until `bytes` of ciphertext wait in the server's socket.
fn wait_for_ciphertext(tcp: &TcpStream, bytes: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut peek = vec![0u8; bytes];
    while tcp.peek(&mut peek).unwrap_or(0) < bytes {
        assert!(Instant::now() < deadline, "the ciphertext did not arrive");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A [`pair`] whose client has sent a 64 KiB message and its header
/// (five TLS records, 22 bytes of overhead each), all of it waiting in the
/// server's socket; the message is returned too.
fn pair_with_a_message_waiting() -> (Session, TcpStream, Vec<u8>) {
    let (session, tcp, mut client) = pair();
    let message: Vec<u8> = (0..(64 << 10) + 10).map(|i| (i % 251) as u8).collect();
    client.write_all(&message).expect("write");
    client.flush().expect("flush");
    wait_for_ciphertext(&tcp, message.len() + 5 * 22);
    (session, tcp, message)
}

#[test]
fn a_64_kib_message_comes_out_of_one_read() {
    let (mut session, tcp, message) = pair_with_a_message_waiting();
    let mut buf = vec![0u8; 128 << 10];
    let n = session.read(&tcp, &mut buf).expect("read");
    // Buffered rustls offers 4 KiB to the first read after a message; the
    // thread's read buffer takes all five records in one read.
    assert_eq!(n, message.len(), "the whole message in one read");
    assert_eq!(buf.get(..n), Some(&message[..]));
    assert!(session.drained());
}

#[test]
fn ciphertext_the_caller_had_no_room_for_waits_in_the_stash() {
    let (mut session, tcp, message) = pair_with_a_message_waiting();
    let mut buf = [0u8; 1000];
    let mut got = Vec::new();
    let n = session.read(&tcp, &mut buf).expect("read");
    got.extend_from_slice(buf.get(..n).expect("in range"));
    assert!(
        !session.stash.is_empty(),
        "the records past the caller's room outlive the call"
    );
    assert!(!session.drained(), "the stash holds what the socket gave");
    while got.len() < message.len() {
        let n = read_until_data(&mut session, &tcp, &mut buf);
        assert!(n > 0, "the stream ended early");
        got.extend_from_slice(buf.get(..n).expect("in range"));
    }
    assert_eq!(got, message, "every byte, in order");
    assert_eq!(session.stash.capacity(), 0, "a fed stash holds no memory");
    assert!(session.drained());
}

#[test]
fn plaintext_before_a_bad_record_comes_before_the_error() {
    let (mut session, tcp, mut client) = pair();
    client.write_all(b"hello").expect("write");
    client.flush().expect("flush");
    // Then an application-data record that no key decrypts.
    let mut bad = vec![23u8, 3, 3, 0, 32];
    bad.extend_from_slice(&[0x5a; 32]);
    client.sock.write_all(&bad).expect("raw write");
    wait_for_ciphertext(&tcp, 5 + 22 + bad.len());
    let mut buf = [0u8; 100];
    let n = session.read(&tcp, &mut buf).expect("the good record first");
    assert_eq!(buf.get(..n), Some(&b"hello"[..]));
    let e = session.read(&tcp, &mut buf).expect_err("then the bad one");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// However the peer cuts its writes into records and however little
    /// room each read offers, every byte comes out once and in order.
    #[test]
    fn every_byte_arrives_in_order_for_any_records_and_reads(
        writes in proptest::collection::vec(1usize..40_000, 1..8),
        rooms in proptest::collection::vec(1usize..70_000, 1..8),
    ) {
        let (mut session, tcp, mut client) = pair();
        let total: usize = writes.iter().sum();
        let sent: Vec<u8> = (0..total).map(|i| (i % 253) as u8).collect();
        let to_send = sent.clone();
        let writer = std::thread::spawn(move || {
            let mut at = 0;
            for len in writes {
                client.write_all(&to_send[at..at + len]).expect("write");
                client.flush().expect("flush");
                at += len;
            }
            client
        });
        let mut got = Vec::with_capacity(total);
        let mut buf = vec![0u8; 70_000];
        let mut turn = 0;
        while got.len() < total {
            let room = rooms[turn % rooms.len()];
            turn += 1;
            let n = read_until_data(&mut session, &tcp, &mut buf[..room]);
            proptest::prop_assert!(n > 0, "the stream ended early");
            got.extend_from_slice(&buf[..n]);
            // However little room the reads offer, what waits stays bounded.
            proptest::prop_assert!(session.stash.len() <= super::read::READ_ROOM);
            proptest::prop_assert!(
                super::read::scratch_len() <= super::read::READ_ROOM + super::read::MIN_ROOM
            );
        }
        let _client = writer.join().expect("client thread");
        proptest::prop_assert_eq!(got, sent);
        proptest::prop_assert!(session.stash.is_empty());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]

    /// However the core cuts its output into chunks and groups them, and
    /// however slowly the peer reads (so that the socket refuses records
    /// and they wait in the session), the peer receives every byte once
    /// and in order.
    #[test]
    fn every_written_byte_arrives_in_order_for_any_chunks_and_a_slow_reader(
        groups in proptest::collection::vec(
            proptest::collection::vec(1usize..30_000, 1..6),
            1..6,
        ),
        nap_every in 1usize..4,
    ) {
        use std::io::Read;
        let (mut session, tcp, mut client) = pair();
        // Small socket buffers, so that the socket soon refuses records.
        socket2::SockRef::from(&tcp).set_send_buffer_size(16 << 10).expect("sndbuf");
        socket2::SockRef::from(&client.sock).set_recv_buffer_size(16 << 10).expect("rcvbuf");
        let total: usize = groups.iter().flatten().sum();
        let sent: Vec<u8> = (0..total).map(|i| (i % 241) as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::with_capacity(total);
            let mut buf = vec![0u8; 8192];
            let mut reads = 0;
            while got.len() < total {
                let n = client.read(&mut buf).expect("client read");
                assert!(n > 0, "the stream ended early");
                got.extend_from_slice(&buf[..n]);
                reads += 1;
                if reads % nap_every == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            got
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut at = 0;
        for sizes in &groups {
            let mut chunks: Vec<&[u8]> = Vec::new();
            for len in sizes {
                chunks.push(&sent[at..at + len]);
                at += len;
            }
            let group: usize = sizes.iter().sum();
            let mut taken = 0;
            while taken < group {
                let mut rest: [&[u8]; 8] = [&[]; 8];
                let n = super::unwritten(&chunks, taken, &mut rest);
                match session.write_chunks(&tcp, &rest[..n]) {
                    Ok(n) => taken += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        proptest::prop_assert!(Instant::now() < deadline, "the writes stalled");
                        std::thread::sleep(Duration::from_micros(100));
                    }
                    Err(e) => panic!("write failed: {e}"),
                }
                proptest::prop_assert!(session.pending.len() <= super::PENDING_LIMIT + 4096);
            }
        }
        while !session.flush(&tcp).expect("flush") {
            proptest::prop_assert!(Instant::now() < deadline, "the flush stalled");
            std::thread::sleep(Duration::from_micros(100));
        }
        let got = reader.join().expect("client thread");
        proptest::prop_assert_eq!(got, sent);
        proptest::prop_assert_eq!(session.pending.capacity(), 0);
    }
}
