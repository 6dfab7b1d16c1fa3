# The code cells of the project's seed notebook "Storage & Configuration", VERBATIM and in
# order (12 cells, original imports included: `from src.* import ...`, `from config import
# BRATS_URI, S3_REGION`, `import matplotlib.pyplot as plt`). Do not edit: this is the
# specification that tests/python/test_seed_notebook.py runs top to bottom, after rewriting
# only the import lines. Each cell follows a `# %% cell N` line; the blank line before the
# next marker is not part of the cell. (Cell 10 has one line of four spaces, as in the seed.)

# %% cell 1
import sys
sys.path.insert(0, '..')

import tempfile
import shutil
from pathlib import Path
import time
import os

import numpy as np
import matplotlib.pyplot as plt

from config import BRATS_URI, S3_REGION
from src.radi_object import RadiObject
from src.volume import Volume
from src.ctx import (
    configure, get_config,
    TileConfig, CompressionConfig, IOConfig, S3Config,
    SliceOrientation, Compressor
)

TEMP_DIR = tempfile.mkdtemp(prefix="storage_tutorial_")
print(f"Working directory: {TEMP_DIR}")

# %% cell 2
# Configure S3 if using S3 URI
if BRATS_URI.startswith("s3://"):
    configure(s3=S3Config(region=S3_REGION))

# Load RadiObject from configured URI
radi = RadiObject(BRATS_URI)
print(f"Loaded: {radi}")
print(f"Collections: {radi.collection_names}")

# Quick data access example
vol = radi.FLAIR.iloc[0]
print(f"\nSample volume shape: {vol.shape}")

# %% cell 3
# Configure for axial slice access (default)
configure(
    tile=TileConfig(orientation=SliceOrientation.AXIAL),
    compression=CompressionConfig(algorithm=Compressor.ZSTD, level=3),
)

# View current configuration
config = get_config()
print(f"Tile orientation: {config.tile.orientation}")
print(f"Compression: {config.compression.algorithm}, level={config.compression.level}")

# %% cell 4
# See how tile extents are computed for different orientations
shape = (240, 240, 155)

for orient in SliceOrientation:
    tile_cfg = TileConfig(orientation=orient)
    extents = tile_cfg.extents_for_shape(shape)
    print(f"{orient.value:10s} -> tile extents: {extents}")

# %% cell 5
# Create test data
test_data = np.random.randn(240, 240, 155).astype(np.float32)

# Create volumes with different tile orientations
volumes = {}
for orient in [SliceOrientation.AXIAL, SliceOrientation.SAGITTAL, SliceOrientation.ISOTROPIC]:
    configure(tile=TileConfig(orientation=orient))
    uri = str(Path(TEMP_DIR) / f"vol_{orient.value}")
    volumes[orient.value] = Volume.from_numpy(uri, test_data)
    print(f"Created {orient.value}: {volumes[orient.value]}")

# %% cell 6
# Benchmark: read axial slices from each volume
n_reads = 50
results = {}

for name, vol in volumes.items():
    start = time.perf_counter()
    for z in range(0, 150, 3):  # Read every 3rd slice
        _ = vol.axial(z)
    elapsed = time.perf_counter() - start
    results[name] = elapsed
    print(f"{name:10s}: {elapsed*1000:.1f}ms for {n_reads} axial reads")

print(f"\nAxial-tiled is {results['isotropic']/results['axial']:.1f}x faster for axial reads")

# %% cell 7
# Benchmark: read sagittal slices
results_sag = {}

for name, vol in volumes.items():
    start = time.perf_counter()
    for x in range(0, 240, 5):
        _ = vol.sagittal(x)
    elapsed = time.perf_counter() - start
    results_sag[name] = elapsed
    print(f"{name:10s}: {elapsed*1000:.1f}ms for sagittal reads")

print(f"\nSagittal-tiled is {results_sag['axial']/results_sag['sagittal']:.1f}x faster for sagittal reads")

# %% cell 8
# Configure memory budget
configure(
    io=IOConfig(
        memory_budget_mb=1024,  # 1GB memory budget
        concurrency=4,          # 4 parallel I/O threads
    )
)

config = get_config()
print(f"Memory budget: {config.io.memory_budget_mb} MB")
print(f"I/O concurrency: {config.io.concurrency} threads")

# %% cell 9
# Configure S3 (example - requires AWS credentials)
configure(
    s3=S3Config(
        region="us-east-2",
        max_parallel_ops=16,       # Parallel S3 requests
        multipart_part_size_mb=50, # Multipart upload chunk size
    )
)

print("S3 configuration:")
print(f"  Region: {get_config().s3.region}")
print(f"  Max parallel ops: {get_config().s3.max_parallel_ops}")
print(f"  Multipart size: {get_config().s3.multipart_part_size_mb} MB")

# %% cell 10
# Compare compression sizes
test_data = np.random.randn(120, 120, 60).astype(np.float32)
uncompressed_size = test_data.nbytes

for compressor in [Compressor.NONE, Compressor.LZ4, Compressor.ZSTD, Compressor.GZIP]:
    configure(
        compression=CompressionConfig(algorithm=compressor, level=3),
        tile=TileConfig(orientation=SliceOrientation.AXIAL)
    )
    uri = str(Path(TEMP_DIR) / f"vol_{compressor.value}")
    vol = Volume.from_numpy(uri, test_data)
    
    # Get directory size
    total_size = sum(
        os.path.getsize(os.path.join(dp, f))
        for dp, dn, filenames in os.walk(uri)
        for f in filenames
    )
    ratio = uncompressed_size / total_size if total_size > 0 else 0
    print(f"{compressor.value:6s}: {total_size/1024:.1f} KB (ratio: {ratio:.2f}x)")

# %% cell 11
# Final example: configure for ML training workflow
configure(
    tile=TileConfig(orientation=SliceOrientation.ISOTROPIC),  # 64^3 cubes for ROI
    compression=CompressionConfig(algorithm=Compressor.ZSTD, level=3),
    io=IOConfig(memory_budget_mb=2048, concurrency=8),  # More memory for training
)

print("Configuration for ML training:")
config = get_config()
print(f"  Tiles: {config.tile.orientation.value}")
print(f"  Compression: {config.compression.algorithm.value}")
print(f"  Memory: {config.io.memory_budget_mb} MB")

# %% cell 12
shutil.rmtree(TEMP_DIR)
print(f"Cleaned up: {TEMP_DIR}")
