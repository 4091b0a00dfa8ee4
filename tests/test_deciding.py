"""compare --until-decided: the rounds of seeds added only to the cells still open, what
plan.json and report.md keep of them, a resume of one interrupted mid-round, the budget,
and the command line's refusals (tiny beans compares, a few seconds each)."""

from __future__ import annotations

import json

import pytest

from actcli.errors import ActcliError, ConfigError
from actcli.sweep import compare, executing, planning, sequential
from actcli.sweep.executing import CellResult

from helpers import CONFIGS

BEANS = CONFIGS / "beans.yaml"
FAST = ["model.hidden=[4]", "train.epochs=20"]
SET = [item for s in FAST for item in ("--set", s)]
ALONE = {"workers": 1, "threads": 1}  # in this process, one thread: the numbers repeat
NEAR = ["relu", "leaky_relu"]  # at 20 epochs they stay undecided at 2, 4 and 6 seeds


def plan_of(folder):
    return json.loads((folder / "plan.json").read_text())


def seeds_by_label(cells):
    found: dict[str, set[int]] = {}
    for cell in cells:
        found.setdefault(cell["label"], set()).add(cell["seed"])
    return found


def completed(folder, cell_id):
    path = folder / "cells" / cell_id / "summary.json"
    return path.is_file() and json.loads(path.read_text())["status"] == "completed"


def test_seeds_are_added_in_rounds_only_to_the_cells_still_open(tmp_path):
    # at 30 epochs relu ties leaky_relu exactly on seeds 0 and 1 (decided at the first
    # look), while step stays undecided against it (0.05 behind on every seed: no spread)
    said = []
    found = compare.run(BEANS, ["model.hidden=[4]", "train.epochs=30"],
                        activations=["relu", "leaky_relu", "step"], seeds=2,
                        until_decided=True, max_seeds=6, out=tmp_path, say=said.append,
                        **ALONE)
    folder = found.folder
    plan = plan_of(folder)
    decide = plan["decide"]
    looks = decide["looks"]
    assert (decide["start"], decide["step"], decide["max_seeds"]) == (2, 2, 6)
    assert [look["n"] for look in looks] == [2, 4, 6]  # the schedule 2, 4, 6: every round ran
    assert decide["stopped"] == "max seeds (6) reached"
    relu, leaky, step = (f"model.activation={a}" for a in ("relu", "leaky_relu", "step"))
    assert relu not in looks[0]["open"] and {leaky, step} <= set(looks[0]["open"])
    assert all(set(look["open"]) == {leaky, step} for look in looks)  # the test's premise
    # each round's new cells: seeds n..next n-1 of exactly the labels open at the look before
    expected = {label: set(range(2)) for label in (relu, leaky, step)}
    for before, after in zip(looks, looks[1:], strict=False):
        for label in before["open"]:
            expected[label] |= set(range(before["n"], after["n"]))
        assert before["added"] == len(before["open"]) * (after["n"] - before["n"])
    assert looks[-1]["added"] == 0
    assert seeds_by_label(plan["cells"]) == expected
    assert expected[relu] == {0, 1} and expected[step] == set(range(6))
    ids = {cell["id"] for cell in plan["cells"]}
    assert {p.name for p in (folder / "cells").iterdir()} == ids
    assert all(completed(folder, cell_id) for cell_id in ids)
    assert [c.id for c in found.plan.cells] == [c["id"] for c in plan["cells"]]
    # every stack names existing cells, each cell in one stack at most
    stacked = [cell_id for stack in plan["stacks"] for cell_id in stack]
    assert stacked and set(stacked) <= ids and len(stacked) == len(set(stacked))
    assert len(plan["stacks"]) == 3  # one a round
    # the verdicts: relu tied on its two seeds, the others undecided at 6
    rows = {row.label: row for row in found.report.rows}
    assert found.report.rows[0].label == leaky and rows[leaky].verdict == "best"
    assert rows[relu].verdict.startswith("tied exactly") and rows[relu].seeds == 2
    assert rows[step].verdict == "undecided (6 seeds)"
    # three looks x three pairs of cells
    assert found.report.coverage == pytest.approx(1 - 0.05 / (3 * 3))
    assert said == ["look 1 at 2 seeds: 2 cell(s) open; training their seeds up to seed 3 "
                    "(4 runs)",
                    "look 2 at 4 seeds: 2 cell(s) open; training their seeds up to seed 5 "
                    "(4 runs)"]
    text = (folder / "report.md").read_text()
    assert "Bonferroni alpha spending" in text
    (paragraph,) = [line for line in text.splitlines() if line.startswith("Deciding")]
    assert "2 seeds first, then 2 more a round" in paragraph and "3 looks planned" in paragraph
    runs = sum(len(seeds) for seeds in expected.values())
    assert runs == 2 + 6 + 6  # relu's two seeds, six each of the others
    assert f"3 look(s), {runs} runs" in paragraph
    assert paragraph.endswith("Stopped: max seeds (6) reached.")


