"""`manage.py demo`: a ready project an annotator can start on at once, on either database."""

from __future__ import annotations

import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from annotation.models import Annotation, Guideline, Interaction, Queue
from annotation.models.insights import SliceRollup
from annotation.models.review import ItemState

PASSWORD = "pw-demo-0123456789"


def run_demo(data_dir: Path, **options: Any) -> list[str]:
    out = StringIO()
    call_command(
        "demo",
        interactions=120,
        pairs=10,
        password=PASSWORD,
        data_dir=data_dir,
        stdout=out,
        **options,
    )
    return out.getvalue().rstrip().splitlines()


def test_demo_leaves_filled_queues_with_a_guideline_and_work_already_begun(
    db: Any, tmp_path: Path
) -> None:
    lines = run_demo(tmp_path)

    assert Guideline.objects.filter(project__name="support-bot").count() == 1
    queues = {queue.name: queue for queue in Queue.objects.all()}
    assert set(queues) == {"Weekly review", "A/B preferences"}
    for queue in queues.values():
        assert queue.items.exists(), f"{queue.name} is empty"
        assert {u.username for u in queue.annotators.all()} == {"ann1", "ann2", "ann3"}
        assert queue.guideline_id is None  # the latest guideline: the one just published
    # ann1 starts fresh; ann2 and ann3 have already worked, some of it in disagreement.
    assert not Annotation.objects.filter(annotator__username="ann1").exists()
    assert Annotation.objects.filter(annotator__username="ann2").count() >= 10
    assert Annotation.objects.filter(item__queue=queues["A/B preferences"]).exists()
    assert queues["Weekly review"].items.filter(state=ItemState.NEEDS_ADJUDICATION).exists()
    # The credentials come last, framed.
    assert lines[-1].startswith("└") and lines[-1].endswith("┘")
    box = "\n".join(lines[-10:])
    assert PASSWORD in box and "ann1" in box and "lands on exports" in box


def test_demo_traffic_is_varied_enough_for_the_dashboards(db: Any, tmp_path: Path) -> None:
    run_demo(tmp_path)

    support = Interaction.objects.exclude(prompt_template="hh-rlhf-harmless")
    assert support.values("model", "model_version").distinct().count() >= 3
    assert support.values("prompt_template", "prompt_template_version").distinct().count() >= 4
    assert support.exclude(retrieved_context=[]).exists()
    assert support.filter(metadata__has_key="response_b").exists()
    pairs = Interaction.objects.filter(prompt_template="hh-rlhf-harmless")
    assert pairs.count() == 10 and all(i.metadata.get("response_b") for i in pairs)
    kinds = set(
        Interaction.objects.values_list("feedback__kind", flat=True).exclude(feedback__kind=None)
    )
    assert {"rating", "label", "comment", "implicit"} <= kinds
    assert SliceRollup.objects.exists()


def test_demo_reads_hh_rlhf_when_the_file_is_there(db: Any, tmp_path: Path) -> None:
    records = [
        {
            "chosen": f"\n\nHuman: question {n}?\n\nAssistant: a kind answer {n}",
            "rejected": f"\n\nHuman: question {n}?\n\nAssistant: a rude answer {n}",
        }
        for n in range(12)
    ]
    with gzip.open(tmp_path / "hh-rlhf-harmless-base-test.jsonl.gz", "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in records) + "\n")

    lines = run_demo(tmp_path)

    assert any("from HH-RLHF" in line for line in lines)
    responses = set(
        Interaction.objects.filter(prompt_template="hh-rlhf-harmless").values_list(
            "response", flat=True
        )
    )
    assert any("kind answer" in r or "rude answer" in r for r in responses)


def test_demo_run_twice_adds_nothing_twice(db: Any, tmp_path: Path) -> None:
    run_demo(tmp_path)
    counts = (Interaction.objects.count(), Queue.objects.count(), Annotation.objects.count())

    run_demo(tmp_path)

    assert (Interaction.objects.count(), Queue.objects.count(), Annotation.objects.count()) == (
        counts
    )
    assert Guideline.objects.count() == 1


@pytest.mark.parametrize(
    ("username", "lands_on"),
    [("ann1", "/"), ("lead", "/insights/support-bot/"), ("engineer", "/exports/")],
)
def test_each_demo_role_lands_on_its_own_page(
    db: Any, tmp_path: Path, username: str, lands_on: str
) -> None:
    run_demo(tmp_path)
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))

    response = client.get("/", secure=True)

    if lands_on == "/":
        assert response.status_code == 200
        assert "Weekly review" in response.content.decode()
    else:
        assert response.status_code == 302
        assert response["Location"] == lands_on
