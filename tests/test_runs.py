"""Run folders: unique names, atomic files, read back."""

from __future__ import annotations

import json
import math

import pytest

from actcli import folders


def test_same_second_gives_distinct_folders(tmp_path):
    made = [folders.create(tmp_path, "x", now=1_800_000_000.0) for _ in range(3)]
    assert len({p.name for p in made}) == 3
    assert made[1].name == made[0].name + "-2" and made[2].name == made[0].name + "-3"


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "summary.json"
    folders.write_json(path, {"status": "running"})
    folders.write_json(path, {"status": "completed"})
    assert json.loads(path.read_text())["status"] == "completed"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "summary.json"
    folders.write_json(path, {"status": "running"})
    with pytest.raises(ValueError):
        folders.write_json(path, {"status": float("nan")})  # not JSON: refused before writing
    assert json.loads(path.read_text()) == {"status": "running"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_csv_round_trip(tmp_path):
    folders.write_csv(tmp_path / "m.csv", [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25,
                                                                    "accuracy": 1.0}])
    text = (tmp_path / "m.csv").read_text()
    assert text.splitlines() == ["epoch,loss,accuracy", "1,0.5,", "2,0.25,1.0"]
    rows = folders.read_rows(tmp_path / "m.csv")
    assert rows[1] == {"epoch": 2.0, "loss": 0.25, "accuracy": 1.0}
    assert math.isnan(rows[0]["accuracy"])
    assert folders.read_rows(tmp_path / "missing.csv") == []


def test_read_summary_of_a_non_run(tmp_path):
    from actcli.errors import ActcliError

    with pytest.raises(ActcliError, match="not a run folder"):
        folders.read_summary(tmp_path)


def test_written_files_follow_the_umask(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        folders.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
