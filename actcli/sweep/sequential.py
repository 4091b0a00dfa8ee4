"""Deciding a compare while seeds are added: verdicts that stay valid under repeated looks.

The procedure (report.md names it): **Bonferroni alpha spending over planned looks and over
every pair of cells.** Before the first look the seed counts of the looks are fixed
(:class:`Schedule`: start, step, max_seeds), so at most ``L`` intervals are ever computed
for one pair of cells and one metric: over the first ``n`` seeds of both, ``n`` from the
schedule (seeds are always added in order, and a cell that stops keeps its first ``n``).
Each interval is a Student-t interval of the paired differences at level
``1 - alpha / (L * P)``, ``P`` the pairs of cells times the metrics decided. By the union
bound, every interval a compare ever computes covers its true mean difference, all at once,
with probability at least ``1 - alpha``: whichever look a cell stops at, whichever cell is
best at that look (the best is chosen from the data; the guarantee holds for every pair,
so for the pair with the best too). Each verdict follows from one interval, so under that
event every verdict is right:

- *worse*: the interval of (best - this) lies above 0 (signed so that positive = best better);
- *equivalent*: it lies inside [-margin, +margin];
- *tied exactly*: every paired difference is 0 (the cells are equal on every seed: more
  seeds are not added to separate them);
- *undecided*: neither, at the seeds it has.

It assumes the mean of the paired differences is about normal (the t interval). Equal
non-zero differences on every seed (no spread) give no interval: such a pair stays
undecided rather than being called worse from a variance of zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from actcli.errors import ConfigError, quote
from actcli.sweep import stats

ALPHA = 0.05
PROCEDURE = ("Bonferroni alpha spending over the planned looks and over every pair of cells "
             "and metric decided: each interval is a paired Student-t interval at level "
             "1 - alpha/(looks x comparisons)")


@dataclass(frozen=True)
class Schedule:
    """The seed counts of the looks, fixed before the first: ``start``, then ``step`` more
    at each look, up to ``max_seeds`` (the last look may add fewer)."""

    start: int
    step: int = 2
    max_seeds: int | None = None  # None: one look, at ``start`` (a compare not deciding)

    def counts(self) -> list[int]:
        if self.max_seeds is None or self.max_seeds <= self.start:
            return [self.start]
        found = list(range(self.start, self.max_seeds, self.step))
        return [*found, self.max_seeds]

    @property
    def looks(self) -> int:
        return len(self.counts())

    def next_count(self, n: int) -> int | None:
        """The seed count of the look after one at ``n`` seeds (None: ``n`` is the last)."""
        return next((c for c in self.counts() if c > n), None)


def pairs(cells: int, metrics: int = 1) -> int:
    """The comparisons one look makes: every pair of ``cells``, for each metric."""
    return max(1, cells * (cells - 1) // 2 * metrics)


def level(schedule: Schedule, comparisons: int, alpha: float = ALPHA) -> float:
    """The coverage of each interval: 1 - alpha / (looks x comparisons)."""
    return 1.0 - alpha / (schedule.looks * comparisons)


@dataclass(frozen=True)
class Verdict:
    """One cell against the best on one metric: what the interval of (best - this) says."""

    kind: str  # worse | equivalent | tied | undecided
    pairs: int  # seeds paired with the best
    mean: float = math.nan  # mean of (best - this), positive = the best is better
    low: float = math.nan  # the interval (nan: none at these seeds)
    high: float = math.nan
    margin: float = 0.0
    best: str = ""  # the label of the cell it was compared with
    look: int = 0  # the look (0 = the first) at which it was decided

    @property
    def decided(self) -> bool:
        return self.kind != "undecided"

    def text(self) -> str:
        """As a table shows it, with the paired seeds it rests on: worse (n seeds),
        equivalent within ±m (n seeds), tied exactly (n seeds), undecided (n seeds)."""
        seeds = f"({self.pairs} seed{'s' if self.pairs != 1 else ''})"
        if self.kind == "equivalent":
            return f"equivalent within ±{self.margin:g} {seeds}"
        if self.kind == "tied":
            return f"tied exactly {seeds}"
        return f"{self.kind} {seeds}"

    def interval(self, digits: int = 4) -> str:
        """The difference with its interval: +0.01 [+0.002, +0.018]; n=1 when one pair."""
        if math.isnan(self.mean):
            return "-"
        if self.kind == "tied":
            return "0 (every seed)"
        if math.isnan(self.low):
            return f"{self.mean:+.{digits}g} ({'n=1' if self.pairs == 1 else 'no spread'})"
        return f"{self.mean:+.{digits}g} [{self.low:+.{digits}g}, {self.high:+.{digits}g}]"

    def record(self) -> dict[str, object]:
        """As plan.json keeps a decided verdict (nan as None)."""
        return {"kind": self.kind, "pairs": self.pairs, "margin": self.margin,
                "best": self.best, "look": self.look,
                **{k: None if math.isnan(v) else v
                   for k, v in (("mean", self.mean), ("low", self.low), ("high", self.high))}}

    @classmethod
    def read(cls, data: dict[str, object]) -> Verdict:
        def number(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)  # type: ignore[arg-type]

        return cls(str(data["kind"]), int(data["pairs"]), number("mean"),  # type: ignore[call-overload]
                   number("low"), number("high"), float(data.get("margin", 0.0)),  # type: ignore[arg-type]
                   str(data.get("best", "")), int(data.get("look", 0)))  # type: ignore[call-overload]


def judge(differences: Sequence[float], margin: float, coverage: float, *,
          best: str = "", look: int = 0) -> Verdict:
    """The verdict of one pair: ``differences`` (best - this, seed by seed, positive = the
    best better), ``margin`` (>= 0: equivalence needs the interval inside ±margin),
    ``coverage`` the interval's level (:func:`level`)."""
    n = len(differences)
    if n == 0:
        return Verdict("undecided", 0, margin=margin, best=best, look=look)
    mean, std = stats.mean_std(differences)
    if all(d == 0 for d in differences):
        return Verdict("tied", n, 0.0, 0.0, 0.0, margin, best, look)
    if n < 2 or std == 0:
        return Verdict("undecided", n, mean, margin=margin, best=best, look=look)
    half = stats.t_quantile(0.5 + coverage / 2, n - 1) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    kind = "worse" if low > 0 else \
        "equivalent" if margin > 0 and -margin <= low and high <= margin else "undecided"
    return Verdict(kind, n, mean, low, high, margin, best, look)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_budget(text: str | None, where: str = "--budget") -> float | None:
    """``50s``, ``10m``, ``1.5h`` or a number of seconds -> seconds (None: no budget)."""
    if text is None:
        return None
    found = _DURATION.match(str(text))
    if not found or float(found.group(1)) <= 0:
        raise ConfigError(f"{where}: {quote(str(text))} is not a duration; give seconds, "
                          "minutes or hours above zero, e.g. 50s, 10m, 1.5h")
    return float(found.group(1)) * {"s": 1, "m": 60, "h": 3600}[found.group(2) or "s"]


