from __future__ import annotations

import gzip
import json
import os
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from annotation.exports.storage import ExportStore
from annotation.models import Feedback, Interaction, JobStatus, Project
from annotation.services.annotations import annotation_submit
from annotation.services.exports import export_create, export_run
from annotation.services.leasing import lease_next
from annotation.services.queues import queue_create, queue_fill_now

# Anthropic's HH-RLHF harmless-base test split (2,312 pairs), read where it lies beside the
# checkout (never copied into the repository); HH_RLHF_PATH points elsewhere.
HH_RLHF = Path(
    os.environ.get(
        "HH_RLHF_PATH",
        Path(__file__).resolve().parents[3]
        / "shared"
        / "data"
        / "hh-rlhf-harmless-base-test.jsonl.gz",
    )
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


def hh_records(limit: int | None = None) -> list[dict[str, str]]:
    """The shared hh-rlhf file's records, read where it lies."""
    with gzip.open(HH_RLHF, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(limit or 10**9), handle, strict=False)]


def last_turn(dialogue: str) -> str:
    return dialogue.rsplit("\n\nAssistant: ", 1)[1].strip()


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


def test_it_keeps_both_hh_rlhf_answers_and_which_one_the_human_preferred(
    project: Project,
) -> None:
    records = hh_records(300)

    out, err = run(
        "import_interactions",
        str(HH_RLHF),
        "--project",
        "support-bot",
        "--format",
        "hh-rlhf",
        "--limit",
        "300",
    )

    assert "Imported 300 interactions (0 already present), 0 feedback; 0 lines with errors." in out
    assert err == ""
    stored = list(Interaction.objects.order_by("id"))
    assert len(stored) == 300
    sides = {"A": 0, "B": 0}
    for record, interaction in zip(records, stored, strict=True):
        preferred = interaction.metadata["hh_preferred"]
        sides[preferred] += 1
        answers = {"A": interaction.response, "B": interaction.metadata["response_b"]}
        assert answers[preferred] == last_turn(record["chosen"])
        assert answers["B" if preferred == "A" else "A"] == last_turn(record["rejected"])
    # The chosen answer is on either side about as often, so position tells reviewers nothing.
    assert 100 < sides["A"] < 200 and sides["A"] + sides["B"] == 300


def test_the_whole_hh_rlhf_file_imports_and_names_the_pairs_it_cannot_keep(
    project: Project,
) -> None:
    records = hh_records()

    out, err = run(
        "import_interactions", str(HH_RLHF), "--project", "support-bot", "--format", "hh-rlhf"
    )

    broken = [
        number
        for number, record in enumerate(records, start=1)
        if record["chosen"].rsplit("\n\nAssistant: ", 1)[0]
        != record["rejected"].rsplit("\n\nAssistant: ", 1)[0]
    ]
    assert len(records) == 2312 and len(broken) == 5
    assert (
        f"Imported {2312 - 5} interactions (0 already present), 0 feedback; 5 lines with errors."
        in out
    )
    for number in broken:
        assert (
            f"line {number}: `chosen` and `rejected` differ before their last Assistant turn" in err
        )
    assert Interaction.objects.filter(metadata__has_key="response_b").count() == 2312 - 5


def test_a_preference_export_of_imported_hh_rlhf_pairs_gives_the_humans_choice(
    project: Project, engineer: Any, annotator: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    records = {last_turn(r["rejected"]): r for r in hh_records(120)}
    run(
        "import_interactions",
        str(HH_RLHF),
        "--project",
        "support-bot",
        "--format",
        "hh-rlhf",
        "--limit",
        "120",
    )
    queue = queue_create(
        project=project,
        name="pairs",
        sources=[{"type": "random", "rate": 1.0}],
        schema={"fields": [{"name": "preference", "type": "pairwise", "required": True}]},
        annotators=[annotator.user],
    )
    queue_fill_now(queue=queue)
    # The reviewer agrees with the human who made the pair.
    while (leased := lease_next(queue=queue, annotator=annotator.user)) is not None:
        preferred = leased.item.interaction.metadata["hh_preferred"]
        annotation_submit(
            item_id=leased.item.pk, annotator=annotator.user, values={"preference": preferred}
        )

    export = export_create(
        project=project,
        created_by=engineer.user,
        data={"project": project.name, "kind": "preference"},
        enqueue=False,
    )
    export_run(export_id=export.pk)
    export.refresh_from_db()

    store = ExportStore(export.storage_prefix)
    exported = [
        json.loads(line)
        for line in (store.staging_dir / export.manifest["files"][0]["name"])
        .read_text()
        .splitlines()
    ]
    # A pair with an empty answer is no training pair: the export leaves it out and says why.
    empty = sum(
        1 for r in records.values() if not last_turn(r["chosen"]) or not last_turn(r["rejected"])
    )
    assert export.status == JobStatus.DONE
    assert len(exported) == 120 - empty
    assert export.manifest["counts"]["excluded"] == ({"empty_response": empty} if empty else {})
    for row in exported:
        record = records[row["rejected"][-1]["content"]]
        assert row["chosen"] == [{"role": "assistant", "content": last_turn(record["chosen"])}]
        assert row["prompt"][-1]["role"] == "user"


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
    answers = {"A": item.response, "B": item.metadata["response_b"]}
    assert sorted(answers.values()) == ["Ciao", "Go away"]
    assert answers[item.metadata["hh_preferred"]] == "Ciao"


def test_it_places_the_chosen_answer_on_both_sides_across_pairs() -> None:
    from annotation.importers import hh_rlhf_interaction

    sides = [
        hh_rlhf_interaction(
            {
                "chosen": f"\n\nHuman: Q{n}\n\nAssistant: good {n}",
                "rejected": f"\n\nHuman: Q{n}\n\nAssistant: bad {n}",
            }
        ).metadata["hh_preferred"]
        for n in range(40)
    ]

    assert set(sides) == {"A", "B"}


def test_it_refuses_an_hh_rlhf_line_it_cannot_pair(project: Project, tmp_path: Path) -> None:
    lines = [
        {
            "chosen": "\n\nHuman: Hi\n\nAssistant: Hello",
            "rejected": "\n\nHuman: Hi\n\nAssistant: Go",
        },
        {
            "chosen": "\n\nHuman: Hi\n\nAssistant: Hello",
            "rejected": "\n\nHuman: Other\n\nAssistant: Go",
        },
        {"chosen": "\n\nHuman: Hi", "rejected": "\n\nHuman: Hi\n\nAssistant: Go"},
        {"rejected": "\n\nHuman: Hi\n\nAssistant: Go"},
    ]
    path = tmp_path / "hh.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    out, err = run(
        "import_interactions", str(path), "--project", "support-bot", "--format", "hh-rlhf"
    )

    assert "Imported 1 interactions (0 already present), 0 feedback; 3 lines with errors." in out
    assert "line 2: `chosen` and `rejected` differ before their last Assistant turn" in err
    assert "line 3: `chosen` does not end with an Assistant turn" in err
    assert "line 4: `chosen` must be the dialogue as a string" in err


