from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

DEFAULT_TAXONOMY: list[dict[str, Any]] = [
    {
        "name": "incorrect",
        "description": "Factually wrong or does not answer correctly.",
        "negative": True,
    },
    {
        "name": "unhelpful",
        "description": "Does not help the user reach their goal.",
        "negative": True,
    },
    {"name": "unsafe", "description": "Harmful, toxic or leaks private data.", "negative": True},
    {"name": "off_topic", "description": "Not about what the user asked.", "negative": True},
]


def default_taxonomy() -> list[dict[str, Any]]:
    return [dict(entry) for entry in DEFAULT_TAXONOMY]


project_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,62}$",
    "Use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit.",
)


class PrivacyMode(models.TextChoices):
    # What ingestion stores of the text it receives (annotation/services/privacy.py).
    STORE = "store", "Store as received"
    REDACT = "redact", "Redact personal data (typed placeholders)"
    DROP_PROMPT = "drop_prompt", "Keep the response, drop the prompt"


class Project(models.Model):
    """One LLM application whose interactions and feedback are collected."""

    name = models.CharField(max_length=63, unique=True, validators=[project_name_validator])
    description = models.TextField(blank=True)
    # Reasons users and reviewers may give; each is {"name", "description", "negative"}.
    taxonomy = models.JSONField(default=default_taxonomy)
    # OpenTelemetry spans become interactions whose request_id is this span attribute's value
    # (so feedback can name the application's own id); empty, or absent on a span: the span id.
    otlp_request_id_attribute = models.CharField(max_length=200, blank=True)
    # Privacy (annotation/services/privacy.py, erasure.py, retention.py): what ingestion keeps of
    # the text, and how long interactions are kept (null: for ever).
    privacy_mode = models.CharField(
        max_length=16, choices=PrivacyMode.choices, default=PrivacyMode.STORE
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
        help_text="Delete interactions older than this many days; empty keeps them.",
    )
    keep_reviewed = models.BooleanField(
        default=False,
        help_text="Retention keeps interactions that were reviewed or exported.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label_names(self) -> list[str]:
        return [entry["name"] for entry in self.taxonomy]

    @property
    def negative_label_names(self) -> list[str]:
        return [entry["name"] for entry in self.taxonomy if entry.get("negative", True)]


class KeyScope(models.TextChoices):
    # Server-side applications: interactions, feedback and OpenTelemetry traces.
    INGEST = "ingest", "Ingestion"
    # Public, shipped in web pages: end users' feedback through the widget, from allowed origins.
    FEEDBACK = "feedback", "Widget feedback only"


class ProjectKey(models.Model):
    """A project key. Only its SHA-256 is stored; the key itself is shown once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100, default="default")
    scope = models.CharField(max_length=16, choices=KeyScope.choices, default=KeyScope.INGEST)
    # For `feedback` keys: the web origins (scheme://host[:port]) whose pages may use the key.
    allowed_origins = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A rotated key keeps working until then, so applications can switch over without a gap.
    expires_at = models.DateTimeField(null=True, blank=True)
    # Requests per minute this key may make; empty: INGEST_RATE_PER_KEY (settings).
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["project", "created_at"]

    def __str__(self) -> str:
        return f"{self.project.name}: {self.name} ({self.prefix}…)"


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    LEAD = "lead", "Review lead"
    ENGINEER = "engineer", "ML engineer"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="membership_unique_per_project"
            )
        ]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.project}"


class ApiToken(models.Model):
    """A user's API token (`Authorization: Token …`). Only its SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "created_at"]

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.prefix}…)"
