#!/usr/bin/env python3
"""Check an Autobahn testsuite report (wstest's index.json) against
autobahn/expected-results.json.

wstest writes reports/servers/index.json (fuzzingclient: our server under
test) or reports/clients/index.json (fuzzingserver: our client under test):

    {agent: {case_id: {"behavior": ..., "behaviorClose": ..., "duration": ms,
                       "remoteCloseCode": int|null, "reportfile": "....json"}}}

behavior is OK, NON-STRICT, FAILED, INFORMATIONAL or UNIMPLEMENTED;
behaviorClose is OK, INFORMATIONAL, or one of FAILED, WRONG CODE, UNCLEAN,
FAILED BY CLIENT (the closing handshake went wrong).

This prints a summary (verdicts overall and per section), lists every case
whose behavior is FAILED or NON-STRICT or whose close is neither OK nor
INFORMATIONAL, and prints a unified diff between the expected verdicts and
the actual ones (a case's close verdict shows only where it is not the one
its behavior implies: OK for OK, INFORMATIONAL for INFORMATIONAL).

Exit status: 0 all as expected; 1 a FAILED/NON-STRICT case, a bad close,
or any difference from the expected file; 2 the report or expected file
cannot be read.

Python 3 standard library only.
"""

import argparse
import difflib
import json
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))

ROLE_REPORTS = {"server": "servers", "client": "clients"}

BEHAVIORS = ["OK", "NON-STRICT", "FAILED", "INFORMATIONAL", "UNIMPLEMENTED"]
BAD_BEHAVIORS = {"FAILED", "NON-STRICT"}
GOOD_CLOSES = {"OK", "INFORMATIONAL"}

SECTION_NAMES = {
    1: "Framing",
    2: "Pings/Pongs",
    3: "Reserved Bits",
    4: "Opcodes",
    5: "Fragmentation",
    6: "UTF-8 Handling",
    7: "Close Handling",
    9: "Limits/Performance",
    10: "Misc",
    12: "Compression (payloads)",
    13: "Compression (parameters)",
}


class InputError(Exception):
    """The report or the expected file is missing or malformed (exit 2)."""


def case_key(case_id):
    """Sort key that orders 1.1.2 before 1.1.10; odd ids sort last."""
    try:
        return (0,) + tuple(int(part) for part in case_id.split("."))
    except ValueError:
        return (1, case_id)


def section_of(case_id):
    """1 for 1.1.2; an id that is not numeric is its own section."""
    key = case_key(case_id)
    return key[1] if key[0] == 0 else case_id


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InputError("cannot read %s %s: %s" % (what, path, e.strerror or e))
    except ValueError as e:
        raise InputError("%s %s is not valid JSON: %s" % (what, path, e))


def load_report(path, agent):
    """The {case_id: result} map of one agent in an index.json."""
    index = load_json(path, "report")
    if not isinstance(index, dict) or not index:
        raise InputError("report %s holds no agents" % path)
    if agent not in index:
        raise InputError(
            "report %s has no agent %r (agents: %s); pass --agent" % (path, agent, ", ".join(sorted(index)))
        )
    cases = index[agent]
    if not isinstance(cases, dict):
        raise InputError("report %s: agent %r is not a map of cases" % (path, agent))
    for case_id, result in cases.items():
        if not isinstance(result, dict) or "behavior" not in result:
            raise InputError("report %s: case %s has no behavior" % (path, case_id))
    return cases


def load_expected(path, role):
    expected = load_json(path, "expected file")
    if not isinstance(expected, dict) or not isinstance(expected.get(role), dict):
        raise InputError('expected file %s has no "%s" map' % (path, role))
    return expected[role]


def implied_close(behavior):
    """The close verdict that goes with a behavior when all is well."""
    return "INFORMATIONAL" if behavior == "INFORMATIONAL" else "OK"


def actual_line(case_id, result):
    behavior = result.get("behavior")
    close = result.get("behaviorClose")
    line = "%s %s" % (case_id, behavior)
    if close != implied_close(behavior):
        line += " (close: %s)" % close
    return line


def is_problem(result):
    return result.get("behavior") in BAD_BEHAVIORS or result.get("behaviorClose") not in GOOD_CLOSES


