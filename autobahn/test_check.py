#!/usr/bin/env python3
"""Tests of the Autobahn harness: check.py on fixture reports, make_expected.py
on a fixture catalog, and the checked-in spec and expected files.

    python3 autobahn/test_check.py        # from anywhere; stdlib unittest

Set AUTOBAHN_CATALOG=path/to/autobahn-cases.md to also check that
expected-results.json is what make_expected.py makes from that catalog.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
EXPECTED_FIXTURE = os.path.join(FIXTURES, "expected.json")

sys.path.insert(0, HERE)
import make_expected  # noqa: E402


def run_check(*args):
    """Run check.py as a user would; return (exit code, stdout+stderr)."""
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "check.py")] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout


def fixture(name):
    return os.path.join(FIXTURES, name)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class CheckTest(unittest.TestCase):
    def test_all_ok_passes(self):
        code, out = run_check("--reports", fixture("ok"), "--expected", EXPECTED_FIXTURE)
        self.assertEqual(code, 0, out)
        self.assertIn("5 cases: 4 OK, 1 INFORMATIONAL; 0 with a bad close", out)
        self.assertIn("no FAILED or NON-STRICT case", out)
        self.assertIn("matches", out)
        self.assertIn("RESULT: PASS", out)
        self.assertNotIn("\n-", out)
        self.assertNotIn("\n+", out)

    def test_summary_counts_per_section(self):
        code, out = run_check("--reports", fixture("ok"), "--expected", EXPECTED_FIXTURE)
        self.assertEqual(code, 0, out)
        rows = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isdigit()}
        # section, name words..., OK, NON-STRICT, FAILED, INFORMATIONAL, UNIMPLEMENTED, bad close
        self.assertEqual(rows["1"][-6:], ["3", "0", "0", "0", "0", "0"])
        self.assertEqual(rows["3"][-6:], ["1", "0", "0", "0", "0", "0"])
        self.assertEqual(rows["7"][-6:], ["0", "0", "0", "1", "0", "0"])
        self.assertIn("slowest: 7.1.6 1003 ms", out)

    def test_non_strict_fails_and_is_listed(self):
        code, out = run_check("--reports", fixture("non-strict"), "--expected", EXPECTED_FIXTURE)
        self.assertEqual(code, 1, out)
        listed = [line for line in out.splitlines() if line.startswith("  3.2 ")]
        self.assertEqual(len(listed), 1, out)
        self.assertIn("behavior=NON-STRICT", listed[0])
        self.assertIn("remoteCloseCode=1002", listed[0])
        self.assertIn(os.path.join(fixture("non-strict"), "ws6455_case_3_2.json"), listed[0])
        self.assertIn("\n-3.2 OK\n+3.2 NON-STRICT\n", out)
        self.assertIn("RESULT: FAIL (1 problem case(s), 1 case(s) differ from expected)", out)

    def test_difference_is_printed_as_a_diff(self):
        code, out = run_check("--reports", fixture("differs"), "--expected", EXPECTED_FIXTURE)
        self.assertEqual(code, 1, out)
        self.assertIn("--- %s\n+++ actual report\n" % EXPECTED_FIXTURE, out)
        self.assertIn("(1 case(s) not run, 1 not expected)", out)
        lines = out.splitlines()
        self.assertIn("-1.1.2 OK", lines)  # not run
        self.assertIn("-7.1.6 INFORMATIONAL", lines)  # the suite's verdict changed
        self.assertIn("+7.1.6 OK", lines)
        self.assertIn("+1.1.10 OK (close: WRONG CODE)", lines)  # a bad close shows on the case
        self.assertIn("+12.1.1 UNIMPLEMENTED", lines)  # run but not expected
        self.assertNotIn("-3.2 OK", lines)  # unchanged cases stay out of the diff
        listed = [line.split()[0] for line in lines if line.startswith("  ") and "behavior=" in line]
        self.assertEqual(listed, ["1.1.10"], out)
        self.assertIn("RESULT: FAIL (1 problem case(s), 4 case(s) differ from expected)", out)

    def test_a_difference_alone_fails(self):
        # Every case OK, but the expected file wants something else.
        expected = load(EXPECTED_FIXTURE)
        expected["client"]["3.2"] = "INFORMATIONAL"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "expected.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(expected, f)
            code, out = run_check("--role", "client", "--reports", fixture("ok"), "--expected", path)
            self.assertEqual(code, 1, out)
            self.assertIn("no FAILED or NON-STRICT case", out)
            self.assertIn("\n-3.2 INFORMATIONAL\n+3.2 OK\n", out)
            # The server map is untouched, so the same report passes there.
            code, out = run_check("--role", "server", "--reports", fixture("ok"), "--expected", path)
            self.assertEqual(code, 0, out)

    def test_reports_may_name_the_index_file(self):
        index = os.path.join(fixture("ok"), "index.json")
        code, out = run_check("--reports", index, "--expected", EXPECTED_FIXTURE)
        self.assertEqual(code, 0, out)

    def test_unreadable_input_exits_2(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, out = run_check("--reports", tmp, "--expected", EXPECTED_FIXTURE)
            self.assertEqual(code, 2, out)
            self.assertIn("cannot read report", out)

            bad = os.path.join(tmp, "index.json")
            with open(bad, "w", encoding="utf-8") as f:
                f.write('{"ws6455": {')
            code, out = run_check("--reports", tmp, "--expected", EXPECTED_FIXTURE)
            self.assertEqual(code, 2, out)
            self.assertIn("not valid JSON", out)

            no_role = os.path.join(tmp, "expected.json")
            with open(no_role, "w", encoding="utf-8") as f:
                json.dump({"server": {}}, f)
            code, out = run_check("--role", "client", "--reports", fixture("ok"), "--expected", no_role)
            self.assertEqual(code, 2, out)
            self.assertIn('no "client" map', out)

    def test_unknown_agent_exits_2_and_names_the_agents(self):
        code, out = run_check("--reports", fixture("ok"), "--expected", EXPECTED_FIXTURE, "--agent", "other")
        self.assertEqual(code, 2, out)
        self.assertIn("no agent 'other' (agents: ws6455)", out)


class MakeExpectedTest(unittest.TestCase):
    def catalog(self):
        with open(fixture("catalog.md"), encoding="utf-8") as f:
            return f.readlines()

    def test_sections_1_to_10_in_case_order(self):
        verdicts = make_expected.expected_verdicts(self.catalog(), make_expected.parse_sections("1-10"))
        self.assertEqual(list(verdicts), ["1.1.1", "1.1.2", "1.1.10", "2.10", "7.1.6", "7.13.1"])
        self.assertEqual(verdicts["2.10"], "OK")  # "not required by the Spec" is still scored
        self.assertEqual(verdicts["7.1.6"], "INFORMATIONAL")  # implementation defined
        self.assertEqual(verdicts["7.13.1"], "INFORMATIONAL")  # undefined by the spec

    def test_more_sections_on_request(self):
        verdicts = make_expected.expected_verdicts(self.catalog(), make_expected.parse_sections("1-13"))
        self.assertEqual(verdicts["12.1.1"], "OK")
        self.assertEqual(make_expected.parse_sections("1-7,9,10"), {1, 2, 3, 4, 5, 6, 7, 9, 10})

    def test_duplicate_case_is_an_error(self):
        lines = self.catalog()
        lines.append(lines[[i for i, l in enumerate(lines) if "**2.10**" in l][0]])
        with self.assertRaises(ValueError):
            make_expected.expected_verdicts(lines, {2})

    def test_cli_writes_both_roles(self):
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "make_expected.py"), fixture("catalog.md"), "--out", "-"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=60,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        made = json.loads(proc.stdout)
        self.assertEqual(sorted(made), ["client", "server"])
        self.assertEqual(made["server"], made["client"])
        # Sections 1-13 by default: the fixture's 12.1.1 is included.
        self.assertEqual(len(made["server"]), 7)
        self.assertEqual(made["server"]["12.1.1"], "OK")
        self.assertIn("7 cases, INFORMATIONAL: 7.1.6, 7.13.1", proc.stderr)


class CheckedInFilesTest(unittest.TestCase):
    def test_expected_results_cover_sections_1_to_13(self):
        expected = load(os.path.join(HERE, "expected-results.json"))
        self.assertEqual(sorted(expected), ["client", "server"])
        self.assertEqual(expected["server"], expected["client"])
        cases = expected["server"]
        self.assertEqual(len(cases), 517)
        self.assertEqual(list(cases), sorted(cases, key=make_expected.case_key))
        per_section = {}
        for case_id in cases:
            section = make_expected.case_key(case_id)[0]
            per_section[section] = per_section.get(section, 0) + 1
        self.assertEqual(per_section, {1: 16, 2: 11, 3: 7, 4: 10, 5: 20, 6: 145, 7: 37, 9: 54, 10: 1, 12: 90, 13: 126})
        informational = sorted(c for c, v in cases.items() if v == "INFORMATIONAL")
        self.assertEqual(informational, ["7.1.6", "7.13.1", "7.13.2"])
        self.assertEqual({v for c, v in cases.items() if c not in informational}, {"OK"})

    @unittest.skipUnless(os.environ.get("AUTOBAHN_CATALOG"), "AUTOBAHN_CATALOG not set")
    def test_expected_results_are_what_make_expected_makes(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "expected.json")
            rc = make_expected.main([os.environ["AUTOBAHN_CATALOG"], "--out", out])
            self.assertEqual(rc, 0)
            with open(out, encoding="utf-8") as made, open(
                os.path.join(HERE, "expected-results.json"), encoding="utf-8"
            ) as checked_in:
                self.assertEqual(made.read(), checked_in.read())

    def test_fuzzingclient_spec_tests_our_server(self):
        spec = load(os.path.join(HERE, "fuzzingclient.json"))
        self.assertEqual(spec["servers"], [{"agent": "ws6455", "url": "ws://127.0.0.1:9001"}])
        self.assertEqual(spec["outdir"], "./reports/servers")
        self.assertEqual(spec["cases"], ["*"])
        self.assertEqual(spec["exclude-cases"], [])

    def test_fuzzingserver_spec_serves_our_client(self):
        spec = load(os.path.join(HERE, "fuzzingserver.json"))
        self.assertEqual(spec["url"], "ws://127.0.0.1:9001")
        self.assertEqual(spec["outdir"], "./reports/clients")
        self.assertEqual(spec["cases"], ["*"])
        self.assertEqual(spec["exclude-cases"], [])

    def test_excluded_sections_are_the_unexpected_ones(self):
        # What the specs leave out is exactly what expected-results.json
        # does not expect (nothing, since permessage-deflate runs 12 and 13).
        expected = load(os.path.join(HERE, "expected-results.json"))["server"]
        expected_sections = {make_expected.case_key(c)[0] for c in expected}
        for name in ("fuzzingclient.json", "fuzzingserver.json"):
            excluded = {int(p.split(".")[0]) for p in load(os.path.join(HERE, name))["exclude-cases"]}
            self.assertFalse(excluded & expected_sections, name)
            self.assertEqual(excluded | expected_sections, set(range(1, 14)) - {8, 11}, name)


if __name__ == "__main__":
    unittest.main()
