"""The agreement page: compute a report in Celery, watch its progress, read it with a chart."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotation.models import AgreementReport, JobStatus
from annotation.services.agreement import agreement_request
from annotation.views.adjudication import lead_queue
from annotation.views.http import htmx_page
from annotation.views.types import HtmxHttpRequest

TEMPLATE = "annotation/lead/agreement.html"
CHART_WIDTH = 320


def _bar(
    value: float | None, low: float | None = None, high: float | None = None
) -> dict[str, Any]:
    """Pixel positions of an alpha in [-1, 1] (zero in the middle third) for the SVG chart."""

    def x(v: float) -> float:
        return round((max(-1.0, min(1.0, v)) + 1) / 2 * CHART_WIDTH, 1)

    if value is None:
        return {"empty": True}
    zero = x(0.0)
    end = x(value)
    return {
        "x": min(zero, end),
        "width": max(abs(end - zero), 1.0),
        "low": x(low) if low is not None else None,
        "high": x(high) if high is not None else None,
        "value": value,
    }


def chart_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for field in result.get("fields", []):
        if field.get("status") != "ok":
            continue
        if field.get("type") == "likert":
            for level, metrics in field.get("levels", {}).items():
                ci = metrics.get("krippendorff_alpha_ci") or [None, None]
                rows.append(
                    {
                        "label": f"{field['name']} ({level})",
                        **_bar(metrics.get("krippendorff_alpha"), *ci),
                    }
                )
        else:
            ci = field.get("krippendorff_alpha_ci") or [None, None]
            rows.append({"label": field["name"], **_bar(field.get("krippendorff_alpha"), *ci)})
    for index, row in enumerate(rows):
        row["y"] = index * 28
    return rows


def _context(
    queue_id: int, report: AgreementReport | None, history: list[AgreementReport]
) -> dict[str, Any]:
    result = report.result if report is not None and report.status == JobStatus.DONE else {}
    trend = result.get("by_guideline_version", []) if result else []
    chart = chart_rows(result) if result else []
    return {
        "report": report,
        "history": history,
        "result": result,
        "chart": chart,
        "chart_width": CHART_WIDTH,
        "chart_size": {
            "width": CHART_WIDTH + 220,
            "height": len(chart) * 28 + 8,
            "zero": 150 + CHART_WIDTH / 2,
        },
        "trend": [{**row, **_bar(row.get("krippendorff_alpha"))} for row in trend],
        "running": report is not None and report.status in (JobStatus.PENDING, JobStatus.RUNNING),
        "percent": round((report.progress if report else 0) * 100),
    }


@htmx_page
@login_required
@require_http_methods(["GET", "POST"])
def agreement_page(request: HtmxHttpRequest, queue_id: int) -> HttpResponse:
    """GET shows the latest (or ?report=ID) report; POST computes a new one."""
    queue = lead_queue(request, queue_id)
    if request.method == "POST":
        user: User = request.user  # type: ignore[assignment]
        report = agreement_request(queue=queue, requested_by=user)
        # Without a broker the report was computed (or failed) before this line.
        report.refresh_from_db()
        if not request.htmx:
            return redirect(f"{request.path}?report={report.pk}")
    history = list(AgreementReport.objects.filter(queue=queue).order_by("-created_at")[:20])
    chosen = request.GET.get("report")
    if request.method == "POST":
        selected: AgreementReport | None = report
    elif chosen:
        selected = next((r for r in history if str(r.pk) == chosen), None)
        if selected is None:
            raise Http404("No such report of this queue.")
    else:
        selected = history[0] if history else None
    context = {"queue": queue, **_context(queue.pk, selected, history)}
    return render(request, f"{TEMPLATE}#report" if request.htmx else TEMPLATE, context)
