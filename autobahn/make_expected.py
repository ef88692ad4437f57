#!/usr/bin/env python3
"""Generate autobahn/expected-results.json from the Autobahn case catalog.

The catalog is a Markdown list with one line per case:

    - **7.1.6** — <what the suite sends> → *<what it expects>*

Every case of the selected sections (1-13 by default: every section the
suite has; 12 and 13 exercise permessage-deflate) is expected to get
the verdict "OK", except the cases whose outcome the suite itself leaves
open: their expectation says the events are "undefined by the spec" or
depend on "implementation defined" behaviour, and wstest reports them as
"INFORMATIONAL" whatever happens (7.1.6, 7.13.1, 7.13.2 in wstest 25.10.1).
Both roles (our server under fuzzingclient, our client under
fuzzingserver) run the same cases, so both get the same map.

Usage:
    python3 autobahn/make_expected.py CATALOG.md            # writes autobahn/expected-results.json
    python3 autobahn/make_expected.py CATALOG.md --out -    # prints it
    python3 autobahn/make_expected.py CATALOG.md --sections 1-10   # without 12/13

Python 3 standard library only.
"""

import argparse
import json
import os
import re
import sys

# `- **1.1.1** — description → *expectation*`; the description may itself
# contain markup, so the expectation is the last `→ *...*` on the line.
CASE_LINE = re.compile(r"^- \*\*(?P<id>\d+(?:\.\d+)+)\*\* — (?P<desc>.*) → \*(?P<exp>.*)\*\s*$")

# Wording the suite uses for cases it scores INFORMATIONAL instead of
# OK/FAILED (the case code overrides the verdict after the run).
INFORMATIONAL_WORDING = re.compile(r"undefined by the spec|implementation defined", re.IGNORECASE)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "expected-results.json")


def case_key(case_id):
    """Sort key that orders 1.1.2 before 1.1.10."""
    return tuple(int(part) for part in case_id.split("."))


def parse_sections(text):
    """'1-10' or '1-7,9,10' -> set of section numbers."""
    sections = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-", 1)
            sections.update(range(int(low), int(high) + 1))
        else:
            sections.add(int(part))
    if not sections:
        raise ValueError("no sections in %r" % text)
    return sections


def parse_catalog(lines):
    """Yield (case_id, expectation) for every case line of the catalog."""
    for line in lines:
        match = CASE_LINE.match(line.rstrip("\n"))
        if match:
            yield match.group("id"), match.group("exp")


def expected_verdicts(lines, sections):
    """Map case id -> expected wstest behavior for the chosen sections,
    in catalog order. Raises ValueError on a duplicated case id."""
    verdicts = {}
    for case_id, expectation in parse_catalog(lines):
        if case_key(case_id)[0] not in sections:
            continue
        if case_id in verdicts:
            raise ValueError("case %s appears twice in the catalog" % case_id)
        informational = INFORMATIONAL_WORDING.search(expectation)
        verdicts[case_id] = "INFORMATIONAL" if informational else "OK"
    return dict(sorted(verdicts.items(), key=lambda item: case_key(item[0])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalog", help="the case catalog (autobahn-cases.md)")
    parser.add_argument("--sections", default="1-13", help="sections to expect, e.g. 1-13 (default) or 1-10")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output file, '-' for stdout (default: %(default)s)")
    args = parser.parse_args(argv)

    try:
        sections = parse_sections(args.sections)
        with open(args.catalog, encoding="utf-8") as f:
            verdicts = expected_verdicts(f, sections)
    except (OSError, ValueError) as e:
        print("make_expected: %s" % e, file=sys.stderr)
        return 2
    if not verdicts:
        print("make_expected: no case lines for sections %s in %s" % (args.sections, args.catalog), file=sys.stderr)
        return 2

    text = json.dumps({"server": verdicts, "client": verdicts}, indent=2) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    informational = sorted((c for c, v in verdicts.items() if v != "OK"), key=case_key)
    print(
        "make_expected: %d cases, INFORMATIONAL: %s" % (len(verdicts), ", ".join(informational) or "none"),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
