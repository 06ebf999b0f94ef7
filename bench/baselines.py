"""Routing quality of the shipped centroids beside two simple alternatives, on the same data.

    .venv/bin/python bench/baselines.py

- keyword: hand-written trigger words per task (first match in a fixed task order, else chat).
- k-NN: majority vote of the 5 nearest training rows (cosine, same encoder, same training rows).
- centroids: the shipped version (centroids/CURRENT).
Writes bench/results/baselines.json.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
from common import EVAL_FILES, RESULTS, TRAIN_FILES

from router.classify.centroids import load_centroids
from router.config.settings import load_config
from router.encoders import SentenceTransformerEncoder
from training.dataset import TASKS, read_jsonl, read_many
from training.embed import embed_examples
from training.evaluate import classification_report, macro_f1

KEYWORDS: dict[str, str] = {
    "code": r"\b(python|javascript|java|c\+\+|sql|function|code|bug|script|regex|api|class|"
    r"compile|error|def|bash|html|css|rust|golang|typescript)\b",
    "math": r"\b(solve|calculate|compute|equation|integral|derivative|probability|sum|"
    r"how many|how much|percent|\d+\s*[-+*/x^]\s*\d+)\b",
    "summarize": r"\b(summari[sz]e|summary|tl;?dr|key points|condense|gist|shorten)\b",
    "extract": r"\b(extract|list all|find all|pull out|which of the following|classify|"
    r"sentiment|from the (text|passage|article)|according to)\b",
    "creative": r"\b(poem|story|haiku|lyrics|song|write a|slogan|tagline|joke|fiction|"
    r"limerick|imagine|essay|letter)\b",
    "analysis": r"\b(compare|pros and cons|analy[sz]e|evaluate|why|should i|trade-?offs?|"
    r"advantages|disadvantages|explain|recommend|better)\b",
    "lookup": r"^(who|what|when|where|which|how (tall|old|far|long|big))\b|\b(capital of|"
    r"define|definition|meaning of)\b",
}


def keyword_predict(text: str) -> str:
    lowered = text.lower()
    for task, pattern in KEYWORDS.items():
        if re.search(pattern, lowered):
            return task
    return "chat"


def knn_predict(train_x: np.ndarray, train_y: list[str], x: np.ndarray, k: int = 5) -> list[str]:
    sims = x @ train_x.T
    top = np.argsort(-sims, axis=1)[:, :k]
    return [Counter(train_y[j] for j in row).most_common(1)[0][0] for row in top]


def main() -> None:
    config = load_config()
    encoder = SentenceTransformerEncoder(config.encoder)
    cs = load_centroids(config.routing.centroids_dir, encoder_name=encoder.name, dim=encoder.dim)
    train = read_many(TRAIN_FILES).examples
    train_x = embed_examples(encoder, [e.text for e in train], progress=False)
    train_y = [e.task for e in train]
    results: dict[str, dict[str, float]] = {}
    for name, path in EVAL_FILES.items():
        if not path.exists():
            continue
        rows = read_jsonl(path).examples
        truth = [e.task for e in rows]
        x = embed_examples(encoder, [e.text for e in rows], progress=False)
        predictions = {
            "keyword": [keyword_predict(e.text) for e in rows],
            "knn_5": knn_predict(train_x, train_y, x),
            f"centroids_{cs.version}": cs.predict(x),
        }
        results[name] = {
            method: round(macro_f1(classification_report(truth, pred, TASKS)[0]), 4)
            for method, pred in predictions.items()
        }
        print(name, len(rows), results[name], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "baselines.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
