"""Fine-tune the cache's cross-encoder on CPU and export it as a portable int8 ONNX file.

The start is the bundled all-MiniLM-L6-v2 weights with a fresh one-logit head over the pooled
``[CLS]`` (``BertForSequenceClassification``); the input is the pair itself, ``query [SEP]
cached``, so the model reads both prompts together instead of comparing two vectors. Training
is bounded in wall time (``budget_s``) and, optionally, in this process's CPU time
(``cpu_budget_s``): the linear schedule follows whichever runs out first. CPU time does not pass
while the job is stopped (``SIGSTOP`` during someone's benchmark) or waiting for a shared core,
so a CPU budget buys the same training whatever else the machine is doing.
torch and transformers are imported here only, never on the serving path.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.cache import TOKENIZER_FILE
from router.encoders import bundled_model_path

log = logging.getLogger("semroute.cross_train")

OPSET = 17


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """How long and how hard to train."""

    budget_s: float = 900.0
    cpu_budget_s: float | None = None  # None: wall time alone bounds the schedule
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 8e-5
    head_learning_rate: float = 2e-3
    warmup_share: float = 0.1
    seed: int = 0
    threads: int = 1  # the 2 cores are shared: a second thread mostly waits for the first
    layers: int = 4  # of MiniLM's 6: a third less compute per pair, trained and served
    # both prompts together; the manifest records it and the verifier reads the same window
    max_tokens: int = 64


def _batches(
    pairs: Sequence[tuple[str, str, float]], size: int, rng: random.Random
) -> list[list[tuple[str, str, float]]]:
    """Length-bucketed batches in random order: little padding, no fixed order."""
    ordered = sorted(pairs, key=lambda p: len(p[0]) + len(p[1]) + rng.random() * 20)
    batches = [list(ordered[i : i + size]) for i in range(0, len(ordered), size)]
    rng.shuffle(batches)
    return batches


def pair_model(layers: int) -> tuple[Any, Any]:
    """(model, tokenizer): MiniLM's first ``layers`` layers over the pair, masked mean pooling
    (how the bi-encoder was trained to summarise, so the pooled vector starts meaningful,
    where its untrained ``[CLS]`` pooler would not), then one linear logit."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = bundled_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    bert = AutoModel.from_pretrained(
        str(source), local_files_only=True, attn_implementation="eager"
    )
    bert.encoder.layer = bert.encoder.layer[:layers]
    bert.config.num_hidden_layers = layers

    class PairModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            weights = mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
            pooled = (hidden.last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return self.head(self.dropout(pooled))

    return PairModel(), tokenizer


def _step_cost(
    model: Any, tokenizer: Any, batch: list[tuple[str, str, float]], max_tokens: int
) -> Any:
    import torch

    enc = tokenizer(
        [q for q, _, _ in batch],
        [c for _, c, _ in batch],
        padding=True,
        truncation="longest_first",
        max_length=max_tokens,
        return_tensors="pt",
    )
    logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).squeeze(-1)
    target = torch.tensor([y for _, _, y in batch], dtype=logits.dtype)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, target)


def train(
    pairs: Sequence[tuple[str, str, float]], target: Path, settings: TrainSettings
) -> dict[str, Any]:
    """Fine-tune on ``(query, cached, label)``, then export the int8 model to ``target``.

    Returns what was done (steps, seconds, final loss) for the manifest.
    """
    import torch

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, tokenizer = pair_model(settings.layers)
    model.train()
    for param in model.bert.embeddings.parameters():
        param.requires_grad = False  # most of the weights, and the vocabulary is already good
    epochs = [_batches(pairs, settings.batch_size, rng) for _ in range(settings.epochs)]
    planned = sum(len(e) for e in epochs)
    body = [p for p in model.bert.parameters() if p.requires_grad]
    trainable = [*body, *model.head.parameters()]
    optimiser = torch.optim.AdamW(
        [
            {"params": body, "lr": settings.learning_rate},
            {"params": list(model.head.parameters()), "lr": settings.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    peaks = [g["lr"] for g in optimiser.param_groups]
    started, step, losses = time.perf_counter(), 0, []
    cpu_started = time.process_time()
    for batch in (b for e in epochs for b in e):
        # the schedule follows the wall clock, not a step count: the cores are shared, so
        # how many steps fit the budget is only known as they run
        done = max(step / planned, (time.perf_counter() - started) / settings.budget_s)
        if settings.cpu_budget_s:
            # CPU time over the threads: what one core's worth of work has been done
            cpu = (time.process_time() - cpu_started) / max(settings.threads, 1)
            done = max(done, cpu / settings.cpu_budget_s)
        if done >= 1.0:
            break
        warm = min(1.0, done / settings.warmup_share)
        for group, peak in zip(optimiser.param_groups, peaks, strict=True):
            group["lr"] = peak * min(warm, (1.0 - done) / (1 - settings.warmup_share))
        loss = _step_cost(model, tokenizer, batch, settings.max_tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        optimiser.zero_grad()
        losses.append(float(loss.detach()))
        step += 1
        if step % 25 == 0:
            log.info(
                "step %d/%d loss %.4f (%.0f s)",
                step,
                planned,
                sum(losses[-25:]) / 25,
                time.perf_counter() - started,
            )
    model.eval()
    export_int8(model, target)
    tokenizer.backend_tokenizer.save(str(target.with_name(TOKENIZER_FILE)))
    tail = losses[-100:] or [0.0]
    return {
        "steps": step,
        "planned_steps": planned,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "final_loss": round(sum(tail) / len(tail), 4),
        "pairs": len(pairs),
        **{
            k: getattr(settings, k)
            for k in ("epochs", "batch_size", "learning_rate", "seed", "layers", "threads")
        },
        "max_tokens": settings.max_tokens,
    }


def export_int8(model: Any, target: Path) -> None:
    """ONNX (one logit per pair) then dynamic int8 with per-channel, reduced-range weights:
    reduced range keeps the u8×s8 kernels exact on CPUs without VNNI, so one file serves all."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ids = torch.full((2, 8), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    fp32 = target.with_name(target.stem + ".fp32.onnx")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (ids, mask, torch.zeros_like(ids)),
            str(fp32),
            dynamo=False,
            input_names=names,
            output_names=["logit"],
            dynamic_axes={**axes, "logit": {0: "batch"}},
            opset_version=OPSET,
        )
    quantize_dynamic(fp32, target, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    fp32.unlink()
