from __future__ import annotations

from django.db import models

from annotation.models.interaction import Interaction
from annotation.models.project import Project


class CheckType(models.TextChoices):
    PII = "pii", "Personal data and secrets"
    BLOCKLIST = "blocklist", "Blocklisted terms"
    FORMAT = "format", "Format rules"
    LLM_JUDGE = "llm_judge", "LLM as judge"
    PYTHON = "python", "Python evaluator"


RULE_TYPES = (CheckType.PII, CheckType.BLOCKLIST, CheckType.FORMAT)
EVALUATOR_TYPES = (CheckType.LLM_JUDGE, CheckType.PYTHON)


class Severity(models.IntegerChoices):
    # Integers so "at or above a severity" is a plain comparison in SQL.
    INFO = 10, "info"
    WARNING = 20, "warning"
    CRITICAL = 30, "critical"

    @classmethod
    def from_name(cls, name: str) -> Severity:
        for member in cls:
            if member.label == name:
                return member
        raise ValueError(f"unknown severity '{name}'; use info, warning or critical")


class Check(models.Model):
    """One automated check configured for a project: its type, parameters and severity."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checks")
    name = models.SlugField(max_length=64)
    type = models.CharField(max_length=16, choices=CheckType.choices)
    parameters = models.JSONField(default=dict, blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    # Evaluators run on a sample; rules run on everything.
    sample_rate = models.FloatField(default=1.0)
    # What reviewers' settled answers say the check should have caught, for its guard report:
    # {"reasons": ["unsafe"], "labels": {"pii": "yes"}}; empty means a negative verdict.
    catches = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What model-based evaluators have cost so far.
    evaluator_calls = models.PositiveIntegerField(default=0)
    evaluator_prompt_tokens = models.PositiveBigIntegerField(default=0)
    evaluator_completion_tokens = models.PositiveBigIntegerField(default=0)
    evaluator_cost = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="check_name_unique_per_project"
            ),
            models.CheckConstraint(
                condition=models.Q(sample_rate__gt=0, sample_rate__lte=1),
                name="check_sample_rate_in_range",
            ),
        ]
        ordering = ["project", "name"]

    def __str__(self) -> str:
        return f"{self.project.name}/{self.name}"

    @property
    def is_evaluator(self) -> bool:
        return self.type in EVALUATOR_TYPES


class Flag(models.Model):
    """One check's verdict on one interaction.

    Rule checks record only their hits (`flagged` true). Evaluators record every verdict, passing
    ones too, so that review queues can sample the uncertain ones by score.
    """

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.CASCADE, related_name="flags", db_constraint=False
    )
    check_config = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="flags", db_column="check_id"
    )
    flagged = models.BooleanField(default=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    score = models.FloatField(
        null=True,
        blank=True,
        help_text=(
            "Rule checks: 1 for a hit. Evaluators: their own score from 0 to 1 (1 means the "
            "response fully meets the rubric); empty when the evaluation failed."
        ),
    )
    spans = models.JSONField(default=list, blank=True)
    label = models.CharField(max_length=64, blank=True)
    rationale = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "check_config"], name="flag_unique_per_check"
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "check_config", "severity", "interaction"],
                name="flag_by_check",
                condition=models.Q(flagged=True),
            ),
            models.Index(fields=["check_config", "score"], name="flag_check_score"),
        ]

    def __str__(self) -> str:
        return f"{self.check_config.name} on {self.interaction_id}"
