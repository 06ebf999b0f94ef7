"""Rewrite bench/RESULTS.md from the JSON files the benchmark scripts left in bench/results/."""

from __future__ import annotations

import json
from typing import Any

from common import RESULTS, ROOT, machine


def _load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _routing_latency(lines: list[str]) -> None:
    r = _load("route_latency")
    if not r:
        return
    lines += [
        "## In-process routing (`python bench/route_latency.py`)",
        "",
        f"Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores, "
        f"torch {r['machine']['torch']} ({r['machine']['torch_threads']} threads), "
        f"Python {r['machine']['python']}; measured {r['machine']['date']}.",
        "",
        "| configuration | prompts | single route p50 | single route p99 | batch throughput |",
        "|---|---|---|---|---|",
    ]
    for name, per_set in r["rows"].items():
        for prompts, row in per_set.items():
            lines.append(
                f"| {name} | {prompts.replace('_', ' ')} | {row['single_p50_ms']} ms | "
                f"{row['single_p99_ms']} ms | {row['batch_prompts_per_s']} prompts/s |"
            )
    lines += [
        "",
        f"Medians over {r['runs']} runs of {_counts(r['queries'])} real user prompts "
        "(realistic held-out set, long ones included); one request at a time through "
        "`Router.route()` (embed + classify + select), embedding memo off except in the "
        "exact-repeat row; batch = the same prompts classified in one call.",
        "",
    ]


def _counts(queries: object) -> str:
    """``{"english": 200, "other_languages": 284}`` → "200 english and 284 other languages"."""
    if not isinstance(queries, dict):
        return str(queries)
    return " and ".join(f"{n} {name.replace('_', ' ')}" for name, n in queries.items())


def _where(result: dict[str, Any]) -> str:
    """The machine and date of one result file ("AMD EPYC, 2 cores, 2026-12-03 10:46 UTC")."""
    m = result["machine"]
    return f"{m['cpu']}, {m['cores']} cores, {m.get('date', 'date unknown')}"


def _service(lines: list[str]) -> None:
    h = _load("http_route")
    if h:
        lines += [
            "## HTTP /v1/route (`python bench/http_route.py`)",
            "",
            "Distinct prompts (no repeats: the embedding memo never helps), default configuration"
            " (static first stage, multilingual stage when unsure), semroute in its own process,"
            " loopback keep-alive load generator. mixed: every eval file, long real user prompts"
            " and the multilingual hold-outs included; short: the dev split's short templated"
            " prompts; real: chatbot-style prompts alone (the arena and both multilingual"
            " hold-outs). overload: share of decisions the static stage made only because the next"
            " encoder was busy (English: its match; other languages: the default route).",
            "",
            "| prompts | concurrency | requests/s | p50 | p99 | overload |",
            "|---|---|---|---|---|---|",
        ]
        paced = _load("http_route_rate")
        lines += [
            f"| {name} | {c[1:]} | {v['requests_per_s']} | {v['p50_ms']} ms | {v['p99_ms']} ms"
            f" | {v.get('overload_share', '—')} |"
            for result in (h, *([paced] if paced else []))
            for name, per_c in result["results"].items()
            for c, v in per_c.items()
        ]
        if paced:
            lines += [
                "",
                "Rows with a rate (`" + paced["command"] + "`; " + _where(paced) + "): an open"
                " loop, Poisson arrivals at that rate, at most that many in flight, latency from"
                " each request's scheduled start; the others (" + _where(h) + ") a closed loop:"
                " every connection sends again as soon as it is answered, so the service runs"
                " saturated and sheds by design.",
            ]
        lines.append("")
    p = _load("proxy_overhead")
    if p:
        lines += _proxy_lines(p)
    c = _load("cache_lookup")
    if c:
        rows = c["results"]
        lines += [
            "## Cache lookup (`python bench/cache_lookup.py`)",
            "",
            f"{c.get('note', '')}. recall@1: the lookup returned the exact nearest neighbour."
            " random vectors are HNSW's worst case; clustered ones look like real prompts."
            " Measured with:",
            "",
            *(f"- `{cmd}`" for cmd in dict.fromkeys(r.get("command", c["command"]) for r in rows)),
            "",
            "| entries | vectors | index | lookup p50 | p99 | recall@1 | bytes/entry | build |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['entries']:,} | {r.get('vectors', 'random')} | {r.get('hnsw', r['index'])}"
            f" | {r['lookup_p50_ms']} ms | {r['lookup_p99_ms']} ms | {r['recall_at_1']}"
            f" | {r['bytes_per_entry']} | {r['build_s']} s |"
            for r in rows
        ]
        lines.append("")


