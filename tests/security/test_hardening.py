"""Hardening: `check --deploy` is clean in production configuration, HTTPS is enforced by
default, every answer carries the security headers (and no-store where it holds data), downloads
are attachments of a declared type, and error pages are styled and leak nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client, override_settings
from django.urls import include, path

from annotation.models import Project
from tests.conftest import Persona
from tests.exports.conftest import Reviews, _media, build  # noqa: F401  (_media: a fixture)

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-" + "k3Y9x" * 12,
    "ALLOWED_HOSTS": "feedback.example.com",
    "USER_ID_HASH_KEY": "a-real-deployment-sets-this",
    "STATIC_MANIFEST": "false",
}


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "feedbackloop.settings"}
    return subprocess.run(
        [sys.executable, *code.split(" ")]
        if code.startswith("manage.py")
        else [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_the_production_configuration() -> None:
    security = run("manage.py check --deploy --tag security --fail-level WARNING", **PRODUCTION)
    everything = run("manage.py check --deploy", **PRODUCTION)

    assert security.returncode == 0, security.stdout + security.stderr
    assert "System check identified no issues" in security.stdout
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert "security." not in everything.stdout + everything.stderr


def test_check_deploy_warns_when_https_is_turned_off() -> None:
    result = run(
        "manage.py check --deploy --tag security --fail-level WARNING",
        **PRODUCTION,
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
    )

    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


_PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
    "s.CSRF_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF)"
)


def test_https_is_on_by_default_when_debug_is_off_and_off_in_development() -> None:
    production = run(_PRINT, **PRODUCTION)
    development = run(_PRINT, DEBUG="true")

    assert production.stdout.split() == [
        "True",
        "31536000",
        "True",
        "True",
        "True",
        "True",
        "True",
        "DENY",
        "True",
    ]
    assert development.stdout.split()[:2] == ["False", "0"]


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https(db: Any) -> None:
    response = Client().get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"


def test_https_answers_carry_hsts(db: Any) -> None:
    response = Client().get("/accounts/login/", secure=True)

    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


def assert_common_headers(response: HttpResponse) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]


def assert_no_store(response: HttpResponse) -> None:
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_pages_with_data_are_never_stored(lead: Persona) -> None:
    client = Client()
    client.force_login(lead.user)

    for url in ("/lead/", "/lead/projects/support-bot/audit", "/account/tokens"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_common_headers(response)
        assert_no_store(response)


def test_the_login_page_is_not_stored_either(db: Any) -> None:
    response = Client().get("/accounts/login/")

    assert_common_headers(response)
    assert_no_store(response)


def test_api_answers_are_never_stored_errors_included(lead: Persona) -> None:
    ok = lead.client().get("/api/v1/tokens")
    refused = Client().get("/api/v1/tokens")
    missing = lead.client().get("/api/v1/no-such-thing")

    for response in (ok, refused, missing):
        assert_common_headers(response)
        assert_no_store(response)
        assert response["Content-Type"] == "application/json"


def test_static_files_and_the_schema_keep_their_own_caching(db: Any) -> None:
    schema = Client().get("/api/schema/")

    assert "no-store" not in schema.get("Cache-Control", "")
    assert_common_headers(schema)


def test_a_download_is_an_attachment_of_a_declared_type_and_not_stored(
    project: Project, engineer: Persona
) -> None:
    reviews = Reviews(project, name="weekly")
    for n in range(3):
        reviews.item(f"question {n}", annotations=[{"verdict": "bad", "correction": f"fix {n}"}])
    export = build(project, engineer, kind="sft", format="csv")
    assert export.status == "done", export.error

    response = engineer.client().get(f"/api/v1/exports/{export.pk}/download")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="support-bot-export-')
    assert response["Content-Type"].split(";")[0] == "text/csv"
    assert_common_headers(response)
    assert_no_store(response)


# -- error pages ----------------------------------------------------------------------------------


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-detail: postgres://admin:hunter2@db/prod")


urlpatterns = [
    path("test-only/boom", _boom),
    path("", include("feedbackloop.urls")),
]


def test_the_404_page_is_styled_and_says_nothing_more(lead: Persona) -> None:
    client = Client()
    client.force_login(lead.user)

    response = client.get("/lead/projects/no-such-project/audit")

    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-status="404"' in html and 'href="/static/css/app.css"' in html
    assert "no-such-project" not in html.split("<main", 1)[1]
    assert "Traceback" not in html


def test_the_403_page_is_styled_and_names_the_role_needed(engineer: Persona) -> None:
    client = Client()
    client.force_login(engineer.user)

    response = client.get("/lead/projects/support-bot/keys")

    html = response.content.decode()
    assert response.status_code == 403
    assert 'data-status="403"' in html and "Only leads of support-bot" in html


@pytest.mark.urls(__name__)
def test_a_server_error_shows_the_styled_500_page_without_details(db: Any) -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/test-only/boom")

    html = response.content.decode()
    assert response.status_code == 500
    assert 'data-status="500"' in html and "was not saved" in html
    assert "hunter2" not in html and "RuntimeError" not in html and "Traceback" not in html


def test_the_500_page_needs_no_request_and_no_database() -> None:
    # No `db` fixture: any query here would raise (pytest-django blocks the database).
    html = loader.get_template("500.html").render()

    assert "Something went wrong on our side" in html