def _cells_of_round(monkeypatch, interrupt_at: int, between: bool = False):
    """Make the ``interrupt_at``-th call of executing.execute train all but the last cell
    and return that one as interrupted (as a Ctrl-C during it leaves it), or with
    ``between`` as not run (a Ctrl-C between two cells: the last one never started)."""
    real = executing.execute
    calls = []

    def flaky(folder, cells, execution=None, **kwargs):
        calls.append([c.id for c in cells])
        if len(calls) != interrupt_at:
            return real(folder, cells, execution, **kwargs)
        done = real(folder, cells[:-1], execution, **kwargs)
        last = (CellResult(cells[-1], "skipped", {}, 0.0, "not run: interrupted") if between
                else CellResult(cells[-1], "interrupted", {}, 0.0))
        return [*done, last]

    monkeypatch.setattr(executing, "execute", flaky)
    return calls


def test_an_interrupted_deciding_compare_resumes_to_what_an_uninterrupted_one_finds(
        tmp_path, monkeypatch):
    # every cell alone (no fuse): a cell then gives bit-identical numbers however many of
    # its round were trained with it, so the two compares can be compared exactly
    args = dict(activations=NEAR, seeds=2, until_decided=True, max_seeds=6, fuse=False,
                **ALONE)
    calls = _cells_of_round(monkeypatch, 2)
    first = compare.run(BEANS, FAST, out=tmp_path / "a", **args)
    assert len(calls) == 2 and first.interrupted
    folder = first.folder
    last = calls[1][-1]
    assert last.endswith("__seed3") and not (folder / "cells" / last).exists()
    decide = plan_of(folder)["decide"]
    assert decide["stopped"] == "" and [look["n"] for look in decide["looks"]] == [2]
    assert "still deciding (--resume continues it)" in (folder / "report.md").read_text()
    # the report is the last look taken (seeds 0 and 1 of every cell), not a round half run
    assert all(row.complete and row.seeds == 2 for row in first.report.rows)
    monkeypatch.undo()

    again = compare.run(resume=folder)
    assert not again.interrupted
    plan = plan_of(folder)
    assert plan["decide"]["stopped"] == "max seeds (6) reached"
    assert all(completed(folder, cell["id"]) for cell in plan["cells"])
    assert [r.status for r in again.results] == ["completed"] * len(plan["cells"])

    alone = compare.run(BEANS, FAST, out=tmp_path / "b", **args)
    other = plan_of(alone.folder)

    def looks(plan):
        return [{k: v for k, v in look.items() if k not in ("seconds", "trained")}
                for look in plan["decide"]["looks"]]

    assert looks(plan) == looks(other)
    assert [look["n"] for look in looks(plan)] == [2, 4, 6]  # the rounds really ran
    assert [c["id"] for c in plan["cells"]] == [c["id"] for c in other["cells"]]
    assert {row.label: row.verdicts.get("rank") and row.verdicts["rank"].kind
            for row in again.report.rows} == \
        {row.label: row.verdicts.get("rank") and row.verdicts["rank"].kind
         for row in alone.report.rows}
    assert [row.verdict for row in again.report.rows] == \
        [row.verdict for row in alone.report.rows]

    def accuracies(found):
        return {run.cell_id: run.accuracy for row in found.report.rows
                for run in row.runs.values()}

    assert accuracies(again) == accuracies(alone) and len(accuracies(alone)) == 12