def summary(cases, out):
    """Counts per behavior overall and per section, the slowest cases."""
    overall = Counter(r.get("behavior") for r in cases.values())
    parts = ["%d %s" % (overall[b], b) for b in BEHAVIORS if overall[b]]
    parts += ["%d %s" % (n, b) for b, n in sorted(overall.items(), key=str) if b not in BEHAVIORS]
    bad_close = sum(1 for r in cases.values() if r.get("behaviorClose") not in GOOD_CLOSES)
    out.write("%d cases: %s; %d with a bad close\n" % (len(cases), ", ".join(parts) or "none", bad_close))

    by_section = {}
    for case_id, result in cases.items():
        by_section.setdefault(section_of(case_id), []).append(result)
    header = "%-30s" % "section" + "".join("%15s" % b for b in BEHAVIORS) + "%12s" % "bad close"
    out.write(header + "\n")
    for section in sorted(by_section, key=lambda s: (isinstance(s, str), s)):
        results = by_section[section]
        counts = Counter(r.get("behavior") for r in results)
        closes = sum(1 for r in results if r.get("behaviorClose") not in GOOD_CLOSES)
        name = "%s %s" % (section, SECTION_NAMES.get(section, ""))
        out.write("%-30s" % name + "".join("%15d" % counts[b] for b in BEHAVIORS) + "%12d" % closes + "\n")

    timed = [(r.get("duration"), c) for c, r in cases.items() if isinstance(r.get("duration"), (int, float))]
    if timed:
        slowest = sorted(timed, key=lambda t: (-t[0], case_key(t[1])))[:5]
        out.write("slowest: %s\n" % ", ".join("%s %d ms" % (c, d) for d, c in slowest))


def problems(cases, reports_dir, out):
    """List FAILED/NON-STRICT cases and bad closes; return how many."""
    bad = sorted((c for c, r in cases.items() if is_problem(r)), key=case_key)
    if not bad:
        out.write("no FAILED or NON-STRICT case, every close OK\n")
        return 0
    out.write("%d case(s) FAILED, NON-STRICT or with a bad close:\n" % len(bad))
    for case_id in bad:
        r = cases[case_id]
        report = r.get("reportfile")
        where = os.path.join(reports_dir, report) if report else "-"
        out.write(
            "  %-8s behavior=%-13s close=%-16s remoteCloseCode=%-5s %s\n"
            % (case_id, r.get("behavior"), r.get("behaviorClose"), r.get("remoteCloseCode"), where)
        )
    return len(bad)


def differences(cases, expected, expected_path, out):
    """Unified diff of expected vs actual verdicts; return how many cases
    differ (changed, not run, or run but not expected)."""
    expected_lines = {c: "%s %s" % (c, v) for c, v in expected.items()}
    actual_lines = {c: actual_line(c, r) for c, r in cases.items()}
    differing = [c for c in set(expected_lines) | set(actual_lines) if expected_lines.get(c) != actual_lines.get(c)]
    if not differing:
        out.write("matches %s\n" % expected_path)
        return 0
    missing = len(set(expected) - set(cases))
    extra = len(set(cases) - set(expected))
    out.write("differs from %s (%d case(s) not run, %d not expected):\n" % (expected_path, missing, extra))
    diff = difflib.unified_diff(
        [expected_lines[c] for c in sorted(expected_lines, key=case_key)],
        [actual_lines[c] for c in sorted(actual_lines, key=case_key)],
        fromfile=expected_path,
        tofile="actual report",
        lineterm="",
        n=0,
    )
    for line in diff:
        out.write(line + "\n")
    return len(differing)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--role",
        choices=sorted(ROLE_REPORTS),
        default="server",
        help="server: reports/servers (wstest -m fuzzingclient); client: reports/clients (wstest -m fuzzingserver)",
    )
    parser.add_argument(
        "--reports", help="report directory holding index.json, or the index.json itself (default: autobahn/reports/<role>s)"
    )
    parser.add_argument(
        "--expected",
        default=os.path.join(HERE, "expected-results.json"),
        help="expected verdicts (default: %(default)s)",
    )
    parser.add_argument("--agent", default="ws6455", help="agent name in the report (default: %(default)s)")
    args = parser.parse_args(argv)

    reports = args.reports or os.path.join(HERE, "reports", ROLE_REPORTS[args.role])
    index_path = reports if os.path.isfile(reports) else os.path.join(reports, "index.json")
    reports_dir = os.path.dirname(index_path)
    try:
        cases = load_report(index_path, args.agent)
        expected = load_expected(args.expected, args.role)
    except InputError as e:
        out.write("check: %s\n" % e)
        return 2

    out.write("Autobahn %s report %s, agent %s\n" % (args.role, index_path, args.agent))
    summary(cases, out)
    bad = problems(cases, reports_dir, out)
    diff = differences(cases, expected, args.expected, out)
    if bad or diff:
        out.write("RESULT: FAIL (%d problem case(s), %d case(s) differ from expected)\n" % (bad, diff))
        return 1
    out.write("RESULT: PASS\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
