"""actcli.tasks.table_data: reading and checking a user's own table (CSV, TSV, Parquet)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from actcli.errors import DataError
from actcli.tasks.scaling import Standardize
from actcli.tasks.table_data import (
    MAX_AUTO_CLASSES,
    MIN_ROWS,
    Table,
    TableError,
    header,
    infer_kind,
    read_table,
    split_indices,
)

IRIS = Path(__file__).parent / "data" / "iris.csv"
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def error(path: Path, target: str = "y", **options) -> str:
    """The message of the TableError read_table raises: it is always one line."""
    with pytest.raises(TableError) as caught:
        read_table(path, target, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- iris: a real table, checked against its published numbers -------------------------


@pytest.fixture(scope="module")
def iris() -> Table:
    return read_table(IRIS, "species")


def test_iris_shape_and_classes(iris):
    assert iris.path == str(IRIS)
    assert iris.feature_names == IRIS_FEATURES and iris.target_name == "species"
    assert iris.kind == "classification" and iris.skipped == ()
    assert iris.classes == ("setosa", "versicolor", "virginica")
    assert iris.x.shape == (150, 4) and iris.x.dtype == np.float64
    assert iris.y.shape == (150,) and iris.y.dtype == np.int64
    assert (iris.n_rows, iris.n_features) == (150, 4)
    assert np.bincount(iris.y).tolist() == [50, 50, 50]
    assert iris.x[0].tolist() == [5.1, 3.5, 1.4, 0.2] and iris.y[0] == 0
    assert iris.x[-1].tolist() == [5.9, 3.0, 5.1, 1.8] and iris.y[-1] == 2


def test_iris_class_means_as_published(iris):
    # Fisher (1936) / UCI: a typo in tests/data/iris.csv moves one of these
    published = {"petal_length": (1.462, 4.260, 5.552), "sepal_length": (5.006, 5.936, 6.588),
                 "sepal_width": (3.428, 2.770, 2.974), "petal_width": (0.246, 1.326, 2.026)}
    for name, means in published.items():
        column = iris.x[:, IRIS_FEATURES.index(name)]
        got = [column[iris.y == k].mean() for k in range(3)]
        assert got == pytest.approx(means, abs=1e-9), name


def test_iris_header_is_cheap_and_the_same():
    assert header(IRIS) == (*IRIS_FEATURES, "species")
    assert header(str(IRIS)) == header(IRIS)


def test_default_features_skip_a_text_column(iris):
    table = read_table(IRIS, "petal_width")
    assert table.kind == "regression" and table.classes == ()
    assert table.feature_names == ("sepal_length", "sepal_width", "petal_length")
    assert table.skipped == ("species",)
    assert table.y.dtype == np.float64
    np.testing.assert_array_equal(table.y, iris.x[:, 3])
    np.testing.assert_array_equal(table.x, iris.x[:, :3])


def test_explicit_features_keep_their_order(iris):
    table = read_table(IRIS, "species", features=["petal_width", "sepal_length"])
    assert table.feature_names == ("petal_width", "sepal_length") and table.skipped == ()
    np.testing.assert_array_equal(table.x, iris.x[:, [3, 0]])
    assert read_table(IRIS, "species", features="petal_width").feature_names == ("petal_width",)


# -- the kind of the target ---------------------------------------------------------------


@pytest.mark.parametrize(("values", "kind"), [
    (["a", "b", "a"], "classification"),
    (["1", "2", "x"], "classification"),  # one value that is not a number
    (["0", "1", "2", "1"], "classification"),
    (["1.0", "2.0", "-3"], "classification"),  # whole numbers written as floats
    ([" 3 ", "4"], "classification"),
    (["1", "", "2"], "classification"),  # empty cells are not looked at
    ([str(i) for i in range(MAX_AUTO_CLASSES)], "classification"),
    ([str(i) for i in range(MAX_AUTO_CLASSES + 1)], "regression"),
    (["0.5", "1", "2"], "regression"),
    (["1", "2", "nan"], "regression"),  # so the NaN is reported, not made a class
    (["1", "inf"], "regression"),
    (["1e3", "2.5e-1"], "regression"),
])
def test_infer_kind(values, kind):
    assert infer_kind(values) == kind


def test_infer_kind_needs_a_value():
    with pytest.raises(ValueError, match="no values"):
        infer_kind(["", " "])


def test_numeric_classes_sort_numerically_as_written(tmp_path):
    path = write(tmp_path, "a,y\n1,10\n2,9\n3,2\n4,9\n")
    table = read_table(path, "y")
    assert table.kind == "classification" and table.classes == ("2", "9", "10")
    assert table.y.tolist() == [2, 1, 0, 1]


def test_classification_of_a_float_column(tmp_path):
    path = write(tmp_path, "a,y\n1,2.5\n2,0.5\n3,10\n4,.5\n5,2.50\n")
    table = read_table(path, "y", kind="classification")
    # one class per value, shown as first written; sorted as numbers ('10' after '2.5')
    assert table.classes == ("0.5", "2.5", "10")
    assert table.y.tolist() == [1, 0, 2, 0, 1]
    assert read_table(path, "y").kind == "regression"


def test_regression_of_whole_numbers(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,1\n3,1\n")
    assert read_table(path, "y").kind == "classification"
    table = read_table(path, "y", kind="regression")
    assert table.kind == "regression" and table.classes == ()
    assert table.y.dtype == np.float64 and table.y.tolist() == [0.0, 1.0, 1.0]


def test_text_classes_sort_as_text(tmp_path):
    path = write(tmp_path, "a,y\n1,b\n2,a\n3,c\n4,10\n")
    table = read_table(path, "y")
    assert table.classes == ("10", "a", "b", "c") and table.y.tolist() == [2, 1, 3, 0]


def test_bad_kind_is_a_value_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        read_table(IRIS, "species", kind="ordinal")  # type: ignore[arg-type]


# -- what a file may look like --------------------------------------------------------------


def test_bom_crlf_whitespace_and_trailing_blank_lines(tmp_path):
    text = "\ufeff a , b ,y \r\n 1 ,2.5, x\r\n3, 4 ,z \r\n5,6,x\r\n\r\n  \r\n,,\r\n"
    path = write(tmp_path, text.encode("utf-8"))
    assert header(path) == ("a", "b", "y")
    table = read_table(path, "y")
    assert table.feature_names == ("a", "b")
    assert table.x.tolist() == [[1.0, 2.5], [3.0, 4.0], [5.0, 6.0]]
    assert table.classes == ("x", "z") and table.y.tolist() == [0, 1, 0]


def test_tsv_and_quoted_cells(tmp_path):
    path = write(tmp_path, 'a\tname\ty\n1\t"Smith, J"\t0\n2\t"tab\there"\t1\n3\tx\t0\n',
                 "t.TSV")
    table = read_table(path, "y")
    assert table.feature_names == ("a",) and table.skipped == ("name",)
    assert table.x[:, 0].tolist() == [1.0, 2.0, 3.0]
    csv_path = write(tmp_path, 'a,name,y\n1,"Smith, J",0\n2,b,1\n3,c,0\n')
    assert read_table(csv_path, "y").skipped == ("name",)


def test_numbers_are_what_float_accepts(tmp_path):
    path = write(tmp_path, "a,y\n1e3,0\n-.5,1\n+2,0\n1_000,1\n")
    assert read_table(path, "y").x[:, 0].tolist() == [1000.0, -0.5, 2.0, 1000.0]


def test_an_all_empty_column_is_skipped(tmp_path):
    path = write(tmp_path, "a,empty,y\n1,,0\n2,,1\n3,,0\n")
    assert read_table(path, "y").skipped == ("empty",)


# -- every error: the file, the line and the column named -------------------------------------


def test_table_error_is_a_data_error_and_a_value_error():
    assert issubclass(TableError, DataError) and issubclass(TableError, ValueError)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    assert error(path) == f"{path}: no such file"
    with pytest.raises(TableError, match="no such file"):
        header(path)


def test_a_directory(tmp_path):
    folder = tmp_path / "d.csv"
    folder.mkdir()
    assert error(folder) == f"{folder} is a directory, not a table file"


@pytest.mark.parametrize(("name", "what"), [("t.xlsx", "suffix '.xlsx'"), ("t", "no suffix"),
                                            ("t.csv.gz", "suffix '.gz'")])
def test_unsupported_suffix(tmp_path, name, what):
    path = write(tmp_path, "a,y\n1,2\n", name)
    assert error(path) == (f"{path}: {what}: a table file must end in one of "
                           ".csv, .tsv, .parquet, .pq")


def test_not_utf8(tmp_path):
    path = write(tmp_path, b"a,y\n1,x\n2,\xe9t\xe9\n3,y\n")
    assert error(path) == f"{path} line 3 is not UTF-8 text (byte 0xe9): save the file as UTF-8"
    utf16 = write(tmp_path, "a,y\n1,2\n".encode("utf-16"), "u.csv")
    assert error(utf16) == f"{utf16} is UTF-16 text: save it as UTF-8"


def test_unreadable(tmp_path, monkeypatch):
    path = write(tmp_path, "a,y\n1,2\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    assert error(path) == f"{path}: cannot read: [Errno 13] Permission denied"


def test_malformed_quotes(tmp_path):
    path = write(tmp_path, 'a,y\n1,0\n2,"x"y\n3,1\n')
    assert error(path).startswith(f"{path} line 3: ")


@pytest.mark.parametrize("text", ["", "\n\n", " \r\n,,\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    message = f"{path} is empty: it needs a header line and at least one data row"
    assert error(path) == message
    with pytest.raises(TableError) as caught:
        header(path)
    assert str(caught.value) == message


def test_header_only(tmp_path):
    path = write(tmp_path, "a,y\n\n")
    assert error(path) == f"{path} has a header line but no data rows"
    assert header(path) == ("a", "y")


def test_blank_header(tmp_path):
    path = write(tmp_path, "\na,y\n1,2\n")
    assert error(path) == f"{path} line 1 (the header) is blank"
    with pytest.raises(TableError, match="the header"):
        header(path)


@pytest.mark.parametrize(("rows", "count"), [("1,0\n", "1 data row"),
                                             ("1,0\n2,1\n", "2 data rows")])
def test_too_few_rows(tmp_path, rows, count):
    path = write(tmp_path, "a,y\n" + rows)
    assert error(path) == (f"{path} has {count}: a table needs at least {MIN_ROWS} "
                           "(one each for training, validation and test)")


def test_duplicate_column(tmp_path):
    path = write(tmp_path, "a,b,a,y\n1,2,3,0\n")
    message = f"{path} line 1: column 'a' appears twice (columns 1 and 3)"
    assert error(path) == message
    with pytest.raises(TableError) as caught:
        header(path)
    assert str(caught.value) == message


def test_unnamed_column(tmp_path):
    path = write(tmp_path, ",a,y\n0,1,0\n1,2,1\n2,3,0\n")
    assert error(path) == (f"{path} line 1: column 1 has no name (an index pandas wrote? "
                           "write it with index=False)")
    later = write(tmp_path, "a,,y\n0,1,0\n", "later.csv")
    assert error(later) == f"{later} line 1: column 2 has no name"


def test_one_column_separated_by_semicolons(tmp_path):
    path = write(tmp_path, "a;b;y\n1;2;0\n3;4;1\n5;6;0\n")
    assert error(path) == (f"{path} line 1 has one column ('a;b;y'): a table needs a target "
                           "and at least one feature column; it looks separated by semicolons, "
                           "but a .csv file must be separated by commas, a .tsv file by tabs")


def test_wrong_number_of_cells(tmp_path):
    path = write(tmp_path, "a,b,c,d,y\n1,2,3,4,0\n1,2,3,4,1\n1,2,3\n")
    assert error(path) == f"{path} line 4 has 3 cells, the header 5"


def test_a_quoted_newline_names_the_line_the_row_starts_on(tmp_path):
    path = write(tmp_path, 'a,n,y\n1,"two\nlines",0\n2,x\n3,z,0\n')
    assert error(path) == f"{path} line 4 has 2 cells, the header 3"


def test_blank_line_inside(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n\n2,1\n3,0\n")
    assert error(path) == f"{path} line 3 is blank (only blank lines at the end are ignored)"


def test_missing_target(tmp_path):
    path = write(tmp_path, "a,b,species\n1,2,x\n3,4,y\n5,6,x\n")
    assert error(path, "specie") == (f"{path}: no target column 'specie' (did you mean "
                                     "'species'?) (columns: a, b, species)")
    assert error(path, "zzz") == f"{path}: no target column 'zzz' (columns: a, b, species)"


def test_missing_feature(tmp_path):
    path = write(tmp_path, "alpha,b,y\n1,2,x\n3,4,y\n5,6,x\n")
    assert error(path, features=["b", "alpah"]) == (
        f"{path}: no feature column 'alpah' (did you mean 'alpha'?) (columns: alpha, b, y)")


def test_many_columns_are_listed_short(tmp_path):
    names = [f"c{i}" for i in range(30)]
    path = write(tmp_path, ",".join([*names, "y"]) + "\n" + (",".join(["1"] * 31) + "\n") * 3)
    assert error(path, "nope").endswith("c18, c19, ... and 11 more)")


def test_target_as_a_feature(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,1\n3,0\n")
    assert error(path, features=["a", "y"]) == (f"{path}: column 'y' is the target, so it "
                                                "cannot also be a feature")


def test_feature_named_twice(tmp_path):
    path = write(tmp_path, "a,y\n1,0\n2,1\n3,0\n")
    assert error(path, features=["a", "a"]) == f"{path}: feature column 'a' is named twice"


def test_no_feature_columns(tmp_path):
    path = write(tmp_path, "name,y\nann,0\nbob,1\ncy,0\n")
    assert error(path) == (f"{path}: no feature columns besides the target 'y' "
                           "(not numbers: name)")
    assert error(path, features=[]) == f"{path}: no feature columns besides the target 'y'"


def test_explicit_feature_not_a_number(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,abc,1\n5,6,0\n")
    assert error(path, features=["a", "b"]) == f"{path} line 3, column 'b': 'abc' is not a number"
    # by default too: a column of numbers but for a typo is not left out without a word
    assert error(path) == (f"{path} line 3, column 'b': 'abc' is not a number, but 2 of the "
                           "column's cells are (name task.features to leave the column out)")
    # a column of words is left out, and said so
    words = write(tmp_path, "a,b,y\n1,x,0\n3,abc,1\n5,z,0\n", "w.csv")
    assert read_table(words, "y").skipped == ("b",)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_feature_not_finite(tmp_path, value):
    path = write(tmp_path, f"a,y\n1,0\n2,1\n{value},0\n")
    assert error(path) == f"{path} line 4, column 'a': '{value}' is not a finite number"


def test_empty_feature_cell(tmp_path):
    # a hole does not make the column text, so it is reported, not silently dropped
    path = write(tmp_path, "a,b,y\n1,2,0\n3, ,1\n5,6,0\n")
    assert error(path) == f"{path} line 3, column 'b' is empty"


def test_empty_target_cell(tmp_path):
    path = write(tmp_path, "a,species\n1,setosa\n2,\n3,virginica\n")
    assert error(path, "species") == f"{path} line 3, column 'species' is empty"


def test_one_class(tmp_path):
    path = write(tmp_path, "a,species\n1,setosa\n2,setosa\n3,setosa\n")
    assert error(path, "species") == (f"{path}: column 'species' has one class ('setosa'): "
                                      "a classification needs two or more")


def test_regression_target_not_a_number(tmp_path):
    path = write(tmp_path, "a,y\n1,0.5\n2,1.5\n3,abc\n")
    assert error(path, kind="regression") == f"{path} line 4, column 'y': 'abc' is not a number"


@pytest.mark.parametrize("kind", ["auto", "regression", "classification"])
def test_target_not_finite(tmp_path, kind):
    path = write(tmp_path, "a,y\n1,0.5\n2,nan\n3,2\n")
    assert error(path, kind=kind) == f"{path} line 3, column 'y': 'nan' is not a finite number"


# -- Parquet ---------------------------------------------------------------------------------


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = write(tmp_path, b"PAR1 not really", "t.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    message = (f"{path}: reading Parquet files needs pyarrow, which is not installed: "
               'pip install "actcli[parquet]"')
    assert error(path) == message
    with pytest.raises(TableError) as caught:
        header(path)
    assert str(caught.value) == message


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.pq"
    pq.write_table(pa.table({
        "a": pa.array([1, 2, 3, 4], pa.int32()),
        "b": pa.array([0.5, 1.25, -2.0, 3.0]),
        "when": pa.array([0, 1, 2, 3], pa.date32()),
        "name": pa.array(["x", "y", "z", "w"]),
        "species": pa.array([" setosa", "virginica", "setosa", "virginica"]).dictionary_encode(),
    }), path)
    assert header(path) == ("a", "b", "when", "name", "species")
    table = read_table(path, "species")
    assert table.feature_names == ("a", "b") and table.skipped == ("when", "name")
    assert table.x.tolist() == [[1, 0.5], [2, 1.25], [3, -2.0], [4, 3.0]]
    assert table.classes == ("setosa", "virginica") and table.y.tolist() == [0, 1, 0, 1]
    regression = read_table(path, "b", features=["a"])
    assert regression.kind == "regression" and regression.y.tolist() == [0.5, 1.25, -2.0, 3.0]
    assert error(path, "species", features=["when"]) == (
        f"{path}: column 'when' is of Parquet type date32[day]: only numbers and text can be "
        "read")


def test_parquet_null_and_nan(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, None, 4.0], "c": [1.0, 2.0, 3.0, float("nan")],
                             "y": [0, 1, 0, 1]}), path)
    # row 2 (0-based) is line 4, as in the same table written as CSV
    assert error(path, features=["a"]) == f"{path} line 4, column 'a' is empty"
    assert error(path, features=["c"]) == f"{path} line 5, column 'c': 'nan' is not a finite number"


def test_parquet_unreadable_and_empty(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    bad = write(tmp_path, b"not parquet at all", "bad.parquet")
    assert error(bad).startswith(f"{bad}: not a readable Parquet file: ")
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.int64())}),
                   empty)
    assert error(empty) == f"{empty} has columns but no data rows"


# -- split_indices ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "val", "test", "sizes"), [
    (100, 0.2, 0.1, (70, 20, 10)),
    (150, 0.15, 0.15, (106, 22, 22)),  # round(22.5) == 22: Python rounds halves to even
    (3, 1 / 3, 1 / 3, (1, 1, 1)),
    (10, 0.0, 0.0, (10, 0, 0)),
    (1, 0.0, 0.0, (1, 0, 0)),
])
def test_split_sizes_disjoint_and_covering(n, val, test, sizes):
    parts = split_indices(n, val, test, seed=0)
    assert tuple(len(p) for p in parts) == sizes
    assert all(p.dtype == np.int64 and (np.diff(p) > 0).all() for p in parts)  # sorted, unique
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))  # disjoint, covering


def test_split_is_deterministic_by_seed():
    first, again = split_indices(50, 0.2, 0.2, seed=7), split_indices(50, 0.2, 0.2, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = split_indices(50, 0.2, 0.2, seed=8)
    assert not np.array_equal(first[1], other[1])
    # the documented recipe: the first rows of default_rng(seed).permutation are validation
    order = np.random.default_rng(7).permutation(50)
    assert np.array_equal(first[1], np.sort(order[:10]))
    assert np.array_equal(first[2], np.sort(order[10:20]))


@pytest.mark.parametrize(("n", "val", "test", "match"), [
    (2, 0.5, 0.5, "none for training"),
    (4, 0.4, 0.4, "none for training"),  # round(1.6) == 2 each
    (10, 1.0, 0.0, "val_fraction"),
    (10, 0.1, -0.1, "test_fraction"),
    (10, float("nan"), 0.1, "val_fraction"),
    (0, 0.1, 0.1, "cannot split 0 rows"),
])
def test_split_refuses(n, val, test, match):
    with pytest.raises(ValueError, match=match):
        split_indices(n, val, test, seed=0)


# -- Standardize -----------------------------------------------------------------------------


def test_standardize_against_numpy():
    x = np.random.default_rng(3).normal([5.0, -2.0, 100.0], [2.0, 0.1, 30.0], size=(40, 3))
    fitted = Standardize.fit(x)
    expected_mean = x.sum(axis=0) / len(x)
    expected_std = np.sqrt(((x - expected_mean) ** 2).sum(axis=0) / len(x))  # population
    np.testing.assert_allclose(fitted.mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(fitted.std, expected_std, rtol=1e-12)
    z = fitted(x)
    assert z.dtype == np.float64 and z.shape == x.shape
    np.testing.assert_allclose(z, (x - expected_mean) / expected_std, rtol=1e-12)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)
    # rows other than the fitted ones use the training numbers
    np.testing.assert_allclose(fitted(x[:2] + 1.0), (x[:2] + 1.0 - expected_mean) / expected_std)


def test_standardize_constant_column():
    x = np.column_stack([np.full(5, 0.1), np.arange(5.0)])  # 0.1s: np.std is ~1e-17, not 0
    fitted = Standardize.fit(x)
    assert fitted.std[0] == 1.0 and fitted.std[1] == pytest.approx(np.sqrt(2.0))
    np.testing.assert_allclose(fitted(x)[:, 0], 0.0, atol=1e-15)


def test_standardize_round_trip(iris):
    fitted = Standardize.fit(iris.x, names=iris.feature_names)
    saved = json.loads(json.dumps(fitted.to_dict()))
    assert saved["names"] == list(IRIS_FEATURES)
    back = Standardize.from_dict(saved)
    assert back == fitted  # the floats exactly
    np.testing.assert_array_equal(back(iris.x), fitted(iris.x))
    unnamed = Standardize.fit(iris.x)
    assert "names" not in unnamed.to_dict()
    assert Standardize.from_dict(unnamed.to_dict()) == unnamed


@pytest.mark.parametrize("d", [
    {"mean": [0.0]},
    {"mean": [0.0], "std": [1.0], "extra": 1},
    {"mean": [0.0], "std": ["1"]},
    {"mean": [0.0, 1.0], "std": [1.0]},
    {"mean": [0.0], "std": [0.0]},
    {"mean": [0.0], "std": [1.0], "names": ["a", "b"]},
    {"mean": [float("nan")], "std": [1.0]},
])
def test_standardize_from_dict_refuses(d):
    with pytest.raises(ValueError, match="Standardize"):
        Standardize.from_dict(d)


def test_standardize_refuses_bad_input():
    with pytest.raises(ValueError, match="N >= 1"):
        Standardize.fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        Standardize.fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="expected"):
        Standardize.fit(np.ones((3, 2)))(np.ones((3, 3)))
