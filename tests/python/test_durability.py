"""Durability of local writes, read off the system calls (docs/dataset.md §8.1).

`radi ingest` runs under strace; for every file the POSIX backend publishes with rename(2)
the trace must show the temporary's data synced (fsync of a descriptor opened on it)
before the rename, and the directory that received the name synced after it; every
directory radi creates has its parent synced after the mkdir. No temporary may be
created inside TileDB's own folders (TileDB reads every file there as committed).
strace is a test dependency (scripts/setup.sh installs it): a missing strace fails.
"""
import os
import re
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pytest

from radi import _lib

CLI = str(_lib.cli_path())
TILEDB_DIRS = ("__meta", "__group", "__schema", "__fragment_meta", "__commits")

CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
STR = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _nifti(path, seed):
    data = np.random.default_rng(seed).integers(0, 1000, (24, 20, 12), dtype=np.int16)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))


def _trace(tmp_path, *options):
    src = tmp_path / "nii"
    src.mkdir()
    for i in range(3):
        _nifti(src / f"S{i}_T1w.nii.gz", i)
    out = tmp_path / "trace.txt"
    ds = tmp_path / "ds"
    strace = shutil.which("strace")
    assert strace, "strace is missing (scripts/setup.sh installs it)"
    p = subprocess.run([strace, "-f", "-qq", "-s", "4096", "-o", str(out),
                        "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat,close",
                        # One thread: strace may print two threads' calls out of kernel
                        # order (a close and the open that reuses its descriptor).
                        CLI, *options, "--concurrency", "1", "ingest", str(ds), f"T1w={src}/*_T1w.nii.gz"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out.read_text().splitlines(), ds


def _joined(lines):
    """Trace lines with calls that threads interleaved ("<unfinished ...>" then
    "<... name resumed>") joined back into one line, at the place they completed."""
    pending = {}
    for line in lines:
        pid, _, rest = line.partition(" ")
        rest = rest.lstrip()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        m = re.match(r"<\.\.\. \w+ resumed>(.*)$", rest)
        if m:
            rest = pending.pop(pid, "") + m.group(1)
        yield f"{pid} {rest}"


def _events(lines):
    """(kind, path) in trace order: open fd→path is followed through close, so fsyncs are
    attributed to the file or directory they sync."""
    fds, events = {}, []
    for line in _joined(lines):
        m = CALL.match(line)
        if not m:
            continue
        _, name, args, ret = m.group(1), m.group(2), m.group(3), int(m.group(4))
        strs = STR.findall(args)
        if name == "openat" and ret >= 0 and strs:
            fds[ret] = strs[0]
        elif name == "close":
            fds.pop(int(args.split(",")[0]), None)
        elif name in ("fsync", "fdatasync") and ret == 0:
            fd = int(args.split(",")[0])
            if fd in fds:
                events.append(("sync", os.path.normpath(fds[fd])))
        elif name in ("rename", "renameat", "renameat2") and ret == 0 and len(strs) == 2:
            events.append(("rename", (os.path.normpath(strs[0]), os.path.normpath(strs[1]))))
        elif name in ("mkdir", "mkdirat") and ret == 0 and strs:
            events.append(("mkdir", os.path.normpath(strs[0])))
    return events


def test_every_published_file_is_synced_before_and_its_directory_after(tmp_path):
    lines, ds = _trace(tmp_path)
    events = _events(lines)
    renames = [i for i, e in enumerate(events) if e[0] == "rename"]
    assert len(renames) >= 20, f"only {len(renames)} renames traced: is the trace complete?"
    for i in renames:
        old, new = events[i][1]
        before = [e for e in events[:i] if e == ("sync", old)]
        assert before, f"{new}: published by rename without its data synced first"
        after = [e for e in events[i + 1:] if e == ("sync", os.path.dirname(new))]
        assert after, f"{new}: its directory was not synced after the rename"
        assert os.path.basename(os.path.dirname(old)) not in TILEDB_DIRS, (
            f"{old}: a temporary inside a folder TileDB reads")
    for i, e in enumerate(events):
        if e[0] == "mkdir" and str(ds) in e[1]:
            parent = os.path.dirname(e[1])
            assert ("sync", parent) in events[i + 1:], f"{e[1]}: parent not synced after mkdir"


def test_no_temporary_left_and_dataset_reads(tmp_path):
    _, ds = _trace(tmp_path)
    left = [os.path.join(d, f) for d, _, fs in os.walk(ds) for f in fs if ".radi-tmp-" in f]
    assert not left, left
    p = subprocess.run([CLI, "validate", str(ds)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_sync_can_be_traded_for_speed(tmp_path):
    # vfs.posix.sync=false: no fsync at all, the same renames (still atomic), a readable dataset.
    lines, ds = _trace(tmp_path, "-o", "vfs.posix.sync=false")
    assert not [ln for ln in lines if "fsync(" in ln or "fdatasync(" in ln]
    assert [ln for ln in lines if "rename" in ln]
    check = subprocess.run([CLI, "validate", str(ds)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
