"""Webhook targets: create, change and delete them, with every field checked here.

A URL is checked twice at creation: its syntax and scheme, then what its host resolves to
(and the error says which failed). Sending checks the address again (``outbound.client``).
The signing secret is generated when left out and returned once; it is stored sealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from annotation.errors import Conflict, Invalid
from annotation.models import Project, Webhook, WebhookFormat
from annotation.models.audit import AuditAction
from annotation.outbound.sealing import seal
from annotation.outbound.signing import new_webhook_secret
from annotation.outbound.targets import TargetRefused, parse_target, resolve_target
from annotation.schemas.export_request import unstorable_text
from annotation.services.audit import audit_record

FIELDS = ("project", "name", "url", "format", "secret", "email_recipients", "active")
MIN_SECRET = 16
MAX_SECRET = 256
MAX_RECIPIENTS = 20
SECRET_SHOWN = 10  # characters kept in clear to recognise a secret


def webhook_create(
    *, project: Project, created_by: User | None, data: Mapping[str, Any]
) -> tuple[Webhook, str]:
    """Validate and save a new webhook; returns it and its secret (shown this once)."""
    _unknown_keys(data)
    if "name" not in data:
        raise Invalid("name: give the webhook a name.", details={"name": ["Required."]})
    fmt = _format(data.get("format", WebhookFormat.JSON))
    fields = _fields(data, fmt)
    secret = _secret(data["secret"]) if "secret" in data else new_webhook_secret()
    webhook = Webhook(project=project, created_by=created_by, format=fmt, **fields)
    _set_secret(webhook, secret)
    _check_target(webhook)
    try:
        with transaction.atomic():
            webhook.save()
    except IntegrityError:
        raise _name_taken(webhook) from None
    _audit(AuditAction.WEBHOOK_CREATED, webhook, created_by)
    return webhook, secret


def webhook_update(*, webhook: Webhook, data: Mapping[str, Any]) -> tuple[Webhook, str | None]:
    """Change the fields given; returns the webhook and its new secret when one was set."""
    _unknown_keys(data)
    if "project" in data and data["project"] != webhook.project.name:
        raise Invalid(
            "project: a webhook stays in its project; create one in the other project.",
            details={"project": ["Cannot be changed."]},
        )
    fmt = _format(data["format"]) if "format" in data else webhook.format
    merged = {
        "url": webhook.url,
        "email_recipients": webhook.email_recipients,
        "name": webhook.name,
        **{k: v for k, v in data.items() if k in ("name", "url", "email_recipients", "active")},
    }
    fields = _fields(merged, fmt)
    for key, value in fields.items():
        setattr(webhook, key, value)
    webhook.format = fmt
    secret = None
    if "secret" in data:
        secret = _secret(data["secret"])
        _set_secret(webhook, secret)
    if "url" in data or "format" in data:
        _check_target(webhook)
    if webhook.active and "active" in data:
        # Switched back on by hand: start afresh.
        webhook.failing, webhook.failing_since, webhook.consecutive_failures = False, None, 0
    try:
        with transaction.atomic():
            webhook.save()
    except IntegrityError:
        raise _name_taken(webhook) from None
    _audit(AuditAction.WEBHOOK_CHANGED, webhook, None)
    return webhook, secret


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete a webhook and its delivery log; triggers and alert rules stop naming it."""
    _audit(AuditAction.WEBHOOK_DELETED, webhook, None)
    webhook.delete()


def _audit(action: str, webhook: Webhook, actor: User | None) -> None:
    # No actor: the audit log takes the person from the request being served.
    audit_record(
        actor=actor,
        action=action,
        project=webhook.project,
        target=f"webhook:{webhook.pk}",
        details={"name": webhook.name, "format": webhook.format, "active": webhook.active},
    )


def _unknown_keys(data: Mapping[str, Any]) -> None:
    unknown = [str(k)[:40] for k in data if k not in FIELDS]
    if unknown:
        raise Invalid(
            f"Unknown field {unknown[0]!r}; a webhook has {', '.join(FIELDS)}.",
            details={k: ["Unknown field."] for k in unknown},
        )


