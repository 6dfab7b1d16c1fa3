"""Runs radiobject 0.1.1's own test suite on 0.1.1 and on radi (`radiobject` aliased to
radi), and lists the tests that pass on 0.1.1 but not on radi. By hand, not in CI.

  run_tests.py --upstream /tmp/upstream-radiobject [--impl both|radiobject|radi] [-k EXPR]
  run_tests.py --compare          # counts and grouped regressions from the last runs

The suite is copied from --upstream at run time into --work (never into the repository),
without its ML package (test/ml: radi.ml has its own issue) and with tests named *dicom*
deselected (DICOM has its own issue; 0.1.1's DICOM dataset is not synthesized, so its
fixtures skip anyway). For radi, radi_fixtures.py is appended to the copied conftest.py
(unless --upstream-fixtures): it replaces the fixtures that call 0.1.1's private
constructors with ones built on radi's public API. The synthetic datasets come from gen_data.py via compat_imports.py.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
DESELECT = "not dicom"


def _tag(a, impl: str) -> str:
    if impl != "radi":
        return impl
    return "radi" + ("_stub" if a.stub_missing else "") + ("_upfix" if a.upstream_fixtures else "")


def run_impl(a, impl: str) -> None:
    tag = _tag(a, impl)
    ws = (a.work / tag).resolve()
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    shutil.copytree(a.upstream / "test", ws / "test", ignore=shutil.ignore_patterns("ml", "__pycache__"))
    if impl == "radi" and not a.upstream_fixtures:
        with open(ws / "test" / "conftest.py", "a", encoding="utf-8") as f:
            f.write("\n\n" + (HERE / "radi_fixtures.py").read_text(encoding="utf-8"))
    (ws / "tmp").mkdir()
    env = dict(os.environ, RADI_COMPAT_IMPL=impl, RADI_COMPAT_DATA=str(a.data.resolve()),
               RADI_COMPAT_WS=str(ws), TMPDIR=str(ws / "tmp"), MPLBACKEND="Agg",
               RADI_COMPAT_STUB="1" if a.stub_missing and impl == "radi" else "0")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    k = DESELECT if not a.k else f"({DESELECT}) and ({a.k})"
    xml = a.out / f"tests_{tag}.xml"
    cmd = [sys.executable, "-m", "pytest", "test", "-p", "compat_plugin", "-p", "no:cacheprovider",
           "-o", "addopts=", "-q", "--continue-on-collection-errors", "-k", k, f"--junitxml={xml}", "--tb=line"]
    print(f"[{tag}] {' '.join(cmd)}", flush=True)
    with open(a.out / f"tests_{tag}.log", "w") as log:
        p = subprocess.run(cmd, cwd=ws, env=env, stdout=log, stderr=subprocess.STDOUT,
                           timeout=a.timeout)
    print(f"[{tag}] pytest exit {p.returncode}; log {a.out / f'tests_{tag}.log'}", flush=True)


def outcomes(xml: Path) -> dict:
    """test id -> (outcome, first line of the failure/error message)."""
    res = {}
    for tc in ET.parse(xml).getroot().iter("testcase"):
        tid = f"{tc.get('classname')}::{tc.get('name')}"
        outcome, msg = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                if outcome == "passed" or child.tag != "skipped":
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                    msg = _first_line(child.get("message") or "", child.text or "")
        if outcome == "error" and tid in res and res[tid][0] != "passed":
            continue  # teardown error after a failure: keep the failure
        res[tid] = (outcome, msg)
    return res


def _first_line(message: str, text: str) -> str:
    """The error's first line; for a collection failure, the exception line ("E   ...")."""
    if message.strip() and message.strip() != "collection failure":
        lines = message.strip().split("\n")
        if "pattern did not match" in lines[0]:  # pytest.raises(match=): say what was raised
            lines[0] += " " + " ".join(ln.strip() for ln in lines[1:] if ln.strip()[:6] in ("Regex:", "Input:"))
        return lines[0]
    e_lines = [ln[1:].strip() for ln in text.split("\n") if ln.startswith("E ")]
    for ln in e_lines:
        if re.match(r"[\w.]+(Error|Exception)\b", ln):
            return ln
    return (e_lines or [ln.strip() for ln in text.split("\n") if ln.strip()] or [message])[0]


