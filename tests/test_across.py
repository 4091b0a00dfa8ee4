"""A compare across tasks: the same sweep on two tiny tasks end to end, its aggregate checked
against the cells' own per-seed scores (scipy's ranks, a hand-computed normalisation), a bad
config leaving no folder, and a resume of the parent folder."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import scipy.stats

from actcli.errors import ActcliError, ConfigError
from actcli.sweep import across

from helpers import CONFIGS

TINY = ["model.hidden=[4]", "train.epochs=20"]
GRID = {"model.activation": ["relu", "tanh", "sigmoid"]}


def scores(folder):
    """label -> per-seed accuracy, from a child compare's summary.csv."""
    found: dict[str, list[float]] = {}
    with open(folder / "summary.csv") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["label"], []).append(float(row["accuracy"]))
    return found


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("across")
    return across.run([CONFIGS / "beans.yaml", CONFIGS / "xor.yaml"], TINY, out=out,
                      grid=GRID, seeds=3, workers=1)


def test_each_task_has_its_compare_and_the_parent_its_aggregate(done):
    assert done.names == ["beans", "xor"] and len(done.comparisons) == 2
    assert all(c.folder.parent == done.folder for c in done.comparisons)
    recorded = json.loads((done.folder / "tasks.json").read_text())
    assert recorded["folders"] == [c.folder.name for c in done.comparisons]
    text = (done.folder / "report.md").read_text()
    assert "## Aggregate" in text and "## beans" in text and "## xor" in text
    assert text.index("## Aggregate") < text.index("## beans") < text.index("## xor")
    for comparison in done.comparisons:
        assert f"]({comparison.folder.name}/report.md)" in text
        assert (comparison.folder / "report.md").is_file()


def test_ranks_mean_ranks_and_normalised_iqm_follow_the_cells_scores(done):
    per_task = [scores(c.folder) for c in done.comparisons]
    labels = sorted(per_task[0])
    expected_rank = {}
    normalised: dict[str, list[float]] = {label: [] for label in labels}
    for name, task in zip(done.names, per_task, strict=True):
        means = [np.mean(task[label]) for label in labels]
        ranks = scipy.stats.rankdata([-m for m in means], method="average")
        for label, rank in zip(labels, ranks, strict=True):
            expected_rank.setdefault(label, {})[name] = rank
        worst, best = min(means), max(means)
        for label in labels:
            normalised[label] += [1.0 if best == worst else (v - worst) / (best - worst)
                                  for v in task[label]]
    assert len(done.rows) == 3
    for row in done.rows:
        assert row.ranks == pytest.approx(expected_rank[row.label])
        assert row.mean_rank[0] == pytest.approx(np.mean(list(expected_rank[row.label].values())))
        assert row.iqm[0] == pytest.approx(scipy.stats.trim_mean(normalised[row.label], 0.25))
        assert row.mean_rank[1] <= row.mean_rank[0] <= row.mean_rank[2]
    assert [r.mean_rank[0] for r in done.rows] == sorted(r.mean_rank[0] for r in done.rows)
    with open(done.folder / "aggregate.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [t["cell"] for t in table] == [r.label for r in done.rows]
    assert {"rank:beans", "rank:xor", "mean_rank", "normalised_iqm_low"} <= set(table[0])


def test_a_resume_of_the_parent_finds_every_task_done(done):
    again = across.run([], resume=done.folder)
    assert [c.folder for c in again.comparisons] == [c.folder for c in done.comparisons]
    assert [(r.label, r.ranks) for r in again.rows] == [(r.label, r.ranks) for r in done.rows]


def test_a_bad_config_among_them_leaves_no_folder(tmp_path):
    with pytest.raises(ConfigError, match="no effect"):  # xor without hidden units
        across.run([CONFIGS / "beans.yaml", CONFIGS / "xor.yaml"], ["train.epochs=2"],
                   out=tmp_path, grid=GRID, seeds=1)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="two or more configs"):
        across.run([CONFIGS / "beans.yaml"], TINY, out=tmp_path, grid=GRID)
    with pytest.raises(ActcliError, match="tasks.json"):
        across.run([], resume=tmp_path)


def test_the_command_line_compares_across_tasks(invoke, tmp_path):
    result = invoke("compare", CONFIGS / "beans.yaml", CONFIGS / "xor.yaml", "--activations",
                    "relu,tanh", "--seeds", "2", "--workers", "1", *[a for s in TINY for a in
                                                                      ("--set", s)],
                    "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "task beans:" in result.stdout and "task xor:" in result.stdout
    assert "across 2 tasks" in result.stdout
    (folder,) = tmp_path.iterdir()
    assert across.is_across(folder) and result.stdout.strip().endswith(
        str(folder / "report.md"))
    again = invoke("compare", "--resume", folder)
    assert again.exit_code == 0, again.output
    assert "across 2 tasks" in again.stdout


def test_configs_that_rank_by_different_metrics_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="rank by different metrics"):
        across.run([CONFIGS / "beans.yaml", CONFIGS / "compare_beans.yaml"], TINY,
                   out=tmp_path, grid=GRID, seeds=1, until_decided=False)
    assert list(tmp_path.iterdir()) == []
