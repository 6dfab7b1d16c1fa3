"""S3Config and the context's options: radiobject 0.1.1's defaults and checks, the new
fields, secrets masked everywhere, the options reaching the C library (a bad value
surfaces from C), the AWS environment and ~/.aws resolved by C in a fresh process with
a temporary HOME (problems reported by the first s3:// call only), and the check of the
ctypes mirrors against radi_abi_sizeof.
"""
import ctypes as C
import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import radi
from radi import RadiError, RadiInvalidError, S3Config, configure, get_config
from radi import _capi, _lib

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEYID = "AKIAIOSFODNN7EXAMPLE"
RO_FIELDS = ("region", "endpoint", "use_virtual_addressing", "max_parallel_ops",
             "multipart_part_size_mb", "include_credentials")


@pytest.fixture(autouse=True)
def default_s3():
    configure(s3=S3Config())
    yield
    configure(s3=S3Config())


# ------------------------------------------------------------------ the record --

def test_defaults_equal_radiobject_011():
    ro = importlib.import_module("radiobject.ctx").S3Config()  # radiobject.ctx is shadowed by a function
    ours = S3Config()
    assert {f: getattr(ours, f) for f in RO_FIELDS} == {f: getattr(ro, f) for f in RO_FIELDS}
    assert set(RO_FIELDS) <= set(type(ro).model_fields) | set(RO_FIELDS)
    assert (ours.scheme, ours.connect_timeout_ms, ours.request_timeout_ms, ours.max_retries,
            ours.verify_ssl, ours.ca_file, ours.profile) == (None, 3000, 30000, 5, True, None, None)
    assert (ours.aws_access_key_id, ours.aws_secret_access_key, ours.aws_session_token) == (None,) * 3
    assert get_config().s3 == S3Config()


@pytest.mark.parametrize("kwargs", [dict(max_parallel_ops=0), dict(multipart_part_size_mb=4)])
def test_validation_as_radiobject_011(kwargs):
    ro = importlib.import_module("radiobject.ctx").S3Config
    with pytest.raises(ValueError):
        ro(**kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        S3Config(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(region=""), "region"),
    (dict(scheme="ftp"), "scheme"),
    (dict(endpoint="ftp://host"), "endpoint"),
    (dict(endpoint=""), "endpoint"),
    (dict(endpoint="http://host/bucket"), "endpoint"),
    (dict(endpoint="http://user:pw@host"), "endpoint"),
    (dict(endpoint="http://h:1", scheme="https"), "contradicts"),
    (dict(max_parallel_ops=1025), "max_parallel_ops"),
    (dict(multipart_part_size_mb=5121), "multipart_part_size_mb"),
    (dict(connect_timeout_ms=0), "connect_timeout_ms"),
    (dict(request_timeout_ms="1"), "request_timeout_ms"),
    (dict(max_retries=-1), "max_retries"),
    (dict(max_retries=True), "max_retries"),
    (dict(ca_file=""), "ca_file"),
    (dict(profile=""), "profile"),
    (dict(aws_access_key_id=KEYID), "together"),
    (dict(aws_secret_access_key=SECRET), "together"),
    (dict(aws_session_token=SECRET), "aws_session_token"),
])
def test_validation_of_new_fields(kwargs, match):
    with pytest.raises(ValueError, match=match) as e:
        S3Config(**kwargs)
    assert SECRET not in str(e.value) and KEYID not in str(e.value)


def test_secrets_never_in_messages_or_repr():
    for bad in (dict(aws_access_key_id=KEYID, aws_secret_access_key=12345678),
                dict(aws_access_key_id=KEYID, aws_secret_access_key=SECRET + "\n"),
                dict(aws_access_key_id=KEYID + "\x00", aws_secret_access_key=SECRET)):
        with pytest.raises(ValueError) as e:
            S3Config(**bad)
        assert "12345678" not in str(e.value) and SECRET not in str(e.value) and KEYID not in str(e.value)
    s3 = S3Config(aws_access_key_id=KEYID, aws_secret_access_key=SECRET, aws_session_token="TOK" + SECRET,
                  profile="dev")
    configure(s3=s3)
    for text in (repr(s3), str(s3), repr(get_config()), str(get_config())):
        assert SECRET not in text and KEYID not in text and "TOK" not in text
        assert "aws_secret_access_key='***'" in text and "profile='dev'" in text
    assert "aws_secret_access_key=None" in repr(S3Config())
    assert s3.aws_secret_access_key == SECRET  # masked in text only
    _lib.context()  # explicit keys are a valid pair for C as well


