"""How well each annotator agrees with the others and with the lead's adjudications, on one
field, with sample sizes and 95% Wilson score intervals.

- With others: every pair (this annotator, another annotator of the same item) that both
  answered the field is one trial; `pairs` is its sample size and `items` the items behind
  them. With overlap 2 each item gives one pair, so the interval is exact Wilson on items;
  with more annotators per item the pairs of one item are not independent and the interval is
  somewhat narrower than it should be (the page says so).
- With adjudications: each item a lead adjudicated that the annotator answered is one trial.

Pure: answers come in as plain values, compared as `comparable` compares them (lists as
sets, text with its whitespace collapsed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from annotation.insights.stats import wilson


@dataclass(frozen=True)
class Rate:
    """`agreed` of `n` trials, with the 95% Wilson interval (None when n is 0)."""

    agreed: int
    n: int

    @property
    def value(self) -> float | None:
        return self.agreed / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.agreed, self.n)


@dataclass(frozen=True)
class AnnotatorQuality:
    annotator: str
    answered: int
    with_others: Rate
    # Items that gave the pairs of `with_others`.
    compared_items: int
    with_adjudications: Rate


def annotator_quality(
    answers: Mapping[Hashable, Mapping[str, Hashable]],
    adjudicated: Mapping[Hashable, Hashable],
) -> list[AnnotatorQuality]:
    """Per annotator, from `answers` (item -> annotator -> comparable answer; empty answers
    left out) and `adjudicated` (item -> the lead's comparable final answer)."""
    answered: dict[str, int] = defaultdict(int)
    pairs_agreed: dict[str, int] = defaultdict(int)
    pairs: dict[str, int] = defaultdict(int)
    compared: dict[str, int] = defaultdict(int)
    final_agreed: dict[str, int] = defaultdict(int)
    finals: dict[str, int] = defaultdict(int)
    for item, by_annotator in answers.items():
        final = adjudicated.get(item)
        for annotator, value in by_annotator.items():
            answered[annotator] += 1
            others = [v for a, v in by_annotator.items() if a != annotator]
            if others:
                compared[annotator] += 1
                pairs[annotator] += len(others)
                pairs_agreed[annotator] += sum(v == value for v in others)
            if final is not None:
                finals[annotator] += 1
                final_agreed[annotator] += final == value
    return [
        AnnotatorQuality(
            annotator=annotator,
            answered=answered[annotator],
            with_others=Rate(pairs_agreed[annotator], pairs[annotator]),
            compared_items=compared[annotator],
            with_adjudications=Rate(final_agreed[annotator], finals[annotator]),
        )
        for annotator in sorted(answered)
    ]
