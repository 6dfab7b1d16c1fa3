"""Import plumbing shared by the notebook runner and the test runner.

Two things, both installed by `install(pkg, alias)`:

1. `<pkg>.data`, the dataset registry 0.1.1's notebooks and tests import but its release
   does not ship (its .gitignore drops every `data/` directory). The stand-in below answers
   from the synthetic data of gen_data.py (env RADI_COMPAT_DATA) and a per-run workspace
   (env RADI_COMPAT_WS) and is installed for whichever package runs, so both read the same
   files. It is test scaffolding, not API of either package.
2. With alias=True (the test runner): the `radiobject` name and its submodules resolve to radi's modules.
   `radiobject.<sub>` is `radi.<sub>` where radi has it, else radi's module of the same role
   (RENAMED); a name radi has neither way stays a ModuleNotFoundError, which the runners
   report as a missing name.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import types
from pathlib import Path

# 0.1.1 module name -> radi module of the same role, used only when radi has no module of
# the 0.1.1 name (the real one always wins).
RENAMED = {"volume_collection": "collection"}

S3_BUCKET = "radiobject-compat-test-bucket"
S3_REGION = "us-east-1"


def _data_module(fullname: str) -> types.ModuleType:
    root = Path(os.environ.get("RADI_COMPAT_DATA", "/tmp/upstream-compat-data"))
    ws = Path(os.environ.get("RADI_COMPAT_WS", "/tmp/upstream-compat-ws"))
    m = types.ModuleType(fullname, "Stand-in for 0.1.1's unreleased dataset registry.")
    datasets = {"msd-brain-tumour": root / "msd-brain-tumour", "msd-lung": root / "msd-lung"}

    def get_dataset_path(name: str) -> Path:
        return datasets.get(name, root / name)

    def get_dataset(name: str, prefer_s3: bool = True, force_download: bool = False) -> Path:
        p = get_dataset_path(name)
        if not p.exists():
            raise FileNotFoundError(f"dataset {name!r} not generated at {p} (no DICOM stand-in)")
        return p

    def get_manifest(name: str) -> list:
        p = get_dataset_path(name) / "manifest.json"
        if not p.exists():
            raise FileNotFoundError(f"no manifest for dataset {name!r} at {p}")
        return json.loads(p.read_text())

    m.S3_BUCKET, m.S3_REGION = S3_BUCKET, S3_REGION
    m.get_dataset_path, m.get_dataset, m.get_manifest = get_dataset_path, get_dataset, get_manifest
    m.get_brats_nifti_path = lambda: get_dataset("msd-brain-tumour")
    m.get_brats_uri = lambda: str(ws / "datasets" / "brats-tutorial")
    m.get_msd_lung_uri = lambda: str(ws / "datasets" / "radiobject-2mm" / "msd-lung-tutorial")
    return m


def _radi_has(head: str) -> bool:
    """Whether radi itself has the top-level submodule radi.<head> (file or package)."""
    import importlib.machinery

    radi = importlib.import_module("radi")
    return importlib.machinery.PathFinder.find_spec(f"radi.{head}", radi.__path__) is not None


STUB_NOTE = "stubbed by upstream_compat"


class _MissingMeta(type):
    """A name radi lacks, importable so that the rest of its test module still runs; any use
    raises AttributeError naming it (the test runner groups by that name)."""

    def _fail(cls, *_a, **_k):
        raise AttributeError(f"radi has no {cls._compat_name} ({STUB_NOTE})")

    __call__ = _fail

    def __getattr__(cls, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        cls._fail()


def _missing(name: str):
    return _MissingMeta(name.rsplit(".", 1)[-1], (), {"_compat_name": name})


class _StubModule(types.ModuleType):
    """radiobject.<sub> in stub mode: radi's module where it has the name, else a stub."""

    def __init__(self, name: str, real):
        super().__init__(name)
        self.__compat_real = real
        if real is not None:
            self.__file__ = getattr(real, "__file__", None)
            if hasattr(real, "__path__"):
                self.__path__ = real.__path__

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        real = self.__dict__.get("_StubModule__compat_real")
        if real is not None and hasattr(real, attr):
            return getattr(real, attr)
        return _missing(f"{self.__name__}.{attr}")


class _Loader(importlib.abc.Loader):
    def __init__(self, make):
        self._make = make

    def create_module(self, spec):
        return self._make()

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    """Resolves `<pkg>.data` (stand-in) and, when aliasing, `radiobject[.<sub>]` -> radi."""

    def __init__(self, pkg: str, alias: bool, stub: bool = False):
        self.pkg, self.alias, self.stub = pkg, alias, stub

    def find_spec(self, fullname, path=None, target=None):
        if fullname == f"{self.pkg}.data" or (self.alias and fullname == "radiobject.data"):
            return importlib.util.spec_from_loader(fullname, _Loader(lambda: _data_module(fullname)))
        if self.alias and (fullname == "radiobject" or fullname.startswith("radiobject.")):
            sub = fullname[len("radiobject"):]
            target_name = "radi" + sub
            head = sub[1:].split(".")[0]
            if sub and not _radi_has(head):
                if head not in RENAMED or not _radi_has(RENAMED[head]):
                    if self.stub:
                        return importlib.util.spec_from_loader(
                            fullname, _Loader(lambda: _StubModule(fullname, None)))
                    return None  # -> ModuleNotFoundError: a missing name to report
                target_name = "radi." + RENAMED[head] + sub[1 + len(head):]
            if self.stub:
                return importlib.util.spec_from_loader(fullname, _Loader(
                    lambda: _StubModule(fullname, importlib.import_module(target_name))))
            return importlib.util.spec_from_loader(
                fullname, _Loader(lambda: importlib.import_module(target_name)))
        if self.pkg == "radi" and fullname.startswith("radi.") and fullname.count(".") == 1:
            # A 0.1.1 module name that radi spells differently, unless radi has a module of
            # that very name (then that one is imported).
            head = fullname.split(".")[1]
            if head in RENAMED and not _radi_has(head):
                target_name = "radi." + RENAMED[head]
                return importlib.util.spec_from_loader(
                    fullname, _Loader(lambda: importlib.import_module(target_name)))
        return None


def install(pkg: str, alias: bool = False, stub: bool = False) -> None:
    """pkg "radiobject": 0.1.1 plus the data stand-in. pkg "radi": radi plus the data
    stand-in and 0.1.1's module names radi spells differently; alias=True also makes
    `radiobject` itself resolve to radi (the installed 0.1.1 is then never imported);
    stub=True then also makes names radi lacks importable stubs that fail when used, so one
    missing import does not hide a whole test module."""
    if pkg not in ("radiobject", "radi") or (alias and pkg != "radi"):
        raise ValueError(f"install('radiobject') or install('radi', alias=...), got {pkg!r}")
    if alias:
        for name in [n for n in sys.modules if n == "radiobject" or n.startswith("radiobject.")]:
            del sys.modules[name]
        sys.meta_path.insert(0, _Finder("radi", True, stub))
    else:
        sys.meta_path.append(_Finder(pkg, False))
