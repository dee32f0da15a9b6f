"""Alert rules (leads create and change them; leads and engineers read them) and their alerts."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.ingestion import ErrorEnvelopeSerializer
from annotation.api.permissions import IsPerson
from annotation.errors import Invalid
from annotation.insights.query import InvalidQuery, parse_time
from annotation.models import Alert, AlertRule, AlertState, ConditionType, Role
from annotation.selectors.access import LEADS, READERS, object_for, project_access, projects_for
from annotation.selectors.alerts import (
    alert_data,
    alert_rule_data,
    alert_rules_of,
    alert_series,
    alerts_of,
)
from annotation.services.alert_rules import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
)

MAX_ALERTS = 500


class ConditionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ConditionType.choices)
    value = serializers.FloatField()
    direction = serializers.ChoiceField(choices=["above", "below"], required=False)


class AlertRuleSerializer(serializers.Serializer):
    """The shape of a rule (DESIGN §4); responses add id and timestamps."""

    id = serializers.IntegerField(read_only=True)
    project = serializers.CharField()
    name = serializers.CharField(max_length=100)
    metric = serializers.ChoiceField(
        choices=[
            "negative_feedback_rate",
            "mean_rating",
            "flag_rate",
            "implicit_negative_rate",
            "reviewed_bad_rate",
            "volume",
        ]
    )
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    check = serializers.CharField(required=False, allow_null=True, help_text="flag_rate only.")
    min_severity = serializers.ChoiceField(
        choices=["info", "warning", "critical"], required=False, allow_null=True
    )
    window_minutes = serializers.IntegerField(min_value=1)
    baseline_minutes = serializers.IntegerField(min_value=1)
    condition = ConditionSerializer()
    min_count = serializers.IntegerField(min_value=0)
    cooldown_minutes = serializers.IntegerField(min_value=0)
    webhooks = serializers.ListField(child=serializers.IntegerField())
    triggers = serializers.ListField(child=serializers.IntegerField())
    active = serializers.BooleanField()
    last_evaluated_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    rule = serializers.CharField()
    rule_id = serializers.IntegerField()
    metric = serializers.CharField()
    state = serializers.ChoiceField(choices=AlertState.choices)
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    baseline = serializers.FloatField(allow_null=True)
    window = serializers.ListField(child=serializers.DateTimeField())
    fired_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    details = serializers.JSONField()
    url = serializers.CharField()


class AlertPageSerializer(serializers.Serializer):
    alerts = AlertSerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Send as `before` for the next page; null on the last."
    )


class AlertSeriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField()
    value = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True, required=False)
    in_window = serializers.BooleanField()


class AlertSeriesSerializer(serializers.Serializer):
    metric = serializers.CharField()
    bucket = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    window = serializers.ListField(child=serializers.DateTimeField())
    bound = serializers.FloatField(allow_null=True)
    points = AlertSeriesPointSerializer(many=True)


_EXAMPLE = OpenApiExample(
    "A thumbs-down spike on one model version",
    request_only=True,
    value={
        "project": "support-bot",
        "name": "thumbs-down spike",
        "metric": "negative_feedback_rate",
        "filters": {"model_version": ["2026-10-01"]},
        "window_minutes": 60,
        "baseline_minutes": 1440,
        "condition": {"type": "threshold", "value": 0.3},
        "min_count": 20,
        "cooldown_minutes": 60,
        "webhooks": [3],
    },
)
_ERRORS = {
    400: OpenApiResponse(ErrorEnvelopeSerializer, description="A field is wrong; details name it."),
    403: OpenApiResponse(ErrorEnvelopeSerializer, description="Not a lead of the project."),
    404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such rule among yours."),
}


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise Invalid("Send a JSON object.", details={"body": ["Send a JSON object."]})
    return dict(request.data)


def _rule_for(request: Request, rule_id: int, roles: tuple[Role, ...]) -> AlertRule:
    rule: AlertRule = object_for(
        AlertRule.objects.select_related("project", "check_config"),
        rule_id,
        request.user,
        roles,
        what="alert rule",
    )
    return rule


class AlertRuleListView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="alert_rules_list",
        summary="The alert rules of your projects (leads and engineers)",
        parameters=[OpenApiParameter("project", str, description="Only this project.")],
        responses={200: AlertRuleSerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        projects = projects_for(request.user, READERS)
        if name := request.query_params.get("project"):
            projects = projects.filter(pk=project_access(request.user, name, READERS).project.pk)
        return Response([alert_rule_data(rule) for rule in alert_rules_of(projects)])

    @extend_schema(
        operation_id="alert_rules_create",
        summary="Create an alert rule (leads)",
        request=AlertRuleSerializer,
        examples=[_EXAMPLE],
        responses={201: AlertRuleSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = _body(request)
        project = body.get("project")
        if not isinstance(project, str) or not project:
            raise Invalid(
                "project: name the project the rule watches.",
                details={"project": ["Send the project's name."]},
            )
        access = project_access(request.user, project, LEADS)
        rule = alert_rule_create(project=access.project, user=request.user, body=body)
        return Response(alert_rule_data(rule), status=201)


class AlertRuleDetailView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(operation_id="alert_rules_get", responses={200: AlertRuleSerializer, **_ERRORS})
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(alert_rule_data(_rule_for(request, rule_id, READERS)))

    @extend_schema(
        operation_id="alert_rules_update",
        summary="Change some fields of an alert rule (leads); switching it off resolves its alert",
        request=AlertRuleSerializer(partial=True),
        responses={200: AlertRuleSerializer, **_ERRORS},
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = _rule_for(request, rule_id, LEADS)
        body = _body(request)
        if "project" in body and body["project"] != rule.project.name:
            raise Invalid(
                "project: a rule stays in its project.",
                details={"project": ["A rule cannot move to another project; leave it out."]},
            )
        body.pop("project", None)
        rule = alert_rule_update(rule=rule, user=request.user, changes=body)
        return Response(alert_rule_data(rule))

    @extend_schema(
        operation_id="alert_rules_delete",
        summary="Delete an alert rule and its alerts (leads)",
        responses={204: None, **_ERRORS},
    )
    def delete(self, request: Request, rule_id: int) -> Response:
        alert_rule_delete(rule=_rule_for(request, rule_id, LEADS), user=request.user)
        return Response(status=204)


def _int_param(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid(
            f"{name}: send a whole number from {low} to {high:,}.",
            details={name: [f"Send a whole number from {low} to {high:,}."]},
        )
    return int(raw)


class AlertListView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="alerts_list",
        summary="Fired alerts of your projects, newest first (leads and engineers)",
        parameters=[
            OpenApiParameter("project", str, description="Only this project."),
            OpenApiParameter("rule", int, description="Only this rule's alerts."),
            OpenApiParameter("state", str, enum=["firing", "resolved"]),
            OpenApiParameter("since", str, description="Fired at or after (ISO 8601)."),
            OpenApiParameter("until", str, description="Fired before (ISO 8601)."),
            OpenApiParameter("before", int, description="Older than this alert id (next page)."),
            OpenApiParameter("limit", int, description=f"At most this many (1 to {MAX_ALERTS})."),
        ],
        responses={200: AlertPageSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        projects = projects_for(request.user, READERS)
        if name := params.get("project"):
            projects = projects.filter(pk=project_access(request.user, name, READERS).project.pk)
        state = params.get("state") or None
        if state is not None and state not in AlertState.values:
            raise Invalid(
                "state: use firing or resolved.", details={"state": ["Use firing or resolved."]}
            )
        try:
            since = parse_time("since", params.get("since"))
            until = parse_time("until", params.get("until"))
        except InvalidQuery as error:
            raise Invalid(
                f"{error.field}: {error.message}", details={error.field: [error.message]}
            ) from None
        rule_id = _int_param(request, "rule", 1, 2**62, None)
        if rule_id is not None:
            _rule_for(request, rule_id, READERS)
        limit = _int_param(request, "limit", 1, MAX_ALERTS, 100) or 100
        alerts = alerts_of(projects, rule_id=rule_id, state=state, since=since, until=until)
        before = _int_param(request, "before", 1, 2**62, None)
        if before is not None:
            alerts = alerts.filter(pk__lt=before)
        page = list(alerts.order_by("-id")[: limit + 1])
        return Response(
            {
                "alerts": [alert_data(alert) for alert in page[:limit]],
                "next_before": page[limit - 1].pk if len(page) > limit else None,
            }
        )


class AlertDetailView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(operation_id="alerts_get", responses={200: AlertSerializer, **_ERRORS})
    def get(self, request: Request, alert_id: int) -> Response:
        alert = _alert_for(request, alert_id)
        return Response(alert_data(alert))


class AlertSeriesView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="alerts_series",
        summary="The rule's metric by hour around the firing, the window's points marked",
        responses={200: AlertSeriesSerializer, **_ERRORS},
    )
    def get(self, request: Request, alert_id: int) -> Response:
        return Response(alert_series(_alert_for(request, alert_id), now=timezone.now()))


def _alert_for(request: Request, alert_id: int) -> Alert:
    alert: Alert = object_for(
        Alert.objects.select_related("rule", "rule__project", "rule__check_config"),
        alert_id,
        request.user,
        READERS,
        what="alert",
        project_field="rule__project",
    )
    return alert
