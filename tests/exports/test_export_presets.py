"""Export presets: saved from the exports form, applied to it, deleted; per project and role."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from annotation.errors import Invalid
from annotation.models import Export, ExportPreset, Project, Role
from annotation.services.export_presets import export_preset_save
from annotation.services.projects import member_upsert
from tests.conftest import Persona
from tests.exports.conftest import Reviews, browser

FORM = {
    "project": "support-bot",
    "kind": "openai_dpo",
    "format": "jsonl",
    "pii": "redact",
    "model_version": "2026-10-01, 2026-11-15",
    "min_agreement": "0.6",
    "validation": "0.1",
    "seed": "7",
    "preset_name": "weekly DPO",
}


def test_saving_keeps_the_request_without_its_project(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    response = browser(engineer).post("/exports/presets", FORM)

    preset = ExportPreset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/exports/?preset={preset.pk}"
    assert (preset.project, preset.name, preset.created_by) == (
        project,
        "weekly DPO",
        engineer.user,
    )
    assert preset.request == {
        "kind": "openai_dpo",
        "format": "jsonl",
        "filters": {"model_version": ["2026-10-01", "2026-11-15"], "min_agreement": 0.6},
        "redact_pii": True,
        "exclude_pii": False,
        "dedupe": False,
        "split": {"validation": 0.1, "seed": 7},
    }
    assert not Export.objects.exists()  # saving builds nothing


def test_applying_fills_the_form_with_the_preset(
    reviews: Reviews, project: Project, engineer: Persona
) -> None:
    client = browser(engineer)
    client.post("/exports/presets", FORM)
    preset = ExportPreset.objects.get()

    page = client.get(f"/exports/?preset={preset.pk}").content.decode()

    assert "Filled from preset weekly DPO" in page
    assert '<option value="openai_dpo" selected>' in page
    assert 'value="2026-10-01, 2026-11-15"' in page
    assert 'name="min_agreement" value="0.6"' in page
    assert 'name="validation" value="0.1"' in page
    assert '<option value="redact" selected>' in page
    assert 'data-preset="weekly DPO"' in page


def test_saving_under_a_taken_name_replaces_the_preset(reviews: Reviews, engineer: Persona) -> None:
    client = browser(engineer)
    client.post("/exports/presets", FORM)
    client.post("/exports/presets", {**FORM, "kind": "sft"})

    (preset,) = ExportPreset.objects.all()
    assert preset.request["kind"] == "sft"


def test_a_preset_needs_a_name_and_a_valid_request(reviews: Reviews, engineer: Persona) -> None:
    client = browser(engineer)
    nameless = client.post("/exports/presets", {**FORM, "preset_name": " "})
    refused = client.post("/exports/presets", {**FORM, "kind": "retrieval", "system_prompt": "x"})

    assert nameless.status_code == 400
    assert "Give the preset a name" in nameless.content.decode()
    assert refused.status_code == 400
    assert "applies to sft" in refused.content.decode()
    assert not ExportPreset.objects.exists()


def test_the_service_refuses_bad_names_and_requests(project: Project) -> None:
    with pytest.raises(Invalid) as long_name:
        export_preset_save(
            project=project, name="x" * 101, request={"kind": "sft"}, created_by=None
        )
    with pytest.raises(Invalid) as bad_request:
        export_preset_save(project=project, name="p", request={"kind": "nope"}, created_by=None)

    assert long_name.value.details == {"name": ["101 characters; use at most 100"]}
    assert bad_request.value.code == "unknown_kind"
    assert bad_request.value.details["request"][0]["field"] == "kind"  # type: ignore[index]


def test_names_are_unique_per_project(project: Project, outsider: Persona) -> None:
    ExportPreset.objects.create(project=project, name="p", request={"kind": "sft"})
    other = outsider.user.memberships.get().project  # type: ignore[attr-defined]
    ExportPreset.objects.create(project=other, name="p", request={"kind": "sft"})

    with pytest.raises(IntegrityError):
        ExportPreset.objects.create(project=project, name="p", request={"kind": "eval"})


def test_an_engineer_deletes_their_own_preset_and_a_lead_anyones(
    reviews: Reviews, project: Project, engineer: Persona, lead: Persona
) -> None:
    mine = ExportPreset.objects.create(project=project, name="mine", created_by=engineer.user)
    theirs = ExportPreset.objects.create(project=project, name="theirs", created_by=lead.user)

    refused = browser(engineer).post(f"/exports/presets/{theirs.pk}/delete")
    deleted = browser(engineer).post(f"/exports/presets/{mine.pk}/delete")
    by_lead = browser(lead).post(f"/exports/presets/{theirs.pk}/delete")

    assert refused.status_code == 403
    assert deleted.status_code == 302 and by_lead.status_code == 302
    assert not ExportPreset.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "annotator"])
def test_people_outside_the_projects_readers_cannot_see_apply_or_delete_its_presets(
    project: Project, lead: Persona, request: pytest.FixtureRequest, who: str
) -> None:
    preset = ExportPreset.objects.create(project=project, name="p", request={"kind": "sft"})
    persona: Persona = request.getfixturevalue(who)
    client = browser(persona)

    listed = client.get("/exports/")
    applied = client.get(f"/exports/?preset={preset.pk}")
    deleted = client.post(f"/exports/presets/{preset.pk}/delete")
    saved = client.post("/exports/presets", FORM)

    expected = 404 if who == "outsider" else 403  # annotators read no exports at all
    assert applied.status_code == deleted.status_code == expected
    if who == "outsider":
        assert 'data-preset="p"' not in listed.content.decode()
        assert saved.status_code == 400  # support-bot is not among their projects
    assert ExportPreset.objects.filter(pk=preset.pk).exists()
    assert ExportPreset.objects.count() == 1


def test_a_preset_id_that_is_not_a_number_is_a_404(engineer: Persona) -> None:
    assert browser(engineer).get("/exports/?preset=abc").status_code == 404


def test_a_lead_who_becomes_annotator_loses_the_presets(project: Project, lead: Persona) -> None:
    preset = ExportPreset.objects.create(project=project, name="p", request={"kind": "sft"})
    member_upsert(username="lead", project=project, role=Role.ANNOTATOR)

    assert browser(lead).post(f"/exports/presets/{preset.pk}/delete").status_code == 403


def test_delete_answers_only_post(project: Project, lead: Persona) -> None:
    preset = ExportPreset.objects.create(project=project, name="p", request={"kind": "sft"})

    assert browser(lead).get(f"/exports/presets/{preset.pk}/delete").status_code == 405
