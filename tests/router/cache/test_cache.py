"""SemanticCache with the hashing encoder: namespaces, thresholds, verification, TTL, LRU,
invalidation, persistence and the flat → HNSW switch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from router.cache.index import VectorIndex
from router.cache.namespaces import namespace
from router.cache.persist import load_snapshot, save_snapshot
from router.cache.semantic import Entry, SemanticCache
from router.config.settings import CacheConfig
from router.types import ChatRequest, Message, ModelTier
from tests.clock import Clock
from tests.fakes import HashingEncoder

ENC = HashingEncoder()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


class DigitsVerifier:
    """Refuses when the digits differ (a stand-in for the real verifier)."""

    def __init__(self) -> None:
        self.tiers: list[str | None] = []

    def check(self, query: str, cached: str, similarity: float, tier: str | None = None) -> Verdict:
        self.tiers.append(tier)
        q = [c for c in query if c.isdigit()]
        c = [c for c in cached if c.isdigit()]
        return Verdict(q == c, "ok" if q == c else "numbers differ")

    def threshold_for(self, tier: str | None) -> float:
        return 0.5


def make(clock: Clock | None = None, **kw: object) -> SemanticCache:
    config = CacheConfig(**kw)  # type: ignore[arg-type]
    return SemanticCache(config, ENC.dim, DigitsVerifier(), clock=clock or Clock())


def entry(cache: SemanticCache, text: str, ns: str = "t:ns", eid: str | None = None) -> Entry:
    e = Entry(
        id=eid or text,
        namespace=ns,
        text=text,
        vector=ENC.encode([text])[0],
        response={"message": {"role": "assistant", "content": f"answer to {text}"}},
        model="m",
        model_tier="economy",
        created_at=cache.clock(),
    )
    cache.put(e)
    return e


def look(cache: SemanticCache, text: str, ns: str = "t:ns", threshold: float = 0.8):  # type: ignore[no-untyped-def]
    return cache.lookup(ns, ENC.encode([text])[0], text, threshold)


def test_hit_above_threshold_miss_below() -> None:
    cache = make()
    entry(cache, "how do I reset my router password")
    hit = look(cache, "how do I reset my router password please")
    assert hit.entry is not None and hit.similarity >= 0.8
    assert look(cache, "how do I bake sourdough bread").entry is None
    assert cache.stats.hits == 1 and cache.stats.misses == 1


def test_verification_refuses_a_one_detail_change() -> None:
    cache = make()
    entry(cache, "what is 15 percent of 240")
    found = look(cache, "what is 15 percent of 250", threshold=0.5)
    assert found.entry is None
    assert found.refused == ("numbers differ",)
    assert cache.stats.refusals == 1


def test_at_most_verify_candidates_neighbours_are_verified() -> None:
    cache = make(verify_candidates=2)
    for n in (1, 2, 3):
        entry(cache, f"what is 15 percent of 24{n}")
    found = look(cache, "what is 15 percent of 250", threshold=0.5)
    assert found.entry is None and len(found.refused) == 2


def test_the_budget_tier_reaches_the_verifier() -> None:
    cache = make()
    entry(cache, "how do I reset my router password")
    text = "how do I reset my router password"
    cache.lookup("t:ns", ENC.encode([text])[0], text, 0.8, "economy")
    look(cache, text)
    assert isinstance(cache.verifier, DigitsVerifier)
    assert cache.verifier.tiers == ["economy", None]


def test_namespaces_isolate_tenants_parameters_and_tiers() -> None:
    def req(tenant: str = "a", system: str = "be brief", temp: float | None = 0.0) -> ChatRequest:
        return ChatRequest(
            messages=(Message("system", system), Message("user", "hi")),
            tenant=tenant,
            temperature=temp,
        )

    base = namespace(req(), ModelTier.ECONOMY)
    assert base.startswith("a:")
    assert namespace(req(tenant="b"), ModelTier.ECONOMY) != base
    assert namespace(req(system="be verbose"), ModelTier.ECONOMY) != base
    assert namespace(req(temp=0.9), ModelTier.ECONOMY) != base
    assert namespace(req(), ModelTier.PREMIUM) != base
    # The last user message is what the vector is about; it is not part of the namespace.
    other = ChatRequest(
        messages=(Message("system", "be brief"), Message("user", "hello")),
        tenant="a",
        temperature=0.0,
    )
    assert namespace(other, ModelTier.ECONOMY) == base
    cache = make()
    entry(cache, "same question", ns=base)
    assert (
        look(cache, "same question", ns=namespace(req(tenant="b"), ModelTier.ECONOMY)).entry is None
    )


def test_ttl_is_absolute_and_hits_do_not_extend_it() -> None:
    clock = Clock()
    cache = make(clock, ttl_s=100)
    entry(cache, "weather in paris")
    clock.now += 60
    assert look(cache, "weather in paris").entry is not None
    clock.now += 41  # 101 s after the write: expired, even though it was hit at 60 s
    assert look(cache, "weather in paris").entry is None
    assert len(cache) == 0
    assert cache.stats.expirations == 1


def test_lru_eviction_keeps_recently_used() -> None:
    cache = make(max_entries=3)
    for text in ("alpha one", "beta two", "gamma three"):
        entry(cache, text)
    assert look(cache, "alpha one").entry is not None  # alpha is now the most recent
    entry(cache, "delta four")
    assert {e.id for e in cache.entries()} == {"alpha one", "gamma three", "delta four"}
    assert cache.stats.evictions == 1


def test_invalidation_by_entry_namespace_and_all() -> None:
    cache = make()
    entry(cache, "one", ns="t:a")
    entry(cache, "two", ns="t:a")
    entry(cache, "three", ns="t:b")
    assert cache.delete(["one"]) == 1
    assert cache.invalidate_namespace("t:a") == 1
    assert cache.namespaces() == {"t:b": 1}
    assert cache.clear() == 1
    assert len(cache) == 0


def test_replication_hooks_fire_on_local_changes_only() -> None:
    cache = make()
    inserted: list[str] = []
    deleted: list[list[str]] = []
    cache.on_insert.append(lambda e: inserted.append(e.id))
    cache.on_delete.append(deleted.append)
    entry(cache, "x")
    cache.put(
        Entry("y", "t:ns", "y", ENC.encode(["y"])[0], {}, "m", "economy", cache.clock()),
        replicate=False,
    )
    cache.delete(["x"])
    cache.delete(["y"], replicate=False)
    assert inserted == ["x"]
    assert deleted == [["x"]]


def test_snapshot_round_trip_skips_expired(tmp_path: Path) -> None:
    clock = Clock()
    cache = make(clock, ttl_s=100)
    entry(cache, "old question")
    clock.now += 50
    entry(cache, "new question")
    assert save_snapshot(cache, tmp_path / "snap") == 2
    clock.now += 60  # "old" is now 110 s old
    fresh = make(clock, ttl_s=100)
    assert load_snapshot(fresh, tmp_path / "snap") == 1
    assert look(fresh, "new question").entry is not None
    assert load_snapshot(fresh, tmp_path / "absent") == 0
    (tmp_path / "snap" / "entries.jsonl").write_text("garbage\n")
    assert load_snapshot(make(), tmp_path / "snap") == 0


def test_index_switches_to_hnsw_and_deletes_with_tombstones() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(16, hnsw_after=10)
    index.add(range(40), vectors)
    assert index.hnsw
    assert index.search(vectors[7], 1)[0][0] == 7
    index.remove([7])
    assert all(i != 7 for i, _ in index.search(vectors[7], 5))
    assert len(index) == 39
    index.remove(range(20))  # many tombstones → rebuilt
    assert len(index) == 20
    assert index.search(vectors[30], 1)[0][0] == 30


def _entries(cache: SemanticCache, texts: list[str]) -> list[Entry]:
    vectors = ENC.encode(texts)
    return [
        Entry(t, "t:ns", t, v, {"message": {}}, "m", "economy", cache.clock())
        for t, v in zip(texts, vectors, strict=True)
    ]


def test_put_many_matches_put_one_by_one() -> None:
    texts = [f"question {i} about topic {i % 3}" for i in range(12)] + ["question 4 about topic 1"]
    one, bulk = make(max_entries=8, hnsw_after=5), make(max_entries=8, hnsw_after=5)
    for e in _entries(one, texts):
        one.put(e)
    inserted: list[str] = []
    bulk.on_insert.append(lambda e: inserted.append(e.id))
    bulk.put_many(_entries(bulk, texts))
    assert [e.id for e in bulk.entries()] == [e.id for e in one.entries()]
    assert bulk.stats.evictions == one.stats.evictions
    assert inserted == list(dict.fromkeys(reversed(texts)))[::-1]
    for text in texts[-8:]:
        assert look(bulk, text, threshold=0.99).entry is not None
    assert look(bulk, texts[0], threshold=0.99).entry is None


def test_hnsw_settings_come_from_the_config() -> None:
    cache = make(hnsw_after=4, hnsw_m=8, hnsw_ef_search=16)
    cache.put_many(_entries(cache, [f"prompt number {i}" for i in range(10)]))
    index = cache._indexes["t:ns"]
    assert index.hnsw and (index.params.m, index.params.ef_search) == (8, 16)
    index.set_ef_search(32)
    assert index.params.ef_search == 32
    assert look(cache, "prompt number 7", threshold=0.99).entry is not None


def test_index_keeps_the_vectors_it_is_given() -> None:
    vectors = [v.copy() for v in ENC.encode(["first prompt", "second prompt"])]
    index = VectorIndex(ENC.dim, hnsw_after=10)
    index.add([1, 2], vectors)
    assert np.shares_memory(index._vectors[2], vectors[1])
    assert index.search(vectors[1], 1)[0][0] == 2
    with pytest.raises(ValueError, match="ids for"):
        index.add([3], vectors)


def test_a_large_rebuild_runs_aside_and_keeps_changes_made_meanwhile() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5_020, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(16, hnsw_after=100, background_min=1_000)
    index.add(range(5_000), vectors[:5_000])  # past hnsw_after: HNSW is built in a thread
    assert index.search(vectors[42], 1)[0][0] == 42  # answered meanwhile (exact index)
    index.remove([42, 43])
    index.add(range(5_000, 5_020), vectors[5_000:])
    index.wait_for_rebuild(timeout=60)
    assert index.hnsw and len(index) == 5_018
    assert all(i not in (42, 43) for i, _ in index.search(vectors[42], 5))
    assert index.search(vectors[5_010], 1)[0][0] == 5_010
    index.remove(range(2_000))  # tombstones pile up: rebuilt aside again
    index.wait_for_rebuild(timeout=60)
    assert len(index) == 3_020  # 42 and 43 were gone already
    assert index.search(vectors[4_000], 1)[0][0] == 4_000
    assert all(i >= 2_000 for i, _ in index.search(vectors[10], 10))


def _ns(*messages: Message, model: str = "auto") -> str:
    return namespace(ChatRequest(messages=messages, model=model), ModelTier.PREMIUM)


def _image(url: str) -> Message:
    return Message("user", ({"type": "text", "text": "describe it"}, _image_part(url)))


def _image_part(url: str) -> dict[str, object]:
    return {"type": "image_url", "image_url": {"url": url}}


def test_namespaces_separate_what_the_text_does_not_show() -> None:
    # Another picture, document or tool result with the same words is another question.
    assert _ns(_image("data:image/png;base64,AAAA")) != _ns(_image("data:image/png;base64,BBBB"))
    doc = {"type": "document", "source": {"type": "text", "data": "rent: 500"}}
    other = {"type": "document", "source": {"type": "text", "data": "rent: 900"}}
    text = {"type": "text", "text": "summarize"}
    assert _ns(Message("user", (doc, text))) != _ns(Message("user", (other, text)))
    ask = Message("user", "where is my order 8812?")
    fn = {"name": "track", "arguments": '{"order": 8812}'}
    call = Message("assistant", tool_calls=({"id": "c1", "type": "function", "function": fn},))
    shipped = Message("tool", "shipped", tool_call_id="c1")
    lost = Message("tool", "lost", tool_call_id="c1")
    assert len({_ns(ask), _ns(ask, call, shipped), _ns(ask, call, lost)}) == 3
    # A named model is answered from its own answers, not another model's of the same tier.
    assert _ns(ask, model="gpt-4o") != _ns(ask, model="claude-sonnet-4") != _ns(ask)
    assert _ns(ask, model="auto:code") == _ns(ask)


def test_plain_text_namespaces_do_not_change() -> None:
    # Snapshots written before images and tool turns were hashed stay valid for plain text.
    short = (Message("system", "s"), Message("user", "hi"))
    chat = (Message("user", "q"), Message("assistant", "a"), Message("user", "hi"))
    assert _ns(*short) == "default:cf0603d87d1faee2ee3bffbef69de61b"
    assert _ns(*chat) == "default:28ceb2e1c986c4f3bc2da6b4f63e7122"
    # A prompt-cache mark on a text part changes nothing either.
    marked = Message("user", ({"type": "text", "text": "hi", "cache_control": {"type": "x"}},))
    assert _ns(Message("system", "s"), marked) == _ns(*short)


def test_without_verification_the_cosine_stays_as_strict_as_before_the_verifier() -> None:
    """The default thresholds only retrieve candidates for the verifier (0.85 / 0.80): with
    ``verify = false`` the cosine alone decides, and must not serve "…today 0" for "…today 1"."""
    from router.config import CacheConfig
    from router.types import BudgetTier

    verified, bare = CacheConfig(), CacheConfig(verify=False)
    assert verified.threshold(BudgetTier.QUALITY, None) == 0.85
    assert bare.threshold(BudgetTier.QUALITY, None) == 0.96
    assert bare.threshold(BudgetTier.EXHAUSTED, None) == 0.85
