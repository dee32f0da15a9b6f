"""Who may see what: the one place that answers with which role a caller stands in a project.

Every API view (through `annotation.api.permissions`), every page (through
`annotation.views.access`), the admin (through `annotation.admin_scope`) and every service that
needs a caller's standing asks here; nothing else reads `Membership` to decide access.

The answers follow one rule: a caller who is not a member of the project an object belongs to
cannot tell it exists (404, `NotFound`); a member without the role the action needs is told which
role it needs (403, `Forbidden`). Ingestion keys (`ProjectClient`) stand in no role: they reach
only the ingestion endpoints, which check the key's project themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from annotation.errors import Forbidden, NotFound
from annotation.models import Export, Membership, Project, Role
from annotation.models.review import Queue

MEMBERS: tuple[Role, ...] = (Role.LEAD, Role.ENGINEER, Role.ANNOTATOR)
READERS: tuple[Role, ...] = (Role.LEAD, Role.ENGINEER)
LEADS: tuple[Role, ...] = (Role.LEAD,)

_ROLE_NAMES = {Role.LEAD: "leads", Role.ENGINEER: "engineers", Role.ANNOTATOR: "annotators"}


def person_id(user: Any) -> int | None:
    """The id of a signed-in person; None for anonymous callers and ingestion keys."""
    if not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None


def who_may(roles: Iterable[Role], project: Project | str) -> str:
    """'Only leads and engineers of support-bot' — the start of a refusal's message."""
    names = [_ROLE_NAMES[Role(role)] for role in roles]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    name = project.name if isinstance(project, Project) else project
    return f"Only {joined} of {name}"


# -- projects --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: Role

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    @property
    def can_read_all(self) -> bool:
        """Leads and engineers read everything of their project; annotators their queues only."""
        return self.role in READERS


