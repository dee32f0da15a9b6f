"""What a delivery looks like in each webhook format: the signed JSON body, a Slack message,
an email. The texts of Slack messages and emails are summaries; the JSON body is the event.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SUMMARY = 3000


def json_body(event: str, payload: dict[str, Any], delivery_id: str) -> bytes:
    """The bytes a ``json`` webhook receives (and its signature covers)."""
    body = {"event": event, **payload, "delivery_id": delivery_id}
    return json.dumps(body, separators=(",", ":"), sort_keys=False, default=str).encode()


def summary(event: str, payload: dict[str, Any]) -> str:
    """One line saying what happened, for people (Slack, email subject and first line)."""
    if event.startswith("alert."):
        alert = payload.get("alert") or {}
        verb = "resolved" if event == "alert.resolved" else "fired"
        rule = alert.get("rule")
        name = rule.get("name") if isinstance(rule, dict) else rule
        text = f"Alert {verb}: {name or 'an alert rule'}"
        if alert.get("metric") is not None and alert.get("value") is not None:
            text += f", {alert['metric']} = {_number(alert['value'])}"
            if alert.get("baseline") is not None:
                text += f" (baseline {_number(alert.get('baseline'))})"
        return text[:MAX_SUMMARY]
    if event == "trigger.fired":
        trigger = payload.get("trigger") or {}
        export = payload.get("export") or {}
        text = f"Trigger fired: {trigger.get('name', 'a trigger')}"
        if export.get("id") is not None:
            text += f", export {export['id']} ready"
        return text[:MAX_SUMMARY]
    return f"Event {event}"[:MAX_SUMMARY]


def slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions): names people typed must not be.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: str, payload: dict[str, Any]) -> bytes:
    """A message for a Slack-compatible incoming webhook: ``{"text": ...}`` and one block."""
    lines = [slack_escape(summary(event, payload))]
    download = (payload.get("export") or {}).get("download_url")
    if isinstance(download, str) and download.startswith(("https://", "http://")):
        lines.append(f"<{slack_escape(download)}|Download the export>")
    window = (payload.get("alert") or {}).get("window")
    if isinstance(window, list | tuple) and len(window) == 2:
        lines.append(slack_escape(f"Window: {window[0]} to {window[1]}"))
    text = "\n".join(lines)
    message = {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
    return json.dumps(message, separators=(",", ":")).encode()


def email_message(event: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of the email sent for an event."""
    # Names people typed end up in the subject: no line breaks in a header.
    subject = " ".join(f"[feedbackloop] {summary(event, payload)}"[:200].split())
    body = f"{summary(event, payload)}\n\n{json.dumps(payload, indent=2, default=str)}\n"
    return subject, body


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
