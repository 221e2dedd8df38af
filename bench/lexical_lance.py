"""Would Lance's full-text index answer the lexical side's top 100 within its budget at a
million passages, with tantivy's ranking, and grow by appends and deletes?

Usage: .venv/bin/pip install -e ".[bench]"   (pylance; measured with 14.0.3)
       .venv/bin/python bench/lexical_lance.py --index DIR [--queries 150] [--threads N]
                                              [--cache DIR] [--rebuild] [--workers N]

On an index `bench/scale.py` built (DIR is its index folder), reads every live passage
(the store's `chunks`) with its document's title, analyses both with qa's own analyzer
(`qa.index.lexical.term_sequence`: tantivy's simple tokens, remove_long(40), lower case,
English stemmer) and writes them pre-analysed (terms joined by spaces) into a Lance
dataset (chunk_id, body, title) with an INVERTED index on body and on title, each with
the whitespace tokenizer and no lower-casing, stemming, stop words or ASCII folding, so
Lance sees exactly tantivy's terms. The dataset is built once into --cache (default
/work/cache/lance-helper/<DIR's parent's name>/passages.lance) by a child process, whose
time, peak RSS and size on disk are printed (and kept beside it for later runs).

Then the same questions as bench/lexical_pruning.py (SciFact's test claims, then the dev
questions), warm (one untimed pass of each first), taking turns question by question:
- body: each question term on the body only. tantivy: a union of term queries through
  `LexicalIndex._run` (top 100, chunk ids from its stored documents, as qa reads them);
  Lance: `MatchQuery(terms, "body")`, `to_table(columns=["chunk_id", "_score"],
  limit=100)`.
- full: qa's real query (each term on the body, plus on the title at TITLE_BOOST).
  tantivy: `qa.index.lexical._query`; Lance: a BooleanQuery of two SHOULD MatchQuerys,
  the title's boosted by TITLE_BOOST (its SHOULD scores are summed, as tantivy's are).
Prints medians and p95 (ms), process CPU time per query (more than the wall time: work in
more than one thread), RSS, and agreement with tantivy: mean overlap of the top 10 and
top 100 sets, and how often the top 1 is the same.

Then the incremental path on the Lance dataset: append one document's passages (a copy
of a stored document, with a marker term added to each passage), query before the index
covers them (are unindexed rows searched?), `optimize_indices()` (which indexes new
fragments), query again; delete another document's passages (`delete`), query; each
step timed. The dataset is then restored to the version it had before, and the versions
these steps wrote are removed.

--threads N sets LANCE_CPU_THREADS to N before Lance is loaded (default: Lance's own, one
per core). LANCE_IO_THREADS is left alone: set to 1 as well, the append (`insert`) never
returned (pylance 14.0.3, 100k passages; queries ran). tantivy's search runs on the
calling thread.
The lexical folder is copied into the cache folder first: nothing is written in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lexical_pruning import agreement, memory_mb, report, timed  # noqa: E402
from scale import questions  # noqa: E402

from qa.index import lexical  # noqa: E402
from qa.index.layout import LEXICAL_DIR, STORE_FILE, current_generation  # noqa: E402

K = 100
MARKER = "lanceprobeadd"  # a term no passage holds: the appended passages carry it
TOKENIZER = dict(base_tokenizer="whitespace", lower_case=False, stem=False,
                 remove_stop_words=False, ascii_folding=False, with_position=False,
                 max_token_length=None)
Hits = list[tuple[int, float]]


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def analysed(store: Path, timing: dict[str, float], batch: int = 50_000) -> Iterator[Any]:
    """Record batches of (chunk_id, body, title), pre-analysed; adds the analysis time
    (reading SQLite included) to timing["analyse_s"]."""
    import pyarrow as pa

    # Lance pulls the batches from its own threads
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, check_same_thread=False)
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for doc_id, cid, start, end in db.execute(
            "SELECT doc_id, id, start, end FROM chunks ORDER BY doc_id, id"):
        spans.setdefault(doc_id, []).append((cid, start, end))
    ids: list[int] = []
    bodies: list[str] = []
    titles: list[str] = []
    began = time.perf_counter()
    for doc_id, title, text in db.execute("SELECT id, title, text FROM documents ORDER BY id"):
        title_terms = " ".join(lexical.term_sequence(title))
        for cid, start, end in spans.pop(doc_id, ()):
            ids.append(cid)
            bodies.append(" ".join(lexical.term_sequence(text[start:end])))
            titles.append(title_terms)
        if len(ids) >= batch:
            timing["analyse_s"] += time.perf_counter() - began
            yield pa.record_batch([pa.array(ids, pa.int64()), pa.array(bodies),
                                   pa.array(titles)], names=["chunk_id", "body", "title"])
            ids, bodies, titles = [], [], []
            began = time.perf_counter()
    timing["analyse_s"] += time.perf_counter() - began
    if ids:
        yield pa.record_batch([pa.array(ids, pa.int64()), pa.array(bodies),
                               pa.array(titles)], names=["chunk_id", "body", "title"])
    db.close()


def build(generation: Path, uri: Path, workers: int | None) -> None:
    """Child process: write the dataset and its two indexes; keep the figures beside it."""
    import lance
    import pyarrow as pa

    schema = pa.schema([("chunk_id", pa.int64()), ("body", pa.string()),
                        ("title", pa.string())])
    timing = {"analyse_s": 0.0}
    start = time.perf_counter()
    reader = pa.RecordBatchReader.from_batches(
        schema, analysed(generation / STORE_FILE, timing))
    dataset = lance.write_dataset(reader, str(uri), schema=schema)
    timing["analyse_and_write_s"] = time.perf_counter() - start
    extra = {} if workers is None else {"num_workers": workers}
    for column in ("body", "title"):
        start = time.perf_counter()
        dataset.create_scalar_index(column, "INVERTED", **TOKENIZER, **extra)
        timing[f"index_{column}_s"] = time.perf_counter() - start
    data_mb = disk_mb(uri / "data")
    figures = {**timing, "rows": dataset.count_rows(), "fragments": len(dataset.get_fragments()),
               "data_mb": data_mb, "total_mb": disk_mb(uri),
               "indices_mb": disk_mb(uri / "_indices"),
               "peak_rss_mb": memory_mb()[1], "workers": workers or "default",
               "lance": lance.__version__,
               "threads": os.environ.get("LANCE_CPU_THREADS", "default")}
    (uri.parent / "build.json").write_text(json.dumps(figures, indent=1))


def body_query(found: list[str]) -> Any:
    import tantivy

    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(lexical.SCHEMA, "body", t))
         for t in found])


def lance_search(dataset: Any, query: Any, limit: int = K,
                 chunk_of: dict[int, int] | None = None) -> Hits:
    """Lance's top `limit`, best first. With `chunk_of` (row id to chunk id, kept in
    memory), only row ids are asked for, so Lance reads no column of the data."""
    if chunk_of is None:
        table = dataset.to_table(columns=["chunk_id", "_score"], full_text_query=query,
                                 limit=limit)
        ids = table.column("chunk_id").to_pylist()
    else:
        table = dataset.to_table(columns=["_rowid", "_score"], full_text_query=query,
                                 limit=limit)
        ids = [chunk_of[r] for r in table.column("_rowid").to_pylist()]
    hits = list(zip(ids, table.column("_score").to_pylist(), strict=True))
    return sorted(hits, key=lambda h: -h[1])


def lance_query(kind: str, found: list[str]) -> Any:
    """body: the terms on the body. boolean: qa's real query, exactly (SHOULD clauses'
    scores summed). multimatch: Lance's MultiMatchQuery with the same boosts, which
    unions each column's own top k (a passage outside the title's top k gets no title
    score), so it approximates the sum."""
    from lance.query import BooleanQuery, MatchQuery, MultiMatchQuery, Occur

    text = " ".join(found)
    if kind == "body":
        return MatchQuery(text, "body")
    if kind == "multimatch":
        return MultiMatchQuery(text, ["body", "title"], boosts=[1.0, lexical.TITLE_BOOST])
    return BooleanQuery([(Occur.SHOULD, MatchQuery(text, "body")),
                         (Occur.SHOULD, MatchQuery(text, "title", boost=lexical.TITLE_BOOST))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--exact-full", type=int, default=30,
                        help="questions for Lance's exact (boolean) full query")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--workers", type=int, help="num_workers of the index build")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads is not None:  # read when Lance starts its runtimes
        os.environ["LANCE_CPU_THREADS"] = str(args.threads)
    generation = current_generation(args.index)
    if generation is None:
        sys.exit(f"--index {args.index}: no index there; build one with bench/scale.py")
    cache = args.cache or Path("/work/cache/lance-helper") / args.index.parent.name
    uri = cache / "passages.lance"
    if args.build_only:
        build(generation, uri, args.workers)
        return
    if args.rebuild or not (cache / "build.json").exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        command = [sys.executable, __file__, "--index", str(args.index), "--cache", str(cache),
                   "--build-only"] + ([] if args.workers is None
                                      else ["--workers", str(args.workers)])
        subprocess.run(command, check=True)
    built = json.loads((cache / "build.json").read_text())
    print("build (child process, cached once built): " + " ".join(
        f"{k}={round(v, 1) if isinstance(v, float) else v}" for k, v in built.items()))
    copy = Path(tempfile.mkdtemp(prefix="lexical-copy-", dir=cache))
    try:
        run(generation, copy / LEXICAL_DIR, uri, args.queries, args.exact_full)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run(generation: Path, lexical_copy: Path, uri: Path, count: int, exact_full: int) -> None:
    shutil.copytree(generation / LEXICAL_DIR, lexical_copy,
                    ignore=shutil.ignore_patterns(".tantivy-*.lock"))
    index = lexical.LexicalIndex(lexical_copy)
    rss_tantivy, _ = memory_mb()
    import lance

    dataset = lance.dataset(str(uri))
    rss_lance, _ = memory_mb()
    print(f"lance {lance.__version__} tantivy-py (pinned 0.25) tantivy_docs={index.count()} "
          f"lance_rows={dataset.count_rows()} fragments={len(dataset.get_fragments())} "
          f"LANCE_CPU_THREADS={os.environ.get('LANCE_CPU_THREADS', 'default')} "
          f"LANCE_IO_THREADS={os.environ.get('LANCE_IO_THREADS', 'default')} cores={os.cpu_count()}"
          f" tantivy_lexical_mb={disk_mb(lexical_copy):.0f}")

    asked = questions()[:count]
    found = [lexical.terms(q) for q in asked]
    row_ids = dataset.to_table(columns=["chunk_id"], with_row_id=True)
    chunk_of = dict(zip(row_ids.column("_rowid").to_pylist(),
                        row_ids.column("chunk_id").to_pylist(), strict=True))
    del row_ids
    rss_map, _ = memory_mb()

    def lance_run(kind: str, by_row: bool = False) -> Callable[[list[str]], Hits]:
        return lambda t: lance_search(dataset, lance_query(kind, t),
                                      chunk_of=chunk_of if by_row else None) if t else []

    # (query, engine) -> its search; Lance's exact full query only on the first
    # `exact_full` questions (it is slow)
    engines: dict[tuple[str, str], Callable[[list[str]], Hits]] = {
        ("body", "tantivy"): lambda t: index._run(body_query(t), K) if t else [],
        ("body", "lance"): lance_run("body"),
        ("body", "lance, row ids"): lance_run("body", by_row=True),
        ("full", "tantivy"): lambda t: index._run(lexical._query(t), K) if t else [],
        ("full", "lance multimatch"): lance_run("multimatch"),
        ("full", "lance boolean"): lance_run("boolean"),
    }
    upto = {key: exact_full if "boolean" in key[1] else len(found) for key in engines}
    start = time.perf_counter()
    for key, run_one in engines.items():  # warm: the pages and Lance's caches come in
        for terms in found[: upto[key]]:
            run_one(terms)
    warm_s = time.perf_counter() - start
    rss_warm, peak_warm = memory_mb()
    plan = dataset.scanner(columns=["chunk_id", "_score"], limit=K,
                           full_text_query=lance_query("body", found[0])).analyze_plan()
    for line in plan.splitlines():
        if "MatchQuery:" in line:
            print("lance's plan, question 1, body: " + ", ".join(
                part.strip() for part in line.split(",") if any(
                    word in part for word in ("elapsed=", "partitions_searched",
                                              "index_comparisons"))))
    threads = len(os.listdir("/proc/self/task"))
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    hits: dict[tuple[str, str], list[Hits]] = {}
    keys = list(engines)
    for i, terms in enumerate(found):
        turn = i % len(keys)
        for key in keys[turn:] + keys[:turn]:
            if i >= upto[key]:
                continue
            label = f"{key[0]}: {key[1]}, top {K}"
            cpu_start = time.process_time()
            got = timed(times, label, lambda r=engines[key], t=terms: r(t))
            cpu.setdefault(label, []).append((time.process_time() - cpu_start) * 1000)
            hits.setdefault(key, []).append(got)
    print(f"questions={len(found)} (lance boolean: the first {min(exact_full, len(found))}); "
          f"warm after an untimed pass of {warm_s:.1f} s, taking turns; medians and p95 in ms")
    report(dict(sorted(times.items())))
    print("process CPU per query (all threads), median ms: " + "; ".join(
        f"{k} {statistics.median(v):.2f}" for k, v in sorted(cpu.items())))
    print(f"memory: RSS {rss_tantivy:.0f} MB with tantivy open, {rss_lance:.0f} MB with the "
          f"Lance dataset open, {rss_map:.0f} MB with the row id to chunk id map, "
          f"{rss_warm:.0f} MB after the warm pass (peak {peak_warm:.0f} MB); "
          f"threads in the process {threads}")
    for kind, name in keys:
        if name == "tantivy":
            continue
        ours = hits[(kind, "tantivy")][: upto[(kind, name)]]
        agreement(f"{kind}: tantivy vs {name}", ours, hits[(kind, name)])
        short = sum(1 for h in hits[(kind, name)] if len(h) < K)
        print(f"  {name} answers with fewer than {K} hits: {short}; tantivy: "
              f"{sum(1 for h in ours if len(h) < K)}")
    incremental(dataset, generation, found)


def incremental(dataset: Any, generation: Path, found: list[list[str]]) -> None:
    """Append one document's passages, index them, delete another's; time and check each
    step; then restore the dataset's version."""
    import pyarrow as pa

    before = dataset.version
    db = sqlite3.connect(f"file:{generation / STORE_FILE}?mode=ro", uri=True)
    # a document to copy: one with the most passages (4 to 7 in bench/scale.py's corpus)
    doc_id, _ = db.execute("SELECT doc_id, COUNT(*) AS n FROM chunks GROUP BY doc_id "
                           "ORDER BY n DESC LIMIT 1").fetchone()
    title, text = db.execute("SELECT title, text FROM documents WHERE id = ?",
                             (doc_id,)).fetchone()
    spans = db.execute("SELECT start, end FROM chunks WHERE doc_id = ? ORDER BY id",
                       (doc_id,)).fetchall()
    top = max(db.execute("SELECT MAX(id) FROM chunks").fetchone()[0], 0)
    new_ids = list(range(top + 1, top + 1 + len(spans)))
    title_terms = " ".join(lexical.term_sequence(title))
    table = pa.table({
        "chunk_id": pa.array(new_ids, pa.int64()),
        "body": [" ".join([*lexical.term_sequence(text[s:e]), MARKER]) for s, e in spans],
        "title": [title_terms] * len(spans)})
    probe = found[0]
    victim_top = lance_search(dataset, lance_query("body", probe))[0][0]
    victim_doc = db.execute("SELECT doc_id FROM chunks WHERE id = ?",
                            (victim_top,)).fetchone()[0]
    victims = [c for (c,) in db.execute("SELECT id FROM chunks WHERE doc_id = ?",
                                        (victim_doc,))]
    db.close()

    def step(name: str, work: Callable[[], object]) -> None:
        start = time.perf_counter()
        work()
        print(f"incremental: {name} {(time.perf_counter() - start) * 1000:.1f} ms "
              f"(version {dataset.version})")

    def marker_hits() -> int:
        return len(lance_search(dataset, lance_query("body", [MARKER]), limit=50))

    def query_ms(terms: list[str]) -> float:
        start = time.perf_counter()
        lance_search(dataset, lance_query("body", terms))
        return (time.perf_counter() - start) * 1000

    try:
        print(f"incremental: appending {len(spans)} passages (copy of document {doc_id}, "
              f"marker term added), deleting document {victim_doc}'s {len(victims)} passages "
              f"(holds the body top 1 of question 1)")
        step("append (insert, one commit)", lambda: dataset.insert(table))
        print(f"incremental: before optimize_indices the marker finds {marker_hits()} of "
              f"{len(spans)} new passages (unindexed rows searched by a flat scan); "
              f"question 1 takes {statistics.median(query_ms(probe) for _ in range(5)):.1f} ms")
        for name, options in (("optimize_indices(num_indices_to_merge=0): a delta segment",
                               {"num_indices_to_merge": 0}),
                              ("optimize_indices(num_indices_to_merge=2): merged",
                               {"num_indices_to_merge": 2})):
            step(name, lambda o=options: dataset.optimize.optimize_indices(**o))
            segments = ", ".join(f"{d.name} {len(d.segments)} segment(s) "
                                 f"{d.num_rows_indexed} rows"
                                 for d in dataset.describe_indices())
            print(f"incremental: after, the marker finds {marker_hits()} of {len(spans)}; "
                  f"question 1 takes {statistics.median(query_ms(probe) for _ in range(5)):.1f}"
                  f" ms; indexes: {segments}")
        ids = ", ".join(str(c) for c in victims)
        step(f"delete {len(victims)} passages (chunk_id IN ...)",
             lambda: dataset.delete(f"chunk_id IN ({ids})"))
        after = lance_search(dataset, lance_query("body", probe))
        gone = not set(victims) & {c for c, _ in after}
        print(f"incremental: after the delete, question 1's top 100 holds none of them: {gone};"
              f" it has {len(after)} hits; marker still finds {marker_hits()}; "
              f"question 1 takes {statistics.median(query_ms(probe) for _ in range(5)):.1f} ms")
    finally:
        import lance

        dataset.checkout_version(before).restore()
        latest = lance.dataset(dataset.uri)
        latest.cleanup_old_versions(older_than=timedelta(0))
        print(f"incremental: restored version {before} as version {latest.version}, "
              f"the other versions' files removed")


if __name__ == "__main__":
    main()