def _format(value: Any) -> str:
    if value not in WebhookFormat.values:
        raise Invalid(
            f"format: {str(value)[:40]!r} is not a webhook format; use json, slack or email.",
            code="unknown_format",
            details={"format": [f"Use one of {', '.join(WebhookFormat.values)}."]},
        )
    return str(value)


def _fields(data: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = _name(data["name"])
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("active: give true or false.", details={"active": ["Not a boolean."]})
        out["active"] = data["active"]
    url = data.get("url") or ""
    recipients = data.get("email_recipients") or []
    if fmt == WebhookFormat.EMAIL:
        if url:
            raise Invalid(
                "url: email webhooks send to email_recipients; leave url out.",
                details={"url": ["Not used by the email format."]},
            )
        out["url"] = ""
        out["email_recipients"] = _recipients(recipients)
    else:
        if not isinstance(url, str) or not url:
            raise Invalid(
                f"url: give the https URL a {fmt} webhook POSTs to.",
                code="invalid_url",
                details={"url": ["Required for the json and slack formats."]},
            )
        if recipients:
            raise Invalid(
                "email_recipients: only the email format sends email; leave it out.",
                details={"email_recipients": ["Only for format email."]},
            )
        out["url"] = url
        out["email_recipients"] = []
    return out


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise Invalid(
            "name: give a name of 1-100 characters.", details={"name": ["1-100 characters."]}
        )
    if (problem := unstorable_text(value)) is not None:
        raise Invalid(f"name: {problem}.", details={"name": [problem]})
    return value.strip()


def _recipients(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise Invalid(
            "email_recipients: give a list of email addresses for the email format.",
            details={"email_recipients": ["Required: a non-empty list of addresses."]},
        )
    if len(value) > MAX_RECIPIENTS:
        raise Invalid(
            f"email_recipients: at most {MAX_RECIPIENTS} addresses.",
            details={"email_recipients": [f"At most {MAX_RECIPIENTS}."]},
        )
    for index, address in enumerate(value):
        try:
            if not isinstance(address, str):
                raise ValidationError("not a string")
            validate_email(address)
        except ValidationError:
            raise Invalid(
                f"email_recipients[{index}]: {str(address)[:80]!r} is not an email address.",
                details={"email_recipients": {str(index): ["Not an email address."]}},
            ) from None
    return [str(a) for a in value]


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(
            "secret: give a secret of at least 16 characters, or leave the field out to have "
            "one generated.",
            code="missing_secret",
            details={"secret": ["Required to be a non-empty string when given."]},
        )
    if not MIN_SECRET <= len(value) <= MAX_SECRET or not value.isprintable():
        raise Invalid(
            f"secret: use {MIN_SECRET}-{MAX_SECRET} printable characters.",
            code="weak_secret",
            details={"secret": [f"{MIN_SECRET}-{MAX_SECRET} printable characters."]},
        )
    return value


def _set_secret(webhook: Webhook, secret: str) -> None:
    webhook.secret_sealed = seal(secret, settings.WEBHOOK_SECRETS_KEYS)
    webhook.secret_prefix = secret[:SECRET_SHOWN]


def _check_target(webhook: Webhook) -> None:
    if webhook.format == WebhookFormat.EMAIL:
        return
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE
    try:
        target = parse_target(webhook.url, allow_private=allow_private)
    except TargetRefused as exc:
        raise Invalid(
            f"url: {exc.message}", code=exc.code, details={"url": [exc.message]}
        ) from None
    try:
        resolve_target(target, allow_private=allow_private)
    except TargetRefused as exc:
        step = "does not resolve" if exc.code == "unresolvable" else "resolves to a refused address"
        raise Invalid(
            f"url: the URL is well formed but its host {step}: {exc.message}",
            code=exc.code,
            details={"url": [exc.message]},
        ) from None


def _name_taken(webhook: Webhook) -> Conflict:
    return Conflict(
        f"name: project {webhook.project.name} already has a webhook named {webhook.name!r}; "
        "choose another name.",
        code="name_taken",
        details={"name": ["Taken in this project."]},
    )
