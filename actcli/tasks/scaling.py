"""Per-feature standardisation fitted on a task's training rows, and how a run records it:
the table task's and the 2-D sets' (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Standardize:
    """Per-feature ``(x - mean) / std``, fitted on the training rows only.

    ``std`` is the population standard deviation (``ddof=0``); a constant column (all
    values equal) gets 1.0, so it maps to zeros instead of dividing by zero. ``names``,
    when given, are the feature names, kept in :meth:`to_dict` so the saved numbers can be
    checked against the columns they belong to.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std):
            raise ValueError(f"Standardize: {len(self.mean)} means but {len(self.std)} stds")
        if self.names and len(self.names) != len(self.mean):
            raise ValueError(f"Standardize: {len(self.names)} names for {len(self.mean)} "
                             "features")
        if not all(math.isfinite(m) for m in self.mean):
            raise ValueError("Standardize: every mean must be a finite number")
        if not all(math.isfinite(s) and s > 0 for s in self.std):
            raise ValueError("Standardize: every std must be a finite number above 0")

    @classmethod
    def fit(cls, x: np.ndarray, names: Sequence[str] | None = None) -> Standardize:
        """The mean and population std of each column of ``x`` (N, F), N >= 1."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"Standardize.fit needs an (N, F) array with N >= 1, "
                             f"not shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("Standardize.fit: x has NaN or infinite values")
        mean = x.mean(axis=0)
        # equal values can still give a std of ~1e-17 from rounding in the mean: test
        # for a constant column directly
        std = np.where(x.max(axis=0) == x.min(axis=0), 1.0, x.std(axis=0))
        std = np.where(std > 0, std, 1.0)  # a spread so small that its std underflows
        return cls(tuple(float(m) for m in mean), tuple(float(s) for s in std),
                   tuple(names) if names is not None else ())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` as float64; ``x`` is (..., F)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != len(self.mean):
            raise ValueError(f"Standardize: x has shape {x.shape}, expected (..., "
                             f"{len(self.mean)})")
        return (x - np.asarray(self.mean)) / np.asarray(self.std)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{"mean": [...], "std": [...]}`` and ``"names"`` when known.

        Floats go through JSON unchanged (Python writes the shortest exact form).
        """
        out: dict[str, Any] = {"mean": list(self.mean), "std": list(self.std)}
        if self.names:
            out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Standardize:
        """The inverse of :meth:`to_dict`; ValueError when ``d`` is not one."""
        if not isinstance(d, Mapping) or "mean" not in d or "std" not in d:
            raise ValueError("Standardize.from_dict needs a mapping with 'mean' and 'std'")
        extra = set(d) - {"mean", "std", "names"}
        if extra:
            raise ValueError(f"Standardize.from_dict: unknown keys {sorted(map(str, extra))}")

        def numbers(key: str) -> tuple[float, ...]:
            value = d[key]
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
            ):
                raise ValueError(f"Standardize.from_dict: {key!r} must be a list of numbers")
            return tuple(float(v) for v in value)

        names = d.get("names", [])
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ValueError("Standardize.from_dict: 'names' must be a list of strings")
        return cls(numbers("mean"), numbers("std"), tuple(names))
