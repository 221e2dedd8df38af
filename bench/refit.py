"""Refit answer marking, reranking and the confidence with cross-validation, and report.

Usage: .venv/bin/python bench/refit.py --scifact-index DIR [--root DIR] [--write]

1. Indexes the dev corpus (corpus/) and squad-dev under DIR (default index/refit/);
   SciFact's index is given (bench/scifact_subset.py builds a fixed subset).
2. Answer marking: a pairwise logistic regression over the sentences of the top-10
   passages that hold a squad-dev gold span (the sentence holding it against each other
   sentence of that passage), 5-fold cross-validation by question; checked on dev's
   evidence phrases, which are never fitted on.
3. Reranking the head (`qa.search.reranking`): a pairwise logistic regression (each
   relevant passage of a question's head against each irrelevant one) on dev,
   squad-dev and SciFact train claims together, each question weighing the same, or
   each data set; feature sets declared in advance (RANKING_SETS, over CANDIDATES: the
   searcher's features, the passages' best sentence cosine, overlap and marking score,
   and each side's own score), 5-fold CV by question stratified by data set, chosen by
   the mean of dev MRR@10, squad-dev MRR@10 and SciFact-train nDCG@10, and only if
   dev's MRR does not drop; leave-one-data-set-out figures too.
4. The confidence: a logistic regression of the answer's signals, with each source
   weighing the same: answerable against unanswerable questions of dev and squad-dev,
   and SciFact train claims asked of the dev corpus (off-topic, all to be rejected).
   10-fold cross-validation, stratified; signal sets declared in advance
   (CONFIDENCE_SETS), chosen by squad-dev's AUROC under CV among those that keep the
   other sources' abstention. The threshold stays at P = 0.5; the fitted
   bias is then raised, if need be, until no more answerable questions are rejected
   under cross-validation than by the confidence of main (`OLD_REJECTED_SHARE`), so
   AUROC is never bought by rejecting answerable questions.
With --write, the weights go to src/qa/search/fitted.py. The report is printed; save it
to docs/quality-fit.txt. SciFact's test split is never used here.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from qa.evaluation.beir import load_beir_queries, trec_scores
from qa.evaluation.questions import Question, load_questions
from qa.index.lexical import terms
from qa.index.records import Passage
from qa.index.writer import update_index
from qa.search import fitted
from qa.search.answer_marking import MARKING_FEATURES, MarkedPassage, mark
from qa.search.calibration import CONFIDENCE_FEATURES, confidence_features
from qa.search.fusion import zscore
from qa.search.reranking import RANKING_FEATURES, RERANK_DEPTH, ranking_features
from qa.search.searcher import Answer, Searcher
from qa.search.terms import QueryTerms, text_terms
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FOLDS = 5
SCIFACT_NEGATIVES = 100  # SciFact train claims asked of the dev corpus (confidence)
OLD_REJECTED_SHARE = 13 / 305  # answerable squad-dev questions main's confidence rejects
SCIFACT = "scifact train"
# Reranking features tried: the searcher's (RANKING_FEATURES), and more that need every
# head passage marked, or each side's own score; the searcher computes the extras only
# once a set using them is chosen. Feature sets (by name), declared in advance.
EXTRA = ("best marking score z", "best sentence cosine z", "best sentence cosine",
         "dense z", "bm25 z", "best sentence overlap")
CANDIDATES = (*RANKING_FEATURES, *EXTRA)
_FUSED, _OVERLAPS = ("fused score z",), ("passage overlap", "title overlap")
_SIDES = ("dense z", "bm25 z")
RANKING_SETS = {
    "fused, marking": (*_FUSED, "best marking score z"),
    "fused, sentence cosine": (*_FUSED, "best sentence cosine z"),
    "fused, marking, sentence cosine": (*_FUSED, "best marking score z",
                                        "best sentence cosine z"),
    "fused, overlaps": (*_FUSED, *_OVERLAPS),
    "fused, overlaps, sentence cosine": (*_FUSED, *_OVERLAPS, "best sentence cosine z"),
    "fused, overlaps, sentence cosine raw": (*_FUSED, *_OVERLAPS, "best sentence cosine"),
    "fused, overlaps, sentence overlap": (*_FUSED, *_OVERLAPS, "best sentence overlap"),
    "fused, overlaps, sentence cosine and overlap": (*_FUSED, *_OVERLAPS,
                                                     "best sentence cosine z",
                                                     "best sentence overlap"),
    "sides, overlaps": (*_SIDES, *_OVERLAPS),
    "sides, overlaps, sentence cosine": (*_SIDES, *_OVERLAPS, "best sentence cosine z"),
    "sides, overlaps, sentence cosine and overlap": (*_SIDES, *_OVERLAPS,
                                                     "best sentence cosine z",
                                                     "best sentence overlap"),
    "all": CANDIDATES,
}


@dataclass
class Asked:
    """One question's distinct head (RERANK_DEPTH passages, in fused order), each
    passage's sentences, and which passages and sentences hold the answer."""

    source: str
    question: Question
    answer: Answer
    marks: list[MarkedPassage]  # per head passage, scored with the marking model in use
    holds: list[np.ndarray]  # per head passage: per sentence, holds the answer
    relevant: np.ndarray  # per head passage: holds the answer
    terms: QueryTerms
    sides: np.ndarray  # per head passage: (cosine, BM25) of the passage itself
    order: np.ndarray | None = None  # head positions as ranked; None: the fused order

    def ranked(self) -> list[int]:
        return list(range(len(self.marks))) if self.order is None else list(self.order)