def _unwrap(msg: str) -> str:
    m = re.match(r'failed on (?:setup|teardown) with "(.*)"$', msg, re.S)
    return m.group(1) if m else msg


def classify(msg: str) -> tuple[str, str]:
    """(group, key): missing name / wrong value / other error / private name."""
    msg = _unwrap(msg)
    # Same error, other temp file: one group.
    msg = re.sub(r"(/[\w.+-]+)+/(?=[\w.-]+\.nii)", "<dir>/", msg)
    msg = re.sub(r"(/tmp|/work)(/[\w.+-]+)+", "<path>", msg)
    msg = re.sub(r"\b[\w-]+\.nii(\.gz)?\b", "<file>.nii", msg)
    msg = re.sub(r"0x[0-9a-fA-F]{6,}", "0x<addr>", msg)
    if "'Ctx' object has no attribute 'handle'" in msg:
        return "missing name", "ctx=tiledb.Ctx(...) accepted (radi takes only its own context)"
    pats = [
        (r"radi has no ([\w.]+) \(stubbed", "{}"),
        (r"No module named '([\w.]+)'", "module {}"),
        (r"cannot import name '(\w+)' from '([\w.]+)'", "{1}.{0}"),
        (r"'?(\w+)'? object has no attribute '(\w+)'", "{0}.{1}"),
        (r"type object '(\w+)' has no attribute '(\w+)'", "{0}.{1}"),
        (r"module '([\w.]+)' has no attribute '(\w+)'", "{0}.{1}"),
        (r"(\w[\w.]*)\(\) got an unexpected keyword argument '(\w+)'", "{0}({1}=)"),
        (r"(\w[\w.]*)\(\) missing \d+ required (?:positional|keyword-only) arguments?: (.*)", "{0}: missing {1}"),
        (r"(\w[\w.]*)\(\) takes .* positional arguments? but .* given", "{0}: positional args"),
    ]
    for pat, fmt in pats:
        m = re.search(pat, msg)
        if m:
            key = fmt.format(*m.groups())
            # A test that itself calls 0.1.1's internals (_create, _from_volumes, ...): not
            # API radi owes, listed apart.
            if re.search(r"(^|[.( ])_[a-z]\w*", key):
                return "private name", key
            return "missing name", key
    if re.search(r"^(AssertionError|assert\b|E\s+assert|Failed: DID NOT RAISE)", msg) or "assert " in msg[:60]:
        return "wrong value", msg[:160]
    m = re.match(r"([\w.]+(?:Error|Exception|Exit)):?\s*(.*)", msg)
    if m:
        return "other error", f"{m.group(1)}: {m.group(2)[:120]}"
    return "other error", msg[:160]


