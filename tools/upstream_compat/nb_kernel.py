"""Runs one notebook's code cells in order in one namespace, like a fresh Jupyter kernel.

Child process of run_notebooks.py: `python nb_kernel.py cells.json result.json`, with
cells.json = {"pkg": "radiobject"|"radi", "cells": [source, ...]}. Per cell it records
status ("ran" / "error"), the error (type: first line of the message) and the stdout the
cell printed, including what Jupyter would display: the value of a final bare expression
and display(...) calls, as repr(). result.json is rewritten after every cell, so a crash
or timeout still leaves the cells before it.
"""
from __future__ import annotations

import ast
import contextlib
import io
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import traceback

CELL_TIMEOUT = int(os.environ.get("RADI_COMPAT_CELL_TIMEOUT", "600"))


def _display(*objs, **_kw):
    for o in objs:
        print(repr(o))


def _split_last_expr(src: str):
    """(body code, final expression code or None), as IPython's default display rule."""
    tree = ast.parse(src)
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not src.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
        return compile(tree, "<cell>", "exec"), compile(last, "<cell>", "eval")
    return compile(tree, "<cell>", "exec"), None


def _timeout(_sig, _frame):
    raise TimeoutError(f"cell ran over {CELL_TIMEOUT} s")


def main() -> None:
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    out_path = sys.argv[2]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import compat_imports

    compat_imports.install(spec["pkg"])
    # Unseeded random data in the cells (np.random.randn, ...) becomes the same in both
    # runs; mkdtemp names become a counter (masked by the comparison anyway).
    import numpy as np

    np.random.seed(0)
    random.seed(0)
    tempfile._name_sequence = (f"n{i:07d}" for i in itertools.count())
    signal.signal(signal.SIGALRM, _timeout)

    ns = {"__name__": "__main__", "display": _display}
    results = []
    for n, src in enumerate(spec["cells"]):
        buf = io.StringIO()
        rec = {"cell": n, "status": "ran", "error": None}
        signal.alarm(CELL_TIMEOUT)
        try:
            with contextlib.redirect_stdout(buf):
                body, last = _split_last_expr(src)
                exec(body, ns)
                if last is not None:
                    value = eval(last, ns)
                    if value is not None:
                        print(repr(value))
        except BaseException as e:  # noqa: BLE001 - a notebook keeps going after an error
            msg = str(e).strip().split("\n")[0]
            rec.update(status="error", error=f"{type(e).__name__}: {msg}"[:400],
                       traceback=traceback.format_exc()[-3000:])
        finally:
            signal.alarm(0)
        rec["stdout"] = buf.getvalue()
        results.append(rec)
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:
            pass


if __name__ == "__main__":
    main()
