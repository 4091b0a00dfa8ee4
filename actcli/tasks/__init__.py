"""The task registry: name -> task object (data, extras, picture)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actcli.components import Param, Registry
from actcli.tasks import beans, fashion_mnist, playground, rice_cooker, table
from actcli.tasks.base import Task


@dataclass(frozen=True)
class TaskSpec:
    name: str
    doc: str
    task: Task
    params: Mapping[str, Param] = field(default_factory=dict)  # options live in task.options


# each meets the Task protocol (its options class is its own Strict subclass)
_ALL: tuple[Any, ...] = (rice_cooker.TASK, beans.TASK, fashion_mnist.TASK,
                         *playground.PLANE_TASKS, table.TASK)
TASKS: Registry[TaskSpec] = Registry(
    "task",
    [TaskSpec(t.name, t.doc, t) for t in _ALL],
)
