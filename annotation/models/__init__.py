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
    "ApiToken",
    "Feedback",
    "FeedbackKind",
    "FeedbackSource",
    "ImplicitEvent",
    "Interaction",
    "Membership",
    "Project",
    "ProjectKey",
    "RatingScale",
    "Role",
]
