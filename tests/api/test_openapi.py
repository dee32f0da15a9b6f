from __future__ import annotations

from typing import Any

from django.test import Client


def test_the_schema_documents_every_endpoint_with_examples(db: Any) -> None:
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/v1/interactions", "/api/v1/interactions/{request_id}", "/api/v1/feedback"} <= set(
        paths
    )
    ingest = paths["/api/v1/interactions"]["post"]
    request_schema = ingest["requestBody"]["content"]["application/json"]
    assert request_schema["schema"]["oneOf"][0] == {"$ref": "#/components/schemas/InteractionIn"}
    assert "One chat interaction" in {e["summary"] for e in request_schema["examples"].values()}
    assert {"201", "207", "400", "401"} <= set(ingest["responses"])
    components = schema["components"]["schemas"]
    assert {"InteractionIn", "Message", "RatingIn", "LabelIn", "ImplicitIn"} <= set(components)
    assert components["InteractionIn"]["properties"]["request_id"]["maxLength"] == 255


def test_the_docs_page_is_served_without_a_cdn(db: Any) -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
