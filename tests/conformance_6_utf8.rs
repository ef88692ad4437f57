//! Autobahn 6.x — UTF-8 (RFC 6455 §8.1: "When an endpoint is to interpret
//! a byte stream as UTF-8 but finds that the byte stream is not, in fact, a
//! valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_"; §7.4.1: code 1007). Valid text is echoed however it is
//! fragmented or chopped; invalid text fails with 1007 — and fails *fast*,
//! at the first octet that makes the stream invalid, even mid-frame
//! (6.4.x).

use std::time::Duration;

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

/// 6.1.1: an empty text message.
fn case_6_1_1_empty_text(role: Role) {
    run(role, |p| {
        let frame = p.text("");
        p.send(&frame);
        p.expect(Ev::text(""));
        End::Open
    });
}

/// 6.1.2: three empty fragments make an empty message.
fn case_6_1_2_three_empty_fragments(role: Role) {
    run(role, |p| {
        let frames = [
            p.frame(false, 0, TEXT, ""),
            p.frame(false, 0, CONT, ""),
            p.frame(true, 0, CONT, ""),
        ];
        p.send_all(&frames);
        p.expect(Ev::text(""));
        End::Open
    });
}

/// 6.1.3: empty, non-empty, empty.
fn case_6_1_3_empty_fragments_around_a_middle_one(role: Role) {
    run(role, |p| {
        let frames = [
            p.frame(false, 0, TEXT, ""),
            p.frame(false, 0, CONT, "middle frame payload"),
            p.frame(true, 0, CONT, ""),
        ];
        p.send_all(&frames);
        p.expect(Ev::text("middle frame payload"));
        End::Open
    });
}

/// "Hello-µ@ßöäüàá-UTF-8!!"
const HELLO_UTF8: &str = "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121";
/// "κόσμε"
const KOSME: &str = "cebae1bdb9cf83cebcceb5";
/// "κόσμε" + a UTF-16 surrogate (ED A0 80) + "edited": invalid.
const KOSME_SURROGATE: &str = "cebae1bdb9cf83cebcceb5eda080656469746564";

/// A text message as frames of `size` octets (fragment boundaries fall
/// inside code points).
fn in_fragments(p: &mut CheckedPeer, payload: &[u8], size: usize) -> Vec<u8> {
    p.fragmented(TEXT, payload, size)
}

/// 6.2.1: valid text in one frame.
fn case_6_2_1_valid_text_one_frame(role: Role) {
    run(role, |p| {
        let text = hex(HELLO_UTF8);
        let frame = p.text(&text);
        p.send(&frame);
        p.expect(Ev::text(&text));
        End::Open
    });
}

/// 6.2.2: two fragments split on a code point boundary.
fn case_6_2_2_valid_text_split_on_code_point(role: Role) {
    run(role, |p| {
        let text = hex(HELLO_UTF8);
        let (a, b) = text.split_at(15);
        assert_eq!(a, hex("48656c6c6f2dc2b540c39fc3b6c3a4"), "catalog's split");
        let frames = [p.frame(false, 0, TEXT, a), p.frame(true, 0, CONT, b)];
        p.send_all(&frames);
        p.expect(Ev::text(&text));
        End::Open
    });
}

/// 6.2.3/6.2.4: one-octet fragments, ending inside code points.
fn case_6_2_3_and_6_2_4_valid_text_in_one_octet_fragments(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    for (label, text) in [("6.2.3", HELLO_UTF8), ("6.2.4", KOSME)] {
        testee.session(label, |p| {
            let text = hex(text);
            let frames = in_fragments(p, &text, 1);
            p.send(&frames);
            p.expect(Ev::text(&text));
            End::Open
        });
    }
}

/// 6.3.1: invalid text (a surrogate) in one frame: 1007.
fn case_6_3_1_invalid_text_one_frame(role: Role) {
    run(role, |p| {
        let frame = p.text(hex(KOSME_SURROGATE));
        p.send(&frame);
        p.assert_failed(1007);
        End::Failed
    });
}

/// 6.3.2: the same in one-octet fragments.
fn case_6_3_2_invalid_text_in_one_octet_fragments(role: Role) {
    run(role, |p| {
        let frames = in_fragments(p, &hex(KOSME_SURROGATE), 1);
        p.send(&frames);
        p.assert_failed(1007);
        End::Failed
    });
}

/// How long 6.4.x waits after the valid first part, expecting nothing.
const PAUSE: Duration = Duration::from_millis(500);

