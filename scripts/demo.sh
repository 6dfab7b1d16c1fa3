#!/usr/bin/env bash
# The main job, for now: installs radi into .venv (pip install .), writes a synthetic
# BraTS-like 240×240×155 float32 volume with radi, prints `radi info`, reads slices and a
# region with timings, and checks that TileDB-Py reads the same values.
#   scripts/demo.sh [OUTPUT_DIR]     (default: build/demo/; rewritten on every run)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
out="${1:-build/demo}"

[ -x .venv/bin/python ] || { echo "demo.sh: run scripts/setup.sh first" >&2; exit 1; }
echo "== pip install . =="
.venv/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps .
unset RADI_LIBRARY RADI_CLI

rm -rf "$out"
mkdir -p "$out"
uri="$out/brain.tdb"

echo "== write a synthetic volume with radi (axial tiles, ZSTD-3) =="
.venv/bin/python - "$uri" <<'EOF'
import sys, time
sys.path.insert(0, "bench")
import numpy as np
import radi
from bench_dense import brain_volume

uri = sys.argv[1]
data = brain_volume()
np.save(uri + ".npy", data)  # the reference the read step checks against
radi.configure(tile=radi.TileConfig(orientation=radi.SliceOrientation.AXIAL),
               compression=radi.CompressionConfig(algorithm=radi.Compressor.ZSTD, level=3))
t = time.perf_counter()
vol = radi.Volume.from_numpy(uri, data)
print(f"wrote {uri}: shape {vol.shape}, {vol.dtype}, in {(time.perf_counter() - t) * 1e3:.0f} ms")
EOF

echo
echo "== radi info $uri =="
.venv/bin/radi info "$uri"

echo
echo "== read slices and a region =="
.venv/bin/python - "$uri" <<'EOF'
import sys, time
import numpy as np
import radi

uri = sys.argv[1]
ref = np.load(uri + ".npy")
vol = radi.Volume(uri)

def timed(what, fn, want):
    t = time.perf_counter()
    got = fn()
    ms = (time.perf_counter() - t) * 1e3
    assert np.array_equal(got, want), what
    print(f"  {what:<32} {str(got.shape):<16} {ms:8.2f} ms")

timed("axial(77)", lambda: vol.axial(77), ref[:, :, 77])
timed("sagittal(120)", lambda: vol.sagittal(120), ref[120])
timed("coronal(120)", lambda: vol.coronal(120), ref[:, 120])
timed("vol[37:101, 51:115, 45:109]", lambda: vol[37:101, 51:115, 45:109], ref[37:101, 51:115, 45:109])
timed("to_numpy()", vol.to_numpy, ref)
try:
    import tiledb
    with tiledb.open(uri) as A:
        assert np.array_equal(A[:]["voxels"], ref)
        print(f"TileDB-Py {tiledb.__version__} reads the same {A.schema.domain.shape} volume; "
              f"tile_orientation = {A.meta['tile_orientation']!r}")
except ImportError:
    pass
EOF
