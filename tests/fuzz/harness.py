"""Runs schemathesis against the Django app in this process and collects what breaks.

The schema is the one `/api/schema/` publishes (built in-process, because collection cannot
touch the database; a test checks it is the served one).
Requests go through the same app, inside the test's transaction: each one in a savepoint that
is rolled back, so every example sees the fixture's project as it was built. Generation is
derandomized (the same examples on every run) and does not shrink; every distinct failure of
an operation is collected instead of stopping at the first.
"""

from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Zero 5xx, and every status code, content type and body as the schema declares it.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def published_schema() -> dict[str, Any]:
    """The document GET /api/schema/?format=json serves, built as that view builds it."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(document))
    return loaded


APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_dict(published_schema())
SCHEMA.app = APP


def operation_labels() -> list[str]:
    return sorted(result.ok().label for result in SCHEMA.get_all_operations())


def accepts(label: str, credential: str) -> bool:
    """Whether the operation takes this kind of credential (`Token` or `Bearer`)."""
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None, label
    requirements = operation.definition.raw.get("security", [])
    return any(credential in requirement for requirement in requirements)


@dataclass
class Finding:
    operation: str
    role: str
    request: str
    status: int
    response: str
    failure: str
    server_error: str

    def __str__(self) -> str:
        text = (
            f"{self.operation} as {self.role}: {self.status}\n  {self.failure}\n"
            f"  request: {self.request}\n  response: {self.response}"
        )
        return text + (f"\n  server: {self.server_error}" if self.server_error else "")


@contextmanager
def served() -> Iterator[list[str]]:
    """Serve requests as Django's test client does (the test's connection stays open), and
    collect the traceback of every exception a view lets out."""
    exceptions: list[str] = []

    def record(sender: Any, request: Any = None, **kwargs: Any) -> None:
        exceptions.append(traceback.format_exc(limit=-4))

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.got_request_exception.connect(record)
    try:
        yield exceptions
    finally:
        signals.got_request_exception.disconnect(record)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# Values that pass a schema's types and break what is behind it: text a database column cannot
# hold, dates that do not exist or that psycopg cannot read back, numbers past any column, and
# nesting past the JSON parser's limit. Lone surrogates only go in bodies (a URL cannot carry one).
HOSTILE_TEXT: list[Any] = [
    "a\x00b",
    "\x00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-23:59",
    "2026-02-30T00:00:00Z",
    "1" * 400,
    "-" + "9" * 30,
]
HOSTILE_BODY: list[Any] = [
    *HOSTILE_TEXT,
    "\ud800",
    "x\udfffy",
    10**12,
    10**20,
    -(10**20),
    2**63,
    1e308,
    float("-1e308"),
    int("9" * 400),
    json.loads("[" * 200 + "]" * 200),
]


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value inside a JSON document, the document itself first."""
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _leaves(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _leaves(inner, (*at, index))
    return found


def _replace(document: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    container = document
    for step in at[:-1]:
        container = container[step]
    container[at[-1]] = new
    return document


def _poison(case: Any, where: int, pick: int) -> Any:
    """Put one hostile value into the case: a query or text path parameter, or a body value."""
    slots: list[tuple[str, Any]] = [("query", name) for name in case.query or {}]
    slots += [
        ("path", name)
        for name, value in (case.path_parameters or {}).items()
        if isinstance(value, str)
    ]
    if isinstance(case.body, dict | list):
        slots += [("body", at) for at in _leaves(case.body)]
    if not slots:
        return case
    location, key = slots[where % len(slots)]
    if isinstance(case.body, dict | list):
        case.body = copy.deepcopy(case.body)
    case.query = dict(case.query or {})
    case.path_parameters = dict(case.path_parameters or {})
    if location == "body":
        poisoned = _replace(case.body, key, HOSTILE_BODY[pick % len(HOSTILE_BODY)])
        # Sent as the JSON text itself: a lone surrogate is valid JSON (`"\ud800"`) but not a
        # string schemathesis can re-validate or encode.
        case.body = json.dumps(poisoned).encode()
    else:
        values = case.query if location == "query" else case.path_parameters
        values[key] = HOSTILE_TEXT[pick % len(HOSTILE_TEXT)]
    return case


def cases(operation: Any, path_ids: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Generated requests, valid and invalid, half of them with path ids that exist; the
    schema's documented examples with ids that exist; and those with one hostile value in."""
    names = [parameter.name for parameter in operation.path_parameters]
    real = st.fixed_dictionaries({n: st.sampled_from(path_ids[n]) for n in names})

    def generated(mode: GenerationMode, ids: dict[str, Any] | None) -> st.SearchStrategy[Any]:
        return operation.as_strategy(generation_mode=mode, path_parameters=ids or None)

    def documented(ids: dict[str, Any]) -> st.SearchStrategy[Any]:
        examples = SCHEMA.get_strategies_from_examples(operation, path_parameters=ids or None)
        return st.one_of(examples) if examples else generated(GenerationMode.POSITIVE, ids)

    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        options.append(generated(mode, None))
        if names:
            options.append(real.flatmap(lambda ids, mode=mode: generated(mode, ids)))
    sound = real.flatmap(documented)
    hostile = st.builds(_poison, sound, st.integers(0, 1000), st.integers(0, 1000))
    return st.one_of([*options, sound, hostile, hostile])


def _excerpt(content: bytes, limit: int = 400) -> str:
    text = content[:limit].decode("utf-8", "replace")
    return text + ("…" if len(content) > limit else "")


def fuzz(
    label: str,
    *,
    role: str,
    headers: dict[str, str],
    path_ids: dict[str, list[Any]],
    examples: int,
) -> list[Finding]:
    """Send `examples` generated requests to one operation; one finding per distinct failure."""
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None, label
    findings: dict[tuple[int, str, str], Finding] = {}

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, path_ids))
    def run(case: Any) -> None:
        server_errors.clear()
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            server_error = server_errors[-1] if server_errors else ""
            cause = server_error.strip().splitlines()[-1].split(":")[0] if server_error else ""
            for failure in group.exceptions:
                findings.setdefault(
                    (response.status_code, failure.title, cause),
                    Finding(
                        operation=label,
                        role=role,
                        request=case.as_curl_command(headers=headers),
                        status=response.status_code,
                        response=_excerpt(response.content),
                        failure=f"{failure.title}: {' '.join(failure.message.split())[:300]}",
                        server_error=" ".join(server_error.split())[-600:],
                    ),
                )

    with served() as server_errors:
        run()
    return list(findings.values())