def look(values: dict[str, dict[int, float]], order: Sequence[str], direction: int,
         margin: float, coverage: float, decided: dict[str, Verdict] | None = None,
         at: int = 0) -> dict[str, Verdict]:
    """One look on one metric: each cell but the best (``order[0]``) against the best.

    ``values``: label -> seed -> the cell's figure; ``direction`` +1 when higher is better;
    ``decided``: verdicts of earlier looks. A cell worse than some cell is kept worse (it is
    not the best: every interval of every look is covered at once); an equivalence is kept
    while the best it was judged against is still the best, else judged again against the
    new one; a tie is looked at again (a new seed may end it). ``order`` must not put a cell
    decided worse first (:func:`crowned`). ``at``: this look's number."""
    found: dict[str, Verdict] = {}
    if not order:
        return found
    best = order[0]
    for label in order[1:]:
        earlier = (decided or {}).get(label)
        if earlier is not None and (earlier.kind == "worse" or
                                    earlier.kind == "equivalent" and earlier.best == best):
            found[label] = earlier
            continue
        seeds = sorted(set(values[best]) & set(values[label]))
        differences = [direction * (values[best][s] - values[label][s]) for s in seeds]
        found[label] = judge(differences, margin, coverage, best=best, look=at)
    return found


def crowned(order: Sequence[str], decided: dict[str, Verdict] | None) -> list[str]:
    """``order`` (best first by the data) with its first cell not already decided worse
    moved to the front: a cell shown worse than another is never the best, whatever its
    mean. The others keep their order."""
    worse = {label for label, v in (decided or {}).items() if v.kind == "worse"}
    first = next((label for label in order if label not in worse), None)
    if first is None:
        return list(order)
    return [first, *(label for label in order if label != first)]


def open_cells(order: Sequence[str], verdicts: dict[str, Verdict]) -> list[str]:
    """The cells that need more seeds on this metric: the undecided, and the best while
    any is."""
    undecided = [label for label in order[1:] if not verdicts[label].decided]
    return [order[0], *undecided] if undecided else []
