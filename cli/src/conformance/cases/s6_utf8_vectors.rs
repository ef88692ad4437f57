//! The UTF-8 test vectors of cases 6.5 to 6.23, built as wstest builds them
//! (autobahntestsuite's `createUtf8TestSequences`, after Markus Kuhn's
//! UTF-8-test.txt): one group per subsection, in the same order, so that
//! case 6.i.j gets the j-th vector of the (i-4)-th group.

/// A group of vectors (a subsection, titled as wstest titles it): per
/// vector, whether it is valid UTF-8 and its bytes, in case order.
pub struct Group {
    /// (valid, payload), in case order.
    pub vectors: Vec<(bool, Vec<u8>)>,
}

/// Valid UTF-8 with multi-byte code points ("κόσμε").
pub const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

fn group(_title: &'static str, vectors: &[(bool, &[u8])]) -> Group {
    Group {
        vectors: vectors.iter().map(|(ok, v)| (*ok, v.to_vec())).collect(),
    }
}

fn invalid(_title: &'static str, vectors: &[&[u8]]) -> Group {
    Group {
        vectors: vectors.iter().map(|v| (false, v.to_vec())).collect(),
    }
}

/// Every group, 6.5 first.
pub fn groups() -> Vec<Group> {
    // 3.3: sequences with the last continuation byte missing.
    let truncated: [&[u8]; 10] = [
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ];
    vec![
        // 6.5
        group(
            "Some valid UTF-8 sequences",
            &[
                (true, b"hello\x24world"),
                (true, b"hello\xc2\xa2world"),
                (true, b"hello\xe2\x82\xacworld"),
                (true, b"hello\xf0\xa4\xad\xa2world"),
                (true, KOSME),
            ],
        ),
        // 6.6: a prefix is valid when it ends on a code point boundary.
        Group {
            // "All prefixes of a valid UTF-8 string that contains multi-byte code points"
            vectors: (1..=KOSME.len())
                .map(|i| KOSME.get(..i).unwrap_or_default())
                .map(|p| (std::str::from_utf8(p).is_ok(), p.to_vec()))
                .collect(),
        },
        // 6.7
        group(
            "First possible sequence of a certain length",
            &[
                (true, b"\x00"),
                (true, b"\xc2\x80"),
                (true, b"\xe0\xa0\x80"),
                (true, b"\xf0\x90\x80\x80"),
            ],
        ),
        // 6.8
        invalid(
            "First possible sequence length 5/6 (invalid codepoints)",
            &[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"],
        ),
        // 6.9
        group(
            "Last possible sequence of a certain length",
            &[
                (true, b"\x7f"),
                (true, b"\xdf\xbf"),
                (true, b"\xef\xbf\xbf"),
                (true, b"\xf4\x8f\xbf\xbf"),
            ],
        ),
        // 6.10
        invalid(
            "Last possible sequence length 4/5/6 (invalid codepoints)",
            &[
                b"\xf7\xbf\xbf\xbf",
                b"\xfb\xbf\xbf\xbf\xbf",
                b"\xfd\xbf\xbf\xbf\xbf\xbf",
            ],
        ),
        // 6.11
        group(
            "Other boundary conditions",
            &[
                (true, b"\xed\x9f\xbf"),
                (true, b"\xee\x80\x80"),
                (true, b"\xef\xbf\xbd"),
                (true, b"\xf4\x8f\xbf\xbf"),
                (false, b"\xf4\x90\x80\x80"),
            ],
        ),
        // 6.12: the last one is 0x80..0xbe (wstest's range stops before 0xbf).
        Group {
            // "Unexpected continuation bytes"
            vectors: [
                &b"\x80"[..],
                b"\xbf",
                b"\x80\xbf",
                b"\x80\xbf\x80",
                b"\x80\xbf\x80\xbf",
                b"\x80\xbf\x80\xbf\x80",
                b"\x80\xbf\x80\xbf\x80\xbf",
            ]
            .iter()
            .map(|v| v.to_vec())
            .chain(std::iter::once((0x80..0xbf).collect()))
            .map(|v| (false, v))
            .collect(),
        },
        // 6.13: each start byte of a range (end excluded) followed by a space.
        Group {
            // "Lonely start characters"
            vectors: [
                (0xc0u8, 0xdfu8),
                (0xe0, 0xef),
                (0xf0, 0xf7),
                (0xf8, 0xfb),
                (0xfc, 0xfd),
            ]
            .iter()
            .map(|&(lo, hi)| (false, (lo..hi).flat_map(|b| [b, 0x20]).collect()))
            .collect(),
        },
        // 6.14
        invalid("Sequences with last continuation byte missing", &truncated),
        // 6.15
        invalid(
            "Concatenation of incomplete sequences",
            &[&truncated.concat()],
        ),
        // 6.16
        invalid("Impossible bytes", &[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
        // 6.17
        invalid(
            "Examples of an overlong ASCII character",
            &[
                b"\xc0\xaf",
                b"\xe0\x80\xaf",
                b"\xf0\x80\x80\xaf",
                b"\xf8\x80\x80\x80\xaf",
                b"\xfc\x80\x80\x80\x80\xaf",
            ],
        ),
        // 6.18
        invalid(
            "Maximum overlong sequences",
            &[
                b"\xc1\xbf",
                b"\xe0\x9f\xbf",
                b"\xf0\x8f\xbf\xbf",
                b"\xf8\x87\xbf\xbf\xbf",
                b"\xfc\x83\xbf\xbf\xbf\xbf",
            ],
        ),
        // 6.19
        invalid(
            "Overlong representation of the NUL character",
            &[
                b"\xc0\x80",
                b"\xe0\x80\x80",
                b"\xf0\x80\x80\x80",
                b"\xf8\x80\x80\x80\x80",
                b"\xfc\x80\x80\x80\x80\x80",
            ],
        ),
        // 6.20
        invalid(
            "Single UTF-16 surrogates",
            &[
                b"\xed\xa0\x80",
                b"\xed\xad\xbf",
                b"\xed\xae\x80",
                b"\xed\xaf\xbf",
                b"\xed\xb0\x80",
                b"\xed\xbe\x80",
                b"\xed\xbf\xbf",
            ],
        ),
        // 6.21
        invalid(
            "Paired UTF-16 surrogates",
            &[
                b"\xed\xa0\x80\xed\xb0\x80",
                b"\xed\xa0\x80\xed\xbf\xbf",
                b"\xed\xad\xbf\xed\xb0\x80",
                b"\xed\xad\xbf\xed\xbf\xbf",
                b"\xed\xae\x80\xed\xb0\x80",
                b"\xed\xae\x80\xed\xbf\xbf",
                b"\xed\xaf\xbf\xed\xb0\x80",
                b"\xed\xaf\xbf\xed\xbf\xbf",
            ],
        ),
        // 6.22
        Group {
            // "Non-character code points (valid UTF-8)"
            vectors: noncharacters().into_iter().map(|v| (true, v)).collect(),
        },
        // 6.23
        group(
            "Unicode specials (i.e. replacement char)",
            &[
                (true, b"\xef\xbf\xb9"),
                (true, b"\xef\xbf\xba"),
                (true, b"\xef\xbf\xbb"),
                (true, b"\xef\xbf\xbc"),
                (true, b"\xef\xbf\xbd"),
                (true, b"\xef\xbf\xbe"),
                (true, b"\xef\xbf\xbf"),
            ],
        ),
    ]
}

/// U+FFFE, U+FFFF, then U+nFFFE and U+nFFFF of planes 1 to 16 in wstest's
/// order: lead byte F0-F4, second byte 8F/9F/AF/BF, leaving out what is
/// above U+10FFFF (F4 with anything but 8F) and the overlong F0 8F.
fn noncharacters() -> Vec<Vec<u8>> {
    let mut out = vec![b"\xef\xbf\xbe".to_vec(), b"\xef\xbf\xbf".to_vec()];
    for z1 in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
        for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
            if z1 == 0xf4 && z2 != 0x8f {
                continue;
            }
            for z3 in [0xbeu8, 0xbf] {
                if !(z1 == 0xf0 && z2 == 0x8f) {
                    out.push(vec![z1, z2, 0xbf, z3]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_have_wstests_sizes_and_validity() {
        let sizes: Vec<usize> = groups().iter().map(|g| g.vectors.len()).collect();
        assert_eq!(
            sizes,
            [5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7]
        );
        for g in groups() {
            for (valid, v) in &g.vectors {
                assert_eq!(*valid, std::str::from_utf8(v).is_ok(), "{v:02x?}");
            }
        }
    }
}
