//! The case catalog: every case of sections 1-7, 9, 10, 12 and 13 in
//! wstest's order, with its id, what it sends and what it expects, and
//! the selection of cases by wstest's patterns (`--cases`, `--exclude`).

use super::case::Case;
use super::cases;

/// Makes a fresh case (each run gets its own state).
pub type Make = Box<dyn Fn() -> Box<dyn Case> + Send + Sync>;

/// One case of the catalog.
pub struct Entry {
    /// The id, e.g. `5.19`.
    pub id: String,
    /// What the case sends.
    pub description: String,
    /// What it expects of the peer.
    pub expectation: String,
    /// Its constructor.
    pub make: Make,
}

impl Entry {
    /// A case `id` made by `make`.
    pub fn new(
        id: impl Into<String>,
        description: impl Into<String>,
        expectation: impl Into<String>,
        make: impl Fn() -> Box<dyn Case> + Send + Sync + 'static,
    ) -> Self {
        Entry {
            id: id.into(),
            description: description.into(),
            expectation: expectation.into(),
            make: Box::new(make),
        }
    }

    /// The id as numbers, the order wstest sorts by.
    pub fn key(&self) -> Vec<u32> {
        id_key(&self.id)
    }
}

pub fn id_key(id: &str) -> Vec<u32> {
    id.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// Every case, sorted as wstest sorts them (by the numbers of the id).
pub fn all() -> Vec<Entry> {
    let mut list = Vec::new();
    cases::register(&mut list);
    list.sort_by_key(Entry::key);
    list
}

/// wstest's case pattern: `*` matches anything, everything else itself.
fn matches(pattern: &str, id: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| s.get(i..).is_some_and(|t| go(rest, t))),
            Some((c, rest)) => s.split_first().is_some_and(|(d, t)| c == d && go(rest, t)),
        }
    }
    go(pattern.trim().as_bytes(), id.as_bytes())
}

/// The cases `include` selects (comma-separated patterns; `*` for all)
/// minus those `exclude` selects, in catalog order.
pub fn select(catalog: Vec<Entry>, include: &str, exclude: &str) -> Vec<Entry> {
    let inc: Vec<&str> = include
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .collect();
    let exc: Vec<&str> = exclude
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .collect();
    catalog
        .into_iter()
        .filter(|e| inc.iter().any(|p| matches(p, &e.id)))
        .filter(|e| !exc.iter().any(|p| matches(p, &e.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_517_cases_in_wstest_order() {
        let list = all();
        assert_eq!(list.len(), 517);
        assert_eq!(list.first().map(|e| e.id.as_str()), Some("1.1.1"));
        assert_eq!(list.last().map(|e| e.id.as_str()), Some("13.7.18"));
        let ids: std::collections::HashSet<&str> = list.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 517, "ids are unique");
        for (section, n) in [
            ("1.", 16),
            ("2.", 11),
            ("3.", 7),
            ("4.", 10),
            ("5.", 20),
            ("6.", 145),
            ("7.", 37),
            ("9.", 54),
            ("10.", 1),
            ("12.", 90),
            ("13.", 126),
        ] {
            assert_eq!(
                list.iter().filter(|e| e.id.starts_with(section)).count(),
                n,
                "section {section}"
            );
        }
    }

    #[test]
    fn patterns_select_like_wstest() {
        let ids = |inc: &str, exc: &str| -> Vec<String> {
            select(all(), inc, exc).into_iter().map(|e| e.id).collect()
        };
        assert_eq!(
            ids("1.1.*", "1.1.8"),
            ["1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7"]
        );
        assert_eq!(ids("2.1, 10.*", ""), ["2.1", "10.1.1"]);
        assert_eq!(
            ids("*", "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.*").len(),
            126
        );
        assert!(ids("9.9.9", "").is_empty());
        assert!(matches("12.*", "12.1.1") && !matches("12.*", "1.2.1") && !matches("1.1", "1.1.1"));
    }
}
