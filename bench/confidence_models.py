"""Would a non-linear model of the confidence's signals tell squad-dev's unanswerable
questions apart better than the logistic regression the searcher uses?

Usage: .venv/bin/python bench/confidence_models.py --dev-index DIR --squad-index DIR

Asks dev, squad-dev and 100 SciFact train claims (off-topic, asked of dev's corpus) as
bench/refit.py does, on indexes built already (`qa eval` builds them; the reranking as
shipped orders each head), and computes the same signals (`refit.signals_of`: the
searcher's five, and the two more refit.py declared). Then each model below is fitted
under refit.py's protocol for the confidence: 10-fold cross-validation stratified by
source and label, each source weighing the same, the bias raised until no more
answerable questions are rejected than main rejected (13 of 305 on squad-dev). Prints,
per model and signal set, squad-dev's out-of-fold AUROC and each source's abstention.
The models were declared before the run; none is tuned on its result.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import refit  # noqa: E402

from qa.evaluation.beir import load_beir_queries  # noqa: E402
from qa.evaluation.questions import Question, load_questions  # noqa: E402
from qa.search import fitted  # noqa: E402
from qa.search.searcher import Searcher  # noqa: E402

SHARED = REPO.parent / "shared"
MODELS: dict[str, Callable[[], ClassifierMixin]] = {
    "logistic (the searcher's)": lambda: LogisticRegression(max_iter=5000, C=1.0),
    "logistic, pairwise products": lambda: make_pipeline(
        StandardScaler(), PolynomialFeatures(2, include_bias=False),
        LogisticRegression(max_iter=5000, C=1.0)),
    "logistic, splines": lambda: make_pipeline(
        SplineTransformer(n_knots=5, degree=3), LogisticRegression(max_iter=5000, C=1.0)),
    "gradient boosting": lambda: HistGradientBoostingClassifier(
        max_depth=3, learning_rate=0.05, max_iter=200, random_state=0),
    "random forest": lambda: RandomForestClassifier(300, min_samples_leaf=5, random_state=0),
}


def signals(dev_index: Path, squad_index: Path) -> dict[str, list[tuple[bool, np.ndarray]]]:
    shipped = np.array(fitted.RANKING)
    fitted.RANKING = tuple(np.eye(len(shipped))[0])  # refit.ask wants the fused order
    claims, _ = load_beir_queries(SHARED / "benchmarks/scifact", "train")
    off_topic = [Question(f"scifact-{n}", c, False) for n, c in enumerate(
        random.Random(0).sample(sorted(claims.values()), refit.SCIFACT_NEGATIVES))]
    dev_s, squad_s = Searcher(dev_index), Searcher(squad_index)
    try:
        asked = {"dev": refit.ask(dev_s, "dev", load_questions(SHARED / "eval/dev.jsonl")),
                 "squad-dev": refit.ask(squad_s, "squad-dev", load_questions(
                     SHARED / "eval/squad-dev/questions.jsonl")),
                 "SciFact claims of dev": refit.ask(dev_s, "off-topic", off_topic)}
    finally:
        dev_s.close()
        squad_s.close()
    weights = np.r_[shipped, np.zeros(len(refit.CANDIDATES) - len(shipped))]
    for group in asked.values():
        for a in group:
            a.order = np.argsort(-(refit.head_features(a) @ weights), kind="stable")
    return {source: refit.signals_of(group) for source, group in asked.items()}


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p) - np.log(1 - p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-index", type=Path, required=True)
    parser.add_argument("--squad-index", type=Path, required=True)
    args = parser.parse_args()
    found = signals(args.dev_index.resolve(), args.squad_index.resolve())
    rows = [(source, y, x) for source, pairs in found.items() for y, x in pairs]
    x_all = np.array([r[2] for r in rows])
    y = np.array([r[1] for r in rows])
    src = np.array([r[0] for r in rows])
    weight = np.array([len(rows) / (len(found) * len(found[s])) for s in src])
    strata = [f"{s}-{label}" for s, label in zip(src, y, strict=True)]
    folds = list(StratifiedKFold(10, shuffle=True, random_state=0).split(x_all, strata))
    sets = {"the searcher's signals": list(range(len(refit.CONFIDENCE_FEATURES))),
            "all refit.py's candidates": list(range(x_all.shape[1]))}
    for set_name, cols in sets.items():
        x = x_all[:, cols]
        for name, make in MODELS.items():
            oof = np.zeros(len(rows))
            for train, test in folds:
                model = make()
                last = model.steps[-1][0] if hasattr(model, "steps") else None
                key = f"{last}__sample_weight" if last else "sample_weight"
                model.fit(x[train], y[train], **{key: weight[train]})
                oof[test] = log_odds(model.predict_proba(x[test])[:, 1])
            z = oof + refit._bias_shift(oof[y], refit.OLD_REJECTED_SHARE)
            parts = []
            for source in found:
                idx, ys = src == source, y[src == source]
                parts.append(f"{source}: answered {int((z[idx][ys] >= 0).sum())}/"
                             f"{int(ys.sum())}, rejected {int((z[idx][~ys] < 0).sum())}/"
                             f"{int((~ys).sum())}")
            squad = src == "squad-dev"
            print(f"{set_name:26s} {name:28s} squad-dev CV AUROC "
                  f"{roc_auc_score(y[squad], oof[squad]):.3f} | " + "; ".join(parts))


if __name__ == "__main__":
    main()