def role_in(user: Any, project: Project | int) -> Role | None:
    """The caller's role in the project, or None when they are not a member."""
    uid = person_id(user)
    if uid is None:
        return None
    project_id = project.pk if isinstance(project, Project) else project
    role = (
        Membership.objects.filter(user_id=uid, project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def projects_for(user: Any, roles: Iterable[Role] = MEMBERS) -> QuerySet[Project]:
    """Projects in which the caller holds one of `roles` (none for anonymous callers and keys)."""
    uid = person_id(user)
    if uid is None:
        return Project.objects.none()
    memberships = Membership.objects.filter(user_id=uid, role__in=list(roles))
    return Project.objects.filter(pk__in=memberships.values("project_id"))


def holds_role(user: Any, roles: Iterable[Role] = MEMBERS) -> bool:
    """Whether the caller holds one of `roles` in at least one project (one query)."""
    uid = person_id(user)
    if uid is None:
        return False
    return Membership.objects.filter(user_id=uid, role__in=list(roles)).exists()


def project_access(
    user: Any, project: Project | str | int | None, roles: Iterable[Role] = MEMBERS
) -> ProjectAccess:
    """The caller's standing in the project, which must be one of `roles`.

    `project` is a Project, its name or its id. Raises NotFound when the project does not exist
    or the caller is not a member, Forbidden when they are a member without one of `roles`.
    """
    roles = tuple(roles)
    if project is None or project == "":
        raise NotFound("Name a project you belong to.", details={"project": ["required"]})
    uid = person_id(user)
    found: Project | None = None
    role: Role | None = None
    if isinstance(project, Project):
        found, role = project, role_in(user, project)
    elif uid is not None:
        # One query: the caller's membership joined to the project (none: not theirs, or none).
        lookup = {"project_id": project} if isinstance(project, int) else {"project__name": project}
        membership = (
            Membership.objects.select_related("project").filter(user_id=uid, **lookup).first()
        )
        if membership is not None:
            found, role = membership.project, Role(membership.role)
    if found is None or role is None:
        raise NotFound(f"No project {project!r} among yours.")
    if role not in roles:
        raise Forbidden(f"{who_may(roles, found)} may do this; you are {_ROLE_NAMES[role][:-1]}.")
    return ProjectAccess(project=found, role=role)


# -- queues ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueAccess:
    queue: Queue
    role: Role | None
    assigned: bool

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    @property
    def can_read_all(self) -> bool:
        """Leads and engineers read everything about a queue of their project."""
        return self.role in READERS


def queue_access(user: Any, queue_id: int) -> QueueAccess | None:
    """The queue and the caller's standing in it, or None when they may not see it at all.

    Leads and engineers of the queue's project see it; annotators only when assigned to it.
    """
    uid = person_id(user)
    if uid is None:
        return None
    queue = Queue.objects.select_related("project", "guideline").filter(pk=queue_id).first()
    if queue is None:
        return None
    role = role_in(user, queue.project_id)
    if role is None:
        return None
    assigned = queue.annotators.filter(pk=uid).exists()
    if role not in READERS and not assigned:
        return None
    return QueueAccess(queue=queue, role=role, assigned=assigned)


def queue_for(user: Any, queue_id: int, roles: Iterable[Role] = MEMBERS) -> QueueAccess:
    """The queue, when the caller may see it and holds one of `roles` (NotFound / Forbidden)."""
    roles = tuple(roles)
    access = queue_access(user, queue_id)
    if access is None:
        raise NotFound(f"Queue {queue_id} not found, or not visible to you.")
    if access.role not in roles:
        raise Forbidden(f"{who_may(roles, access.queue.project)} may do this.")
    return access


def queues_for(user: Any) -> QuerySet[Queue]:
    """Queues of projects the caller leads or engineers, and the queues they are assigned to."""
    uid = person_id(user)
    if uid is None:
        return Queue.objects.none()
    readers = Membership.objects.filter(user_id=uid, role__in=list(READERS))
    members = Membership.objects.filter(user_id=uid)
    return (
        Queue.objects.filter(
            Q(project__in=readers.values("project_id"))
            | Q(annotators=uid, project__in=members.values("project_id"))
        )
        .distinct()
        .select_related("project", "guideline")
        .order_by("project__name", "name")
    )


# -- exports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportAccess:
    export: Export
    role: Role

    @property
    def allowed(self) -> bool:
        return self.role in READERS


def export_access(user: Any, export_id: int) -> ExportAccess | None:
    """The export and the caller's role in its project; None when they are not a member."""
    if person_id(user) is None:
        return None
    export = Export.objects.select_related("project", "created_by").filter(pk=export_id).first()
    if export is None:
        return None
    role = role_in(user, export.project_id)
    return ExportAccess(export=export, role=role) if role else None


def export_for(user: Any, export_id: int) -> Export:
    """The export, when the caller leads or engineers its project (NotFound / Forbidden)."""
    access = export_access(user, export_id)
    if access is None:
        raise NotFound(f"Export {export_id} not found, or not visible to you.")
    if not access.allowed:
        raise Forbidden(
            f"{who_may(READERS, access.export.project)} may see its exports; you annotate there."
        )
    return access.export


def object_for(
    queryset: QuerySet[Any],
    pk: Any,
    user: Any,
    roles: Iterable[Role],
    *,
    what: str,
    project_field: str = "project",
) -> Any:
    """The object `pk` of `queryset`, when the caller holds one of `roles` in its project.

    NotFound when it does not exist or belongs to a project the caller is not a member of;
    Forbidden when they are a member without one of `roles`. `project_field` is the lookup
    path from the object to its project ("project", "queue__project", ...).
    """
    roles = tuple(roles)
    found = queryset.filter(pk=pk).values_list(f"{project_field}_id", flat=True).first()
    role = role_in(user, found) if found is not None else None
    if found is None or role is None:
        raise NotFound(f"No {what} {pk} in your projects.")
    if role not in roles:
        project = Project.objects.get(pk=found)
        raise Forbidden(f"{who_may(roles, project)} may do this.")
    return queryset.get(pk=pk)


def item_standing(user: Any, item_id: int, roles: Iterable[Role] = MEMBERS) -> None:
    """Refuse (NotFound / Forbidden) a caller who may not act on queue item `item_id`.

    The review services check the same inside their own statements; this is for answering a
    request the services never see (an invalid body) with the refusal a valid one would get.
    """
    from annotation.models.review import QueueItem

    queue_id = QueueItem.objects.filter(pk=item_id).values_list("queue_id", flat=True).first()
    if queue_id is None:
        raise NotFound(f"No queue item {item_id}.")
    access = queue_access(user, queue_id)
    if access is None and role_in(user, Queue.objects.get(pk=queue_id).project_id) is not None:
        raise Forbidden("You are not assigned to this item's queue; ask a lead to add you.")
    queue_for(user, queue_id, roles)


def annotation_standing(user: Any, annotation_id: int) -> None:
    """Refuse (NotFound) a caller who is not the author of annotation `annotation_id`."""
    from annotation.models.review import Annotation

    uid = person_id(user)
    if uid is None or not Annotation.objects.filter(pk=annotation_id, annotator_id=uid).exists():
        raise NotFound(f"No annotation {annotation_id} of yours.")
