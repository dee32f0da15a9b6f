"""Throughput of the rule-based detectors on realistic ~800-character responses.

Run: .venv/bin/python bench/checks_detectors.py [--count 20000] [--seed 7]

Builds English prose responses, about 5% of them carrying PII, a secret or a
toxic phrase, and runs find_pii, the default toxicity blocklist and every
format check on each, in this one process (so on one core).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotation.checks.detectors import (
    DEFAULT_TOXICITY_TERMS,
    Blocklist,
    check_empty,
    check_json,
    check_language,
    check_max_length,
    check_refusal,
    check_truncated,
    find_pii,
)

SENTENCES = (
    "The quarterly report shows revenue grew by {pct}% compared with {year}.",
    "To reset your password, open Settings, choose Security and follow the prompts.",
    "In {year}, the team migrated {n} services to the new cluster without downtime.",
    "Here is a summary of the main points you asked about in your previous message.",
    "The function returns a list of tuples, each holding a key and its count.",
    "Make sure the configuration file is readable by the service account before restarting.",
    "Version {v} fixed a memory leak that appeared under sustained load.",
    "Most customers reported that onboarding took less than {n} minutes.",
    "You can run the migration with the --dry-run flag first to see what would change.",
    "The meeting is scheduled for {date} at {time} in the main conference room.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "A balanced diet includes vegetables, whole grains, lean proteins and healthy fats.",
    "Consider caching the results, because the upstream API is rate limited to {n} calls.",
    "The error usually means the port is already in use by another process.",
    "Let me know if you would like a more detailed explanation of any step.",
    "Order #{order} was shipped on {date} and should arrive within {small} business days.",
    "The museum opens at {time} and closes in the late afternoon on weekdays.",
    "Gradient descent updates the weights in the direction that reduces the loss.",
    "Set the timeout to {n} seconds and retry at most {small} times with backoff.",
    "The city of Scunthorpe hosted a classic car show that attracted many visitors.",
    "Our therapist recommends a short walk after lunch to improve concentration.",
    "Skilled engineers assess the risk of every change before it reaches production.",
    "Use a virtual environment so the project's dependencies stay isolated.",
    "The recipe needs {small} eggs, {n} grams of flour and a pinch of salt.",
    "Traffic on the main route increased by {pct}% during the holiday weekend.",
)

INSERTS = (
    "You can reach Jane at jane.doe@example.com for details.",
    "Call our office at +44 20 7946 0958 or (202) 456-1111.",
    "The card on file is 4111 1111 1111 1111, expiring 12/27.",
    "Transfer the funds to GB82 WEST 1234 5698 7654 32 by Friday.",
    "His SSN is 536-90-4399 according to the form.",
    "The server at 192.168.10.24 stopped responding at noon.",
    "Use the key sk-proj-4fT9xQ2LmN8pR3sV6wY1zB7cD0eH5jK in the header.",
    "Set AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE before deploying.",
    "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "Honestly, you are an idiot if you believe that.",
    "Just shut up and listen to me for once.",
    "What a st00pid question, you m0r0n.",
    "I'm sorry, but I can't help with that request.",
)


def build(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    responses = []
    for _ in range(count):
        parts: list[str] = []
        size = 0
        while size < 800:
            sentence = rng.choice(SENTENCES).format(
                pct=rng.randint(2, 60),
                year=rng.randint(1995, 2025),
                n=rng.randint(10, 900),
                small=rng.randint(2, 9),
                v=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                date=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                time=f"{rng.randint(8, 17)}:{rng.choice(('00', '15', '30', '45'))}",
                order=rng.randint(10_000_000, 99_999_999),
            )
            parts.append(sentence)
            size += len(sentence) + 1
        if rng.random() < 0.05:
            parts.insert(rng.randrange(len(parts)), rng.choice(INSERTS))
        responses.append(" ".join(parts))
    return responses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is reported")
    args = parser.parse_args()

    responses = build(args.count, args.seed)
    blocklist = Blocklist(DEFAULT_TOXICITY_TERMS)
    metadata = {"finish_reason": "stop"}
    stages: dict[str, Callable[[str], Sequence[object]]] = {
        "find_pii": find_pii,
        "blocklist": blocklist.find,
        "check_empty": check_empty,
        "check_max_length": lambda r: check_max_length(r, 4000),
        "check_json": lambda r: check_json(r, None),
        "check_refusal": check_refusal,
        "check_truncated": lambda r: check_truncated(metadata),
        "check_language": lambda r: check_language(r, "en"),
    }
    checks = tuple(stages.values())
    for check in checks:  # warm caches and lazily compiled patterns
        check(responses[0])

    def one_pass() -> float:
        started = time.process_time()
        for response in responses:
            for check in checks:
                check(response)
        return time.process_time() - started

    passes = sorted(one_pass() for _ in range(args.repeat))

    mean_len = sum(map(len, responses)) / len(responses)
    print(f"{len(responses)} responses, mean length {mean_len:.0f} chars, one process")
    print("per check (separate pass each):")
    for name, check in stages.items():
        started = time.process_time()
        flagged = sum(1 for response in responses if check(response))
        micros = (time.process_time() - started) / len(responses) * 1e6
        print(f"  {name:<18} {micros:7.1f} µs/response  {flagged:>6} flagged")
    print(f"all checks, best of {args.repeat} passes: {passes[0]:.2f} s CPU")
    print(f"{len(responses) / passes[0]:,.0f} interactions/s per core")


if __name__ == "__main__":
    main()
