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
from annotation.models.project import (
    ApiToken,
    KeyScope,
    Membership,
    Project,
    ProjectKey,
    Role,
)
from annotation.models.review import (
    Adjudication,
    Annotation,
    FillStatus,
    Guideline,
    ItemState,
    Lease,
    LeaseState,
    Queue,
    QueueFill,
    QueueItem,
    QueueState,
)

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
    "KeyScope",
    "Membership",
    "Project",
    "ProjectKey",
    "RatingScale",
    "Role",
    "Severity",
]

# Review queues.
__all__ += [
    "Adjudication",
    "Annotation",
    "FillStatus",
    "Guideline",
    "ItemState",
    "Lease",
    "LeaseState",
    "Queue",
    "QueueFill",
    "QueueItem",
    "QueueState",
]

# Agreement and exports.
from annotation.models.agreement import AgreementReport, JobStatus  # noqa: E402
from annotation.models.exports import AuditEvent, Export, ExportFormat, ExportKind  # noqa: E402

__all__ += ["AgreementReport", "AuditEvent", "Export", "ExportFormat", "ExportKind", "JobStatus"]

from annotation.models.insights import (  # noqa: E402
    FlagRollup,
    InsightReport,
    InsightReportKind,
    ReviewRollup,
    RollupDirty,
    SliceRollup,
)

__all__ += ["FlagRollup", "ReviewRollup", "RollupDirty", "SliceRollup"]
__all__ += ["InsightReport", "InsightReportKind"]

# Webhooks and pipeline triggers.
from annotation.models.actions import (  # noqa: E402
    DeliveryStatus,
    Trigger,
    TriggerReason,
    TriggerRun,
    TriggerRunStatus,
    Webhook,
    WebhookDelivery,
    WebhookFormat,
)

__all__ += ["DeliveryStatus", "Webhook", "WebhookDelivery", "WebhookFormat"]
__all__ += ["Trigger", "TriggerReason", "TriggerRun", "TriggerRunStatus"]

# Saved export requests.
from annotation.models.export_presets import ExportPreset  # noqa: E402

__all__ += ["ExportPreset"]

# Alert rules and their alerts.
from annotation.models.alerts import (  # noqa: E402
    Alert,
    AlertMetric,
    AlertRule,
    AlertState,
    ConditionType,
    Direction,
)

__all__ += ["Alert", "AlertMetric", "AlertRule", "AlertState", "ConditionType", "Direction"]

from annotation.models.privacy import ExportedInteraction, RetentionRun  # noqa: E402
from annotation.models.project import PrivacyMode  # noqa: E402

__all__ += ["ExportedInteraction", "PrivacyMode", "RetentionRun"]
