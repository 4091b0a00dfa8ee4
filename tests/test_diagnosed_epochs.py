"""Diagnostics on fewer epochs (engine.loop.diagnosed): the rows a run keeps are the ones a
run diagnosing every logged epoch measures, and training is untouched by them."""

from __future__ import annotations

import pytest

from actcli import config as config_mod
from actcli import folders
from actcli.engine import loop
from actcli.training import driver

from helpers import CONFIGS


def test_the_diagnosed_epochs_are_spread_over_the_logged_ones():
    assert loop.logged(10, None) == list(range(1, 11))
    assert loop.diagnosed(10, None) == set(range(1, 11))  # few logged: all diagnosed
    picked = sorted(loop.diagnosed(200, None))
    assert len(picked) == loop.DIAGNOSED and picked[0] == 1 and picked[-1] == 200
    gaps = {b - a for a, b in zip(picked, picked[1:], strict=False)}
    assert gaps <= {10, 11}  # evenly spaced: 199 / 19 = 10.5
    assert set(loop.diagnosed(3000, None)) <= set(loop.logged(3000, None))


@pytest.mark.parametrize("name", ["beans", "spiral"])
def test_kept_rows_equal_those_of_a_run_that_diagnoses_every_epoch(tmp_path, monkeypatch,
                                                                   name):
    overrides = ["train.epochs=60", "model.hidden=[8]", "model.activation=relu"]
    if name == "spiral":
        overrides += ["task.count=100"]
    config = config_mod.load(CONFIGS / f"{name}.yaml", overrides)
    fewer = driver.run(config, tmp_path / "fewer", figures=False)
    monkeypatch.setattr(loop, "DIAGNOSED", 10_000)
    every = driver.run(config, tmp_path / "every", figures=False)
    few = folders.read_rows(fewer.path / "diagnostics.csv")
    full = folders.read_rows(every.path / "diagnostics.csv")
    assert len(full) == 60 and len(few) == 20
    by_epoch = {row["epoch"]: row for row in full}
    for row in few:  # same machine, build and threads: the same numbers
        assert row == by_epoch[row["epoch"]]
    # and training did not notice
    assert folders.read_rows(fewer.path / "metrics.csv") == \
        folders.read_rows(every.path / "metrics.csv")