def test_endpoint_url_and_scheme():
    s3 = S3Config(endpoint="http://127.0.0.1:9000")
    opts = dict(s3._options())
    assert opts["vfs.s3.endpoint"] == "http://127.0.0.1:9000"
    # Left at 0.1.1's default (True), addressing is C's choice: path style for an endpoint.
    assert "vfs.s3.use_virtual_addressing" not in opts and "vfs.s3.scheme" not in opts
    configure(s3=s3)
    _lib.context()
    assert S3Config(endpoint="https://minio.local/", scheme="https").scheme == "https"
    assert dict(S3Config(endpoint="minio.local:9000", scheme="http")._options())["vfs.s3.scheme"] == "http"


def test_options_passed_only_when_chosen():
    base = dict(S3Config()._options())
    assert "vfs.s3.region" not in base  # AWS_REGION / ~/.aws/config may decide
    assert not any(k.startswith("vfs.s3.aws_") for k in base)
    assert base["vfs.s3.max_parallel_ops"] == "8" and base["vfs.s3.multipart_part_size_mb"] == "50"
    assert dict(S3Config(region="us-east-1")._options())["vfs.s3.region"] == "us-east-1"
    assert dict(S3Config(use_virtual_addressing=True)._options())["vfs.s3.use_virtual_addressing"] == "true"
    s3 = S3Config()
    s3.region = "eu-west-1"  # changed after construction: still chosen
    assert dict(s3._options())["vfs.s3.region"] == "eu-west-1"
    # include_credentials=False: an explicitly empty pair, i.e. anonymous requests.
    anon = dict(S3Config(include_credentials=False)._options())
    assert anon["vfs.s3.aws_access_key_id"] == "" and anon["vfs.s3.aws_secret_access_key"] == ""
    keys = dict(S3Config(include_credentials=False, aws_access_key_id="a", aws_secret_access_key="b")._options())
    assert keys["vfs.s3.aws_access_key_id"] == "a" and keys["vfs.s3.aws_secret_access_key"] == "b"


# -------------------------------------------------------------- reaching C --

def test_bad_option_surfaces_from_c():
    s3 = S3Config()
    s3.scheme = "ftp"  # past the Python check: C must refuse it
    configure(s3=s3)
    with pytest.raises(RadiInvalidError, match="vfs.s3.scheme"):
        _lib.context()
    s3 = S3Config()
    s3.max_parallel_ops = 0
    configure(s3=s3)
    with pytest.raises(RadiInvalidError, match="vfs.s3.max_parallel_ops"):
        _lib.context()
    s3 = S3Config(aws_access_key_id="a", aws_secret_access_key="b")
    s3.aws_secret_access_key = SECRET + "\x01"
    configure(s3=s3)
    with pytest.raises(RadiInvalidError, match="vfs.s3.aws_secret_access_key") as e:
        _lib.context()
    assert SECRET not in str(e.value)


def test_context_rebuilt_when_s3_changes():
    a = _lib.context()
    configure(s3=S3Config())
    assert _lib.context() is a  # same settings, same context
    configure(s3=S3Config(region="eu-west-1"))
    b = _lib.context()
    assert b is not a and dict(b.key)["vfs.s3.region"] == "eu-west-1"
    configure(s3=S3Config(region="eu-west-1", max_retries=0))
    assert _lib.context() is not b


def test_options_read_back_masked():
    L = _lib.lib()
    o = C.c_void_p()
    _lib.check(L.radi_options_create(C.byref(o)))
    try:
        for k, v in S3Config(aws_access_key_id=KEYID, aws_secret_access_key=SECRET, region="r1")._options():
            _lib.check(L.radi_options_set(o, k.encode(), v.encode()))
        out = C.c_char_p()
        _lib.check(L.radi_options_get(o, b"vfs.s3.aws_secret_access_key", C.byref(out)))
        assert out.value == b"***"
        _lib.check(L.radi_options_get(o, b"vfs.s3.region", C.byref(out)))
        assert out.value == b"r1"
        with pytest.raises(RadiInvalidError, match="unknown option"):
            _lib.check(L.radi_options_set(o, b"vfs.s3.endpoint_override", b"x"))
    finally:
        L.radi_options_free(o)


# ------------------------------------------- environment and ~/.aws (fresh process) --

# An endpoint nobody listens on, no retries: a real transport fails at once; the point
# of each run is which error the first s3:// call reports.
_PROBE = textwrap.dedent("""
    import os, sys, radi
    from radi import S3Config, configure
    kw = eval(sys.argv[1])
    configure(s3=S3Config(endpoint="http://127.0.0.1:9", max_retries=0, connect_timeout_ms=200, **kw))
    os.makedirs("local", exist_ok=True)
    radi._lib.context()                       # the context builds whatever the S3 setup
    try:
        radi.consolidate("s3://bucket/array")
    except radi.RadiError as e:
        print("ERROR:", e)
    else:
        print("OK")
""")


