"""A project's everyday administration by its leads, without the Django admin: members (add a
person with a role, change a role, remove someone; never the last lead) and automated checks
(list, create, edit, disable).

Only leads of the project reach these pages: its other members get 403, everyone else 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotation.checks.config import CheckConfigError
from annotation.errors import AppError, NotFound
from annotation.forms.project_admin import (
    CheckForm,
    MemberAddForm,
    MemberRoleForm,
    check_initial,
    parameter_examples,
)
from annotation.models import Check, Membership, Project, Role
from annotation.selectors.access import LEADS, project_access
from annotation.services.check_config import check_save
from annotation.services.check_state import check_set_enabled
from annotation.services.members import member_add, member_remove, member_role_change
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

MEMBERS = "annotation/lead/members.html"
CHECKS = "annotation/lead/checks.html"
CHECK_FORM = "annotation/lead/check_form.html"


def _led(request: HtmxHttpRequest, name: str) -> Project:
    return project_access(request.user, name, LEADS).project


def _place(form: Any, error: AppError) -> None:
    """Put a service's refusal on the field its details name, else on the form."""
    details = error.details if isinstance(error.details, dict) else {}
    for field, problems in details.items():
        if field in form.fields:
            form.add_error(field, "; ".join(str(p) for p in problems))
            return
    form.add_error(None, error.message)


# -- members ---------------------------------------------------------------------------------------


def _members_page(
    request: HtmxHttpRequest,
    project: Project,
    form: MemberAddForm | None = None,
    *,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    members = list(
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("role", "user__username")
    )
    context = {
        "project": project,
        "members": members,
        "form": form or MemberAddForm(),
        "roles": Role.choices,
        "lead_count": sum(1 for m in members if m.role == Role.LEAD),
        "problem": problem,
    }
    template = f"{MEMBERS}#members" if request.htmx else MEMBERS
    return render(request, template, context, status=status)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def members_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The project's members and their roles; POST adds an existing account with a role."""
    project = _led(request, name)
    if request.method != "POST":
        return _members_page(request, project)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = member_add(
                project=project,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except AppError as error:
            _place(form, error)
        else:
            messages.success(
                request,
                f"Added {membership.user.username} as {membership.get_role_display().lower()}.",
            )
            return redirect("lead-members", name=project.name)
    return _members_page(request, project, form, status=200 if request.htmx else 400)


@htmx_page
@login_required
@require_POST
def member_role(request: HtmxHttpRequest, name: str, user_id: int) -> HttpResponse:
    """Change one member's role (never leaving the project without a lead)."""
    project = _led(request, name)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        problem = f"role: {' '.join(str(e) for e in form.errors.get('role', ['choose a role']))}"
        return _members_page(request, project, problem=problem, status=400)
    try:
        membership = member_role_change(
            project=project, user_id=user_id, role=form.cleaned_data["role"]
        )
    except NotFound:
        raise
    except AppError as error:
        return _members_page(
            request, project, problem=error.message, status=200 if request.htmx else 409
        )
    messages.success(
        request,
        f"{membership.user.username} is now {membership.get_role_display().lower()}.",
    )
    return redirect("lead-members", name=project.name)


@htmx_page
@login_required
@require_POST
def member_delete(request: HtmxHttpRequest, name: str, user_id: int) -> HttpResponse:
    """Remove a member from the project and its queues (their annotations stay)."""
    project = _led(request, name)
    username = (
        Membership.objects.filter(project=project, user_id=user_id)
        .values_list("user__username", flat=True)
        .first()
    )
    try:
        member_remove(project=project, user_id=user_id)
    except NotFound:
        raise
    except AppError as error:
        return _members_page(
            request, project, problem=error.message, status=200 if request.htmx else 409
        )
    messages.success(request, f"Removed {username} from {project.name}.")
    return redirect("lead-members", name=project.name)


# -- checks ----------------------------------------------------------------------------------------


@htmx_page
@login_required
@require_http_methods(["GET"])
def checks_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The project's automated checks: type, severity, sample rate, on or off."""
    project = _led(request, name)
    checks = list(Check.objects.filter(project=project).order_by("name"))
    context = {"project": project, "checks": checks}
    return render(request, f"{CHECKS}#checks" if request.htmx else CHECKS, context)


def _check(project: Project, check_id: int) -> Check:
    check = Check.objects.filter(project=project, pk=check_id).first()
    if check is None:
        raise NotFound(f"No check {check_id} in {project.name}.")
    return check


def _check_form_page(
    request: HtmxHttpRequest,
    project: Project,
    form: CheckForm,
    check: Check | None,
    *,
    status: int = 200,
) -> HttpResponse:
    context = {
        "project": project,
        "form": form,
        "check": check,
        "examples": parameter_examples(),
    }
    return render(request, CHECK_FORM, context, status=status)


def _save_check(request: HtmxHttpRequest, project: Project, check: Check | None) -> HttpResponse:
    form = CheckForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = check_save(
                project=project,
                name=data["name"],
                check_type=data["type"],
                parameters=form.parameters_value(),
                severity=data["severity"],
                enabled=data["enabled"],
                sample_rate=data["sample_rate"],
                check=check,
            )
        except CheckConfigError as error:
            if error.field.startswith("parameters"):
                form.add_parameter_error(error.field, error.message)
            elif error.field in form.fields:
                form.add_error(error.field, error.message)
            else:
                form.add_error(None, str(error))
        else:
            messages.success(request, f"Saved check {saved.name}.")
            return redirect("lead-checks", name=project.name)
    return _check_form_page(request, project, form, check, status=400)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def check_new(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Configure a new check; everything that could fail when it runs is refused here."""
    project = _led(request, name)
    if request.method == "POST":
        return _save_check(request, project, None)
    return _check_form_page(request, project, CheckForm(), None)


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def check_edit(request: HtmxHttpRequest, name: str, check_id: int) -> HttpResponse:
    """Change a check's type, parameters, severity, sample rate or state."""
    project = _led(request, name)
    check = _check(project, check_id)
    if request.method == "POST":
        return _save_check(request, project, check)
    return _check_form_page(request, project, CheckForm(initial=check_initial(check)), check)


@htmx_page
@login_required
@require_POST
def check_toggle(request: HtmxHttpRequest, name: str, check_id: int) -> HttpResponse:
    """Disable an enabled check or enable a disabled one, its configuration untouched."""
    project = _led(request, name)
    found = _check(project, check_id)
    check = check_set_enabled(check=found, enabled=not found.enabled)
    if request.htmx:
        return render(request, f"{CHECKS}#check_row", {"project": project, "check": check})
    messages.success(request, f"{check.name} is {'on' if check.enabled else 'off'}.")
    return redirect("lead-checks", name=project.name)