def ask(searcher: Searcher, source: str, questions: list[Question],
        relevant: Callable[[Question, Passage], bool] | None = None) -> list[Asked]:
    """Each question's head in fused order (the reranking weights of this process are
    the identity while asking, see `main`)."""
    out = []
    for q in questions:
        answer = searcher.search(q.question, RERANK_DEPTH)
        qvec = searcher.embed(answer.search_text)
        terms = QueryTerms.of(answer.search_text, searcher.lexical)
        marks, holds = [], []
        for h in answer.hits:
            m = mark(searcher.store, h.passage, qvec, terms)
            marks.append(m)
            holds.append(np.array([_holds(q, h.passage, s, e) for s, e in m.spans]))
        rel = np.array([(relevant or _relevant)(q, h.passage) for h in answer.hits], dtype=bool)
        out.append(Asked(source, q, answer, marks, holds, rel, terms,
                         _sides(searcher, answer, qvec)))
    return out


def _sides(searcher: Searcher, answer: Answer, qvec: np.ndarray) -> np.ndarray:
    """Each head passage's cosine and BM25 (0 when no word matches), as fusion saw them."""
    ids = [h.passage.chunk_id for h in answer.hits]
    found, vecs = searcher.dense.vectors_of(np.array(ids, dtype=np.int64))
    cosine = dict(zip(found.tolist(), (vecs @ qvec).tolist(), strict=True)) if len(found) else {}
    bm25 = searcher.lexical.scores(answer.search_text, ids)
    return np.array([[cosine.get(i, 0.0), bm25.get(i, 0.0)] for i in ids]).reshape(-1, 2)


def _relevant(q: Question, passage: Passage) -> bool:
    return _holds(q, passage, passage.start, passage.end)


def _holds(q: Question, passage: Passage, start: int, end: int) -> bool:
    if q.spans:
        return q.contains_span(passage.path, start, end)
    return q.answered_by(passage.text[start - passage.start : end - passage.start])


# -- marking -------------------------------------------------------------------------

# Marking features tried: the searcher's (MARKING_FEATURES), and more computed here from
# each sentence's text. Feature sets (indexes into MARKING_CANDIDATES), declared in
# advance; a set other than the searcher's is chosen only when its cross-validated
# squad-dev figure is higher by MARKING_MARGIN or more and dev's top-5 count does not drop.
MARKING_CANDIDATES = (*MARKING_FEATURES, "previous overlap", "next overlap",
                      "overlap x cosine", "overlap squared", "question bigrams",
                      "first sentence", "last sentence")
