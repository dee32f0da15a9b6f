from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Feedback, Interaction, Project

HH_RLHF = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_our_jsonl_with_feedback_and_reports_bad_lines(
    project: Project, tmp_path: Path
) -> None:
    lines = [
        {
            "request_id": "a",
            "prompt": "Hi",
            "response": "Hello",
            "feedback": [
                {"kind": "rating", "value": 0, "scale": "thumbs"},
                {"kind": "label", "labels": ["made-up"]},
            ],
        },
        {"request_id": "b", "messages": [{"role": "user", "content": "Yo"}], "response": "Hey"},
        {"request_id": "c", "response": "no prompt"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")

    out, err = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 2 interactions (0 already present), 1 feedback; 3 lines with errors." in out
    assert "line 3: messages" in err
    assert "line 4:" in err
    assert "line 1: feedback labels[0]" in err
    assert Feedback.objects.get().interaction == Interaction.objects.get(request_id="a")


def test_a_second_import_adds_nothing(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(
            json.dumps(
                {
                    "request_id": "a",
                    "prompt": "Hi",
                    "response": "Hello",
                    "feedback": [{"kind": "comment", "text": "ok"}],
                }
            )
        )

    run("import_interactions", str(path), "--project", "support-bot")
    out, _ = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 0 interactions (1 already present), 0 feedback" in out
    assert Feedback.objects.count() == 1


@pytest.mark.skipif(
    not HH_RLHF.exists(), reason="the shared hh-rlhf data set is not beside the checkout"
)
def test_it_imports_hh_rlhf_conversations(project: Project) -> None:
    out, _ = run(
        "import_interactions",
        str(HH_RLHF),
        "--project",
        "support-bot",
        "--format",
        "hh-rlhf",
        "--limit",
        "200",
    )

    assert "Imported 200 interactions" in out
    first = Interaction.objects.order_by("id").first()
    assert first is not None
    assert first.messages[0]["role"] == "user"
    assert first.messages[-1]["role"] == "user"
    assert all(m["role"] in {"user", "assistant"} for m in first.messages)
    assert first.response and not first.response.startswith("Assistant:")


def test_it_parses_the_hh_rlhf_turns() -> None:
    from annotation.importers import hh_rlhf_interaction

    item = hh_rlhf_interaction(
        {
            "chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Ciao",
            "rejected": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Go away",
        }
    )

    assert [(m.role, m.content) for m in item.messages or []] == [
        ("user", "Hi"),
        ("assistant", "Hello"),
        ("user", "Bye"),
    ]
    assert item.response == "Go away"


def test_it_refuses_an_unknown_project_or_missing_file(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No project"):
        run("import_interactions", str(tmp_path / "x.jsonl"), "--project", "ghost")
    Project.objects.create(name="p")
    with pytest.raises(CommandError, match="No file"):
        run("import_interactions", str(tmp_path / "x.jsonl"), "--project", "p")
