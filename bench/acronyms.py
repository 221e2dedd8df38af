"""Acronym expansion (`qa.index.acronyms`) on and off, on dev, squad-dev and SciFact.

Usage: .venv/bin/python bench/acronyms.py [--root DIR] [--scifact-index DIR]
                                          [--split test] [--skip-scifact | --scifact-only]

1. Indexes (or updates) the dev corpus (corpus/) under DIR/dev and squad-dev under
   DIR/squad-dev (default DIR: index/acronyms/), which also fills the acronym table of
   an index made before it existed.
2. For each set, the questions are asked with expansion off (as before) and on, in one
   process on the same index: hybrid and BM25 figures side by side, as `qa eval` prints
   them, and how many questions the expansion touches (a short form or long form of the
   table in the question). "on, full weight" gives each added term the weight of a
   question word instead of sharing one word's weight per acronym: a check of that
   choice. "short to long only" and "long to short only" use one direction of the table.
3. SciFact (the split given, test by default) nDCG@10 and Recall@100 the way
   `qa eval --beir` ranks documents (best chunk), off and on, on the index given
   (default: index/beir/scifact/index, what `qa eval --beir` builds; it is updated first,
   which only fills the acronym table when the abstracts have not changed).

A fourth column, "on + initials", is a rule the corpus does not state: a run of 3 to 6
words in the question (hyphenated words split) whose initials spell a capitalised token
of the corpus that no document defines ("confidence-building measures" and "CBMs" in
dev's corpus, which never writes "(CBMs)") also brings that token. It is measured, not
built into qa: it matches far more runs of words than it should.

Nothing here is fitted: expansion is adopted only if no figure drops.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from qa import settings
from qa.evaluation.beir import beir_runs, load_beir_queries, trec_scores
from qa.evaluation.questions import load_questions, questions_table, score_questions
from qa.index.acronyms import Expansion, TermSequence
from qa.index.lexical import term_sequence
from qa.index.writer import update_index
from qa.search import fusion
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VARIANTS = ("off", "on", "on, full weight", "on, short to long only", "on, long to short only",
            "on + initials")
_CAPS = re.compile(r"(?<![\w-])([A-Z]{3,10})s?(?![\w-])")
_PART = re.compile(r"[^\W\d_]+")
UNDEFINED: set[str] = set()  # the corpus's capitalised tokens no document defines


def undefined_capitals(searcher: Searcher) -> set[str]:
    found: set[str] = set()
    for _, text in searcher.store.document_texts():
        found.update(m.group(1) for m in _CAPS.finditer(text))
    return found - {short for short, _, _ in searcher.store.acronyms.rows()}


def by_initials(question: str) -> list[tuple[str, ...]]:
    """The undefined capitalised tokens that runs of the question's words spell."""
    parts = _PART.findall(question)
    out = []
    for n in range(3, 7):
        for i in range(len(parts) - n + 1):
            token = "".join(p[0] for p in parts[i : i + n]).upper()
            if token in UNDEFINED and token not in question:
                out.extend([(token.lower(),), (token.lower() + "s",)])
    return out


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Expansion off, on (one word's weight shared per acronym), on with each added
    term weighing a whole word (every group split into single terms), or on with the
    tokens spelled by initials added."""
    saved = settings.ACRONYM_EXPANSION, Expansion.groups
    settings.ACRONYM_EXPANSION = name != "off"
    if name == "on, full weight":
        def split(self: Expansion, question: str, analyse: TermSequence
                  ) -> list[tuple[str, ...]]:
            return [(t,) for g in saved[1](self, question, analyse) for t in g]
        Expansion.groups = split  # type: ignore[method-assign]
    if name.startswith("on, short to long") or name.startswith("on, long to short"):
        def one_way(self: Expansion, question: str, analyse: TermSequence
                    ) -> list[tuple[str, ...]]:
            half = (Expansion(self.longs, {}) if "short to long" in name
                    else Expansion({}, self.by_first))
            return saved[1](half, question, analyse)
        Expansion.groups = one_way  # type: ignore[method-assign]
    if name == "on + initials":
        def more(self: Expansion, question: str, analyse: TermSequence
                 ) -> list[tuple[str, ...]]:
            return saved[1](self, question, analyse) + by_initials(question)
        Expansion.groups = more  # type: ignore[method-assign]
    try:
        yield
    finally:
        settings.ACRONYM_EXPANSION, Expansion.groups = saved  # type: ignore[method-assign]


def touched(searcher: Searcher, questions: list[str], name: str = "on"
            ) -> list[tuple[str, list[tuple[str, ...]]]]:
    with variant(name):
        table = searcher.acronyms
        return [(q, g) for q in questions if (g := table.groups(q, term_sequence))]


def report_touched(searcher: Searcher, label: str, questions: list[str]) -> None:
    UNDEFINED.clear()
    UNDEFINED.update(undefined_capitals(searcher))
    with variant("on"):
        size = len(searcher.acronyms.longs)
    for name in ("on", "on + initials"):
        hits = touched(searcher, questions, name)
        print(f"## {label}, expansion {name}: {size} acronyms defined in the corpus,"
              f" {len(UNDEFINED)} capitalised tokens undefined;"
              f" {len(hits)} of {len(questions)} questions touched")
        for q, groups in hits[:12]:
            print(f"   {q[:100]!r}: adds {groups}")
        if len(hits) > 12:
            print(f"   ... and {len(hits) - 12} more")


def question_set(label: str, paths: Paths, questions_file: Path) -> None:
    update_index(paths)
    questions = load_questions(questions_file)
    searcher = Searcher(paths.index)
    try:
        report_touched(searcher, label, [q.question for q in questions])
        for name in VARIANTS:
            with variant(name):
                table = {mode: score_questions(searcher, questions, mode)
                         for mode in ("hybrid", "bm25", "dense")}
            print(f"\n### expansion {name}")
            print(questions_table(str(questions_file), table), flush=True)
    finally:
        searcher.close()


def scifact(index: Path, split: str) -> None:
    beir = SHARED / "benchmarks" / "scifact"
    update_index(Paths(index.parent / "corpus", index))
    queries, qrels = load_beir_queries(beir, split)
    searcher = Searcher(index)
    try:
        report_touched(searcher, f"SciFact {split}", list(queries.values()))
        for name in VARIANTS:
            with variant(name):
                runs = beir_runs(searcher, queries, {"hybrid": ("hybrid", fusion.DEFAULT),
                                                     "bm25": ("bm25", fusion.DEFAULT)})
            line = "  ".join(f"{mode} nDCG@10 {trec_scores(qrels, run)[0]:.4f}"
                             f" R@100 {trec_scores(qrels, run)[1]:.4f}"
                             for mode, run in runs.items())
            print(f"expansion {name:<16} {line}", flush=True)
    finally:
        searcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO / "index" / "acronyms"))
    parser.add_argument("--scifact-index",
                        default=str(REPO / "index" / "beir" / "scifact" / "index"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--skip-scifact", action="store_true")
    parser.add_argument("--scifact-only", action="store_true")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    if not args.scifact_only:
        question_set("dev", Paths(REPO / "corpus", root / "dev"),
                     SHARED / "eval" / "dev.jsonl")
        squad = SHARED / "eval" / "squad-dev"
        question_set("squad-dev", Paths(squad / "corpus", root / "squad-dev"),
                     squad / "questions.jsonl")
    if not args.skip_scifact:
        scifact(Path(args.scifact_index).resolve(), args.split)


if __name__ == "__main__":
    main()
