"""A web process holds what serving requests needs and no more (memory at rest, README: Benchmarks).

Each gunicorn worker imports the WSGI application and the URL conf. The heavy libraries used by
one feature each (Parquet exports, agreement metrics, LLM judges, RE2 checks, OTLP ingestion,
statistics) must load where they are used, not with every worker: this starts a fresh
interpreter, imports what a worker imports, resolves every URL pattern's view and lists which
of those packages ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAVY = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "sklearn",
    "statsmodels",
    "openai",
    "krippendorff",
    "google",  # protobuf
    "re2",
    "opentelemetry",
)

PROBE = """
import json, sys
import django
django.setup()
import feedbackloop.wsgi
import feedbackloop.urls
from django.urls import URLPattern, URLResolver, get_resolver

def walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns)
        else:
            yield pattern

views = []
for pattern in walk(get_resolver().url_patterns):
    assert isinstance(pattern, URLPattern)
    callback = pattern.callback
    views.append(getattr(callback, "view_class", callback).__module__)
heavy = set(json.loads(sys.argv[1]))
loaded = sorted(name for name in sys.modules if name.split(".")[0] in heavy)
print(json.dumps({"views": len(views), "modules": sorted(set(views)), "loaded": loaded}))
"""


def _probe() -> dict[str, object]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "feedbackloop.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_it_does_not_import_heavy_packages_in_a_web_process() -> None:
    answer = _probe()

    views = answer["views"]
    assert isinstance(views, int) and views > 50  # every page and API view was resolved
    modules = answer["modules"]
    assert isinstance(modules, list)
    assert "annotation.api.otlp" in modules
    assert "annotation.api.exports" in modules
    assert "annotation.api.agreement" in modules
    assert answer["loaded"] == []
