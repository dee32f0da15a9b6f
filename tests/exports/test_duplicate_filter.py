"""The duplicate filter's compact table: exact answers as it grows, and memory sized once."""

from __future__ import annotations

from annotation.exports.curation import DuplicateFilter, prompt_key


def key(n: int) -> str:
    return prompt_key([{"role": "user", "content": f"prompt {n}"}])


def test_it_keeps_exact_answers_while_it_grows_past_its_first_size() -> None:
    seen = DuplicateFilter()
    keys = [key(n) for n in range(100_000)]

    first = [seen.add(k) for k in keys]
    again = [seen.add(k) for k in keys[::7]]

    assert all(first)
    assert not any(again)
    assert len(seen) == 100_000


def test_sized_for_the_rows_it_allocates_once_at_most_half_full() -> None:
    seen = DuplicateFilter(expected=300_000)
    table = seen._seen

    for n in range(300_000):
        seen.add(key(n))

    assert seen._seen is table
    assert len(table) == 1 << 20
    assert table.itemsize == 8
