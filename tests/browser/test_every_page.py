"""Every page the URL conf serves to a GET, on a desktop (1440 x 900) and a phone (390 x 844), each
as the first role that may see it, on a seeded project: no horizontal overflow, no console error,
no Content-Security-Policy violation (console or `securitypolicyviolation` event), and on the
phone every control a finger can hit at least 44 px high. Screenshots land in
artifacts/screenshots/pages/ (gitignored); the test prints the path.

The page list comes from the URL conf, so a new page is walked without editing this file; a URL
kwarg this file cannot fill fails the test by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import Browser, ConsoleMessage, Page

from annotation.models import ApiToken, Check, Project, ProjectKey, Role
from annotation.models.actions import WebhookDelivery
from annotation.models.alerts import Alert, AlertRule
from tests.browser.conftest import SCREENSHOTS, login
from tests.browser.seeded import Seeded, seed_project
from tests.conftest import Persona, _persona

pytestmark = pytest.mark.browser

PASSWORD = "pw-0123456789"
# Roles in the order tried: each page is walked as the first that gets a 200 page.
ROLES = ("annotator", "lead", "engineer")
# Not pages of ours, or pages that need what a test cannot have.
LEFT_OUT = {
    "logout": "POST only",
    "password_reset_confirm": "needs a token from an e-mail",
    "schema": "the OpenAPI document, not a page",
    "oidc_authentication_init": "single sign-on, off unless an OpenID provider is configured",
    "oidc_authentication_callback": "single sign-on, off unless an OpenID provider is configured",
    "oidc_logout": "single sign-on, off unless an OpenID provider is configured",
}
# Pages that need a query string to show anything.
QUERIES = {"lead-queue-new": "?project={name}"}
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}

RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " at " +
    (event.sourceFile || "") + ":" + event.lineNumber);
});
"""

# Controls a finger hits; inline links in running text are exempt (WCAG 2.5.8).
SMALL_TARGETS = """
() => {
  const selector = 'button, a.button, select, summary, label.choice, .topbar a, ' +
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio])';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    if (el.closest('.sr-only, [hidden], .u-legend, dialog:not([open])')) continue;
    if (box.height < 43.5) small.push(el.tagName.toLowerCase() + ' "' +
      (el.textContent || el.getAttribute('name') || '').trim().slice(0, 30) + '" ' +
      Math.round(box.height) + 'px');
  }
  return small.slice(0, 8);
}
"""


