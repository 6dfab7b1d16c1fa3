"""Shared fixtures of the Python test suite.

The tests run against the installed `radi` package, or against a build tree with
RADI_LIBRARY=build/libradi.so (and RADI_CLI=build/radi, PYTHONPATH=python). The oracle is
TileDB-Py 0.36.1; any other version is refused so that the oracle never drifts silently.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # radi_capi, oracle_util

ORACLE_VERSION = "0.36.1"


def pytest_report_header(config):
    lines = []
    try:
        import tiledb
        lines.append(f"oracle: TileDB-Py {tiledb.__version__} (core "
                     f"{'.'.join(map(str, tiledb.libtiledb.version()))})")
    except Exception as e:  # reported, and the oracle fixture fails the tests
        lines.append(f"oracle: TileDB-Py not importable ({e})")
    try:
        import radi_capi
        lines.append(f"libradi: {radi_capi.library_path()}")
    except Exception as e:
        lines.append(f"libradi: not found ({e})")
    return lines


@pytest.fixture(scope="session")
def oracle():
    import tiledb
    assert tiledb.__version__ == ORACLE_VERSION, (
        f"the oracle must be TileDB-Py {ORACLE_VERSION}, found {tiledb.__version__}")
    return tiledb


@pytest.fixture(scope="session")
def capi():
    """The generic C API through ctypes, with one context (2 threads) for the session."""
    import radi_capi
    ctx = radi_capi.Ctx(concurrency=2)
    yield ctx
    ctx.close()


# S3 (moto started by the suite) and the local/S3 `root` fixtures: s3_fixtures.py.
from s3_fixtures import (fault_proxy, module_root, moto, radi_on_moto, root,  # noqa: E402,F401
                         s3_bucket, s3_root, s3root)
