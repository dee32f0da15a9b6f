"""The export engine: rows, curation, streaming writers, manifests and storage.

Model-independent: nothing here imports ``annotation.models``. An export task reads
records from the database in chunks, turns each into plain values and drives the engine::

    store = ExportStore(f"exports/{export.id}")           # storages["default"]
    store.begin()                                         # clear an earlier attempt
    excluded: Counter[str] = Counter()
    redacted: Counter[str] = Counter()
    seen = DuplicateFilter()
    try:
        with relaxed_gc(), PartWriters(("sft", "jsonl"), store.staging_dir,
                                       parts=("train", "validation")) as out:
            for record in records:                        # a queryset .iterator()
                try:
                    row = sft_row(record.messages, record.final_text, system_prompt)
                except RowError as exc:
                    excluded[exc.reason] += 1
                    continue
                key = prompt_key(row["messages"][:-1])
                if not seen.add(key):
                    excluded["duplicate"] += 1
                    continue
                if redact_pii:
                    row, kinds = redact_row("sft", row)
                    redacted.update(kinds)
                out.write(split_for(key, validation=0.1, seed=7), row)
                # every ~10,000 records: save progress = records read / records matched
            files = out.commit()
        store.publish(files, build_manifest(kind="sft", format="jsonl", files=files,
                                            excluded=excluded, redacted=redacted, ...))
    except BaseException:
        store.discard()
        raise

Exclusion reasons come from ``RowError.reason`` (``empty_response``, ``no_user_turn``,
``invalid_messages``, ``identical_pair``, ``no_judgements``, ...) plus the task's own
(``duplicate``, filters it applies in Python).

Modules: ``rows`` (row builders and per-kind schemas), ``curation`` (prompt keys,
duplicates, splits, PII redaction), ``writers`` (JSONL/CSV/Parquet, atomic), ``manifest``
(build and validate), ``storage`` (local folder or any Django storage; downloads).
"""
