"""radi.Dataframe's Python API: properties, reads by key and by filter, from_pandas and
update round trips, and the errors (positioned filter errors, bad keys, wrong dtypes).
TileDB-Py agreement is in test_oracle_sparse.py."""
import os

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import radi
from radi import Dataframe, RadiError, RadiExistsError, RadiInvalidError, RadiNotFoundError


def frame():
    return pd.DataFrame({
        "sid": ["s3", "s1", "s2", "s10", "é"],
        "age": np.array([40, 25, 61, 33, 70], dtype=np.int64),
        "sex": ["F", "M", "F", "", "M"],
        "score": [1.5, np.nan, 3.0, 0.25, -1.0],
        "grade": pd.array([1, None, 3, 2, None], dtype="Int16"),
        "site": pd.array(["A", "B", None, "A", "C"], dtype="string"),
        "ok": [True, False, True, True, False],
    })


@pytest.fixture
def table(tmp_path):
    return Dataframe.from_pandas(str(tmp_path / "t"), frame(), index_columns=["sid"])


def sorted_frame(df=None, key="sid"):
    df = frame() if df is None else df
    order = sorted(range(len(df)), key=lambda i: df[key].iloc[i].encode())
    return df.iloc[order].reset_index(drop=True)


def same(got, want):
    pdt.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


# --------------------------------------------------------------- properties --

def test_exported_and_pandas_is_lazy():
    import subprocess
    import sys
    assert radi.Dataframe is Dataframe and "Dataframe" in radi.__all__
    code = "import sys, radi; radi.Dataframe; assert 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))


def test_properties(table):
    assert table.index_columns == ("sid",)
    assert table.columns == ["age", "sex", "score", "grade", "site", "ok"]
    assert table.all_columns == ["sid"] + table.columns
    assert table.dtypes == {"age": np.dtype("int64"), "sex": np.dtype("<U0"), "score": np.dtype("float64"),
                            "grade": np.dtype("int16"), "site": np.dtype("<U0"), "ok": np.dtype("bool")}
    assert table.nullable == {"age": False, "sex": False, "score": False, "grade": True, "site": True,
                              "ok": False}
    assert len(table) == 5 and table.shape == (5, 6)
    assert "Dataframe(" in repr(table) and "'sid'" in repr(table)
    assert Dataframe(table.uri).columns == table.columns


def test_read_whole_table_round_trips_dtypes(table):
    got = table.read()
    same(got, sorted_frame())
    assert isinstance(got.index, pd.RangeIndex)
    assert str(got.grade.dtype) == "Int16" and str(got.site.dtype) == "string"
    assert got.sid.tolist() == ["s1", "s10", "s2", "s3", "é"]  # byte order of the keys


def test_read_columns(table):
    want = sorted_frame()
    same(table.read(columns=["ok", "age"]), want[["sid", "ok", "age"]])
    same(table.read(columns=["ok", "age"], include_index=False), want[["ok", "age"]])
    same(table.read(columns=["age", "sid"], include_index=False), want[["age", "sid"]])
    same(table.read(columns="age"), want[["sid", "age"]])
    same(table.read(columns=["age", "sid", "age"]), want[["sid", "age"]])
    got = table.read(columns=[])
    assert list(got.columns) == ["sid"] and len(got) == 5
    assert table.read(include_index=False).columns.tolist() == table.columns


def test_loc_and_index_selection(table):
    want = sorted_frame()
    same(table.loc["s2"], want[want.sid == "s2"])
    same(table.loc["nope"], want.iloc[:0])
    same(table.loc[["s3", "s1", "zz"]], want[want.sid.isin(["s1", "s3"])])
    same(table.loc[np.array(["s3"], dtype=object)], want[want.sid == "s3"])
    same(table.loc[pd.Index(["s3", "é"])], want[want.sid.isin(["s3", "é"])])
    same(table.loc["s10":"s2"], want[want.sid.isin(["s10", "s2"])])  # inclusive, byte order
    same(table.loc["s2":], want[want.sid.isin(["s2", "s3", "é"])])
    same(table.loc[:"s10"], want[want.sid.isin(["s1", "s10"])])
    same(table.loc[:], want)
    same(table.loc[[]], want.iloc[:0])
    same(table.loc["z":"a"], want.iloc[:0])
    same(table.loc[("s1",)], want[want.sid == "s1"])
    same(table.loc[{"sid": ["s1", "s2"]}], want[want.sid.isin(["s1", "s2"])])
    same(table.read(columns=["age"], index=["s1", "s3"], value_filter="age > 30"),
         want[want.sid == "s3"][["sid", "age"]])