def _child_env(**extra):
    """This environment without AWS_*, the library found from any directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(RADI_LIBRARY=str(_lib.library_path().resolve()), PYTHONPATH=os.pathsep.join(sys.path),
               **extra)
    return env


def _probe(tmp_path, env_extra, files=None, **kwargs):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (home / ".aws" / name).write_text(text)
    env = _child_env(HOME=str(home), **env_extra)
    p = subprocess.run([sys.executable, "-c", _PROBE, repr(kwargs)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_half_pair_in_environment_is_reported_by_first_s3_call(tmp_path):
    out = _probe(tmp_path, {"AWS_ACCESS_KEY_ID": KEYID})
    assert "ERROR:" in out and "AWS_SECRET_ACCESS_KEY" in out and KEYID not in out
    # include_credentials=False: the environment's keys are not used at all.
    out = _probe(tmp_path, {"AWS_ACCESS_KEY_ID": KEYID}, include_credentials=False)
    assert "AWS_SECRET_ACCESS_KEY" not in out


def test_malformed_credentials_file_reported_without_secrets(tmp_path):
    creds = f"[default]\naws_access_key_id = {KEYID}\naws_secret_access_key {SECRET}\n"
    out = _probe(tmp_path, {}, {"credentials": creds})
    assert "ERROR:" in out and "credentials" in out and "line 3" in out
    assert SECRET not in out and KEYID not in out
    # Explicit keys: the file is not needed, so it is not the problem.
    out = _probe(tmp_path, {}, {"credentials": creds}, aws_access_key_id="a", aws_secret_access_key="b",
                 region="us-east-1", use_virtual_addressing=False)
    assert "line 3" not in out


def test_profiles_from_shared_files(tmp_path):
    files = {"credentials": "[dev]\naws_access_key_id = A\naws_secret_access_key = B\n",
             "config": "[profile dev]\nregion = eu-central-1\n"}
    out = _probe(tmp_path, {"AWS_PROFILE": "nosuch"}, files)
    assert "'nosuch'" in out
    for env, kw in (({"AWS_PROFILE": "dev"}, {}), ({}, {"profile": "dev"})):
        out = _probe(tmp_path, env, files, **kw)
        assert "ERROR:" in out and "profile" not in out and "AWS_" not in out, out
    out = _probe(tmp_path, {}, files, profile="other")
    assert "'other'" in out
    # A bad endpoint in the environment is named (an explicit endpoint would win: none here).
    code = ("import radi; radi._lib.context()\n"
            "try:\n    radi.consolidate('s3://b/a')\nexcept radi.RadiError as e:\n    print(e)\n")
    env = _child_env(HOME=str(tmp_path), AWS_ENDPOINT_URL="ftp://x")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "AWS_ENDPOINT_URL" in p.stdout, p.stdout + p.stderr


# --------------------------------------------------------------------- ABI check --

def test_abi_check_catches_a_wrong_mirror():
    L = _lib.lib()
    _capi.check_abi(L)  # the package's mirrors match the library

    class WrongConfig(C.Structure):
        _fields_ = [("memory_budget", C.c_uint64)]  # format_version forgotten

    with pytest.raises(RadiError, match="radi_config"):
        _capi.check_abi(L, mirrors={"radi_config": WrongConfig})
    with pytest.raises(RadiError, match="radi_no_such_struct"):
        _capi.check_abi(L, mirrors={"radi_no_such_struct": WrongConfig})
    for name, cls in _capi.ABI_MIRRORS.items():
        assert L.radi_abi_sizeof(name.encode()) == C.sizeof(cls), name


def test_wrong_mirror_refused_at_load():
    code = ("import ctypes as C, radi\n"
            "from radi import _capi, _lib\n"
            "class Bad(C.Structure):\n    _fields_ = [('x', C.c_uint8)]\n"
            "_capi.ABI_MIRRORS['radi_filter_list'] = Bad\n"
            "try:\n    _lib.lib()\nexcept radi.RadiError as e:\n    print('REFUSED', e)\n"
            "else:\n    print('LOADED')\n")
    p = subprocess.run([sys.executable, "-c", code], env=_child_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("REFUSED") and "radi_filter_list" in p.stdout, p.stdout
    assert radi._lib._lib is not None  # this process loaded fine
