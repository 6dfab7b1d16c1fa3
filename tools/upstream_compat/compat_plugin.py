"""pytest plugin (`-p compat_plugin`) of run_tests.py: installs compat_imports before 0.1.1's
conftest is imported. RADI_COMPAT_IMPL=radiobject: 0.1.1 with the data stand-in;
RADI_COMPAT_IMPL=radi: `radiobject` aliased to radi."""
import os

import compat_imports

_impl = os.environ.get("RADI_COMPAT_IMPL", "radiobject")
compat_imports.install(_impl, alias=_impl == "radi", stub=os.environ.get("RADI_COMPAT_STUB") == "1")


def pytest_report_header(config):
    import importlib

    mod = importlib.import_module("radiobject")
    return [f"upstream-compat: radiobject -> {mod.__name__} ({os.path.dirname(mod.__file__)})"]
