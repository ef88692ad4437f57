//! A [`Session`] against a real rustls client over loopback TCP: the
//! drain inference of [`Session::read`] (when the loop may skip the read
//! that would only say `WouldBlock`, and when it must not), its spill and
//! stash (a whole message from one TCP read, what the caller had no room
//! for kept in order), plaintext before a bad record delivered before the
//! error, and how [`Session::write_chunks`] seals a frame's chunks into
//! records.

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
    let mut out = [std::io::IoSlice::new(&[]); 4];
    let n = super::unwritten(&chunks, 3, &mut out);
    let got: Vec<&[u8]> = out.iter().take(n).map(|s| &s[..]).collect();
    assert_eq!(got, vec![&b"de"[..], &b"f"[..]]);
    assert_eq!(super::unwritten(&chunks, 6, &mut out), 0);
    let n = super::unwritten(&chunks, 0, &mut out[..2]);
    assert_eq!(n, 2, "no more slices than room");
}

#[test]
fn a_64_kib_frame_is_sealed_in_one_batch() {
    use std::io::{IoSlice, Write};
    let (mut session, _tcp, _client) = pair();
    // Nothing of the handshake may be left waiting, or the limit would
    // count it: this asks what one write of a whole frame takes.
    while session.conn.wants_write() {
        let mut sink = Vec::new();
        session.conn.write_tls(&mut sink).expect("drain");
    }
    // A 64 KiB binary frame as the core hands it over: its 10-byte
    // header (0x82, 127, 8-byte length) and the payload.
    let header = [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
    let payload = vec![7u8; 64 << 10];
    let taken = session
        .conn
        .writer()
        .write_vectored(&[IoSlice::new(&header), IoSlice::new(&payload)])
        .expect("write");
    assert_eq!(
        taken,
        header.len() + payload.len(),
        "the whole frame is taken at once, so one writev sends it"
    );
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
    // rustls alone offers 4 KiB to the first read after a message: the
    // spill past it lets one read bring all five records.
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
    assert!(!session.stash.is_empty(), "the spill outlives the call");
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
        }
        let _client = writer.join().expect("client thread");
        proptest::prop_assert_eq!(got, sent);
        proptest::prop_assert!(session.stash.is_empty());
    }
}
