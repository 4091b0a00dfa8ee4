"""table: your own data, a CSV (or TSV, or Parquet with the ``parquet`` extra) file.

``path`` names the file: as given (relative to the working folder), else a data file that
ships with actcli's configs (``iris.csv``). ``target`` is the column to predict; the
features are every other column of numbers unless ``features`` names them.
Classification or regression is inferred from the target (text, or whole numbers with at
most 20 values, is a classification; :func:`table_data.infer_kind`) unless ``kind`` says.
A seeded split gives train / validation / test; each feature is standardised with the
training rows' mean and standard deviation, recorded in summary.json
(``data.input_standardize``, with the feature names, the classes and the kind in
``data.table``) so that ``predict`` answers from the run alone, without the file.

Two classes train one sigmoid output (``loss: bce``); three or more one output per class
(``output: softmax``, ``loss: cross_entropy``); a regression one output (``output:
identity``, ``loss: mse``), scored by R².
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator
from torch import Tensor

from actcli.strict import Strict
from actcli.tasks import table_data
from actcli.tasks.base import ClassesPicture, Predict, Split, TaskData
from actcli.tasks.scaling import Standardize


class TableOptions(Strict):
    name: Literal["table"] = "table"
    path: str = Field("iris.csv", min_length=1, description="the data file: .csv, .tsv, "
                      ".parquet (as given, else one shipped with actcli: iris.csv)")
    target: str = Field("species", min_length=1, description="the column to predict")
    features: tuple[str, ...] | None = Field(
        None, description="the columns to predict from, in this order; null = every other "
        "column of numbers")
    kind: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto = inferred from the target (text, or whole numbers with "
        "at most 20 values: classification)")
    val_fraction: float = Field(0.15, ge=0.0, lt=1.0, description="share of rows for "
                                "validation (the best epoch is chosen on it)")
    test_fraction: float = Field(0.2, ge=0.0, lt=1.0, description="share of rows held out "
                                 "for the final figures")
    seed: int = Field(0, ge=0, description="seed of the split, not of training")

    @field_validator("features", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:  # raw config data
        return [value] if isinstance(value, str) else value

    @field_validator("path", mode="after")
    @classmethod
    def _absolute(cls, value: str) -> str:
        """Recorded as the absolute path it names here: config.yaml retrains (and eval
        measures) the same file from any folder."""
        return str(located(value))


def located(path: str) -> Path:
    """The file ``path`` names, as an absolute path: as given (from the working folder),
    else a data file shipped beside the configs (found through the package's resources,
    not the config layer)."""
    given = Path(path).expanduser()
    if given.exists() or given.is_absolute() or len(given.parts) > 1:
        return given.absolute()
    from importlib import resources

    bundled = Path(str(resources.files("actcli") / "configs")) / given.name
    return bundled if bundled.is_file() else given.absolute()


@functools.lru_cache(maxsize=8)
def _read(path: str, stamp: tuple[int, int], target: str, features: tuple[str, ...] | None,
          kind: str) -> table_data.Table:
    return table_data.read_table(path, target, features, kind)  # type: ignore[arg-type]


def read(options: TableOptions) -> table_data.Table:
    """The checked table (read once per file version; TableError, one line)."""
    file = located(options.path)
    try:
        status = os.stat(file)
        stamp = (status.st_mtime_ns, status.st_size)
    except OSError:
        stamp = (0, 0)  # read_table says what is wrong with it
    return _read(str(file), stamp, options.target, options.features, options.kind)


def _outputs(classes: int, regression: bool) -> int:
    return 1 if regression or classes == 2 else classes


class TableTask:
    name = "table"
    doc = "your own data: a CSV/Parquet file, a target column, classes or a number"
    options = TableOptions
    picture_type = ClassesPicture
    final_names = ("loss", "accuracy")
    smoke: dict[str, Any] = {}
    smoke_epochs = 5
    x_label = "features"

    def shape(self, options: TableOptions) -> tuple[tuple[int, ...], int]:
        table = read(options)
        return (table.n_features,), _outputs(len(table.classes), table.kind == "regression")

    def regression(self, options: TableOptions) -> bool:
        return read(options).kind == "regression"

    def train_size(self, options: TableOptions) -> int:
        n = read(options).n_rows
        return n - round(n * options.val_fraction) - round(n * options.test_fraction)

    def load(self, options: TableOptions, progress: Any = None) -> TaskData:
        table = read(options)
        try:
            train_idx, val_idx, test_idx = table_data.split_indices(
                table.n_rows, options.val_fraction, options.test_fraction, options.seed)
        except ValueError as err:
            raise table_data.TableError(f"{table.path}: {err}") from None
        standardize = Standardize.fit(table.x[train_idx], table.feature_names)
        dtype = torch.get_default_dtype()
        x = torch.from_numpy(standardize(table.x)).to(dtype)
        regression = table.kind == "regression"
        if regression or len(table.classes) == 2:
            y = torch.from_numpy(table.y.astype(np.float64)).to(dtype).unsqueeze(1)
        else:
            y = torch.from_numpy(table.y.astype(np.int64))

        def split(idx: np.ndarray) -> Split:
            index = torch.from_numpy(idx)
            return Split(x[index], y[index])

        train = split(train_idx)
        test = split(test_idx) if len(test_idx) else train
        val = split(val_idx) if len(val_idx) else None
        return TaskData(
            train, test, _outputs(len(table.classes), regression), val=val,
            info={"samples": table.n_rows, "train_samples": len(train_idx),
                  "val_samples": len(val_idx), "test_samples": len(test_idx),
                  "table": {"path": table.path, "target": table.target_name,
                            "features": list(table.feature_names), "kind": table.kind,
                            "classes": list(table.classes), "skipped": list(table.skipped)},
                  "input_standardize": standardize.to_dict()},
            context={"classes": table.classes},
            score="r2" if regression else "accuracy",
        )

    # what `predict` reads from the run's summary.json (data), not from the file
    def _recorded(self, recorded: dict[str, Any]) -> tuple[dict[str, Any],
                                                           Standardize]:
        table, found = recorded.get("table"), recorded.get("input_standardize")
        if not isinstance(table, dict) or not isinstance(found, dict):
            raise ValueError("records no data.table and data.input_standardize")
        return table, Standardize.from_dict(found)

    def recorded_shape(self, options: TableOptions, recorded: dict[str, Any]
                       ) -> tuple[tuple[int, ...], int]:
        table, _ = self._recorded(recorded)
        return (len(table["features"]),), _outputs(len(table["classes"]),
                                                   table["kind"] == "regression")

    def input_columns(self, options: TableOptions, recorded: dict[str, Any]
                      ) -> tuple[str, ...]:
        return tuple(self._recorded(recorded)[0]["features"])

    def output_classes(self, options: TableOptions, recorded: dict[str, Any]
                       ) -> tuple[str, ...]:
        return tuple(self._recorded(recorded)[0]["classes"])

    def encode(self, options: TableOptions, recorded: dict[str, Any], rows: np.ndarray
               ) -> Tensor:
        """Rows of raw feature values (N, F) as the network's inputs."""
        _, standardize = self._recorded(recorded)
        return torch.from_numpy(standardize(rows)).to(torch.get_default_dtype())

    def extras(self, options: Any, data: TaskData, predict: Predict) -> dict[str, Any]:
        return {}

    def picture(self, options: TableOptions, data: TaskData, predict: Predict
                ) -> ClassesPicture | None:
        """The confusion matrix on the test split (none for a regression)."""
        if data.regression:
            return None
        classes = data.context["classes"]
        scores = predict(data.test.x)
        if scores.shape[1] == 1:
            predicted = (scores[:, 0] > 0.5).long()
            truth = data.test.y[:, 0].long().cpu()
        else:
            predicted = scores.argmax(dim=1)
            truth = data.test.y.cpu()
        confusion = torch.zeros(len(classes), len(classes), dtype=torch.int64)
        confusion.index_put_((truth, predicted), torch.ones_like(truth), accumulate=True)
        return ClassesPicture(confusion.numpy(), tuple(classes), None, None, None)


TASK = TableTask()
