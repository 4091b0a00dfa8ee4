"""Paths and small helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def stop_requested_at(monkeypatch, call: int) -> type:
    """Make every run's StopRequests report a stop from its ``call``-th check on (the
    loop checks after each step), as if Ctrl-C came then; return the real class, to put
    back."""
    from actcli.engine import checkpoints

    real = checkpoints.StopRequests

    class StopSoon(real):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def __call__(self) -> bool:
            self.calls += 1
            return self.calls >= call

    monkeypatch.setattr(checkpoints, "StopRequests", StopSoon)
    return real
