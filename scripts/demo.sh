#!/usr/bin/env bash
# The main job: installs radi into .venv (pip install .), generates a small BraTS-like set
# (N subjects x FLAIR/T1w/T1gd/T2w + seg, 240x240x155 .nii.gz), ingests it with `radi ingest`,
# prints the dataset, reads slices and a 64^3 region with timings (checked against nibabel),
# cross-checks one volume with TileDB-Py, and writes a PNG of a slice.
#   scripts/demo.sh [OUTPUT_DIR] [SUBJECTS]     (default: build/demo/, 3; rewritten each run)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
out="${1:-build/demo}"
subjects="${2:-3}"

[ -x .venv/bin/python ] || { echo "demo.sh: run scripts/setup.sh first" >&2; exit 1; }
echo "== pip install . =="
.venv/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps .
unset RADI_LIBRARY RADI_CLI
radi=.venv/bin/radi

rm -rf "$out"
mkdir -p "$out"
nii="$out/nii"
ds="$out/brats.radi"

echo
echo "== generate $subjects BraTS-like subjects (.nii.gz) =="
.venv/bin/python scripts/make_demo_niftis.py "$nii" --subjects "$subjects"
du -sh "$nii" | awk '{print "  " $1 " of .nii.gz"}'

echo
echo "== radi ingest =="
start=$(date +%s.%N)
"$radi" ingest "$ds" "FLAIR=$nii/*_FLAIR.nii.gz" "T1w=$nii/*_T1w.nii.gz" \
  "T1gd=$nii/*_T1gd.nii.gz" "T2w=$nii/*_T2w.nii.gz" "seg=$nii/*_seg.nii.gz"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$subjects" \
  'BEGIN { printf "  ingested %d volumes in %.2f s (%.0f ms per volume)\n", 5*n, e-s, (e-s)*1000/(5*n) }'
"$radi" validate "$ds"

echo
echo "== radi ls =="
"$radi" ls "$ds"

echo
echo "== read with the Python API (checked against nibabel) =="
.venv/bin/python - "$ds" "$nii" <<'PY'
import sys, time
import numpy as np
import nibabel as nib
import radi

ds, nii = sys.argv[1], sys.argv[2]
t = time.perf_counter()
ro = radi.RadiObject(ds)
print(f"  {ro}  (opened in {(time.perf_counter() - t) * 1e3:.1f} ms)")
print(f"  collections: {ro.collection_names}")
vol = ro.FLAIR.iloc[0]
print(f"  {vol}")
ref = np.asarray(nib.load(f"{nii}/{vol.obs_id}.nii.gz").dataobj)

def timed(what, fn, want):
    fn()  # first call pays page faults; time the second
    t = time.perf_counter()
    got = fn()
    ms = (time.perf_counter() - t) * 1e3
    assert np.array_equal(got, want), what
    print(f"  {what:<34} {str(got.shape):<16} {ms:8.2f} ms")

timed("axial(77)", lambda: vol.axial(77), ref[:, :, 77])
timed("sagittal(120)", lambda: vol.sagittal(120), ref[120])
timed("coronal(120)", lambda: vol.coronal(120), ref[:, 120])
timed("region [90:154, 100:164, 40:104]", lambda: vol[90:154, 100:164, 40:104], ref[90:154, 100:164, 40:104])
timed("whole volume", vol.to_numpy, ref)
t = time.perf_counter()
nib_full = np.asarray(nib.load(f"{nii}/{vol.obs_id}.nii.gz").dataobj)
print(f"  {'nibabel: whole .nii.gz':<34} {str(nib_full.shape):<16} {(time.perf_counter() - t) * 1e3:8.2f} ms")
print("  affine:")
for row in vol.affine:
    print("    " + "  ".join(f"{v:8.2f}" for v in row))

# Any TileDB tool reads what radi wrote.
import tiledb
uri = f"{ds}/collections/FLAIR/volumes/0"
with tiledb.open(uri) as A:
    assert np.array_equal(A[:]["voxels"], radi.Volume(uri).to_numpy())
print("  TileDB-Py reads the same voxels")
PY

echo
echo "== radi slice -> PNG =="
obs=$("$radi" ls --json "$ds" | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); c=[c for c in d["collections"] if c["name"]=="FLAIR"][0]; print(c["volumes"][0]["obs_id"])')
"$radi" slice "$ds" --collection FLAIR --obs-id "$obs" --axial 77 -o "$out/flair_axial77.png"
echo "  wrote $out/flair_axial77.png"
du -sh "$ds" | awk '{print "  dataset on disk: " $1}'
