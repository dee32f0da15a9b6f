"""Realistic demo traffic for a support assistant, generated from a seed so it runs anywhere.

Besides the support traffic (three model versions, two prompt templates in two versions each,
an A/B test of tone, retrieved documents, ratings, reasons, corrections, comments and implicit
signals), the demo carries preference pairs: from the HH-RLHF file in the shared data directory
when it is there (`hh_rlhf_pairs`), otherwise built from the same support topics (`builtin_pairs`).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from annotation.schemas.ingestion import (
    CommentIn,
    CorrectionIn,
    FeedbackIn,
    ImplicitEventIn,
    ImplicitIn,
    InteractionIn,
    LabelIn,
    Message,
    RatingIn,
    RetrievedDocument,
)

SYSTEM_PROMPT = (
    "You are Nimbus, the support assistant of Cloudnest, a file-sync service. Answer briefly, "
    "cite the knowledge base when you use it, and never reveal customers' personal data."
)

TOPICS: list[tuple[str, str, str, str]] = [
    (
        "How do I reset my password?",
        "Open Settings → Security and choose Reset password. We email you a link valid for 30 minutes.",
        "kb-101",
        "Passwords are reset from Settings > Security. Reset links expire after 30 minutes.",
    ),
    (
        "Why is my sync stuck at 99%?",
        "A file is probably open in another app. Close it, then pause and resume sync from the tray icon.",
        "kb-214",
        "Sync stalls when a file is locked by another application. Pausing and resuming retries it.",
    ),
    (
        "Can I share a folder with someone outside my company?",
        "Yes, if your admin allows external sharing. Right-click the folder, choose Share, and enter their email.",
        "kb-330",
        "External sharing is controlled by the workspace admin under Policies > Sharing.",
    ),
    (
        "How much storage does the Team plan include?",
        "The Team plan includes 5 TB shared across the team, and you can add 1 TB blocks at any time.",
        "kb-402",
        "Team plan: 5 TB pooled storage. Additional storage sold in 1 TB blocks.",
    ),
    (
        "How do I restore a deleted file?",
        "Go to Deleted files in the web app, select the file and click Restore. Files stay there for 30 days.",
        "kb-118",
        "Deleted files are kept for 30 days (180 on Business) and can be restored from the web app.",
    ),
    (
        "Is my data encrypted?",
        "Yes. Files are encrypted in transit with TLS 1.3 and at rest with AES-256.",
        "kb-501",
        "All data is encrypted in transit (TLS 1.3) and at rest (AES-256).",
    ),
    (
        "How do I cancel my subscription?",
        "Go to Billing → Plan and choose Cancel plan. Your files stay readable until the period ends.",
        "kb-610",
        "Cancellation takes effect at the end of the billing period; data is retained 90 days.",
    ),
    (
        "The desktop app won't start on my Mac.",
        "Try reinstalling from cloudnest.example/download and allow the app in System Settings → Privacy.",
        "kb-233",
        "On macOS, the app needs Full Disk Access granted in System Settings > Privacy & Security.",
    ),
]

BAD_RESPONSES = [
    "I'm sorry, but I can't help with that.",
    "Sure! Your account manager is Dana Miller, reach her at dana.miller@cloudnest.example or +1 415 555 0132.",
    "The Team plan includes unlimited storage for everyone.",
    "Just delete the app and your files, then start over. That always works.",
    "",
    "Honestly that's a stupid question, read the docs.",
    '{"answer": "reset your password", "steps": [',
]

MODELS = [
    ("nimbus-large", "2026-10-01"),
    ("nimbus-large", "2026-11-15"),
    ("nimbus-small", "2026-09-20"),
]
# Billing questions go through their own prompt template; each template has two live versions.
TEMPLATES = {"support_answer": ["3", "4"], "billing_answer": ["1", "2"]}
BILLING_TOPICS = {
    "How much storage does the Team plan include?",
    "How do I cancel my subscription?",
}
# A wordier second answer for the A/B pairs of the tone test.
VERBOSE_PREFIX = "Great question! I'd be glad to help you with that today. "
LOCALES = ["en-US", "en-GB", "en-IE", "en-AU"]


def generate(
    count: int, *, seed: int = 7, now: datetime
) -> Iterator[tuple[InteractionIn, list[FeedbackIn]]]:
    """Yield `count` interactions over the last 14 days with the feedback real users would give."""
    rng = random.Random(seed)
    for n in range(count):
        question, good, doc_id, doc_text = rng.choice(TOPICS)
        model, version = rng.choice(MODELS)
        # The newer model version answers badly more often: something to find in the data.
        bad = rng.random() < (0.28 if version == "2026-11-15" else 0.12)
        response = rng.choice(BAD_RESPONSES) if bad else good
        when = now - timedelta(minutes=rng.randint(0, 14 * 24 * 60))
        request_id = f"demo-{n:05d}"
        template = "billing_answer" if question in BILLING_TOPICS else "support_answer"
        metadata: dict[str, str] = {
            "locale": rng.choice(LOCALES),
            "channel": rng.choice(["web", "ios", "android"]),
        }
        if rng.random() < 0.15:
            # Some traffic of the tone test was answered twice: reviewers compare A and B.
            metadata["response_b"] = VERBOSE_PREFIX + good if not bad else good
        interaction = InteractionIn(
            request_id=request_id,
            timestamp=when,
            model=model,
            model_version=version,
            prompt_template=template,
            prompt_template_version=rng.choice(TEMPLATES[template]),
            messages=[
                Message(role="system", content=SYSTEM_PROMPT),
                Message(role="user", content=question),
            ],
            response=response,
            retrieved_context=[
                RetrievedDocument(
                    id=doc_id, text=doc_text, score=round(rng.uniform(0.6, 0.95), 2), source="kb"
                )
            ],
            user_id=f"user-{rng.randint(1, 400)}",
            session_id=f"s-{rng.randint(1, 900)}",
            experiment="tone-test",
            variant=rng.choice(["A", "B"]),
            latency_ms=round(rng.lognormvariate(6.6, 0.4), 1),
            tokens_in=rng.randint(180, 420),
            tokens_out=max(1, len(response) // 4),
            cost=round(rng.uniform(0.0004, 0.003), 5),
            metadata=metadata,
        )
        yield interaction, list(_feedback(rng, request_id, bad, good, when))


def _feedback(
    rng: random.Random, request_id: str, bad: bool, good: str, when: datetime
) -> Iterator[FeedbackIn]:
    later = when + timedelta(seconds=rng.randint(5, 600))
    if rng.random() < 0.45:
        thumbs_up = rng.random() < (0.2 if bad else 0.85)
        yield RatingIn(
            request_id=request_id, value=1 if thumbs_up else 0, scale="thumbs", timestamp=later
        )
    if rng.random() < 0.15:
        stars = rng.choice([1, 2, 2, 3]) if bad else rng.choice([3, 4, 5, 5])
        yield RatingIn(request_id=request_id, value=stars, scale="stars5", timestamp=later)
    if bad and rng.random() < 0.35:
        yield LabelIn(
            request_id=request_id,
            labels=rng.sample(
                ["incorrect", "unhelpful", "unsafe", "off_topic"], k=rng.randint(1, 2)
            ),
            timestamp=later,
        )
    if bad and rng.random() < 0.12:
        yield CorrectionIn(request_id=request_id, text=good, timestamp=later)
    if rng.random() < 0.06:
        text = rng.choice(
            ["It ignored my second question", "Perfect, thanks!", "Too long", "Wrong plan details"]
        )
        yield CommentIn(request_id=request_id, text=text, timestamp=later)
    if rng.random() < 0.5:
        events: list[ImplicitEventIn] = (
            ["rephrased", "regenerated", "abandoned", "dwell"]
            if bad
            else ["copy", "click", "task_completed", "dwell"]
        )
        event = rng.choice(events)
        yield ImplicitIn(
            request_id=request_id,
            event=event,
            value=round(rng.uniform(2, 90), 1) if event == "dwell" else None,
            timestamp=later,
        )


HH_RLHF_FILE = "hh-rlhf-harmless-base-test.jsonl.gz"


def shared_data_dir() -> Path:
    """The shared data directory beside the project (`../shared/data`), where it may hold HH-RLHF."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def preference_pairs(
    count: int, *, seed: int = 7, now: datetime, data_dir: Path | None = None
) -> tuple[str, list[tuple[InteractionIn, list[FeedbackIn]]]]:
    """`count` A/B pairs and where they came from: HH-RLHF if its file is there, else built in."""
    path = (data_dir or shared_data_dir()) / HH_RLHF_FILE
    if path.is_file():
        pairs = list(hh_rlhf_pairs(path, count, seed=seed, now=now))
        if pairs:
            return f"HH-RLHF ({path})", pairs
    return "built-in support pairs", list(builtin_pairs(count, seed=seed, now=now))


