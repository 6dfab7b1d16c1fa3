# ---------------------------------------------------------------------------------------
# upstream_compat override (appended to 0.1.1's conftest.py at run time by run_tests.py,
# for the radi run only). 0.1.1's fixtures below build collections and datasets through
# its private VolumeCollection._from_volumes and RadiObject._from_volume_collections; these
# redefinitions (same names, so they replace the ones above) build the same data (same
# subjects, obs_ids, voxels, collection names, obs_meta) through radi's public
# RadiObject.from_niftis. Fixtures that use only public API (volumes, set_obs_id, ...) are
# left as 0.1.1 wrote them.
# ---------------------------------------------------------------------------------------
import radi as _radi

_COMPAT_NIFTI_CACHE: dict = {}


def _compat_channel_nifti(cache_dir: Path, entry: dict, channel: int) -> Path:
    """Channel `channel` of a 4D sample as a float32 .nii (written once per session)."""
    key = (entry["sample_id"], channel)
    if key not in _COMPAT_NIFTI_CACHE:
        cache_dir.mkdir(parents=True, exist_ok=True)
        img = nib.load(_get_nifti_data_dir() / entry["image_path"])
        data = np.asarray(img.dataobj, dtype=np.float32)
        if data.ndim == 4:
            data = data[..., channel]
        p = cache_dir / f"{entry['sample_id']}_c{channel}.nii"
        nib.save(nib.Nifti1Image(data, img.affine), str(p))
        _COMPAT_NIFTI_CACHE[key] = p
    return _COMPAT_NIFTI_CACHE[key]


_COMPAT_CACHE_DIR = Path(tempfile.mkdtemp(prefix="upstream_compat_niftis_"))
_COMPAT_SOURCES: dict = {}  # collection uri -> [(path, subject, obs_id)]


def _compat_collections(temp_dir: Path, manifest: list, modalities: list) -> dict:
    entries = manifest[:3]
    images = {mod: [(str(_compat_channel_nifti(_COMPAT_CACHE_DIR, e, ci)), e["sample_id"],
                     f"{e['sample_id']}_{mod}") for e in entries]
              for ci, mod in enumerate(modalities)}
    ds = _radi.RadiObject.from_niftis(str(temp_dir / f"vc_dataset_{uuid.uuid4().hex[:6]}"),
                                      images=images)
    out = {}
    for mod in modalities:
        vc = ds.collection(mod)
        _COMPAT_SOURCES[str(vc.uri)] = images[mod]
        out[mod] = vc
    return out


def _compat_populated_collection(temp_dir: Path, manifest: list):
    # 0.1.1's fixture: channel 0 of the first 3 samples, obs_id "<sample>_flair", and (no
    # obs_data) the obs_id as subject id.
    srcs = [(str(_compat_channel_nifti(_COMPAT_CACHE_DIR, e, 0)), f"{e['sample_id']}_flair",
             f"{e['sample_id']}_flair") for e in manifest[:3]]
    ds = _radi.RadiObject.from_niftis(str(temp_dir / "populated_collection"),
                                      images={"flair": srcs})
    return ds.collection("flair")


def _create_radi_object(uri, collections, manifest, ctx=None):
    subject_ids = [entry["sample_id"] for entry in manifest[:3]]
    images = {name: _COMPAT_SOURCES[str(vc.uri)] for name, vc in collections.items()}
    return _radi.RadiObject.from_niftis(uri, images=images,
                                        obs_meta=pd.DataFrame({"obs_subject_id": subject_ids}))


@pytest.fixture
def populated_collection(temp_dir, nifti_manifest):
    return _compat_populated_collection(temp_dir, nifti_manifest)


@pytest.fixture(scope="module")
def populated_collection_module(temp_dir_module):
    return _compat_populated_collection(temp_dir_module,
                                        _get_manifest_cached("msd-brain-tumour"))


@pytest.fixture
def volume_collections(temp_dir, nifti_manifest):
    return _compat_collections(temp_dir, nifti_manifest, ["flair", "T1w", "T1gd", "T2w"])


@pytest.fixture(scope="module")
def volume_collections_module(temp_dir_module):
    return _compat_collections(temp_dir_module, _get_manifest_cached("msd-brain-tumour"),
                               ["flair", "T1w", "T1gd", "T2w"])