SEARCHER_MARKING = tuple(range(len(MARKING_FEATURES)))
MARKING_SETS = {
    "the searcher's": SEARCHER_MARKING,
    "+ neighbours' overlaps": (*SEARCHER_MARKING, 4, 5),
    "+ overlap x cosine, overlap^2": (*SEARCHER_MARKING, 6, 7),
    "+ question bigrams": (*SEARCHER_MARKING, 8),
    "+ first, last sentence": (*SEARCHER_MARKING, 9, 10),
    "all": tuple(range(len(MARKING_CANDIDATES))),
}
MARKING_MARGIN = 0.01  # 3 of squad-dev's 305 answerable questions
_WORD = re.compile(r"[^\W_]+")


def ordered_terms(text: str) -> list[str]:
    """The text's index terms in reading order (`terms` of each word), for bigrams."""
    return [found[0] for w in _WORD.findall(text) if (found := terms(w))]


def candidate_features(a: Asked, i: int) -> np.ndarray:
    """The MARKING_CANDIDATES of head passage i's sentences, one row per sentence."""
    m, p = a.marks[i], a.answer.hits[i].passage
    texts = [p.text[s - p.start : e - p.start] for s, e in m.spans]
    cosines, overlaps = m.features[:, 0], m.features[:, 1]
    question = ordered_terms(a.answer.search_text)
    pairs = set(itertools.pairwise(question))

    def bigrams(text: str) -> float:
        words = ordered_terms(text)
        return len(pairs & set(itertools.pairwise(words))) / max(len(pairs), 1)

    pad, n = np.zeros(1), len(texts)
    return np.column_stack([
        m.features, np.r_[pad, overlaps[:-1]], np.r_[overlaps[1:], pad], overlaps * cosines,
        overlaps**2, [bigrams(t) for t in texts], np.arange(n) == 0, np.arange(n) == n - 1,
    ]).astype(np.float64)


@dataclass
class Sentences:
    """One question's head passages as marking sees them: every candidate feature of
    each passage's sentences, and which sentences hold the answer."""

    number: int
    answerable: bool
    features: list[np.ndarray]  # per head passage: (sentences, MARKING_CANDIDATES)
    holds: list[np.ndarray]
    relevant: np.ndarray


def sentences_of(asked: list[Asked]) -> list[Sentences]:
    return [Sentences(n, a.question.answerable,
                      [candidate_features(a, i) for i in range(len(a.marks))],
                      a.holds, a.relevant) for n, a in enumerate(asked)]


