"""The multilingual stage: which text it takes, passage shapes decided by their instruction,
the overload rule of the static stage, and the real USE encoder with the shipped centroids."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from router.cache.semantic import SemanticCache
from router.classify.cascade import STATIC, FirstStage
from router.classify.centroids import load_centroids
from router.classify.language import reads_as_english
from router.classify.multilingual import (
    MULTILINGUAL,
    MultilingualStage,
    build_multilingual_stage,
)
from router.classify.shapes import find_instruction
from router.config.settings import CacheConfig, Config, load_config
from router.core import Router
from router.encoders import MultilingualEncoder, ProcessPoolEncoder
from router.encoders.base import Vectors
from router.encoders.batching import MicroBatcher
from router.execution.deployments import build_providers
from router.selection import DEFAULT_ROUTE
from router.types import ChatRequest, Message
from service.route_schemas import RouteResponse
from tests.conftest import write_test_centroids
from tests.fakes import HashingEncoder

PASSAGE = (
    "The Harbor Street library reopened on Monday after an eighteen-month renovation that "
    "cost 4.2 million dollars. The original facade was preserved, while the interior now "
    "includes a children's wing, twelve study rooms and a makerspace. The city council "
    "funded two thirds of the project; the rest came from a community campaign."
)


def req(text: str) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),))


@pytest.mark.parametrize(
    "text",
    ["write a haiku about rain", "def f(x): return x*2", "2 + 2 = ?", "Who was Gauß?"],
)
def test_english_code_and_maths_read_as_english(text: str) -> None:
    assert reads_as_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "写一首关于秋天的诗",
        "Напиши стихотворение о весне",
        "¿Quién escribió Cien años de soledad?",
        "Wie lang ist der Rhein und warum?",
        "Quem foi Tiradentes?",
        "Viết một bài thơ về mùa thu",
        "Qui a peint la Joconde ?",
    ],
)
def test_other_languages_do_not(text: str) -> None:
    assert not reads_as_english(text)


def test_the_instruction_after_a_passage_is_found() -> None:
    shape = find_instruction(f"{PASSAGE}\n\nWho funded the project?")
    assert shape is not None and shape.instruction == "Who funded the project?"
    assert not shape.head


def test_an_instruction_that_introduces_the_passage_is_found() -> None:
    shape = find_instruction(f"Summarize the following article:\n\n{PASSAGE}")
    assert shape is not None and shape.head
    assert shape.instruction == "Summarize the following article:"


@pytest.mark.parametrize(
    "text",
    [
        "Who funded the project?",  # short: embedded whole
        PASSAGE,  # one block, no instruction
        f"Information:\n\n{PASSAGE}",  # a label, not an instruction
        "def f(x):\n    return {'a': [x]}\n" * 12 + "\nwhy does this fail?",  # code
    ],
)
def test_other_texts_have_no_passage_shape(text: str) -> None:
    assert find_instruction(text) is None


class CountingEncoder(HashingEncoder):
    """Counts the texts it embeds; ``delay`` makes each call slow (a busy encoder)."""

    def __init__(self, delay: float = 0.0, dim: int = 1024, name: str = "hashing-test") -> None:
        super().__init__(dim=dim, name=name)
        self.texts = 0
        self.delay = delay

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        time.sleep(self.delay)
        return super().encode(texts)


def _stage(root: Path, scope: str = "all") -> MultilingualStage:
    ml = HashingEncoder(dim=128, name="hashing-multilingual")
    folder = write_test_centroids(root, ml)
    centroids = load_centroids(folder, "v1", encoder_name=ml.name, dim=128)
    return MultilingualStage(ml, centroids, scope, MicroBatcher(ml))  # type: ignore[arg-type]


def _static(root: Path, margin: float = 0.05) -> FirstStage:
    static = HashingEncoder(dim=256, name="hashing-static")
    folder = write_test_centroids(root, static)
    return FirstStage(
        static, load_centroids(folder, "v1", encoder_name=static.name, dim=256), margin
    )


def _router(config: Config, stage: MultilingualStage, first: FirstStage | None = None) -> Router:
    return Router.from_config(
        config,
        CountingEncoder(),
        build_providers(config, environ={}),
        first_stage=first,
        multilingual=stage,
    )


async def test_text_in_another_language_is_decided_by_the_multilingual_stage(
    config: Config, tmp_path: Path
) -> None:
    r = _router(config, _stage(tmp_path / "ml", "other_languages"), _static(tmp_path / "st"))
    d = await r.route(req("escribe un poem haiku story sobre la lluvia"))
    assert d.match is not None and d.match.stage == MULTILINGUAL
    assert d.centroid_version == "v1"
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 0


async def test_english_keeps_the_static_stage_and_the_transformer_in_scope_other_languages(
    config: Config, tmp_path: Path
) -> None:
    r = _router(config, _stage(tmp_path / "ml", "other_languages"), _static(tmp_path / "st"))
    clear = await r.route(req("write a haiku poem about rain"))
    assert clear.match is not None and clear.match.stage == STATIC
    unclear = await r.route(req("poem python"))
    assert unclear.match is not None and unclear.match.stage == "transformer"


async def test_without_the_multilingual_stage_the_static_stage_sees_every_language(
    config: Config, tmp_path: Path
) -> None:
    r = Router.from_config(
        config,
        CountingEncoder(),
        build_providers(config, environ={}),
        first_stage=_static(tmp_path / "st"),
    )
    d = await r.route(req("escribe un poem haiku story sobre la lluvia"))
    assert d.match is not None and d.match.stage == STATIC


async def test_scope_all_takes_what_the_static_stage_does_not_decide(
    config: Config, tmp_path: Path
) -> None:
    r = _router(config, _stage(tmp_path / "ml", "all"), _static(tmp_path / "st"))
    d = await r.route(req("poem python"))
    assert d.match is not None and d.match.stage == MULTILINGUAL
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 0


@pytest.mark.parametrize(
    ("text", "task"),
    [
        (f"{PASSAGE}\n\nWho was the president, what year, where?", "extract"),
        (f"{PASSAGE}\n\nsummarize this article, key points, tldr", "summarize"),
        (f"summarize this article, key points, tldr:\n\n{PASSAGE}", "summarize"),
    ],
)
async def test_a_passage_shaped_prompt_is_decided_by_its_instruction(
    config: Config, tmp_path: Path, text: str, task: str
) -> None:
    r = _router(config, _stage(tmp_path / "ml"))
    d = await r.route(req(text))
    assert d.match is not None and d.match.stage == MULTILINGUAL
    assert (d.match.task, d.route) == (task, task)


async def test_under_overload_the_static_stage_decides_more_and_says_so(
    config: Config, tmp_path: Path
) -> None:
    cascade = config.encoder.cascade.model_copy(update={"overload_queue": 2})
    busy = config.model_copy(
        update={"encoder": config.encoder.model_copy(update={"cascade": cascade})}
    )
    never = _static(tmp_path / "st", margin=1.01)  # decides nothing unless overloaded
    r = Router.from_config(
        busy, CountingEncoder(delay=0.05), build_providers(busy, environ={}), first_stage=never
    )
    decisions = await asyncio.gather(*(r.route(req("write a haiku poem")) for _ in range(8)))
    stages = [(d.match.stage, d.match.overload) for d in decisions if d.match is not None]
    assert ("transformer", False) in stages  # an idle transformer still decides
    assert (STATIC, True) in stages  # while it is busy, the static stage does
    shown = [RouteResponse.from_decision(d) for d in decisions]
    assert {(r.decided_by, r.overload) for r in shown} == set(stages)  # /v1/route says so


async def test_overload_is_read_from_the_queue_of_the_stage_that_would_decide(
    config: Config, tmp_path: Path
) -> None:
    cascade = config.encoder.cascade.model_copy(update={"overload_queue": 2})
    busy = config.model_copy(
        update={"encoder": config.encoder.model_copy(update={"cascade": cascade})}
    )
    slow = CountingEncoder(delay=0.05, dim=128, name="hashing-multilingual")
    stage = _stage(tmp_path / "ml", "all")
    stage = MultilingualStage(slow, stage.centroids, "all", MicroBatcher(slow))
    r = _router(busy, stage, _static(tmp_path / "st", margin=1.01))
    decisions = await asyncio.gather(*(r.route(req("write a haiku poem")) for _ in range(8)))
    stages = {(d.match.stage, d.match.overload) for d in decisions if d.match is not None}
    assert stages == {(MULTILINGUAL, False), (STATIC, True)}


async def test_route_does_not_pay_a_transformer_embedding_for_a_cache_lookup(
    config: Config, tmp_path: Path
) -> None:
    cache = SemanticCache(CacheConfig(verify=False), 1024)
    r = Router.from_config(
        config,
        CountingEncoder(),
        build_providers(config, environ={}),
        cache=cache,
        multilingual=_stage(tmp_path / "ml"),
    )
    ask = req("escribe un poem haiku story sobre la lluvia")
    d = await r.route(ask)
    assert d.match is not None and d.match.stage == MULTILINGUAL
    assert d.cache is not None and "multilingual stage" in (d.cache.skipped or "")
    assert isinstance(r.encoder, CountingEncoder) and r.encoder.texts == 0
    first = await r.complete(ask)  # answering looks up, in the transformer's space
    assert not first.cached and len(cache) == 1 and r.encoder.texts == 1
    assert (await r.complete(ask)).cached


def test_a_missing_centroid_version_turns_the_stage_off_not_the_service(
    config: Config,
) -> None:
    assert build_multilingual_stage(config) is None  # the test directory has none


# -- the real encoder and the shipped centroids ---------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> MultilingualStage:
    stage = build_multilingual_stage(load_config())
    assert stage is not None, "the shipped multilingual stage must load"
    return stage


def test_translations_are_closer_than_unrelated_text(shipped: MultilingualStage) -> None:
    v = shipped.encoder.encode(["Write a poem about spring", "写一首关于春天的诗", "SQL join"])
    assert v.shape == (3, 512)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("写一首关于秋天落叶的诗", "creative"),
        ("Решите уравнение 3x + 5 = 20", "math"),
        ("¿Cuál es la capital de Australia?", "lookup"),
        ("Schreib eine Python-Funktion, die eine Liste sortiert", "code"),
        ("こんにちは！元気？", "chat"),
    ],
)
def test_the_shipped_stage_routes_other_languages(
    shipped: MultilingualStage, text: str, task: str
) -> None:
    (match,) = shipped.match_many([text])
    assert match.task == task


async def test_under_overload_text_the_static_stage_cannot_read_takes_the_default_route(
    config: Config, tmp_path: Path
) -> None:
    cascade = config.encoder.cascade.model_copy(
        update={"overload_queue": 0, "overload_wait_ms": 20.0}
    )
    busy = config.model_copy(
        update={"encoder": config.encoder.model_copy(update={"cascade": cascade})}
    )
    slow = CountingEncoder(delay=0.05, dim=128, name="hashing-multilingual")
    stage = _stage(tmp_path / "ml", "all")
    stage = MultilingualStage(slow, stage.centroids, "all", MicroBatcher(slow))
    r = _router(busy, stage, _static(tmp_path / "st", margin=0.0))  # decides all it reads
    ask = req("escribe un poema sobre la lluvia de otoño, por favor")
    first = await r.route(ask)  # idle: the multilingual stage decides (and is measured)
    assert first.match is not None and (first.match.stage, first.match.overload) == (
        MULTILINGUAL,
        False,
    )
    burst = await asyncio.gather(*(r.route(ask) for _ in range(6)))
    shed = [d for d in burst if d.match is not None and d.match.overload]
    assert shed, "a text queued behind 50 ms calls waits longer than 20 ms: overload"
    for d in shed:  # the static stage cannot read it: no task, the default route
        assert d.match is not None and d.match.stage == STATIC and not d.match.confident
        assert d.route == DEFAULT_ROUTE
    assert slow.texts < 1 + 6  # the shed requests never reached the slow encoder


def _waiting_at_most(config: Config, max_wait_ms: float) -> Config:
    """``config`` with only the encoder wait bound in the way (no queue or wait prediction)."""
    cascade = config.encoder.cascade.model_copy(
        update={"overload_queue": 0, "overload_wait_ms": 0.0, "max_wait_ms": max_wait_ms}
    )
    return config.model_copy(
        update={"encoder": config.encoder.model_copy(update={"cascade": cascade})}
    )


async def test_a_request_waits_for_its_encoder_at_most_max_wait_ms(
    config: Config, tmp_path: Path
) -> None:
    stuck = CountingEncoder(delay=1.0, dim=128, name="hashing-multilingual")  # a starved worker
    centroids = _stage(tmp_path / "ml", "all").centroids
    stage = MultilingualStage(stuck, centroids, "all", MicroBatcher(stuck))
    never = _static(tmp_path / "st", margin=1.01)  # decides nothing unless overloaded
    r = _router(_waiting_at_most(config, 30.0), stage, never)
    started = time.perf_counter()
    english, other = await asyncio.gather(
        r.route(req("write a haiku poem about the sea")),
        r.route(req("escribe un poema sobre la lluvia de otoño, por favor")),
    )
    assert time.perf_counter() - started < 0.6  # not the encoder's second
    assert english.match is not None and english.match.stage == STATIC
    assert english.match.overload and english.match.confident  # static reads English
    assert other.match is not None and other.match.stage == STATIC and other.match.overload
    assert other.route == DEFAULT_ROUTE  # it cannot read Spanish: the default route


async def test_max_wait_ms_zero_waits_for_the_encoder(config: Config, tmp_path: Path) -> None:
    slow = CountingEncoder(delay=0.2, dim=128, name="hashing-multilingual")
    centroids = _stage(tmp_path / "ml", "all").centroids
    stage = MultilingualStage(slow, centroids, "all", MicroBatcher(slow))
    r = _router(_waiting_at_most(config, 0.0), stage, _static(tmp_path / "st", margin=1.01))
    d = await r.route(req("escribe un poema sobre la lluvia de otoño, por favor"))
    assert d.match is not None and (d.match.stage, d.match.overload) == (MULTILINGUAL, False)


def test_the_service_runs_the_encoder_in_workers_and_one_shot_commands_here(
    shipped: MultilingualStage,
) -> None:
    assert isinstance(shipped.encoder, ProcessPoolEncoder)  # what the service builds
    assert shipped.batcher.lanes == shipped.encoder.processes  # a call per worker at once
    here = build_multilingual_stage(load_config(), workers=False)
    assert here is not None and isinstance(here.encoder, MultilingualEncoder)
    text = ["Écris un haïku sur la mer"]
    assert np.allclose(here.encoder.encode(text), shipped.encoder.encode(text), atol=1e-6)