def test_each_cells_metrics_are_read_once_over_all_the_looks(tmp_path, monkeypatch):
    from collections import Counter

    from actcli import folders

    read: Counter[str] = Counter()
    real = folders.read_rows

    def counting(path, *args, **kwargs):
        if path.name == "metrics.csv":
            read[path.parent.name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(folders, "read_rows", counting)
    found = compare.run(BEANS, FAST, activations=NEAR, seeds=2, until_decided=True,
                        max_seeds=6, out=tmp_path, **ALONE)
    assert [look["n"] for look in plan_of(found.folder)["decide"]["looks"]] == [2, 4, 6]
    assert set(read) == {c.id for c in found.plan.cells}  # every cell's, at 3 looks
    assert set(read.values()) == {1}


def test_a_ctrl_c_between_two_cells_of_a_round_stops_the_rounds(tmp_path, monkeypatch):
    calls = _cells_of_round(monkeypatch, 2, between=True)
    found = compare.run(BEANS, FAST, activations=NEAR, seeds=2, until_decided=True,
                        max_seeds=6, out=tmp_path, **ALONE)
    assert len(calls) == 2 and found.interrupted  # no third round after the Ctrl-C
    decide = plan_of(found.folder)["decide"]
    assert decide["stopped"] == "" and [look["n"] for look in decide["looks"]] == [2]


def test_a_budget_stops_the_rounds_before_max_seeds(tmp_path):
    assert sequential.parse_budget("0.001s") == 0.001
    found = compare.run(BEANS, FAST, activations=NEAR, seeds=2, until_decided=True,
                        max_seeds=6, budget="0.001s", out=tmp_path, **ALONE)
    decide = plan_of(found.folder)["decide"]
    assert decide["budget"] == 0.001
    assert decide["stopped"].startswith("budget: ")
    assert "the next round (4 runs) would take about" in decide["stopped"]
    assert [look["n"] for look in decide["looks"]] == [2]
    assert {c.seed for c in found.plan.cells} == {0, 1}  # no round was added
    assert "Stopped: budget: " in (found.folder / "report.md").read_text()
    # relu and leaky_relu stay undecided at 2 seeds: the note says why no seed was added
    assert found.report.note == ("1 of the 1 cells judged against a best are undecided at "
                                 f"up to 2 seeds; it stopped adding seeds: {decide['stopped']}.")
    plain = compare.run(BEANS, FAST, activations=NEAR, seeds=2, out=tmp_path / "plain",
                        **ALONE)
    assert plain.report.note == (
        "1 of the 1 cells judged against a best are undecided at up to 2 seeds: actcli "
        "compare --until-decided adds seeds to them until each is worse or equivalent "
        "(--margin) or the budget is spent.")


def test_the_folder_is_locked_from_the_first_round_to_the_report(tmp_path, monkeypatch):
    # plan.json is rewritten between rounds and the report written after the last: a
    # second process (here: a second lock) is refused at each of those moments too
    from actcli import locks
    from actcli.sweep import deciding, report_files

    seen: list[tuple[str, bool]] = []
    for module, name in ((deciding, "save"), (report_files, "write")):
        real = getattr(module, name)

        def spy(folder, *args, real=real, name=name, **kwargs):
            seen.append((name, locks.is_held(folder)))
            return real(folder, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    compare.run(BEANS, FAST, activations=NEAR, seeds=2, until_decided=True, max_seeds=4,
                out=tmp_path, **ALONE)
    # the plan's decide section is written with the plan (planning.create), then a save for
    # the round and one at the end, then the report: all while the folder is held
    assert [name for name, _ in seen] == ["save", "save", "write"]
    assert all(held for name, held in seen)
    (folder,) = tmp_path.iterdir()
    assert not locks.is_held(folder)  # and let go when it ends


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seeds": 4, "until_decided": True, "max_seeds": 3},
     "--max-seeds: 3 is below the 4 seeds"),
    ({"seeds": 1, "until_decided": True, "max_seeds": 1},
     "--max-seeds: 1 is below the 1 seeds"),
    ({"seeds": 2, "max_seeds": 6}, "give --until-decided with them"),
    ({"seeds": 2, "until_decided": True, "budget": "soon"}, "is not a duration"),
])
def test_a_deciding_compare_that_cannot_decide_is_refused_before_any_folder(
        tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compare.run(BEANS, FAST, activations=NEAR, out=tmp_path / "runs", **kwargs)
    assert not (tmp_path / "runs").exists()


def test_the_command_line_decides_and_says_each_round(tmp_path, invoke):
    result = invoke("compare", BEANS, "--activations", "relu,leaky_relu", "--seeds", "2",
                    "--until-decided", "--max-seeds", "4", "--workers", "1", *SET,
                    "--out", tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("look 1 at 2 seeds: ") for line in lines), result.stdout
    (folder,) = tmp_path.iterdir()
    decide = plan_of(folder)["decide"]
    assert decide["max_seeds"] == 4 and [look["n"] for look in decide["looks"]] == [2, 4]
    assert planning.load(folder).cells[-1].seed == 3


@pytest.mark.parametrize(("argv", "said"), [
    (["--max-seeds", "4"], ["--max-seeds and --budget bound a deciding compare",
                            "--until-decided"]),
    (["--margin", "nonsense=1"], ["'nonsense' is not a metric", "accuracy, loss, "
                                  "epochs_to_target, seconds_to_target"]),
    (["--budget", "soon"], ["'soon' is not a duration"]),
    (["--until-decided", "--budget", "soon"], ["'soon' is not a duration"]),
])
def test_bad_deciding_options_are_one_line_and_leave_no_folder(tmp_path, invoke, argv, said):
    result = invoke("compare", BEANS, "--activations", "relu,leaky_relu", *SET,
                    "--out", tmp_path, *argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for text in said:
        assert text in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [["--rank-by", "loss"], ["--margin", "loss=0.1"]])
def test_losses_of_different_kinds_are_not_ranked_or_judged(tmp_path, invoke, argv):
    result = invoke("compare", BEANS, "--activations", "relu", "--over", "loss=bce,mse",
                    *SET, "--out", tmp_path, *argv)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "losses of different kinds are not comparable" in result.stderr
    assert not any(tmp_path.iterdir())


def test_a_resumed_compare_keeps_its_configs_rank_by_and_margins(tmp_path):
    # compare_beans ranks by epochs_to_target with two margins: a resume ranks alike
    found = compare.run(CONFIGS / "compare_beans.yaml", ["train.epochs=5"],
                        activations=["relu", "tanh"], seeds=1, until_decided=False,
                        out=tmp_path, **ALONE)
    again = compare.run(resume=found.folder)
    for report in (found.report, again.report):
        assert report.rank_by == "epochs_to_target"
        assert report.margins == {"epochs_to_target": 2, "accuracy": 0.005}


def test_a_resumed_compare_keeps_the_rank_by_and_margins_it_was_given(tmp_path):
    found = compare.run(BEANS, FAST, activations=["relu", "tanh"], seeds=1,
                        until_decided=False, rank_by="loss", margins={"accuracy": 0.01},
                        out=tmp_path, **ALONE)
    assert planning.read(found.folder)["ranking"] == {"rank_by": "loss",
                                                      "margins": {"accuracy": 0.01}}
    again = compare.run(resume=found.folder)
    assert again.report.rank_by == "loss" and again.report.margins == {"accuracy": 0.01}
    with pytest.raises(ActcliError, match="planned with"):
        compare.run(resume=found.folder, margins={"accuracy": 0.02})