/// 6.4.x: three parts, the second making the text invalid. After the
/// first, nothing may happen (it is valid); after the second, the close
/// with 1007 must arrive *before the third is sent* — the testee cannot
/// have waited for the rest of the frame or message. `as_frames`: each
/// part its own frame; otherwise three chops of one frame.
fn fail_fast(role: Role, parts: [&str; 3], as_frames: bool) {
    run(role, |p| {
        let [a, b, c] = parts.map(hex);
        let pieces = if as_frames {
            [
                p.frame(false, 0, TEXT, &a),
                p.frame(false, 0, CONT, &b),
                p.frame(true, 0, CONT, &c),
            ]
        } else {
            let frame = p.text([a.clone(), b.clone(), c.clone()].concat());
            let header = frame.len() - a.len() - b.len() - c.len();
            let (first, rest) = frame.split_at(header + a.len());
            let (second, third) = rest.split_at(b.len());
            [first.to_vec(), second.to_vec(), third.to_vec()]
        };
        p.send(&pieces[0]);
        assert_eq!(p.next(PAUSE), Next::Timeout, "the first part is valid");
        p.send(&pieces[1]);
        // Deliberately no third part yet: a testee that is not fail-fast
        // would wait for it and this would time out.
        p.expect(Ev::close(1007));
        p.send(&pieces[2]);
        p.assert_end(&[]);
        End::Failed
    });
}

/// 6.4.1: κόσμε | F4 90 80 80 (U+110000, out of range) | "edited", as
/// three frames.
fn case_6_4_1_fail_fast_frames(role: Role) {
    fail_fast(role, [KOSME, "f4908080", "656469746564"], true);
}

/// 6.4.2: the second frame is only the octet that makes it invalid.
fn case_6_4_2_fail_fast_frames_at_the_octet(role: Role) {
    fail_fast(
        role,
        ["cebae1bdb9cf83cebcceb5f4", "90", "8080656469746564"],
        true,
    );
}

/// 6.4.3: as 6.4.1, but three chops of one frame.
fn case_6_4_3_fail_fast_chops(role: Role) {
    fail_fast(role, [KOSME, "f4908080", "656469746564"], false);
}

/// 6.4.4: as 6.4.2, three chops of one frame. (The catalog lists the third
/// part as empty; wstest's frame covers the whole 6.4.2 payload, so the
/// frame is still incomplete after the offending octet — sent here.)
fn case_6_4_4_fail_fast_chops_at_the_octet(role: Role) {
    fail_fast(
        role,
        ["cebae1bdb9cf83cebcceb5f4", "90", "8080656469746564"],
        false,
    );
}

