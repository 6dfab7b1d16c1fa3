#!/usr/bin/env python3
"""The zarr v3 + s3fs side of bench/bench_s3.py, run by it with .venv-bench's interpreter
(bench/setup_bench.sh): s3fs needs an older botocore than .venv's boto3, so zarr cannot
run in the benchmark's own process.

    zarr_s3_worker.py ENDPOINT_URL ZARR_URL

One JSON command per line on stdin, one JSON answer per line on stdout, so that the
benchmark can count the proxy's requests around each call and interleave zarr with the
other systems:

    {"op": "write", "npy": PATH}   create the array (axial chunks X×Y×1, zstd 3) and write
                                   the volume in PATH
    {"op": "hold"}                 open the array once, for the held-handle reads
    {"op": OP, "out": PATH|null}   time one OP (open, open_axial, axial, roi, full, see OPS);
                                   with "out", also save its result to PATH (.npy)
    {"op": "quit"}
Answers: {"t": seconds} or {"error": text}. The timing is taken here, around the call
alone.
"""
import json
import sys
import time

import numpy as np
import zarr
from zarr.storage import FsspecStore

AXIAL_Z = 77
ROI = (slice(90, 154), slice(100, 164), slice(40, 104))  # bench_radiobject.ROI


def main():
    endpoint, url = sys.argv[1], sys.argv[2]
    # Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (moto ignores them).
    opts = {"endpoint_url": endpoint, "client_kwargs": {"region_name": "us-east-1"}}
    store = FsspecStore.from_url(url, storage_options=opts)
    held = None

    def open_():
        return zarr.open_array(store, mode="r")

    ops = {"open": open_,
           "open_axial": lambda: open_()[:, :, AXIAL_Z],
           "axial": lambda: held[:, :, AXIAL_Z],
           "roi": lambda: held[ROI],
           "full": lambda: held[...]}
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op == "quit":
                break
            t = time.perf_counter()
            if op == "write":
                data = np.load(cmd["npy"])
                z = zarr.create_array(store, shape=data.shape, dtype=data.dtype,
                                      chunks=(data.shape[0], data.shape[1], 1),
                                      compressors=zarr.codecs.ZstdCodec(level=3), overwrite=True)
                z[...] = data
                out = None
            elif op == "hold":
                held = open_()
                out = None
            else:
                out = ops[op]()
            t = time.perf_counter() - t
            if cmd.get("out") and out is not None and not isinstance(out, zarr.Array):
                np.save(cmd["out"], np.asarray(out))
            answer = {"t": t}
        except Exception as e:  # noqa: BLE001 - reported to the benchmark, which stops
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
