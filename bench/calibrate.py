"""Fit the abstention model: P(answerable) from (best sentence cosine, coverage).

Usage: .venv/bin/python bench/calibrate.py [--negatives N]

Positives: the dev file's answerable questions. Negatives: its unanswerable questions
plus N SciFact train claims (biomedical claims this corpus cannot answer), all asked
of the project's index with the real pipeline. A two-feature logistic regression with
a small L2 penalty is fitted by Newton's method (numpy; three parameters do not justify
a machine-learning dependency). It prints the coefficients for `qa/calibration.py`,
each question's confidence, and leave-one-out errors on the dev questions.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from qa.evaluation.beir import load_beir_queries
from qa.evaluation.questions import load_questions
from qa.index.layout import index_exists
from qa.index.writer import update_index
from qa.search.searcher import Searcher
from qa.settings import Paths

REPO = Path(__file__).resolve().parents[1]
L2 = 0.1


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression weights [w_sentence, w_coverage, bias] by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = L2 * np.diag([1.0, 1.0, 0.0])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ w))
        grad = design.T @ (p - y) + penalty @ w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ w[:2] + w[2])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default=str(REPO.parent / "shared/eval/dev.jsonl"))
    parser.add_argument("--beir", default=str(REPO.parent / "shared/benchmarks/scifact"))
    parser.add_argument("--negatives", type=int, default=100)
    args = parser.parse_args()
    paths = Paths.resolve()
    if not index_exists(paths.index):
        update_index(paths)
    questions = load_questions(args.dev)
    claims, _ = load_beir_queries(Path(args.beir), "train")
    random.seed(0)
    negatives = random.sample(sorted(claims.values()), args.negatives)
    searcher = Searcher(paths.index)
    rows = []
    for q in questions:
        a = searcher.search(q.question)
        rows.append((q.id, q.answerable, a.best_sentence, a.coverage))
    for n, claim in enumerate(negatives):
        a = searcher.search(claim)
        rows.append((f"scifact-{n}", False, a.best_sentence, a.coverage))
    searcher.close()
    x = np.array([[r[2], r[3]] for r in rows])
    y = np.array([1.0 if r[1] else 0.0 for r in rows])
    w = fit(x, y)
    p = predict(w, x)
    print(f"SENTENCE_WEIGHT = {w[0]:.3f}\nCOVERAGE_WEIGHT = {w[1]:.3f}\nBIAS = {w[2]:.3f}")
    print(f"{'question':<12}{'answerable':>11}{'sentence':>10}{'coverage':>10}{'P':>8}")
    for row, prob in zip(rows, p, strict=True):
        if not row[0].startswith("scifact") or prob >= 0.2:
            print(f"{row[0]:<12}{row[1]!s:>11}{row[2]:>10.3f}{row[3]:>10.3f}{prob:>8.3f}")
    sci = p[[r[0].startswith("scifact") for r in rows]]
    print(f"SciFact negatives: {len(sci)}, wrongly answered at 0.5: {(sci >= 0.5).sum()},"
          f" max P {sci.max():.3f}")
    dev_idx = [i for i, r in enumerate(rows) if not r[0].startswith("scifact")]
    errors = []
    for i in dev_idx:
        keep = np.arange(len(rows)) != i
        wi = fit(x[keep], y[keep])
        if (predict(wi, x[i : i + 1])[0] >= 0.5) != bool(y[i]):
            errors.append(rows[i][0])
    print(f"leave-one-out errors on dev: {len(errors)} of {len(dev_idx)} {errors}")
    print(json.dumps({"sentence": round(w[0], 3), "coverage": round(w[1], 3),
                      "bias": round(w[2], 3)}))


if __name__ == "__main__":
    main()
