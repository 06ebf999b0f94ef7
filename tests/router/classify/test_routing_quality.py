"""Routing quality with the real all-MiniLM-L6-v2 and the shipped centroids."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router import Router
from router.types import ChatRequest, Message
from tests.conftest import REPO, SHARED
from training.evaluate import evaluate_file

pytestmark = pytest.mark.slow


def ask(*turns: str) -> ChatRequest:
    roles = ("user", "assistant")
    return ChatRequest(
        messages=tuple(Message(role=roles[i % 2], content=t) for i, t in enumerate(turns))
    )


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("Write a Python function that reverses a linked list", "code"),
        ("Write a haiku about autumn rain", "creative"),
        ("hi! how was your weekend?", "chat"),
        ("What is the capital of Australia?", "lookup"),
        ("A train leaves at 3pm going 60 mph; when has it gone 150 miles?", "math"),
        ("Should we rewrite our monolith as microservices? Weigh the trade-offs.", "analysis"),
    ],
)
async def test_examples_route_to_their_task(real_router: Router, text: str, task: str) -> None:
    d = await real_router.route(ask(text))
    assert d.match is not None
    assert d.match.task == task, d.match.scores


async def test_follow_up_stays_on_the_conversations_task(real_router: Router) -> None:
    alone = await real_router.route(ask("ok, now make it faster"))
    convo = await real_router.route(
        ask(
            "Write a Python function that finds duplicate files in a directory tree",
            "def find_duplicates(root): ...",
            "ok, now make it faster",
        )
    )
    assert convo.match is not None and alone.match is not None
    assert convo.match.task == "code"
    assert convo.match.scores["code"] > alone.match.scores["code"]


async def test_topic_switch_in_a_conversation_is_followed(real_router: Router) -> None:
    d = await real_router.route(
        ask(
            "Write a Python function that finds duplicate files in a directory tree",
            "def find_duplicates(root): ...",
            "Thanks! Unrelated: write me a short poem about the sea at night for my mum",
        )
    )
    assert d.match is not None and d.match.task == "creative"


async def test_a_pasted_document_with_the_instruction_at_the_end(real_router: Router) -> None:
    article = (
        "The city council met on Tuesday to discuss the new budget. Members debated the "
        "allocation for parks, road repairs and the library expansion at length. "
    ) * 40
    d = await real_router.route(ask(article + "\n\nSummarize the article above in two lines."))
    assert d.embedded is not None and d.embedded.truncated
    assert d.match is not None and d.match.task == "summarize"


@pytest.mark.skipif(not (SHARED / "routing/dev.jsonl").exists(), reason="shared data absent")
def test_dev_split_macro_f1(real_router: Router) -> None:
    report = evaluate_file(
        SHARED / "routing/dev.jsonl",
        real_router.encoder,
        real_router.centroids,
        real_router.first_stage,
        progress=False,
    )
    assert report["n"] == 573
    assert report["macro_f1"] >= 0.85, report["per_task"]


def test_held_out_written_prompts_macro_f1(real_router: Router) -> None:
    path: Path = REPO / "training/data/eval_written.jsonl"
    report = evaluate_file(
        path, real_router.encoder, real_router.centroids, real_router.first_stage, progress=False
    )
    assert report["macro_f1"] >= 0.82, report["per_task"]
    assert report["per_task"]["chat"]["recall"] >= 0.9


async def test_concurrent_routes_of_varied_length_all_succeed(real_router: Router) -> None:
    # Regression: window fitting on the event loop and batched encoding in a worker thread
    # once shared one fast tokenizer, whose padding state then broke batches (a 500).
    texts = [("word " * (i * 7 % 300)) + f"question {i}" for i in range(48)]
    decisions = await asyncio.gather(*(real_router.route(ask(t)) for t in texts))
    assert len(decisions) == 48
    assert all(d.match is not None for d in decisions)
