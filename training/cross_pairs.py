"""What the cache's cross-encoder is trained on, beyond the labelled pair files: soft labels
for the STS Benchmark's graded scores, and hard negatives mined from the repository's own
prompts (two *different* prompts the retrieval encoder puts close together — exactly the
candidates the verifier must refuse).

Mined pairs are split like the generated ones, by a hash of the first prompt, so a prompt's
neighbours never cross from the fit side to the validation side.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

MINE_FLOOR = 0.80  # the loosest retrieval cosine: below it a pair is never a candidate
MINE_CEILING = 0.97  # above it two "different" prompts are too often the same request
MINE_PER_PROMPT = 2


def stsb_label(score: float) -> float:
    """A graded STS-B score (0–5) as a soft target: 4.5 and up is the same request, 2.5 and
    below is not, linear between (4.0 → 0.75: the file's "duplicate" line sits there)."""
    return float(min(max((score - 2.5) / 2.0, 0.0), 1.0))


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(" ?.!")


def mined_negatives(
    prompts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    floor: float = MINE_FLOOR,
    ceiling: float = MINE_CEILING,
    per_prompt: int = MINE_PER_PROMPT,
) -> list[tuple[str, str, float]]:
    """(prompt, neighbour, cosine) for each prompt's ``per_prompt`` nearest *other* prompts
    with ``floor`` ≤ cosine < ``ceiling``; ``vectors`` are unit rows, one per prompt."""
    sims = np.asarray(vectors @ vectors.T, dtype=np.float64)
    np.fill_diagonal(sims, -1.0)
    seen: set[frozenset[str]] = set()
    out = []
    for i in range(len(prompts)):
        order = np.argsort(-sims[i])[: per_prompt * 4]
        taken = 0
        for j in order:
            s = float(sims[i, j])
            if s < floor or taken == per_prompt:
                break
            key = frozenset((prompts[i], prompts[int(j)]))
            if s >= ceiling or key in seen or _normal(prompts[i]) == _normal(prompts[int(j)]):
                continue
            seen.add(key)
            out.append((prompts[i], prompts[int(j)], s))
            taken += 1
    return out
