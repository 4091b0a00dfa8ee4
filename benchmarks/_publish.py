"""What a benchmark prints, also written where the documentation includes it.

``python benchmarks/startup.py --docs`` tees what the script prints into
``docs/bench/startup.md``, under a line that says what ran it, when, with which torch, on
which CPU: the documentation includes these files, so no number in it is typed by hand.
Where README.md marks a place for it (``<!-- bench:startup -->`` ... ``<!-- /bench:startup
-->``), the same text goes there too. Without ``--docs`` a script only prints. Each script
ends with ``run(main, "startup")``.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "bench"
README = ROOT / "README.md"


def marks(name: str) -> tuple[str, str]:
    """The lines in README.md between which the table ``name`` is written."""
    return f"<!-- bench:{name} -->\n", f"<!-- /bench:{name} -->\n"


class _Tee(io.TextIOBase):
    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _write(name: str, command: list[str], printed: str) -> None:
    """docs/bench/<name>.md (and README's marked place for it): ``printed``, headed by the
    command, the date, torch and the machine."""
    import torch

    from actcli import provenance

    shown = " ".join(["python", f"benchmarks/{Path(command[0]).name}",
                      *(a for a in command[1:] if a != "--docs")])
    head = (f"*Measured {datetime.date.today()} by `{shown}`, torch {torch.__version__}, "
            f"{provenance.cpu_model()}, {os.cpu_count()} cores.*\n\n")
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / f"{name}.md").write_text(head + printed, encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    begin, end = marks(name)
    if begin in readme and end in readme:
        before, rest = readme.split(begin, 1)
        after = rest.split(end, 1)[1]
        README.write_text(before + begin + head + printed + end + after, encoding="utf-8")


def run(main: Callable[[], str | None], name: str) -> None:
    """Run a benchmark's ``main``: ``--docs`` (taken off the arguments its parser sees)
    publishes what it prints as docs/bench/<name>.md, or under the name ``main`` returns
    (a variant of the benchmark published apart, e.g. on a GPU)."""
    command = list(sys.argv)
    sys.argv[:] = [a for a in sys.argv if a != "--docs"]
    if "--docs" not in command:
        main()
        return
    captured = io.StringIO()
    real = sys.stdout
    sys.stdout = _Tee(real, captured)
    try:
        named = main()
    finally:
        sys.stdout = real
    _write(named or name, command, captured.getvalue())
