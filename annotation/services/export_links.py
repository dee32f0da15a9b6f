"""Signed, expiring download links to one export (what trigger webhooks carry).

The link's token is the export's id signed with a ``TimestampSigner`` (its own salt): it
opens that export's files only, for ``TRIGGER_DOWNLOAD_MAX_AGE_SECONDS``, with no account.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from annotation.errors import AppError, Forbidden
from annotation.models import Export

SALT = "annotation.export-download-link"


def export_download_link(export: Export, *, part: str | None = None) -> tuple[str, datetime]:
    """An absolute URL that downloads ``export`` (one ``part`` of it) until the returned time."""
    token = signing.TimestampSigner(salt=SALT).sign(str(export.pk))
    query = {"token": token, **({"part": part} if part else {})}
    path = reverse("api-export-link-download", args=[export.pk])
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}?{urlencode(query)}"
    expires = timezone.now() + timedelta(seconds=settings.TRIGGER_DOWNLOAD_MAX_AGE_SECONDS)
    return url, expires


def export_link_check(export_id: int, token: str) -> None:
    """Refuse a token that is forged, expired, or signed for another export."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign(token, max_age=settings.TRIGGER_DOWNLOAD_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise AppError(
            "This download link has expired; ask for a new one (run the trigger again or "
            "download the export with your account).",
            code="link_expired",
            status=410,
        ) from None
    except signing.BadSignature:
        raise Forbidden(
            "This download link is not valid; use the link exactly as it was sent.",
            code="bad_link",
        ) from None
    if value != str(export_id):
        raise Forbidden("This download link is for another export.", code="bad_link")
