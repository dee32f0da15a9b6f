"""The layers hold (README "Adding a stage"), read from the source, imports inside functions too.

- selectors read and never call services;
- services never import views, the API or Django REST framework, and start tasks by name
  (`annotation.jobs.enqueue`) instead of importing them, so services and tasks import each
  other in one direction only;
- models do not import the schemas that validate them;
- no `# noqa: E402` import blocks: each module imports what it needs at the top.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "annotation"


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> list[str]:
    """Every module the file imports, wherever the import statement is."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _offending(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _modules(package):
        bad = sorted(
            {
                name
                for name in _imports(path)
                if any(name == f or name.startswith(f + ".") for f in forbidden)
            }
        )
        if bad:
            found[str(path.relative_to(ROOT.parent))] = bad
    return found


def test_selectors_never_import_services() -> None:
    assert _offending("selectors", ("annotation.services",)) == {}


def test_services_import_neither_views_nor_the_api_nor_tasks() -> None:
    forbidden = ("annotation.views", "annotation.api", "annotation.tasks", "rest_framework")
    assert _offending("services", forbidden) == {}


def test_models_do_not_import_schemas() -> None:
    assert _offending("models", ("annotation.schemas",)) == {}


def test_no_module_imports_below_its_code() -> None:
    marked = [
        str(path.relative_to(ROOT.parent))
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.parts and "noqa: E402" in path.read_text()
    ]
    assert marked == []


_ENQUEUED = re.compile(r"""jobs\.enqueue\(\s*["'](annotation\.tasks\.[\w.]+)["']""")


@pytest.mark.parametrize(
    "name",
    sorted({m for p in _modules("services") for m in _ENQUEUED.findall(p.read_text())}),
)
def test_every_task_a_service_starts_is_registered(name: str) -> None:
    from annotation.jobs import task

    assert task(name).name == name
