"""Starting Celery tasks from services without importing the task modules.

Tasks import the services they wrap; a service names the task it starts by its registered name
(`annotation.tasks.<stage>.<task>`), so services and tasks never import each other. The task's
module is imported on first use when the worker's autodiscovery has not done it yet (a web
process, a management command), and its routing (CELERY_TASK_ROUTES) applies as usual.
"""

from __future__ import annotations

import importlib
from typing import Any

from celery import Task, current_app
from celery.result import AsyncResult

TASKS_PACKAGE = "annotation.tasks."


def task(name: str) -> Task:
    """The registered task `name` (one of ours: `annotation.tasks.<stage>.<task>`)."""
    if not name.startswith(TASKS_PACKAGE):
        raise ValueError(f"{name!r} is not one of the application's tasks")
    if name not in current_app.tasks:
        importlib.import_module(name.rpartition(".")[0])
    found: Task = current_app.tasks[name]
    return found


def enqueue(name: str, *args: Any, **options: Any) -> AsyncResult[Any]:
    """Send task `name` with positional `args`; `options` go to `apply_async` (countdown, task_id)."""
    return task(name).apply_async(args=args, **options)