# -- request_ids repeated within one file ---------------------------------------------------------


def line(request_id: str, response: str, *feedback: dict[str, Any]) -> str:
    return json.dumps(
        {"request_id": request_id, "prompt": "Hi", "response": response, "feedback": list(feedback)}
    )


def comment(text: str) -> dict[str, str]:
    return {"kind": "comment", "text": text}


REPEATS = [
    line("req-0", "zero"),
    line("req-2", "two"),
    line("req-1", "first answer", comment("on line 3")),
    line("req-3", "three"),
    line("req-4", "four", comment("on line 5")),
    line("req-5", "five"),
    line("req-4", "four again", comment("on line 7")),
    line("req-6", "six"),
    line("req-1", "second answer", comment("on line 9")),
    line("req-1", "third answer", comment("on line 10")),
]


def test_a_request_id_repeated_in_the_file_keeps_every_rows_feedback_and_says_so(
    project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "repeats.jsonl"
    path.write_text("\n".join(REPEATS) + "\n")

    out, err = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 7 interactions (0 already present), 5 feedback; 0 lines with errors." in out
    assert (
        "3 rows repeat request_ids already in this file: req-1 (lines 3, 9, 10), "
        "req-4 (lines 5, 7)." in out
    )
    assert err == ""
    first = Interaction.objects.get(request_id="req-1")
    assert first.response == "first answer"
    assert sorted(first.feedback.values_list("text", flat=True)) == [
        "on line 10",
        "on line 3",
        "on line 9",
    ]
    assert sorted(
        Interaction.objects.get(request_id="req-4").feedback.values_list("text", flat=True)
    ) == ["on line 5", "on line 7"]
    assert not Feedback.objects.filter(interaction__isnull=True).exists()


def test_a_repeat_in_a_later_batch_is_found_too(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from annotation.management.commands import import_interactions

    monkeypatch.setattr(import_interactions, "BATCH", 2)
    path = tmp_path / "repeats.jsonl"
    path.write_text("\n".join(REPEATS) + "\n")

    out, _ = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 7 interactions (0 already present), 5 feedback" in out
    assert "req-1 (lines 3, 9, 10), req-4 (lines 5, 7)" in out
    assert Feedback.objects.filter(interaction__request_id="req-1").count() == 3


def test_a_second_import_of_a_file_with_repeats_adds_no_feedback(
    project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "repeats.jsonl"
    path.write_text("\n".join(REPEATS) + "\n")

    run("import_interactions", str(path), "--project", "support-bot")
    out, _ = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 0 interactions (7 already present), 0 feedback" in out
    assert "3 rows repeat request_ids already in this file" in out
    assert Feedback.objects.count() == 5


def test_one_repeat_is_named_in_the_singular(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "repeat.jsonl"
    path.write_text("\n".join([line("a", "x", comment("1")), line("a", "y", comment("2"))]) + "\n")

    out, _ = run("import_interactions", str(path), "--project", "support-bot")

    assert "Imported 1 interactions (0 already present), 2 feedback" in out
    assert "1 row repeats a request_id already in this file: a (lines 1, 2)." in out


def test_it_refuses_an_unknown_project_or_missing_file(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No project"):
        run("import_interactions", str(tmp_path / "x.jsonl"), "--project", "ghost")
    Project.objects.create(name="p")
    with pytest.raises(CommandError, match="No file"):
        run("import_interactions", str(tmp_path / "x.jsonl"), "--project", "p")
