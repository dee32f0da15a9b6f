"""Schemathesis over every operation of the published schema, as each kind of caller.

Each operation is fuzzed as a lead, an engineer, an annotator and an ingestion key: valid and
deliberately invalid requests, half with ids that exist. Any 5xx fails, and so does any status
code, content type or body the schema does not declare; all failures of an operation are listed
together, with a curl command for each. `FUZZ_EXAMPLES` sets the examples per operation and
caller (a caller whose credential the operation does not take gets a few, all answered 401);
`FUZZ_FINDINGS=file` appends the findings to a file as JSON lines.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.fuzz.conftest import World
from tests.fuzz.harness import accepts, fuzz, operation_labels

ROLES = {"lead": "Token", "engineer": "Token", "annotator": "Token", "ingestion_key": "Bearer"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
REFUSED_EXAMPLES = 3


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", operation_labels())
def test_the_api_answers_as_its_schema_says(label: str, role: str, world: World) -> None:
    examples = EXAMPLES if accepts(label, ROLES[role]) else REFUSED_EXAMPLES
    findings = fuzz(
        label, role=role, headers=world.headers[role], path_ids=world.path_ids, examples=examples
    )

    if path := os.environ.get("FUZZ_FINDINGS"):
        with open(path, "a", encoding="utf-8") as out:
            for finding in findings:
                out.write(json.dumps(finding.__dict__) + "\n")
    assert not findings, "\n\n".join(str(finding) for finding in findings)
