"""Runs schemathesis against the Django app in this process and collects what breaks.

The schema is the one `/api/schema/` publishes (built in-process, because collection cannot
touch the database; a test checks it is the served one).
Requests go through the same app, inside the test's transaction: each one in a savepoint that
is rolled back, so every example sees the fixture's project as it was built. Generation is
derandomized (the same examples on every run) and does not shrink; every distinct failure of
an operation is collected instead of stopping at the first.
"""

from __future__ import annotations

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


def cases(operation: Any, path_ids: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests, half of them with path ids that exist."""
    names = [parameter.name for parameter in operation.path_parameters]
    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        options.append(operation.as_strategy(generation_mode=mode))
        if names:
            real = st.fixed_dictionaries({n: st.sampled_from(path_ids[n]) for n in names})
            options.append(
                real.flatmap(
                    lambda ids, mode=mode: operation.as_strategy(
                        generation_mode=mode, path_parameters=ids
                    )
                )
            )
    return st.one_of(options)


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
