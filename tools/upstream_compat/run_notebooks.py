"""Runs radiobject 0.1.1's tutorial notebooks 00-05 on 0.1.1 and on radi, cell by cell,
and compares what each cell prints. By hand, not in CI (see README.md).

  run_notebooks.py --upstream /tmp/upstream-radiobject --impl radiobject   # 0.1.1's results
  run_notebooks.py --upstream /tmp/upstream-radiobject --impl radi         # radi's results
  run_notebooks.py --compare                                              # counts + diffs
  (--impl both does all three)

The notebooks are read from --upstream at run time (nothing of them is kept here). For radi
only the import statements change: `radiobject` -> `radi` (and `src.` -> `radi.`); the check
refuses any other changed line. Each notebook runs in a fresh interpreter (nb_kernel.py)
with cwd <work>/<impl>/notebooks, TMPDIR <work>/<impl>/tmp and the synthetic data of
gen_data.py (its `radiobject.data` stand-in: compat_imports.py), all URIs local, so the S3
branches of the notebooks are not taken.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ["00_ingest_brats", "01_radi_object", "02_volume_collection", "03_volume",
             "04_storage_configuration", "05_ingest_msd"]
# Cells whose printed numbers are wall-clock timings: compared with every number masked.
TIMING_CELLS = {("04_storage_configuration", 5), ("04_storage_configuration", 6)}


def code_cells(upstream: Path, nb: str) -> list[str]:
    d = json.loads((upstream / "notebooks" / f"{nb}.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in d["cells"] if c["cell_type"] == "code"]


def rewrite_imports(src: str) -> str:
    """`radiobject` (and `src`) -> `radi` in import statements only; checked."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    lines = src.split("\n")
    touched = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and re.match(r"(radiobject|src)(\.|$)", node.module):
            i = node.lineno - 1
            lines[i] = re.sub(r"\bfrom\s+(radiobject|src)\b", "from radi", lines[i], count=1)
            touched.add(i)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if re.match(r"(radiobject|src)(\.|$)", a.name):
                    i = node.lineno - 1
                    top = a.name.split(".")[0]
                    new = "radi" + a.name[len(top):]
                    # `import radiobject` keeps its name through `as`; a dotted import
                    # without `as` binds `radi` (no notebook has one).
                    as_ = f" as {top}" if not a.asname and "." not in a.name else ""
                    lines[i] = re.sub(rf"\b{re.escape(a.name)}\b", new + as_, lines[i], count=1)
                    touched.add(i)
    new = "\n".join(lines)
    old_lines = src.split("\n")
    changed = {i for i, (a, b) in enumerate(zip(old_lines, lines)) if a != b}
    assert changed <= touched, f"rewrite changed non-import lines {sorted(changed - touched)}"
    return new


def ensure_data(data: Path) -> None:
    if not (data / "msd-brain-tumour" / "manifest.json").exists() or not (data / "msd-lung").exists():
        print(f"generating synthetic data in {data} ...", flush=True)
        subprocess.run([sys.executable, str(HERE / "gen_data.py"), "--out", str(data)], check=True)


def ws_dir(a, impl: str) -> Path:
    # Names of one length: pandas truncates a long path column at a fixed width, so paths of
    # different lengths would print differently after the workspace is masked.
    return (a.work / {"radiobject": "ws-011", "radi": "ws-rdi"}[impl]).resolve()