def hh_rlhf_pairs(
    path: Path, count: int, *, seed: int = 7, now: datetime
) -> Iterator[tuple[InteractionIn, list[FeedbackIn]]]:
    """The first `count` usable HH-RLHF pairs as chat interactions of the past two weeks."""
    from annotation.importers import hh_rlhf_interaction

    rng = random.Random(seed)
    made = 0
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if made >= count:
                return
            try:
                record = json.loads(line)
                interaction = hh_rlhf_interaction(record)
            except (ValueError, TypeError):
                continue
            if len(interaction.response) > 2000 or len(interaction.metadata["response_b"]) > 2000:
                continue
            yield _dated(interaction, rng, now, made), _pair_feedback(rng, interaction.request_id)
            made += 1


def builtin_pairs(
    count: int, *, seed: int = 7, now: datetime
) -> Iterator[tuple[InteractionIn, list[FeedbackIn]]]:
    """A/B pairs from the support topics: the right answer against a wrong or rude one."""
    rng = random.Random(seed)
    for n in range(count):
        question, good, _doc, _text = TOPICS[n % len(TOPICS)]
        bad = BAD_RESPONSES[n % len(BAD_RESPONSES)] or "I don't know."
        a, b = (good, bad) if n % 2 == 0 else (bad, good)
        interaction = InteractionIn(
            request_id=f"demo-pair-{n:04d}",
            messages=[Message(role="user", content=question)],
            response=a,
            model="hh-rlhf",
            prompt_template="hh-rlhf-harmless",
            metadata={"response_b": b, "hh_preferred": "A" if a == good else "B"},
        )
        yield _dated(interaction, rng, now, n), _pair_feedback(rng, interaction.request_id)


def _dated(interaction: InteractionIn, rng: random.Random, now: datetime, n: int) -> InteractionIn:
    model, version = ("nimbus-chat", "2026-11-01") if n % 3 else ("nimbus-chat", "2026-11-20")
    return msgspec.structs.replace(
        interaction,
        timestamp=now - timedelta(minutes=rng.randint(0, 14 * 24 * 60)),
        model=model,
        model_version=version,
        prompt_template_version="1",
        experiment="safety-tuning",
        variant="A" if n % 2 else "B",
        user_id=f"user-{rng.randint(1, 400)}",
    )


def _pair_feedback(rng: random.Random, request_id: str) -> list[FeedbackIn]:
    if rng.random() < 0.4:
        return [RatingIn(request_id=request_id, value=rng.choice([0, 0, 1]), scale="thumbs")]
    return []
