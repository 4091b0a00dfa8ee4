"""The task registry: name -> task object (data, extras, picture)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from actcli.components import Param, Registry
from actcli.tasks import beans, fashion_mnist, rice_cooker
from actcli.tasks.base import Task


@dataclass(frozen=True)
class TaskSpec:
    name: str
    doc: str
    task: Task
    params: Mapping[str, Param] = field(default_factory=dict)  # options live in task.options


TASKS: Registry[TaskSpec] = Registry(
    "task",
    [TaskSpec(t.name, t.doc, t)  # type: ignore[arg-type]
     for t in (rice_cooker.TASK, beans.TASK, fashion_mnist.TASK)],
)