def run_impl(a, impl: str) -> dict:
    ws = ws_dir(a, impl)
    if ws.exists():
        shutil.rmtree(ws)
    (ws / "notebooks").mkdir(parents=True)
    (ws / "tmp").mkdir()
    (ws / "data" / "msd_lung").mkdir(parents=True)
    # notebook 05 reads ../data/msd_lung/Task06_Lung relative to the notebooks directory
    os.symlink(a.data.resolve() / "msd-lung", ws / "data" / "msd_lung" / "Task06_Lung")
    env = dict(os.environ, RADI_COMPAT_DATA=str(a.data.resolve()), RADI_COMPAT_WS=str(ws),
               TMPDIR=str(ws / "tmp"), MPLBACKEND="Agg")
    out = {"impl": impl, "ws": str(ws), "notebooks": {}}
    for nb in a.notebooks:
        cells = code_cells(a.upstream, nb)
        if impl == "radi":
            cells = [rewrite_imports(c) for c in cells]
        spec, res = ws / f"{nb}.cells.json", ws / f"{nb}.result.json"
        spec.write_text(json.dumps({"pkg": impl, "cells": cells}), encoding="utf-8")
        print(f"[{impl}] {nb}: {len(cells)} cells ...", flush=True)
        try:
            p = subprocess.run([sys.executable, str(HERE / "nb_kernel.py"), str(spec), str(res)],
                               cwd=ws / "notebooks", env=env, capture_output=True, text=True,
                               timeout=a.timeout)
            crash = None if p.returncode == 0 else f"kernel exit {p.returncode}: {p.stderr[-300:]}"
        except subprocess.TimeoutExpired:
            crash = f"notebook ran over {a.timeout} s"
        recs = json.loads(res.read_text()) if res.exists() else []
        for n in range(len(recs), len(cells)):  # cells a crash/timeout never reached
            recs.append({"cell": n, "status": "not run", "error": crash, "stdout": ""})
        out["notebooks"][nb] = recs
        brats = ws / "datasets" / "brats-tutorial"
        other = "radiobject" if impl == "radi" else "radi"
        theirs = ws_dir(a, other) / "datasets" / "brats-tutorial"
        if nb.startswith("00") and a.dataset_from == other:
            # Layout check: notebooks 01-04 read the dataset the other package's notebook 00
            # wrote (each package opens the other's datasets).
            shutil.rmtree(brats, ignore_errors=True)
            shutil.copytree(theirs, brats)
            out["borrowed_dataset"] = other
            print(f"[{impl}] notebooks 01-04 read the dataset {other}'s notebook 00 made")
        elif nb.startswith("00") and a.borrow_dataset and not brats.exists():
            # Informative mode: notebooks 01-04 read the dataset the other run's notebook 00
            # wrote, so their cells are not all lost to one failed ingest.
            shutil.copytree(theirs, brats)
            out["borrowed_dataset"] = other
            print(f"[{impl}] notebook 00 made no dataset: 01-04 read {other}'s (--borrow-dataset)")
        ran = sum(r["status"] == "ran" for r in recs)
        print(f"[{impl}] {nb}: {ran}/{len(cells)} ran" + (f" ({crash})" if crash else ""), flush=True)
    (a.out / f"{impl}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def normalize(text: str, wss: list, nb: str, n: int) -> str:
    # Both runs' workspaces: a --borrow-dataset radi run prints paths of 0.1.1's. Whole path
    # components only (".../radi" is a prefix of ".../radiobject").
    for ws in sorted(wss, key=len, reverse=True):
        text = re.sub(re.escape(ws + "/tmp") + r"(?![\w.-])", "<TMP>", text)
        text = re.sub(re.escape(ws) + r"(?![\w.-])", "<WS>", text)
    text = re.sub(r"n\d{7}", "<tmpname>", text)            # nb_kernel's mkdtemp names
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x<addr>", text)
    if (nb, n) in TIMING_CELLS:
        text = re.sub(r"\d+(\.\d+)?", "<num>", text)
    return text


def order_free(text: str) -> str:
    """The text with every bracketed list's items and the lines sorted, and volume names
    made modality-free: equal for two outputs that differ only in collection order."""
    def sort_items(m):
        items = sorted(x.strip() for x in m.group(2).split(","))
        return m.group(1) + ", ".join(items) + m.group(3)
    text = re.sub(r"([\[({])([^\[\](){}]*,[^\[\](){}]*)([\])}])", sort_items, text)
    text = re.sub(r"_(FLAIR|T1w|T1gd|T2w)\b", "_<mod>", text)
    return "\n".join(sorted(text.split("\n")))


def first_diff(a: str, b: str) -> str:
    la, lb = a.split("\n"), b.split("\n")
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<no line>"
        y = lb[i] if i < len(lb) else "<no line>"
        if x != y:
            return f"line {i + 1}: 0.1.1 {x[:110]!r} | radi {y[:110]!r}"
    return ""


def compare(a) -> int:
    ref = json.loads((a.ref or a.out / "radiobject.json").read_text())
    got = json.loads((a.got or a.out / "radi.json").read_text())
    # Workspaces of both runs and their siblings (a borrowed dataset prints the other's paths).
    wss = sorted({str(Path(w).parent / n) for w in (ref["ws"], got["ws"]) for n in ("ws-011", "ws-rdi")}
                 | {ref["ws"], got["ws"]})
    total = ran_ref = ran_radi = equal = 0
    rows = []
    for nb, recs in ref["notebooks"].items():
        other = got["notebooks"].get(nb, [])
        for r in recs:
            n = r["cell"]
            total += 1
            g = other[n] if n < len(other) else {"status": "not run", "error": "not run", "stdout": ""}
            ran_ref += r["status"] == "ran"
            ran_radi += g["status"] == "ran"
            if r["status"] != "ran":
                rows.append((nb, n, f"fails on 0.1.1 too ({r['error']}); radi: {g['status']}"
                             + (f" ({g['error']})" if g["status"] != "ran" else "")))
                continue
            if g["status"] != "ran":
                cascade = (g["error"] or "").startswith("NameError")
                rows.append((nb, n, ("after an earlier failure: " if cascade else "error on radi: ")
                             + str(g["error"])))
                continue
            x = normalize(r["stdout"], wss, nb, n)
            y = normalize(g["stdout"], wss, nb, n)
            if x == y:
                equal += 1
            elif order_free(x) == order_free(y):
                rows.append((nb, n, f"collection order only: {first_diff(x, y)}"))
            else:
                rows.append((nb, n, f"output differs: {first_diff(x, y)}"))
    lines = ["# radiobject 0.1.1 notebooks 00-05 on 0.1.1 and on radi", "",
             f"code cells: {total}", f"ran on 0.1.1: {ran_ref}", f"ran on radi: {ran_radi}",
             f"ran on both with equal output: {equal}",
             f"radi cells failing on their own (not a NameError left by an earlier failure): "
             f"{sum(1 for r in rows if r[2].startswith('error on radi'))}",
             f"cells whose output differs only in collection order: "
             f"{sum(1 for r in rows if r[2].startswith('collection order only'))}"]
    if (ref["impl"], got["impl"]) != ("radiobject", "radi"):
        lines.append(f"NOTE: reference run of {ref['impl']}, checked run of {got['impl']}: read "
                     f"'0.1.1' as the reference and 'radi' as the checked run below")
    for run, name in ((got, "checked"), (ref, "reference")):
        if run.get("borrowed_dataset"):
            lines.append(f"NOTE: the {name} run ({run['impl']}) read in notebooks 01-04 the "
                         f"dataset {run['borrowed_dataset']}'s notebook 00 made (not the strict count)")
    lines += ["",
             "## cells that differ or fail", ""]
    lines += [f"- {nb} cell {n}: {why}" for nb, n, why in rows] or ["(none)"]
    text = "\n".join(lines) + "\n"
    (a.out / "notebooks_report.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", type=Path, default=Path("/tmp/upstream-radiobject"))
    ap.add_argument("--impl", choices=["radiobject", "radi", "both"])
    ap.add_argument("--compare", action="store_true", help="compare the two results in --out")
    ap.add_argument("--ref", type=Path, help="--compare: reference result (default <out>/radiobject.json)")
    ap.add_argument("--got", type=Path, help="--compare: result checked (default <out>/radi.json)")
    ap.add_argument("--data", type=Path, default=Path("/tmp/upstream-compat-data"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/upstream-compat-nb"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/upstream-compat-out"))
    ap.add_argument("--notebooks", default=",".join(n[:2] for n in NOTEBOOKS),
                    help="comma-separated numbers, e.g. 00,01 (00 makes the dataset the rest read)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per notebook")
    ap.add_argument("--borrow-dataset", action="store_true",
                    help="if notebook 00 fails to make the dataset, 01-04 read the one the "
                         "other package's run made (informative; the strict count is without it)")
    ap.add_argument("--dataset-from", choices=["radiobject", "radi"],
                    help="notebooks 01-04 read the dataset this other package's notebook 00 "
                         "made (layout check, e.g. --impl radiobject --dataset-from radi)")
    a = ap.parse_args()
    a.notebooks = [n for n in NOTEBOOKS if n[:2] in a.notebooks.split(",")]
    a.out.mkdir(parents=True, exist_ok=True)
    if a.impl:
        ensure_data(a.data)
        for impl in (["radiobject", "radi"] if a.impl == "both" else [a.impl]):
            run_impl(a, impl)
    if a.compare or a.impl == "both":
        return compare(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
