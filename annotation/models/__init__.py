from annotation.models.checks import (
    EVALUATOR_TYPES,
    RULE_TYPES,
    Check,
    CheckType,
    Flag,
    Severity,
)
from annotation.models.feedback import (
    Feedback,
    FeedbackKind,
    FeedbackSource,
    ImplicitEvent,
    RatingScale,
)
from annotation.models.interaction import Interaction
from annotation.models.project import ApiToken, Membership, Project, ProjectKey, Role

__all__ = [
    "EVALUATOR_TYPES",
    "RULE_TYPES",
    "ApiToken",
    "Check",
    "CheckType",
    "Feedback",
    "FeedbackKind",
    "FeedbackSource",
    "Flag",
    "ImplicitEvent",
    "Interaction",
    "Membership",
    "Project",
    "ProjectKey",
    "RatingScale",
    "Role",
    "Severity",
]