def marking_examples(items: list[Sentences], cols: tuple[int, ...]
                     ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(question number, sentence features, sentence labels) of each of the first 10
    passages with at least one sentence holding the answer and one not."""
    return [(s.number, x[:, cols], y) for s in items
            for x, y in zip(s.features[:10], s.holds[:10], strict=True)
            if y.any() and not y.all()]


def pairwise_fit(examples: list[tuple[int, np.ndarray, np.ndarray]],
                 example_weight: Callable[[int], float] | None = None) -> np.ndarray:
    """Weights w with x_pos @ w > x_neg @ w: a logistic regression on differences, each
    example (a passage's sentences, a question's head) weighing the same, or
    `example_weight` of its number."""
    diffs, weights = [], []
    for n, x, y in examples:
        pairs = [x[p] - x[q] for p in np.flatnonzero(y) for q in np.flatnonzero(~y)]
        diffs += pairs
        weights += [(example_weight(n) if example_weight else 1.0) / len(pairs)] * len(pairs)
    d, sw = np.array(diffs), np.array(weights)
    model = LogisticRegression(fit_intercept=False, max_iter=5000)
    model.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))],
              sample_weight=np.r_[sw, sw])
    return model.coef_[0]


def _marks(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> bool:
    """Whether the sentence scored best by `x @ w` holds the answer."""
    return bool(y[int(np.argmax(x @ w))])


def top_marked(items: list[Sentences], cols: tuple[int, ...], w: np.ndarray) -> float:
    """Share of answerable questions whose top passage's marked sentence holds it."""
    right = sum(_marks(s.features[0][:, cols], s.holds[0], w)
                for s in items if s.answerable and s.features)
    return right / sum(s.answerable for s in items)


def top5_marked(items: list[Sentences], cols: tuple[int, ...], w: np.ndarray
                ) -> tuple[int, int]:
    """(marked, passages): of the first 5 passages (in fused order) holding the answer,
    how many have it in their marked sentence (`qa eval`'s "top-5" figure)."""
    found = [_marks(x[:, cols], y, w) for s in items if s.answerable
             for x, y, rel in zip(s.features[:5], s.holds[:5], s.relevant[:5], strict=True)
             if rel]
    return sum(found), len(found)


def fit_marking(squad: list[Asked], dev: list[Asked], rng: random.Random
                ) -> tuple[np.ndarray, list[str]]:
    """Each MARKING_SETS set cross-validated on squad-dev (5 folds by question), then
    fitted on all of squad-dev and checked on dev, which is never fitted on."""
    sq, dv = sentences_of(squad), sentences_of(dev)
    qnums = sorted({n for n, _, _ in marking_examples(sq, SEARCHER_MARKING)})
    fold = {n: i % FOLDS for i, n in enumerate(rng.sample(qnums, len(qnums)))}
    cosine = np.ones(1)  # nothing fitted: its figures are not cross-validated
    report = [
        "## Answer marking",
        f"squad-dev: {len(marking_examples(sq, SEARCHER_MARKING))} top-10 passages holding"
        " a gold span in one of their sentences (and other sentences); dev:"
        f" {len(marking_examples(dv, SEARCHER_MARKING))} holding an evidence phrase",
        f"{'':<40}{'passages: squad-dev':>20}{'dev':>7}{'top passage: squad-dev':>24}"
        f"{'dev':>7}{'dev top-5':>11}",
        _marking_line("cosine alone", dv, (0,), cosine, np.array([
            np.mean([_marks(x, y, cosine) for _, x, y in marking_examples(sq, (0,))]),
            top_marked(sq, (0,), cosine)])),
    ]
    results = {}
    for label, cols in MARKING_SETS.items():
        w = pairwise_fit(marking_examples(sq, cols))
        cv = _cross_validated(sq, cols, fold)
        results[label] = (cv, top5_marked(dv, cols, w)[0], w)
        report.append(_marking_line(f"{label} (5-fold CV)", dv, cols, w, cv))
    searcher = "the searcher's"
    best = max(results, key=lambda k: results[k][0][1])
    if not (results[best][0][1] >= results[searcher][0][1] + MARKING_MARGIN
            and results[best][1] >= results[searcher][1]):
        best = searcher
    report += [
        "(CV: squad-dev figures of folds fitted without the question; dev: weights fitted"
        " on all of squad-dev; top-5: passages in fused order, as `qa eval` counts them)",
        f"chosen: {best} (another set needs +{MARKING_MARGIN} on squad-dev's top passage"
        " under CV and no drop in dev's top-5)",
        "weights: " + ", ".join(f"{n} {v:.4f}" for n, v in zip(
            [MARKING_CANDIDATES[c] for c in MARKING_SETS[best]], results[best][2],
            strict=True)),
    ]
    if best != searcher:
        sys.exit("\n".join([*report, "the chosen marking uses features the searcher does"
                                      " not compute; add them to qa.search.answer_marking"]))
    return results[best][2], report


def _cross_validated(sq: list[Sentences], cols: tuple[int, ...], fold: dict[int, int]
                     ) -> np.ndarray:
    """(passages marked right, top passage marked right) of held-out folds."""
    right, top = [], []
    for k in range(FOLDS):
        w = pairwise_fit([e for e in marking_examples(sq, cols) if fold[e[0]] != k])
        right += [_marks(x, y, w) for n, x, y in marking_examples(sq, cols)
                  if fold[n] == k]
        top += [_marks(s.features[0][:, cols], s.holds[0], w) for s in sq
                if s.answerable and s.features and fold.get(s.number, s.number % FOLDS) == k]
    return np.array([np.mean(right), sum(top) / sum(s.answerable for s in sq)])


def _marking_line(label: str, dv: list[Sentences], cols: tuple[int, ...], w: np.ndarray,
                  squad: np.ndarray) -> str:
    """squad-dev's figures as given, and dev's with the weights `w`."""
    dev_passages = np.mean([_marks(x, y, w) for _, x, y in marking_examples(dv, cols)])
    marked, passages = top5_marked(dv, cols, w)
    return (f"{label:<40}{squad[0]:>20.3f}{dev_passages:>7.3f}{squad[1]:>24.3f}"
            f"{top_marked(dv, cols, w):>7.3f}{f'{marked}/{passages}':>11}")


# -- reranking ----------------------------------------------------------------------

def head_features(a: Asked) -> np.ndarray:
    """The CANDIDATES features of the question's head, one row per passage."""
    if not a.marks:
        return np.zeros((0, len(CANDIDATES)))
    searcher_side = ranking_features(np.array([h.score for h in a.answer.hits]),
                                     [h.passage for h in a.answer.hits], a.terms)
    best_cosine = np.array([m.best_cosine for m in a.marks])
    extra = {
        "best marking score z": zscore(np.array([float(m.scores.max()) for m in a.marks])),
        "best sentence cosine z": zscore(best_cosine),
        "best sentence cosine": best_cosine,
        "dense z": zscore(a.sides[:, 0]),
        "bm25 z": zscore(a.sides[:, 1]),
        "best sentence overlap": np.array([float(m.features[:, 1].max()) for m in a.marks]),
    }
    return np.column_stack([searcher_side, *(extra[n] for n in EXTRA)])


def passage_metrics(asked: list[Asked], orders: list[list[int]]) -> tuple[float, ...]:
    """Hit@1, Hit@3, MRR@10 over answerable questions."""
    h1 = h3 = mrr = 0.0
    n = 0
    for a, order in zip(asked, orders, strict=True):
        if not a.question.answerable:
            continue
        n += 1
        first = next((r for r, i in enumerate(order[:10], 1) if a.relevant[i]), None)
        if first:
            h1, h3, mrr = h1 + (first == 1), h3 + (first <= 3), mrr + 1 / first
    return h1 / n, h3 / n, mrr / n


def scifact_ndcg(asked: list[Asked], orders: list[list[int]],
                 qrels: dict[str, dict[str, int]]) -> tuple[float, ...]:
    """nDCG@10 of abstracts ranked by their first passage in the head."""
    run = {}
    for a, order in zip(asked, orders, strict=True):
        docs: dict[str, float] = {}
        for rank, i in enumerate(order):
            docs.setdefault(Path(a.answer.hits[i].passage.path).stem, -float(rank))
        run[a.question.id] = docs
    return (trec_scores({q: qrels[q] for q in run}, run)[0],)


def fit_ranking(data: dict[str, list[Asked]], qrels: dict[str, dict[str, int]]
                ) -> tuple[np.ndarray, list[str]]:
    everything = [a for items in data.values() for a in items]
    features = [head_features(a) for a in everything]
    names = [a.source for a in everything]
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0)
                 .split(np.zeros(len(everything)), names))

    def examples(idx: list[int]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        return [(i, features[i], everything[i].relevant) for i in idx
                if everything[i].relevant.any() and not everything[i].relevant.all()]

    def fit(names: tuple[str, ...], per_set: bool, idx: list[int]) -> np.ndarray:
        """Fitted on questions idx; with `per_set`, each data set weighs the same (dev's
        15 questions as much as squad-dev's 628), else each question does."""
        cols = _columns(names)
        chosen = examples(idx)
        count = Counter(everything[i].source for i, _, _ in chosen)
        weight = (lambda i: 1.0 / count[everything[i].source]) if per_set else None
        return _on(cols, pairwise_fit([(i, x[:, cols], y) for i, x, y in chosen], weight))

    def order(i: int, w: np.ndarray | None) -> list[int]:
        if w is None:
            return list(range(len(features[i])))
        return list(np.argsort(-(features[i] @ w), kind="stable"))

    def score(orders: dict[int, list[int]]) -> dict[str, tuple[float, ...]]:
        out = {}
        for name, items in data.items():
            idx = [i for i, a in enumerate(everything) if a.source == name]
            ords = [orders[i] for i in idx]
            out[name] = (scifact_ndcg(items, ords, qrels) if name == SCIFACT
                         else passage_metrics(items, ords))
        return out

    def cross_validated(names: tuple[str, ...], per_set: bool
                        ) -> dict[str, tuple[float, ...]]:
        orders: dict[int, list[int]] = {}
        for train, test in folds:
            w = fit(names, per_set, train.tolist())
            for i in test:
                orders[int(i)] = order(int(i), w)
        return score(orders)

    def line(label: str, s: dict[str, tuple[float, ...]]) -> str:
        return (f"{label:<46}" + "".join(f"{v:>7.3f}" for v in s["dev"])
                + "".join(f"{v:>7.3f}" for v in s["squad-dev"])
                + f"{s[SCIFACT][0]:>9.4f}{_selection(s):>8.4f}")

    fused = score({i: order(i, None) for i in range(len(everything))})
    report = ["## Reranking the head (5-fold CV by question, stratified by data set)",
              "questions: " + ", ".join(f"{k} {len(v)}" for k, v in data.items()),
              f"{'':<46}{'dev H@1':>7}{'H@3':>7}{'MRR':>7}{'sq H@1':>7}{'H@3':>7}{'MRR':>7}"
              f"{'sf nDCG':>9}{'mean':>8}",
              line("fused (z-score, dense 0.8)", fused)]
    report.append("each question weighing the same, then [sets]: each data set weighing"
                  " the same")
    best, best_score = None, _selection(fused)
    for per_set in (False, True):
        for label, names in RANKING_SETS.items():
            s = cross_validated(names, per_set)
            report.append(line(label + (" [sets]" if per_set else ""), s))
            if _selection(s) > best_score and s["dev"][2] >= fused["dev"][2]:
                best, best_score = (label, per_set), _selection(s)
    if best is None:
        report.append("chosen: none (no set beats the fused order under CV without"
                      " lowering dev's MRR): the fused order is kept")
        return np.eye(len(CANDIDATES))[0], report
    names, per_set = RANKING_SETS[best[0]], best[1]
    w = fit(names, per_set, list(range(len(everything))))
    report.append(f"chosen: {best[0]}" + (", each data set weighing the same" if per_set
                                           else ", each question weighing the same"))
    report.append("weights: " + ", ".join(f"{n} {v:.4f}" for n, v in
                                          zip(CANDIDATES, w, strict=True)))
    report.append("leave one data set out (fitted on the others):")
    for name in data:
        idx = [i for i, a in enumerate(everything) if a.source != name]
        wl = fit(names, per_set, idx)
        s = score({i: order(i, wl) for i in range(len(everything))})
        report.append(f"  {name:<15}" + " ".join(f"{v:.3f}" for v in s[name])
                      + "   (fused: " + " ".join(f"{v:.3f}" for v in fused[name]) + ")")
    return w, report


def _columns(names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(CANDIDATES.index(n) for n in names)


def _on(cols: tuple[int, ...], w: np.ndarray) -> np.ndarray:
    full = np.zeros(len(CANDIDATES))
    full[list(cols)] = w
    return full


def _selection(s: dict[str, tuple[float, ...]]) -> float:
    return (s["dev"][2] + s["squad-dev"][2] + s[SCIFACT][0]) / 3


# -- confidence ----------------------------------------------------------------------

# Confidence signals tried: the searcher's, and two of the top passage's words: their
# share of the question's weight, and the heaviest question term it lacks (a question
# that looks answerable but is not often names one thing the passage does not say).
CONFIDENCE_CANDIDATES = (*CONFIDENCE_FEATURES, "top passage overlap",
                         "heaviest term missing from the top passage")
CONFIDENCE_SETS = {  # declared in advance, by CONFIDENCE_CANDIDATES names
    "the searcher's signals": CONFIDENCE_FEATURES,
    "the searcher's signals, top passage's words": CONFIDENCE_CANDIDATES,
}


def fit_confidence(signals: dict[str, list[tuple[bool, np.ndarray]]]
                   ) -> tuple[np.ndarray, float, list[str]]:
    """Each CONFIDENCE_SETS set under CV; chosen: the best CV AUROC on squad-dev among
    the sets that keep every other source's abstention as right as the first set's."""
    rows = [(src, y, x) for src, pairs in signals.items() for y, x in pairs]
    x_all = np.array([r[2] for r in rows])
    y = np.array([r[1] for r in rows])
    src = np.array([r[0] for r in rows])
    count = {s: len(p) for s, p in signals.items()}
    sw = np.array([len(rows) / (len(signals) * count[s]) for s in src])
    strata = np.array([f"{s}-{label}" for s, label in zip(src, y, strict=True)])
    folds = list(StratifiedKFold(10, shuffle=True, random_state=0).split(x_all, strata))

    def model() -> LogisticRegression:
        return LogisticRegression(max_iter=5000, C=1.0)

    def right(z: np.ndarray, s: str) -> int:
        idx = src == s
        return int((z[idx][y[idx]] >= 0).sum() + (z[idx][~y[idx]] < 0).sum())

    report = ["## Confidence (10-fold CV, stratified by source and label; every source weighs"
              " the same)",
              f"bias raised, if need be, so that at most {OLD_REJECTED_SHARE:.1%} of the"
              " answerable questions are rejected under CV"]
    chosen, best = None, None
    for label, names in CONFIDENCE_SETS.items():
        cols = [CONFIDENCE_CANDIDATES.index(n) for n in names]
        x = x_all[:, cols]
        oof = np.zeros(len(rows))
        for train, test in folds:
            m = model().fit(x[train], y[train], sample_weight=sw[train])
            oof[test] = m.decision_function(x[test])
        m = model().fit(x, y, sample_weight=sw)
        shift = _bias_shift(oof[y], OLD_REJECTED_SHARE)
        full, oof = m.decision_function(x) + shift, oof + shift
        report.append(f"{label}: bias raised by {shift:.3f}")
        for s in signals:
            idx = src == s
            ys = y[idx]
            part = f"  {s:<24} {int(ys.sum())} answerable, {int((~ys).sum())} not;"
            for kind, z in (("CV", oof[idx]), ("fitted", full[idx])):
                part += (f" {kind}: answered {int((z[ys] >= 0).sum())}/{int(ys.sum())},"
                         f" rejected {int((z[~ys] < 0).sum())}/{int((~ys).sum())}")
                if ys.any() and (~ys).any():
                    part += f", AUROC {roc_auc_score(ys, z):.3f}"
                part += ";"
            report.append(part)
        squad = src == "squad-dev"
        auroc = roc_auc_score(y[squad], oof[squad])
        others = {s: right(oof, s) for s in signals if s != "squad-dev"}
        weights = np.zeros(len(CONFIDENCE_CANDIDATES))
        weights[cols] = m.coef_[0]
        fit = (weights, float(m.intercept_[0]) + shift)
        if best is None:
            best, chosen, floor = (auroc, fit), label, others
        elif auroc > best[0] and all(others[s] >= floor[s] for s in others):
            best, chosen = (auroc, fit), label
    assert best is not None
    weights, bias = best[1]
    report.append(f"chosen: {chosen}")
    report.append("weights: " + ", ".join(f"{n} {v:.4f}" for n, v in
                                          zip(CONFIDENCE_CANDIDATES, weights, strict=True))
                  + f", bias {bias:.4f}")
    return weights, bias, report


def _bias_shift(answerable_scores: np.ndarray, share: float) -> float:
    """0, or the (positive) shift that leaves at most `share` of the answerable questions'
    scores below 0."""
    allowed = int(share * len(answerable_scores))
    below = np.sort(answerable_scores)
    if (below < 0).sum() <= allowed:
        return 0.0
    return float(-below[allowed]) + 1e-6  # the allowed+1-th lowest moves to just above 0


def signals_of(asked: list[Asked]) -> list[tuple[bool, np.ndarray]]:
    """The CONFIDENCE_CANDIDATES of each question's answer, in the reranked order."""
    out = []
    for a in asked:
        top = a.answer.hits[a.ranked()[0]].passage.text if a.answer.hits else ""
        present = text_terms(top)
        absent = [w for t, w in zip(a.terms.terms, a.terms.weights, strict=True)
                  if t not in present]
        out.append((a.question.answerable, np.r_[
            confidence_features([a.marks[i] for i in a.ranked()[:10]], a.answer.coverage),
            a.terms.overlap(top), max(absent, default=0.0)]))
    return out


def write_fitted(marking: np.ndarray, ranking: np.ndarray, confidence: np.ndarray,
                 bias: float) -> None:
    path = REPO / "src/qa/search/fitted.py"
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("# answer_marking.MARKING_FEATURES")]

    def tup(v: np.ndarray) -> str:
        return "(" + ", ".join(f"{x:.4f}" for x in v) + ")"

    path.write_text(head + f"# answer_marking.MARKING_FEATURES\nMARKING = {tup(marking)}\n"
                    f"# reranking.RANKING_FEATURES\nRANKING = {tup(ranking)}\n"
                    f"# calibration.CONFIDENCE_FEATURES\nCONFIDENCE = {tup(confidence)}\n"
                    f"CONFIDENCE_BIAS = {bias:.4f}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO / "index" / "refit"))
    parser.add_argument("--scifact-index", required=True,
                        help="a SciFact index (bench/scifact_subset.py builds a subset)")
    parser.add_argument("--write", action="store_true", help="rewrite src/qa/search/fitted.py")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    rng = random.Random(0)
    fitted.RANKING = tuple(np.eye(len(RANKING_FEATURES))[0])  # ask in the fused order
    dev_paths = Paths(REPO / "corpus", root / "dev")
    squad_paths = Paths(SHARED / "eval/squad-dev/corpus", root / "squad-dev")
    for p in (dev_paths, squad_paths):
        update_index(p, progress=sys.stderr.isatty())
    dev_q = load_questions(SHARED / "eval/dev.jsonl")
    squad_q = load_questions(SHARED / "eval/squad-dev/questions.jsonl")
    claims, qrels = load_beir_queries(SHARED / "benchmarks/scifact", "train")
    negatives = [Question(f"scifact-{n}", c, False) for n, c in
                 enumerate(random.Random(0).sample(sorted(claims.values()), SCIFACT_NEGATIVES))]
    dev_s, squad_s = Searcher(dev_paths.index), Searcher(squad_paths.index)
    sci_s = Searcher(Path(args.scifact_index).resolve())
    try:
        dev = ask(dev_s, "dev", dev_q)
        squad = ask(squad_s, "squad-dev", squad_q)
        off_topic = ask(dev_s, "SciFact claims of dev", negatives)
        held = {Path(p).stem for p in sci_s.store.chunk_paths().values()}
        scifact = ask(sci_s, SCIFACT,
                      [Question(q, c, True) for q, c in claims.items() if set(qrels[q]) <= held],
                      lambda q, p: Path(p.path).stem in qrels[q.id])
    finally:
        for s in (dev_s, squad_s, sci_s):
            s.close()
    marking, report = fit_marking(squad, dev, rng)
    for group in (dev, squad, off_topic, scifact):
        _remark(group, marking)
    scope = ("" if len(held) >= 5183 else f" (SUBSET: {len(held)} abstracts, the"
             f" {len(scifact)} train claims whose relevant abstracts are all among them)")
    ranking, ranking_report = fit_ranking(
        {"dev": dev, "squad-dev": squad, SCIFACT: scifact}, qrels)
    report += ["", *ranking_report, f"SciFact train{scope}"]
    for group in (dev, squad, off_topic):
        for a in group:
            a.order = np.argsort(-(head_features(a) @ ranking), kind="stable")
    signals = {"dev": signals_of(dev), "squad-dev": signals_of(squad),
               "SciFact claims of dev": signals_of(off_topic)}
    confidence, bias, confidence_report = fit_confidence(signals)
    print("\n".join([*report, "", *confidence_report]))
    if args.write:
        if ranking[len(RANKING_FEATURES):].any() or confidence[len(CONFIDENCE_FEATURES):].any():
            sys.exit("the chosen reranking or confidence uses features the searcher does not"
                     " compute; add them to qa.search first")
        write_fitted(marking, ranking[: len(RANKING_FEATURES)],
                     confidence[: len(CONFIDENCE_FEATURES)], bias)
        print("wrote src/qa/search/fitted.py")


def _remark(asked: list[Asked], w: np.ndarray) -> None:
    """Score every head passage's sentences with the new marking weights."""
    for a in asked:
        a.marks = [replace(m, scores=m.features @ w) for m in a.marks]


if __name__ == "__main__":
    main()