def test_integer_keys(tmp_path):
    src = pd.DataFrame({"id": np.array([5, -3, 100, 7, 0], dtype=np.int32), "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    df = Dataframe.from_pandas(str(tmp_path / "i"), src.set_index("id"))
    want = src.sort_values("id").reset_index(drop=True)
    same(df.read(), want)
    same(df.loc[0:7], want[want.id.between(0, 7)])
    same(df.loc[[100, -3, 6]], want[want.id.isin([100, -3])])
    same(df.loc[:0], want[want.id <= 0])
    same(df.loc[7.0], want[want.id == 7])
    same(df.read(value_filter="id >= 5 and v < 4"), want[(want.id >= 5) & (want.v < 4)])
    df.update(pd.DataFrame({"id": [2**31 - 10000, -(2**31)], "v": [9.0, 8.0]}))
    assert df.loc[2**31 - 10000].v.tolist() == [9.0] and df.loc[-(2**31)].v.tolist() == [8.0]
    same(df.loc[-(2**40):-(2**31)], df.read().iloc[:1])  # bounds past the type clamp
    with pytest.raises(RadiInvalidError, match="holds int32 values"):
        df.loc["a"]
    with pytest.raises(RadiInvalidError, match="holds int32 values"):
        df.loc[1.5]


def test_two_key_columns_and_multiindex(tmp_path):
    src = pd.DataFrame({"subj": ["a", "a", "b", "c"], "obs": ["a_T1", "a_T2", "b_T1", "c_T1"],
                        "n": [1, 2, 3, 4]})
    df = Dataframe.from_pandas(str(tmp_path / "m"), src.set_index(["subj", "obs"]))
    assert df.index_columns == ("subj", "obs")
    same(df.read(), src)
    same(df.loc["a"], src[src.subj == "a"])
    same(df.loc["a", "a_T2"], src.iloc[[1]])
    same(df.loc[:, ["b_T1", "c_T1"]], src.iloc[[2, 3]])
    same(df.loc[{"obs": "a_T1"}], src.iloc[[0]])
    with pytest.raises(RadiInvalidError, match="3 entries but the table has 2 index columns"):
        df.loc["a", "b", "c"]
    with pytest.raises(RadiInvalidError, match="'n' is not an index column"):
        df.loc[{"n": 1}]
    with pytest.raises(RadiInvalidError, match="take no step"):
        df.loc["a":"c":2]
    with pytest.raises(RadiInvalidError, match="holds strings"):
        df.loc[3]


# ------------------------------------------------------------------ filters --

def test_filters(table):
    want = sorted_frame()
    cases = {
        "age > 30 and sex == 'F'": (want.age > 30) & (want.sex == "F"),
        "not (age > 30) or sid == 'é'": (want.age <= 30) | (want.sid == "é"),
        "sex in ['F', '']": want.sex.isin(["F", ""]),
        "sex not in ['F', '']": ~want.sex.isin(["F", ""]),
        'site == "A"': (want.site == "A").fillna(False).astype(bool),
        "grade >= 2": (want.grade >= 2).fillna(False).astype(bool),
        "score < 2": want.score < 2,           # NaN compares false
        "ok == True": want.ok,
        "sid >= 's2'": want.sid >= "s2",
        "40 <= age": want.age >= 40,
    }
    for expr, mask in cases.items():
        same(table.read(value_filter=expr), want[mask.to_numpy()])


def test_filter_errors_have_positions(table):
    with pytest.raises(RadiInvalidError) as e:
        table.read(value_filter="age > 30 and weight < 3")
    assert "at column 14: unknown column 'weight'" in str(e.value)
    with pytest.raises(RadiInvalidError, match="at column 5: expected a value after '>'"):
        table.read(value_filter="age >")
    with pytest.raises(RadiInvalidError, match=r"at column 9: expected '\)' to close the '\(' at column 1"):
        table.read(value_filter="(age > 3")
    with pytest.raises(RadiInvalidError, match="'=' is assignment; use '=='"):
        table.read(value_filter="age = 3")
    with pytest.raises(RadiInvalidError, match="at column 7: cannot compare string 'x' with a number column"):
        table.read(value_filter="age > 'x'")
    with pytest.raises(RadiInvalidError, match="unterminated string"):
        table.read(value_filter="sex == 'F")
    with pytest.raises(RadiInvalidError, match="the expression is empty"):
        table.read(value_filter="   ")
    with pytest.raises(RadiInvalidError, match="missing 'and'/'or'"):
        table.read(value_filter="age > 3 sex == 'F'")
    with pytest.raises(RadiInvalidError, match="unknown column 'nope'"):
        table.read(value_filter="nope == 1", index=[])   # reported even when no row is read
    with pytest.raises(RadiInvalidError, match="value_filter must be a string"):
        table.read(value_filter=3)
    with pytest.raises(RadiInvalidError, match="no column named 'nope'"):
        table.read(columns=["age", "nope"])


# ------------------------------------------------------------------- writes --

def test_update_upserts_one_fragment(table, oracle):
    n_frag = len(oracle.array_fragments(table.uri))
    table.update(pd.DataFrame({"sid": ["s1", "new"], "age": [26, 18], "sex": ["M", "F"], "score": [0.0, 1.0],
                               "grade": pd.array([None, 4], dtype="Int16"), "site": ["Z", None],
                               "ok": [True, True]}))
    assert len(oracle.array_fragments(table.uri)) == n_frag + 1
    got = table.read().set_index("sid")
    assert len(got) == 6 and got.loc["s1", "age"] == 26 and got.loc["new", "sex"] == "F"
    assert got.loc["new", "site"] is pd.NA and got.loc["s1", "grade"] is pd.NA
    # Key as a named index; columns in any order.
    table.update(pd.DataFrame({"ok": [False], "age": [1], "sex": ["x"], "score": [2.0], "grade": [7],
                               "site": ["q"]}, index=pd.Index(["s2"], name="sid")))
    assert table.loc["s2"].age.tolist() == [1] and table.loc["s2"].grade.tolist() == [7]
    # Partial update: the other columns keep their values.
    table.update(pd.DataFrame({"sid": ["s3", "new"], "score": [9.5, 8.5]}))
    row = table.loc["s3"].iloc[0]
    assert row.score == 9.5 and row.age == 40 and row.sex == "F" and row.site == "A"
    # Nothing to write: no fragment.
    n_frag = len(oracle.array_fragments(table.uri))
    table.update(frame().iloc[:0])
    assert len(oracle.array_fragments(table.uri)) == n_frag


def test_update_errors(table):
    base = frame().iloc[[0]].reset_index(drop=True)
    with pytest.raises(RadiInvalidError, match=r"unknown column\(s\) \['extra'\]"):
        table.update(base.assign(extra=1))
    with pytest.raises(RadiInvalidError, match=r"must contain index column\(s\) \['sid'\]"):
        table.update(base.drop(columns="sid"))
    with pytest.raises(RadiInvalidError, match="column 'age' holds int64 values, got <U5 \\(e.g. 'forty'\\)"):
        table.update(base.assign(age=["forty"]))
    with pytest.raises(RadiInvalidError, match="column 'age' holds int64 values, got non-integral"):
        table.update(base.assign(age=[40.5]))
    with pytest.raises(RadiInvalidError, match=r"column 'grade' \(int16\) cannot hold 40000"):
        table.update(base.assign(grade=[40000]))
    with pytest.raises(RadiInvalidError, match="column 'sex' holds strings, got 3 at row 0"):
        table.update(base.assign(sex=[3]))
    with pytest.raises(RadiInvalidError, match="column 'age' is not nullable but holds a NULL/NaN at row 0"):
        table.update(base.assign(age=pd.array([None], dtype="Int64")))
    with pytest.raises(RadiInvalidError, match="column 'sex' is not nullable"):
        table.update(base.assign(sex=[None]))
    with pytest.raises(RadiInvalidError, match="column 'ok' holds booleans"):
        table.update(base.assign(ok=[5]))
    with pytest.raises(RadiInvalidError, match="column 'age' is missing from the update and is not nullable"):
        table.update(pd.DataFrame({"sid": ["brand-new"], "score": [1.0]}))
    with pytest.raises(RadiInvalidError, match="expects a pandas DataFrame"):
        table.update({"sid": ["a"]})
    assert len(table) == 5  # nothing was written by the failed updates
    # Accepted conversions: ints into a float column, whole floats into an int column,
    # 0/1 into a bool column.
    table.update(base.assign(score=[3], age=[41.0], ok=[0]))
    row = table.loc["s3"].iloc[0]
    assert row.score == 3.0 and row.age == 41 and not row.ok


def test_from_pandas_errors(tmp_path):
    uri = str(tmp_path / "x")
    src = frame()
    with pytest.raises(RadiInvalidError, match="give index_columns"):
        Dataframe.from_pandas(uri, src)
    with pytest.raises(RadiInvalidError, match=r"must contain index column\(s\) \['nope'\]"):
        Dataframe.from_pandas(uri, src, index_columns=["nope"])
    with pytest.raises(RadiInvalidError, match="index column 'fl': keys must be strings or integers"):
        Dataframe.from_pandas(uri, src.assign(fl=1.5), index_columns=["fl"])
    with pytest.raises(RadiInvalidError, match="index column 'score' holds NULL/NaN keys"):
        Dataframe.from_pandas(uri, src, index_columns=["score"])
    with pytest.raises(RadiInvalidError, match="index column 'site' holds NULL/NaN keys"):
        Dataframe.from_pandas(uri, src, index_columns=["site"])
    with pytest.raises(RadiInvalidError, match="column 'when': dtype datetime64"):
        Dataframe.from_pandas(uri, src.assign(when=pd.Timestamp("2020-01-01")), index_columns=["sid"])
    with pytest.raises(RadiInvalidError, match="column 'cat': categorical"):
        Dataframe.from_pandas(uri, src.assign(cat=pd.Categorical(["a"] * 5)), index_columns=["sid"])
    with pytest.raises(RadiInvalidError, match="column 'mix': object column holding mixed"):
        Dataframe.from_pandas(uri, src.assign(mix=[1, "a", 2.0, None, b"x"]), index_columns=["sid"])
    with pytest.raises(RadiInvalidError, match="repeat a name"):
        Dataframe.from_pandas(uri, src, index_columns=["sid", "sid"])
    assert not os.path.exists(uri)
    Dataframe.from_pandas(uri, src, index_columns="sid")
    with pytest.raises(RadiExistsError):
        Dataframe.from_pandas(uri, src, index_columns="sid")


def test_open_errors(tmp_path):
    with pytest.raises(RadiNotFoundError):
        Dataframe(str(tmp_path / "missing"))
    vol = radi.Volume.from_numpy(str(tmp_path / "vol"), np.zeros((2, 2, 2), dtype=np.uint8))
    with pytest.raises(RadiInvalidError, match="not a sparse array"):
        Dataframe(vol.uri)
    assert issubclass(RadiInvalidError, RadiError)


def test_bytes_and_long_strings(tmp_path):
    big = "ü" * 70000
    src = pd.DataFrame({"k": ["a", "b", "c"], "blob": [b"\x00\x01", b"", b"\xff"], "s": [big, "", "日本"]})
    df = Dataframe.from_pandas(str(tmp_path / "b"), src, index_columns=["k"])
    got = df.read()
    same(got, src)
    assert got.s.iloc[0] == big and df.read(value_filter="s == '日本'").k.tolist() == ["c"]


def test_100k_rows_round_trip(tmp_path):
    n = 100_000
    rng = np.random.default_rng(0)
    src = pd.DataFrame({"id": ["id-%06d" % i for i in rng.permutation(n)],
                        "x": rng.integers(0, 1000, n), "name": ["n%d" % (i % 97) for i in range(n)]})
    df = Dataframe.from_pandas(str(tmp_path / "big"), src, index_columns=["id"])
    assert len(df) == n
    same(df.read(), src.sort_values("id").reset_index(drop=True))
    assert df.loc["id-004242"].id.tolist() == ["id-004242"]
    assert len(df.read(value_filter="x < 10 and name == 'n3'")) == int(((src.x < 10) & (src.name == "n3")).sum())


@pytest.mark.parametrize("arrow", [True, False])
def test_string_paths_with_and_without_pyarrow(tmp_path, monkeypatch, arrow):
    """pyarrow (when installed) converts string columns in C; the pure-Python path must
    give the same frames, and both keep invalid UTF-8 as surrogate escapes."""
    from radi import dataframe as dfm
    monkeypatch.setattr(dfm, "_USE_ARROW", arrow)
    src = pd.DataFrame({"k": ["b", "a", "ü", "c"], "s": ["x", "", "日本", "ü" * 40000],
                        "n": ["p", None, "", "q"], "raw": [b"\x00", b"", b"\xff\xfe", b"z"]})
    df = Dataframe.from_pandas(str(tmp_path / "s"), src, index_columns=["k"])
    same(df.read(), sorted_frame(src, "k"))
    df.update(pd.DataFrame({"k": ["bad"], "s": [b"ok\xff"], "n": [None], "raw": [b""]}))
    got = df.loc["bad"].iloc[0]
    assert got.s == "ok\udcff" and got.n is None
    df.update(pd.DataFrame({"k": ["bad2"], "s": [got.s], "n": ["x"], "raw": [b"1"]}))
    assert df.loc["bad2"].s.tolist() == ["ok\udcff"]
    assert df.read(value_filter="s == 'ok'").empty