/// 6.5.1–6.23.7, from the case catalog: (case, valid UTF-8, payload hex).
const VECTORS: [(&str, bool, &str); 132] = [
    ("6.5.1", true, "68656c6c6f24776f726c64"),
    ("6.5.2", true, "68656c6c6fc2a2776f726c64"),
    ("6.5.3", true, "68656c6c6fe282ac776f726c64"),
    ("6.5.4", true, "68656c6c6ff0a4ada2776f726c64"),
    ("6.5.5", true, "cebae1bdb9cf83cebcceb5"),
    ("6.6.1", false, "ce"),
    ("6.6.2", true, "ceba"),
    ("6.6.3", false, "cebae1"),
    ("6.6.4", false, "cebae1bd"),
    ("6.6.5", true, "cebae1bdb9"),
    ("6.6.6", false, "cebae1bdb9cf"),
    ("6.6.7", true, "cebae1bdb9cf83"),
    ("6.6.8", false, "cebae1bdb9cf83ce"),
    ("6.6.9", true, "cebae1bdb9cf83cebc"),
    ("6.6.10", false, "cebae1bdb9cf83cebcce"),
    ("6.6.11", true, "cebae1bdb9cf83cebcceb5"),
    ("6.7.1", true, "00"),
    ("6.7.2", true, "c280"),
    ("6.7.3", true, "e0a080"),
    ("6.7.4", true, "f0908080"),
    ("6.8.1", false, "f888808080"),
    ("6.8.2", false, "fc8480808080"),
    ("6.9.1", true, "7f"),
    ("6.9.2", true, "dfbf"),
    ("6.9.3", true, "efbfbf"),
    ("6.9.4", true, "f48fbfbf"),
    ("6.10.1", false, "f7bfbfbf"),
    ("6.10.2", false, "fbbfbfbfbf"),
    ("6.10.3", false, "fdbfbfbfbfbf"),
    ("6.11.1", true, "ed9fbf"),
    ("6.11.2", true, "ee8080"),
    ("6.11.3", true, "efbfbd"),
    ("6.11.4", true, "f48fbfbf"),
    ("6.11.5", false, "f4908080"),
    ("6.12.1", false, "80"),
    ("6.12.2", false, "bf"),
    ("6.12.3", false, "80bf"),
    ("6.12.4", false, "80bf80"),
    ("6.12.5", false, "80bf80bf"),
    ("6.12.6", false, "80bf80bf80"),
    ("6.12.7", false, "80bf80bf80bf"),
    ("6.12.8", false, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe"),
    ("6.13.1", false, "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20d020d120d220d320d420d520d620d720d820d920da20db20dc20dd20de20"),
    ("6.13.2", false, "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20"),
    ("6.13.3", false, "f020f120f220f320f420f520f620"),
    ("6.13.4", false, "f820f920fa20"),
    ("6.13.5", false, "fc20"),
    ("6.14.1", false, "c0"),
    ("6.14.2", false, "e080"),
    ("6.14.3", false, "f08080"),
    ("6.14.4", false, "f8808080"),
    ("6.14.5", false, "fc80808080"),
    ("6.14.6", false, "df"),
    ("6.14.7", false, "efbf"),
    ("6.14.8", false, "f7bfbf"),
    ("6.14.9", false, "fbbfbfbf"),
    ("6.14.10", false, "fdbfbfbfbf"),
    ("6.15.1", false, "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"),
    ("6.16.1", false, "fe"),
    ("6.16.2", false, "ff"),
    ("6.16.3", false, "fefeffff"),
    ("6.17.1", false, "c0af"),
    ("6.17.2", false, "e080af"),
    ("6.17.3", false, "f08080af"),
    ("6.17.4", false, "f8808080af"),
    ("6.17.5", false, "fc80808080af"),
    ("6.18.1", false, "c1bf"),
    ("6.18.2", false, "e09fbf"),
    ("6.18.3", false, "f08fbfbf"),
    ("6.18.4", false, "f887bfbfbf"),
    ("6.18.5", false, "fc83bfbfbfbf"),
    ("6.19.1", false, "c080"),
    ("6.19.2", false, "e08080"),
    ("6.19.3", false, "f0808080"),
    ("6.19.4", false, "f880808080"),
    ("6.19.5", false, "fc8080808080"),
    ("6.20.1", false, "eda080"),
    ("6.20.2", false, "edadbf"),
    ("6.20.3", false, "edae80"),
    ("6.20.4", false, "edafbf"),
    ("6.20.5", false, "edb080"),
    ("6.20.6", false, "edbe80"),
    ("6.20.7", false, "edbfbf"),
    ("6.21.1", false, "eda080edb080"),
    ("6.21.2", false, "eda080edbfbf"),
    ("6.21.3", false, "edadbfedb080"),
    ("6.21.4", false, "edadbfedbfbf"),
    ("6.21.5", false, "edae80edb080"),
    ("6.21.6", false, "edae80edbfbf"),
    ("6.21.7", false, "edafbfedb080"),
    ("6.21.8", false, "edafbfedbfbf"),
    ("6.22.1", true, "efbfbe"),
    ("6.22.2", true, "efbfbf"),
    ("6.22.3", true, "f09fbfbe"),
    ("6.22.4", true, "f09fbfbf"),
    ("6.22.5", true, "f0afbfbe"),
    ("6.22.6", true, "f0afbfbf"),
    ("6.22.7", true, "f0bfbfbe"),
    ("6.22.8", true, "f0bfbfbf"),
    ("6.22.9", true, "f18fbfbe"),
    ("6.22.10", true, "f18fbfbf"),
    ("6.22.11", true, "f19fbfbe"),
    ("6.22.12", true, "f19fbfbf"),
    ("6.22.13", true, "f1afbfbe"),
    ("6.22.14", true, "f1afbfbf"),
    ("6.22.15", true, "f1bfbfbe"),
    ("6.22.16", true, "f1bfbfbf"),
    ("6.22.17", true, "f28fbfbe"),
    ("6.22.18", true, "f28fbfbf"),
    ("6.22.19", true, "f29fbfbe"),
    ("6.22.20", true, "f29fbfbf"),
    ("6.22.21", true, "f2afbfbe"),
    ("6.22.22", true, "f2afbfbf"),
    ("6.22.23", true, "f2bfbfbe"),
    ("6.22.24", true, "f2bfbfbf"),
    ("6.22.25", true, "f38fbfbe"),
    ("6.22.26", true, "f38fbfbf"),
    ("6.22.27", true, "f39fbfbe"),
    ("6.22.28", true, "f39fbfbf"),
    ("6.22.29", true, "f3afbfbe"),
    ("6.22.30", true, "f3afbfbf"),
    ("6.22.31", true, "f3bfbfbe"),
    ("6.22.32", true, "f3bfbfbf"),
    ("6.22.33", true, "f48fbfbe"),
    ("6.22.34", true, "f48fbfbf"),
    ("6.23.1", true, "efbfb9"),
    ("6.23.2", true, "efbfba"),
    ("6.23.3", true, "efbfbb"),
    ("6.23.4", true, "efbfbc"),
    ("6.23.5", true, "efbfbd"),
    ("6.23.6", true, "efbfbe"),
    ("6.23.7", true, "efbfbf"),
];

/// The catalog's verdicts agree with the standard library's validator (a
/// check of the table, not of ws6455).
#[test]
fn vector_table_agrees_with_std() {
    for (label, valid, payload) in VECTORS {
        assert_eq!(
            std::str::from_utf8(&hex(payload)).is_ok(),
            valid,
            "{label}: catalog and std disagree"
        );
    }
}

/// How a vector is delivered.
#[derive(Clone, Copy)]
enum Delivery {
    /// One frame, one write (the catalog's form).
    Frame,
    /// One-octet fragments, one write.
    OctetFragments,
    /// One frame written one octet at a time.
    OctetChops,
}

fn vectors(role: Role, delivery: Delivery) {
    let mut testee = Testee::new(role, Config::default());
    for (label, valid, payload) in VECTORS {
        testee.session(label, |p| {
            let payload = hex(payload);
            match delivery {
                Delivery::Frame => {
                    let frame = p.text(&payload);
                    p.send(&frame);
                }
                Delivery::OctetFragments => {
                    let frames = in_fragments(p, &payload, 1);
                    p.send(&frames);
                }
                Delivery::OctetChops => {
                    let frame = p.text(&payload);
                    p.send_octets(&frame);
                }
            }
            if valid {
                p.expect(Ev::text(&payload));
                End::Open
            } else {
                p.assert_failed(1007);
                End::Failed
            }
        });
    }
}

/// 6.5.1–6.23.7: every vector of the catalog in one frame: valid ones
/// echoed, invalid ones failed with 1007.
fn case_6_5_to_6_23_vectors(role: Role) {
    vectors(role, Delivery::Frame);
}

/// Not an Autobahn case: the same vectors in one-octet fragments (the
/// validator's state must survive every fragment boundary).
fn case_6_x_vectors_in_one_octet_fragments(role: Role) {
    vectors(role, Delivery::OctetFragments);
}

/// Not an Autobahn case: the same vectors as one frame written octet by
/// octet (the validator's state must survive every read boundary).
fn case_6_x_vectors_chopped_octet_wise(role: Role) {
    vectors(role, Delivery::OctetChops);
}

/// The shortest prefix of `bytes` that no continuation can make valid
/// UTF-8, if any (std's `error_len() == Some(_)` means "invalid here",
/// `None` means "incomplete at the end").
fn first_invalid_prefix(bytes: &[u8]) -> Option<usize> {
    (1..=bytes.len())
        .find(|&n| std::str::from_utf8(&bytes[..n]).is_err_and(|e| e.error_len().is_some()))
}

/// Not an Autobahn case: fail-fast for every invalid vector that has an
/// invalid prefix. The frame (or first fragment) announces more payload
/// than is ever sent, and only the prefix up to the offending octet is
/// written; the close with 1007 must come anyway.
fn case_6_x_every_vector_fails_at_the_offending_octet(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    let mut checked = 0;
    for (label, valid, payload) in VECTORS {
        let payload = hex(payload);
        let Some(n) = first_invalid_prefix(&payload) else {
            continue;
        };
        assert!(!valid);
        checked += 1;
        for fin in [true, false] {
            testee.session(label, |p| {
                // The frame announces 100 octets more than we send.
                let mut long = payload[..n].to_vec();
                long.resize(n + 100, b'x');
                let frame = p.frame(fin, 0, TEXT, &long);
                p.send(&frame[..frame.len() - 100]);
                p.assert_failed(1007);
                End::Failed
            });
        }
    }
    assert!(checked > 50, "most invalid vectors have an invalid prefix");
}

conformance!(
    [server, client, blocking]
    [
        case_6_1_1_empty_text,
        case_6_1_2_three_empty_fragments,
        case_6_1_3_empty_fragments_around_a_middle_one,
        case_6_2_1_valid_text_one_frame,
        case_6_2_2_valid_text_split_on_code_point,
        case_6_2_3_and_6_2_4_valid_text_in_one_octet_fragments,
        case_6_3_1_invalid_text_one_frame,
        case_6_3_2_invalid_text_in_one_octet_fragments,
        case_6_4_1_fail_fast_frames,
        case_6_4_2_fail_fast_frames_at_the_octet,
        case_6_4_3_fail_fast_chops,
        case_6_4_4_fail_fast_chops_at_the_octet,
        case_6_5_to_6_23_vectors,
        case_6_x_vectors_in_one_octet_fragments,
        case_6_x_vectors_chopped_octet_wise,
        case_6_x_every_vector_fails_at_the_offending_octet,
    ]
);

conformance!([cli] [case_6_4_3_fail_fast_chops, case_6_5_to_6_23_vectors]);