def compare(a) -> None:
    tag = _tag(a, "radi")
    ref, got = outcomes(a.out / "tests_radiobject.xml"), outcomes(a.out / f"tests_{tag}.xml")
    count = lambda r, o: sum(v[0] == o for t, v in r.items() if not t.startswith("::"))  # noqa: E731
    # A module radi cannot import has one "collection failure" entry (classname "") instead
    # of its tests: those tests take its error.
    coll_err = {t.split("::", 1)[1]: m for t, (o, m) in got.items() if t.startswith("::")}

    def radi_outcome(t):
        if t in got:
            return got[t]
        mod = next((m for m in coll_err if t.startswith(m + ".") or t.startswith(m + "::")), None)
        return ("not collected", coll_err[mod] if mod else "test not collected on radi")

    regress = {t: radi_outcome(t) for t, (o, _m) in ref.items()
               if o == "passed" and radi_outcome(t)[0] != "passed"}
    groups = collections.defaultdict(list)
    for t, (o, msg) in regress.items():
        g, key = classify(msg)
        if o == "not collected":
            key += " (module not importable)"
        groups[(g, key)].append((t, _unwrap(msg)))
    lines = ["# radiobject 0.1.1's test suite on 0.1.1 and on radi (radiobject aliased to radi"
             + (", names radi lacks stubbed" if a.stub_missing else "")
             + (", 0.1.1's own fixtures" if a.upstream_fixtures else "") + ")", "",
             f"tests collected: {sum(not t.startswith('::') for t in ref)} (0.1.1), "
             f"{sum(not t.startswith('::') for t in got)} (radi; {len(coll_err)} modules not "
             f"importable); ML package and *dicom* tests excluded",
             f"pass on 0.1.1: {count(ref, 'passed')} (failed {count(ref, 'failed')}, error "
             f"{count(ref, 'error')}, skipped {count(ref, 'skipped')})",
             f"pass on radi: {count(got, 'passed')} (failed {count(got, 'failed')}, error "
             f"{count(got, 'error')}, skipped {count(got, 'skipped')})",
             f"pass on 0.1.1 but not on radi: {len(regress)}",
             f"pass on radi but not on 0.1.1: {sum(1 for t, v in got.items() if v[0] == 'passed' and ref.get(t, ('',))[0] != 'passed')}",
             ""]
    by_group = collections.defaultdict(list)
    for (g, key), tests in groups.items():
        by_group[g].append((key, tests))
    for g in ("missing name", "wrong value", "other error", "private name"):
        items = sorted(by_group.get(g, []), key=lambda kv: -len(kv[1]))
        lines += [f"## {g}: {sum(len(t) for _k, t in items)} tests", ""]
        for key, tests in items:
            eg = tests[0][0].split("test.", 1)[-1]
            lines.append(f"- {key} — {len(tests)} test(s), e.g. {eg}")
            if g not in ("missing name", "private name"):
                lines.append(f"    {tests[0][1][:200]}")
        lines.append("")
    text = "\n".join(lines)
    (a.out / f"tests_report_{tag}.md").write_text(text, encoding="utf-8")
    (a.out / f"tests_outcomes_{tag}.json").write_text(json.dumps(
        {t: {"radiobject": ref.get(t), "radi": got.get(t)} for t in sorted(set(ref) | set(got))},
        indent=1), encoding="utf-8")
    print(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", type=Path, default=Path("/tmp/upstream-radiobject"))
    ap.add_argument("--impl", choices=["radiobject", "radi", "both"])
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("-k", default="", help="extra pytest -k expression (e.g. a module)")
    ap.add_argument("--stub-missing", action="store_true",
                    help="radi run: names radi lacks import as stubs that fail when used, so a "
                         "test module with one missing import still runs its other tests "
                         "(files tagged radi_stub)")
    ap.add_argument("--upstream-fixtures", action="store_true",
                    help="radi run: keep 0.1.1's conftest.py as it is (its fixtures call "
                         "_from_volumes / _from_volume_collections, which radi provides) instead "
                         "of appending radi_fixtures.py (files tagged radi_upfix)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/upstream-compat-data-tests"))
    ap.add_argument("--shape", default="96,96,60", help="BraTS-like image shape if --data is generated")
    ap.add_argument("--work", type=Path, default=Path("/tmp/upstream-compat-tests"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/upstream-compat-out"))
    ap.add_argument("--timeout", type=int, default=7200, help="seconds per suite run")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.impl:
        if not (a.data / "msd-brain-tumour" / "manifest.json").exists():
            # No test depends on MSD's 240x240x155: a smaller BraTS-like set keeps the two
            # suite runs to minutes on a small machine.
            subprocess.run([sys.executable, str(HERE / "gen_data.py"), "--out", str(a.data),
                            "--brats-shape", a.shape], check=True)
        for impl in (["radiobject", "radi"] if a.impl == "both" else [a.impl]):
            run_impl(a, impl)
    if a.compare or a.impl == "both":
        compare(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