def _named_patterns(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            route = str(pattern.pattern)
            # The admin is Django's own; the API answers JSON (tests/fuzz walks it).
            if route.startswith(("admin/", "api/v1/")):
                continue
            yield from _named_patterns(pattern.url_patterns, prefix + route)
        elif pattern.name:
            yield prefix + str(pattern.pattern), pattern


def url_kwargs(seeded: Seeded) -> dict[str, Any]:
    """A value for every URL kwarg the pages take, from the seeded project."""
    return {
        "queue_id": seeded.queue.pk,
        "item_id": seeded.disputed.pk,
        "annotation_id": seeded.annotation.pk,
        "fill_id": seeded.fill.pk,
        "export_id": seeded.export.pk,
        "name": seeded.project.name,
        "version": 1,
        "pk": seeded.disputed.interaction_id,
        "kind": "slices",
        "preset_id": 1,
        "key_id": ProjectKey.objects.filter(project=seeded.project).values_list("pk", flat=True)[0],
        "token_id": ApiToken.objects.values_list("pk", flat=True).first(),
        "user_id": seeded.annotation.annotator_id,
        "check_id": Check.objects.filter(project=seeded.project).values_list("pk", flat=True)[0],
        "rule_id": AlertRule.objects.filter(project=seeded.project).values_list("pk", flat=True)[0],
        "alert_id": Alert.objects.filter(rule__project=seeded.project).values_list("pk", flat=True)[
            0
        ],
        "delivery_id": WebhookDelivery.objects.filter(webhook__project=seeded.project).values_list(
            "pk", flat=True
        )[0],
    }


@dataclass(frozen=True)
class Walk:
    name: str
    url: str
    role: str


def pages_to_walk(seeded: Seeded, people: dict[str, Persona]) -> tuple[list[Walk], list[str]]:
    """Each GET page with the first role that sees it; and the URLs no role could open."""
    values = url_kwargs(seeded)
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        clients[role].force_login(people[role].user)
    walks: list[Walk] = []
    problems: list[str] = []
    for route, pattern in _named_patterns(get_resolver().url_patterns):
        name = pattern.name or ""
        if name in LEFT_OUT:
            continue
        needed = list(pattern.pattern.converters)
        unknown = [kwarg for kwarg in needed if kwarg not in values]
        if unknown:
            problems.append(f"{name} ({route}): no seeded value for {', '.join(unknown)}")
            continue
        url = reverse(name, kwargs={kwarg: values[kwarg] for kwarg in needed})
        url += QUERIES.get(name, "").format(name=seeded.project.name)
        statuses = []
        for role in ROLES:
            response = clients[role].get(url, secure=True)
            statuses.append(f"{role} {response.status_code}")
            if response.status_code == 405:
                break  # a POST-only URL: not a page
            html = response.get("Content-Type", "").startswith("text/html")
            if response.status_code == 200 and html and b"<html" in response.content[:400]:
                walks.append(Walk(name=name, url=url, role=role))
                break
            if response.status_code in (200, 204):
                break  # JSON, an htmx fragment or nothing: not a page
        else:
            if any(status.split()[1].startswith("3") for status in statuses):
                continue  # it only redirects (a fill's status without htmx, the login page)
            problems.append(f"{name} ({url}): no role gets the page ({', '.join(statuses)})")
    return walks, problems


@pytest.fixture
def seeded(
    project: Project, lead: Persona, annotator: Persona, engineer: Persona
) -> tuple[Seeded, dict[str, Persona]]:
    other = _persona(project, "other_annotator", Role.ANNOTATOR)
    data = seed_project(project, lead=lead, annotator=annotator, other=other, engineer=engineer)
    return data, {"annotator": annotator, "lead": lead, "engineer": engineer}


def _walk(
    browser: Browser, live_url: str, role: str, walks: list[Walk], viewport: str
) -> list[str]:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=viewport == "phone"
    )
    context.add_init_script(RECORD_CSP)
    page: Page = context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(f"uncaught: {error}"))
    failures: list[str] = []
    try:
        login(page, live_url, role, PASSWORD)
        for walk in walks:
            console.clear()
            page.goto(live_url + walk.url)
            page.wait_for_load_state("networkidle")
            where = f"{walk.name} {walk.url} as {role} at {width}px"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                failures.append(f"{where}: {overflow}px of horizontal overflow")
            violations = page.evaluate("window.__csp || []")
            failures += [f"{where}: CSP violation {text}" for text in violations]
            failures += [f"{where}: console error {text}" for text in console]
            if viewport == "phone":
                small = page.evaluate(SMALL_TARGETS)
                if small:
                    failures.append(f"{where}: targets under 44px: {'; '.join(small)}")
            folder = SCREENSHOTS / "pages"
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(folder / f"{walk.name}-{viewport}.png"), full_page=True, caret="initial"
            )
    finally:
        context.close()
    return failures


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_page_fits_and_keeps_the_console_clean(
    browser: Browser,
    live_url: str,
    seeded: tuple[Seeded, dict[str, Persona]],
    viewport: str,
) -> None:
    data, people = seeded
    walks, problems = pages_to_walk(data, people)
    assert len(walks) >= 20, f"only {len(walks)} pages found: {walks}; {problems}"
    # The login page, as nobody.
    failures = list(problems)
    anonymous = browser.new_context(
        viewport=dict(zip(("width", "height"), VIEWPORTS[viewport], strict=True))
    )
    anonymous.add_init_script(RECORD_CSP)
    login_page = anonymous.new_page()
    login_page.goto(f"{live_url}/accounts/login/")
    if login_page.evaluate("document.documentElement.scrollWidth - window.innerWidth") > 0:
        failures.append(f"login overflows at {viewport}")
    (SCREENSHOTS / "pages").mkdir(parents=True, exist_ok=True)
    login_page.screenshot(path=str(SCREENSHOTS / "pages" / f"login-{viewport}.png"))
    # The favicon every page links to is served (a missing one is a 404 in the console).
    icon = login_page.locator('link[rel="icon"]').get_attribute("href") or ""
    answer = login_page.request.get(live_url + icon)
    if not icon or answer.status != 200 or "svg" not in answer.headers.get("content-type", ""):
        failures.append(f"favicon {icon!r}: {answer.status} {answer.headers.get('content-type')}")
    anonymous.close()
    for role in ROLES:
        failures += _walk(browser, live_url, role, [w for w in walks if w.role == role], viewport)
    print(f"\n{len(walks)} pages walked at {viewport}; screenshots in {SCREENSHOTS / 'pages'}")
    assert not failures, "\n".join(failures)