def _quality(lines: list[str]) -> None:
    b = _load("baselines")
    if b:
        methods = list(next(iter(b.values())))
        lines += [
            "## Routing quality beside baselines (`python bench/baselines.py`)",
            "",
            "Macro-F1; same encoder and the same training rows for k-NN and centroids.",
            "",
            "| eval set | " + " | ".join(methods) + " |",
            "|---|" + "---|" * len(methods),
        ]
        lines += [f"| {s} | " + " | ".join(str(v[m]) for m in methods) + " |" for s, v in b.items()]
        lines.append("")
    t = _load("truncation")
    if t:
        lines += [
            "## What is embedded from long prompts (`python bench/truncation.py`)",
            "",
            "| strategy | dev macro-F1 | dev rows over the window | accuracy on those | "
            "written held-out macro-F1 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s} | {v['dev_macro_f1']} | {v['dev_long_rows']} | {v['dev_long_accuracy']} | "
            f"{v['written_macro_f1']} |"
            for s, v in t.items()
        ]
        lines.append("")


def _encoders(lines: list[str]) -> None:
    r = _load("encoders")
    if not r:
        return
    q, lat = r["quality"], r["latency"]
    sets = ("dev", "written_holdout", "arena_holdout")
    lines += [
        "## Encoder backends and the static → transformer cascade (`python bench/encoders.py`)",
        "",
        f"Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores; measured "
        f"{r['machine']['date']}; load average {r['loadavg_start'][0]} → {r['loadavg_end'][0]} "
        "(other processes share the box: compare rows of one run, not runs).",
        "",
        "| configuration | dev macro-F1 | written hold-out | arena hold-out | transformer share "
        "(dev) | p50 | p99 | mean | p50, dev prompts | `Router.route()` p50 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = {n: (v, "") for n, v in q["backends"].items()}
    rows |= {
        f"cascade@{m}": (v, f"{v['dev']['transformer_share']:.0%}") for m, v in q["cascade"].items()
    }
    for name, (quality, share) in rows.items():
        t = lat.get(name, {}).get("arena_holdout", {})
        short = lat.get(name, {}).get("dev_short", {})
        route = lat.get(f"route:{name}", {}).get("arena_holdout")
        route_p50 = f"{route['p50_ms']} ms" if route else "–"
        lines.append(
            f"| {name} | "
            + " | ".join(str(quality[s]["macro_f1"]) for s in sets)
            + f" | {share} | {t.get('p50_ms')} ms | {t.get('p99_ms')} ms | {t.get('mean_ms')} ms"
            f" | {short.get('p50_ms')} ms | {route_p50} |"
        )
    rec = r["recommendation"]
    int8 = q["agreement"]["onnx-int8"]["dev"]
    lines += [
        "",
        "Latency: one query at a time (fit_window + encode + classify) over the arena hold-out "
        f"prompts, median of {r['runs']} runs, one process per backend; cascade = static "
        f"first, {r['fallback']} unless the static match is confident with a top-2 margin of "
        "at least m. ONNX runs one "
        "intra-op thread (default); with two: "
        f"p50 {lat.get('onnx-int8@2', {}).get('arena_holdout', {}).get('p50_ms', '?')} ms. "
        f"int8 vs torch on dev: mean cosine {int8['cosine_mean']}, same task "
        f"{int8['same_task']:.1%}. Static encode p50 by library: "
        + ", ".join(f"{k} {v} ms" for k, v in r["static_variants_p50_ms"].items())
        + ".",
        "",
        f"Fastest configuration within 0.01 dev macro-F1 of the best backend "
        f"({rec['best_backend_dev_macro_f1']}): **{rec['choice_by_p50']}** by p50, "
        f"**{rec['choice_by_mean']}** by mean.",
        "",
    ]


def _peers(lines: list[str]) -> None:
    r = _load("peers")
    if not r:
        return
    lines += [
        "## semroute beside semantic-router (`python bench/peers.py`)",
        "",
        f"Same encoder ({r['backend']} all-MiniLM-L6-v2, local), same training rows; "
        f"semantic-router {r.get('semantic_router_version', '(not installed)')} with its "
        "in-memory index; latency over the arena hold-out prompts, median of "
        f"{r['runs']} runs.",
        "",
        "| router | dev macro-F1 | written hold-out | arena hold-out | p50 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for name, quality in r["quality"].items():
        t = r["latency"][name]
        lines.append(
            f"| {name} | {quality['dev']} | {quality['written_holdout']} | "
            f"{quality['arena_holdout']} | {t['p50_ms']} ms | {t['p99_ms']} ms |"
        )
    lines.append("")


def _chaos(lines: list[str]) -> None:
    c = _load("chaos")
    if not c:
        return
    ex, lat = c["execution"], c["latency_s"]
    lines += [
        "## Faults under load (`python bench/chaos.py`, `make chaos`)",
        "",
        f"{c['requests']} requests at concurrency {c['concurrency']} (half streamed, the official"
        " openai SDK) through semroute to three loopback upstreams ranked silent → flaky (half its"
        " calls fail before any content) → healthy, on the default execution settings (deadline"
        f" {ex['deadline_s']:g} s shared among the candidates, first-token timeout"
        f" {ex['first_token_timeout_s']:g} s, breaker {ex['breaker']['failures']} failures /"
        f" {ex['breaker']['cooldown_s']:g} s cooldown); measured {c['machine']['date']}.",
        "",
        "| answered | lost | truncated successes | cut after content | p50 | p99 | max | took |",
        "|---|---|---|---|---|---|---|---|",
        f"| {c['ok']} | {c['lost']} | {c['truncated_successes']} |"
        f" {c['cut_after_first_content']} | {lat['p50']} s | {lat['p99']} s | {lat['max']} s |"
        f" {c['seconds']} s |",
        "",
        f"Upstream calls: {', '.join(f'{k} {v}' for k, v in c['upstream_calls'].items())}.",
        "",
    ]


def _api_costs(lines: list[str]) -> None:
    m, r = _load("messages_overhead"), _load("rate_limits")
    if not (m or r):
        return
    lines += ["## What the API features cost a request", ""]
    if m:
        res = m["results"]
        lines += [
            "`python bench/messages_overhead.py`: the same chat, fixed model, one OpenAI-format "
            f"upstream; p50 direct {res['direct']['p50_ms']} ms, through /v1/chat/completions "
            f"{res['chat_completions']['p50_ms']} ms, through /v1/messages "
            f"{res['messages']['p50_ms']} ms (medians of {m['runs']} runs of {m['requests']}).",
            "",
        ]
    if r:
        lines += [
            "`python bench/rate_limits.py`: [limits] admission + settlement (a key and a tenant, "
            f"requests and tokens); p50 / p99 {r['memory']['p50_ms']} / {r['memory']['p99_ms']} "
            "ms in process memory"
            + (
                f", {r['redis']['p50_ms']} / {r['redis']['p99_ms']} ms in Redis on loopback"
                if "p50_ms" in r.get("redis", {})
                else ""
            )
            + f" (medians of {r['runs']} runs of {r['requests']}).",
            "",
        ]


def main() -> None:
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/report.py) from bench/results/*.json. "
        f"Report generated {m['date']} on {m['cpu']} ({m['cores']} cores).",
        "",
    ]
    _routing_latency(lines)
    _service(lines)
    _api_costs(lines)
    _quality(lines)
    _encoders(lines)
    _peers(lines)
    _chaos(lines)
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _pair(r: dict[str, Any], name: str) -> str:
    v = r.get(name)
    return f"{v['p50_ms']} / {v['p99_ms']} ms" if v else "—"


def _proxy_lines(p: dict[str, Any]) -> list[str]:
    """The proxy-overhead table: each scenario's p50 / p99, then each one's p50 beyond the
    direct call and how many times semroute's LiteLLM's is (one run)."""
    lines = [
        "## Proxy overhead (`python bench/proxy_overhead.py`)",
        "",
        "Same chat request sent directly to a loopback upstream, through LiteLLM's proxy"
        f" ({p.get('litellm', 'not measured')}), through semroute with a fixed model, with"
        " `model=auto` on one prompt again and again (memo hits after the first) and with"
        " `model=auto` on distinct real prompts (the encoders' cost included).",
        "",
        "| concurrency | direct | LiteLLM | fixed model | auto | auto, distinct prompts "
        "| overhead p50 LiteLLM / fixed / auto / distinct | LiteLLM's over semroute's |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, r in p["results"].items():
        o = r["overhead"]
        over = " / ".join(
            f"{o[k]}" for k in ("litellm_p50_ms", "fixed_p50_ms", "auto_p50_ms") if k in o
        )
        ratio = " / ".join(
            f"{o[k]}×"
            for k in ("litellm_over_fixed", "litellm_over_auto", "litellm_over_auto_distinct")
            if k in o
        )
        lines.append(
            f"| {c[1:]} | {_pair(r, 'direct')} | {_pair(r, 'litellm')} |"
            f" {_pair(r, 'semroute_fixed_model')} | {_pair(r, 'semroute_auto')} |"
            f" {_pair(r, 'semroute_auto_distinct')} |"
            f" {over} / {o.get('auto_distinct_p50_ms', '—')} ms"
            f" | {ratio or '—'} |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
