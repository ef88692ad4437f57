//! The payloads of sections 12 and 13: five data sets of the kinds wstest
//! uses (JSON, a grey-scale bitmap, German prose, HTML, a PDF-like mix of
//! text and compressed streams), made here from a fixed seed so every run
//! sends the same bytes. Their sizes and how well they compress are close
//! to wstest's files; the verdicts depend on neither.

use std::sync::OnceLock;

/// One data set.
pub struct Dataset {
    /// Sent as binary messages (else text, sliced on characters).
    pub binary: bool,
    /// The bytes (UTF-8 for text sets).
    pub bytes: Vec<u8>,
}

/// A small, fixed pseudo-random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list.get(self.below(list.len())).copied().unwrap_or("")
    }
}

const WORDS: [&str; 24] = [
    "der",
    "die",
    "und",
    "Faust",
    "Mephistopheles",
    "Gretchen",
    "Geist",
    "Welt",
    "Herz",
    "nicht",
    "über",
    "schön",
    "Nacht",
    "Studierzimmer",
    "Teufel",
    "Himmel",
    "Erde",
    "Liebe",
    "Wort",
    "Anfang",
    "Kraft",
    "Tat",
    "grün",
    "Blüte",
];

fn json(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::from("[\n");
    let mut i = 0u64;
    while s.len() < size {
        i += 1;
        s.push_str(&format!(
            "  {{\"id\": {i}, \"name\": \"{} {}\", \"active\": {}, \"score\": {}.{}, \"tags\": [\"{}\", \"{}\"]}},\n",
            rng.pick(&WORDS[..12]),
            rng.pick(&WORDS[12..]),
            rng.below(2) == 1,
            rng.below(1000),
            rng.below(100),
            rng.pick(&["alpha", "beta", "gamma", "delta"]),
            rng.pick(&["red", "green", "blue"])
        ));
    }
    s.push_str("  {}\n]\n");
    s.into_bytes()
}

fn bitmap(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    let side = 512usize;
    for i in 0..size.saturating_sub(2) {
        let (x, y) = (i % side, i / side);
        let smooth = (x / 3 + y / 5) % 256;
        b.push((smooth + rng.below(48)) as u8);
    }
    b
}

fn prose(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::new();
    let mut line = 0usize;
    while s.len() < size {
        let w = rng.pick(&WORDS);
        s.push_str(w);
        line += w.len() + 1;
        if line > 60 {
            s.push_str(rng.pick(&[".\n", ",\n", "!\n", "?\n"]));
            line = 0;
        } else {
            s.push(' ');
        }
    }
    s.into_bytes()
}

fn html(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><title>Daten</title></head><body>\n<table class=\"data\">\n",
    );
    while s.len() < size {
        s.push_str(&format!(
            "<tr class=\"row\"><td class=\"name\"><a href=\"/item/{}\">{}</a></td><td class=\"value\">{}</td></tr>\n",
            rng.below(100_000),
            rng.pick(&WORDS),
            rng.below(10_000)
        ));
    }
    s.push_str("</table></body></html>\n");
    s.into_bytes()
}

fn pdf(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n".to_vec();
    let mut obj = 1;
    while b.len() < size {
        b.extend_from_slice(
            format!("{obj} 0 obj\n<< /Length 4096 /Filter /FlateDecode >>\nstream\n").as_bytes(),
        );
        // Already-compressed content: close to incompressible.
        for _ in 0..4096 {
            b.push(rng.next() as u8);
        }
        b.extend_from_slice(b"\nendstream\nendobj\n");
        obj += 1;
    }
    b
}

/// The five data sets, in wstest's order (12.1 to 12.5); 13.x use the
/// first.
pub fn datasets() -> &'static [Dataset; 5] {
    static SETS: OnceLock<[Dataset; 5]> = OnceLock::new();
    SETS.get_or_init(|| {
        let mut rng = Rng(0x5eed_6455_0000_0001);
        [
            Dataset {
                binary: false,
                bytes: json(&mut rng, 194_056),
            },
            Dataset {
                binary: true,
                bytes: bitmap(&mut rng, 263_222),
            },
            Dataset {
                binary: true,
                bytes: prose(&mut rng, 222_218),
            },
            Dataset {
                binary: false,
                bytes: html(&mut rng, 263_647),
            },
            Dataset {
                binary: true,
                bytes: pdf(&mut rng, 1_042_328),
            },
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sets_are_utf8_with_multibyte_characters_and_sizes_are_close() {
        for set in datasets() {
            if !set.binary {
                let text = std::str::from_utf8(&set.bytes).expect("text sets are UTF-8");
                assert!(text.chars().count() <= set.bytes.len());
            }
            assert!(set.bytes.len() > 190_000);
        }
        assert!(std::str::from_utf8(&datasets()[3].bytes)
            .unwrap()
            .contains('ü'));
    }
}
