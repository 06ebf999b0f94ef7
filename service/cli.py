"""The ``semroute`` command: serve, route, train, eval."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from router.centroids import load_centroids
from router.config import Config, load_config
from router.errors import InvalidRequest, RouterError
from router.types import Message, Priority

log = logging.getLogger("semroute.cli")


def _config_path(args: argparse.Namespace) -> Path | None:
    path = args.config or os.environ.get("SEMROUTE_CONFIG")
    return Path(path) if path else None


def _config(args: argparse.Namespace) -> Config:
    return load_config(_config_path(args))


def _encoder(config: Config) -> Any:
    from router.embedding import build_encoder

    return build_encoder(config.encoder)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.logs import configure
    from service.server import DrainingServer

    configure(args.log_level, json_lines=not args.plain_logs)
    config = _config(args)
    host = args.host or config.service.host
    port = args.port if args.port is not None else config.service.port
    if not config.auth.enabled and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "AUTH IS OFF and semroute listens on %s: anyone who can reach it can spend your "
            "provider budget. Enable [auth] with client keys before exposing it.",
            host,
        )
    app = create_app(config, config_path=_config_path(args))
    server = DrainingServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(config.service.shutdown_grace_s),
        ),
        app.state.semroute,
    )
    server.run()
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from router.core import Router
    from router.types import ChatRequest
    from service.schemas import RouteResponse

    if not args.text.strip():
        raise InvalidRequest("nothing to route: the text is empty", param="text")
    config = _config(args)
    engine = Router.from_config(config, _encoder(config))
    request = ChatRequest(
        messages=(Message(role="user", content=args.text),),
        model=args.model,
        priority=Priority(args.priority) if args.priority else None,
    )
    decision = RouteResponse.from_decision(anyio.run(engine.route, request))
    if args.json:
        print(decision.model_dump_json(indent=2))
        return 0
    _print_decision(decision)
    return 0


def _print_decision(d: Any) -> None:
    if d.task is not None:
        state = "confident" if d.confident else "not confident → default route"
        score = d.scores[d.task]
        print(f"task: {d.task}  (score {score:.3f}, margin {d.margin:.3f}, {state})")
    print(f"route: {d.route}   priority: {d.priority}   centroids: {d.centroid_version}")
    if d.truncated:
        print(f"note: the text was truncated to fit the encoder ({d.embedded_chars} chars kept)")
    for i, c in enumerate(d.candidates, 1):
        print(f"  {i}. {c.model:<20} {c.provider:<10} {c.tier:<9} {c.reason}")
    for s in d.skipped:
        print(f"     skipped {s.model}: {s.reason}")


def cmd_train(args: argparse.Namespace) -> int:
    from router.centroids import current_version
    from router.errors import ArtifactError
    from training.dataset import read_many
    from training.logs import add_log_examples
    from training.train import TrainOptions, train

    config = _config(args)
    if not args.data and not args.from_logs:
        raise InvalidRequest("give --data FILE.jsonl and/or --from-logs PATH|redis://…")
    out = Path(args.out) if args.out else config.routing.centroids_dir
    data = read_many([Path(p) for p in args.data])
    weak = args.weak_weight if args.weak_weight is not None else config.training.weak_label_weight
    found = add_log_examples(
        data, args.from_logs, weak_weight=weak, key_prefix=config.redis.key_prefix
    )
    if args.from_logs:
        print(f"from logs: {found}")
    encoder = _encoder(config)
    live = None
    with contextlib.suppress(ArtifactError):  # nothing live yet: promoted without a gate
        live = load_centroids(out, current_version(out), encoder_name=encoder.name, dim=encoder.dim)
    drop = args.max_recall_drop
    options = TrainOptions(
        holdout=args.holdout,
        seed=args.seed,
        k=args.k,
        target_precision=args.target_precision,
        lvq_epochs=args.lvq_epochs,
        promote=args.promote,
        version=args.version,
        max_recall_drop=drop if drop is not None else config.training.max_recall_drop,
    )
    gate_files = [Path(p) for p in args.gate_data] or config.training.gate_data
    gate_data = read_many([p for p in gate_files if p.exists()]) if live is not None else None
    result = train(data, out, encoder, config.encoder, options, live, gate_data)
    _print_train(result, out)
    return 3 if args.promote and result.gate is not None and not result.gate.accepted else 0


def _print_train(result: Any, out: Path) -> None:
    val = result.metrics["validation"]
    print(
        f"wrote {out / result.manifest.version}  "
        f"(held-out macro-F1 {val['macro_f1']:.4f}, accuracy {val['accuracy']:.4f}, "
        f"unknown rate {val['unknown_rate']:.4f}, n={val['n']})"
    )
    if result.gate is not None:
        verdict = "ACCEPTED" if result.gate.accepted else "REFUSED"
        rows = result.metrics.get("gate_rows", 0)
        mine = result.metrics.get("candidate_on_gate_rows", {}).get("macro_f1")
        live = result.metrics.get("live_validation", {}).get("macro_f1")
        scores = f"candidate {mine:.4f} vs live {live:.4f}" if rows else "no rows"
        print(f"promotion gate vs the live version on {rows} unseen rows ({scores}): {verdict}")
        for reason in result.gate.reasons:
            print(f"  - {reason}")
    print(f"CURRENT -> {result.manifest.version}" if result.promoted else "CURRENT unchanged")


def cmd_eval(args: argparse.Namespace) -> int:
    from training.evaluate import evaluate_file

    config = _config(args)
    encoder = _encoder(config)
    centroids = load_centroids(
        config.routing.centroids_dir,
        args.version or config.routing.centroid_version,
        encoder_name=encoder.name,
        dim=encoder.dim,
    )
    report = evaluate_file(Path(args.data), encoder, centroids, progress=not args.json)
    if args.json:
        print(json.dumps(report))
        return 0
    _print_report(report)
    return 0


def cmd_eval_cache(args: argparse.Namespace) -> int:
    from router.cache_verify import load_verifier
    from router.types import BudgetTier
    from training.evaluate_cache import evaluate_cache

    config = _config(args)
    thresholds = {t.value: config.cache.threshold(t, None) for t in BudgetTier}
    verifier = load_verifier(config.cache.verifier_path) if config.cache.verify else None
    report = evaluate_cache(
        Path(args.data), _encoder(config), verifier, thresholds, progress=not args.json
    )
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"n={report['n']} pairs ({report['invalid_rows']} invalid rows skipped)")
    print(f"{'tier':<10} {'threshold':>9} {'hit %':>7} {'false %':>8}   cosine only: hit % false %")
    for tier, row in report["tiers"].items():
        bare = report["cosine_only"]["tiers"][tier]
        print(
            f"{tier:<10} {row['threshold']:>9.3f} {100 * row['hit_rate']:>7.1f} "
            f"{100 * row['false_hit_rate']:>8.1f}   {100 * bare['hit_rate']:>17.1f} "
            f"{100 * bare['false_hit_rate']:>7.1f}"
        )
    return 0


def cmd_eval_cost(args: argparse.Namespace) -> int:
    from training.evaluate_cost import format_cost_report, run_eval_cost

    config = _config(args)
    encoder = _encoder(config)
    centroids = load_centroids(
        config.routing.centroids_dir,
        config.routing.centroid_version,
        encoder_name=encoder.name,
        dim=encoder.dim,
    )
    report = run_eval_cost(
        Path(args.data),
        Path(args.prices),
        encoder,
        centroids,
        seed=args.seed,
        progress=not args.json,
    )
    print(json.dumps(report) if args.json else format_cost_report(report))
    if args.suggest_ranking:
        from training.ranking import suggestion_toml

        Path(args.suggest_ranking).write_text(
            suggestion_toml(report["ranking_suggestion"], args.data)
        )
        if not args.json:
            print(f"per-task ranking suggestion written to {args.suggest_ranking} (not applied)")
    return 0


def _print_report(r: dict[str, Any]) -> None:
    print(f"centroids {r['centroid_version']}  n={r['n']}")
    print(
        f"accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
        f"unknown rate {r['unknown_rate']:.4f}"
    )
    print(f"{'task':<10} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}")
    for task, s in r["per_task"].items():
        print(
            f"{task:<10} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f} "
            f"{s['support']:>5}"
        )
    tasks = list(r["confusion"])
    print("confusion (rows: true, columns: predicted)")
    print(" " * 10 + "".join(f"{t[:6]:>7}" for t in tasks))
    for t in tasks:
        print(f"{t:<10}" + "".join(f"{r['confusion'][t][p]:>7}" for p in tasks))
    skipped = r["outside_taxonomy"]
    if skipped["n"] or r["invalid_rows"]:
        print(
            f"skipped: {skipped['n']} row(s) labelled outside the taxonomy {skipped['labels']}, "
            f"{r['invalid_rows']} invalid row(s)"
        )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="semroute", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="semroute.toml (default: $SEMROUTE_CONFIG, else embedded)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", parents=[common], help="run the HTTP service")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--log-level", default="info")
    s.add_argument("--plain-logs", action="store_true", help="human-readable logs, not JSON")
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("route", parents=[common], help="print the routing decision for TEXT")
    r.add_argument("text")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    r.add_argument("--priority", choices=[p.value for p in Priority])
    r.add_argument("--model", default="auto", help="auto, auto:<task> or a catalogue model")
    r.set_defaults(func=cmd_route)

    t = sub.add_parser(
        "train", parents=[common], help="fit centroids from labelled JSONL and/or outcome logs"
    )
    t.add_argument("--data", action="append", default=[], help="labelled JSONL (repeatable)")
    t.add_argument(
        "--from-logs",
        action="append",
        default=[],
        metavar="PATH|redis://…",
        help="outcome log file/dir or Redis URL: feedback corrections and good ratings",
    )
    t.add_argument("--weak-weight", type=float, help="weight of good-rated routes (config)")
    t.add_argument("--max-recall-drop", type=float, help="promotion gate per task (config)")
    t.add_argument(
        "--gate-data",
        action="append",
        default=[],
        help="labelled JSONL the gate compares on (default: training.gate_data)",
    )
    t.add_argument("--out", help="centroids directory (default: routing.centroids_dir)")
    t.add_argument("--k", type=int, help="centroids per task (default: chosen on validation)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--holdout", type=float, default=0.2)
    t.add_argument("--target-precision", type=float, default=0.85)
    t.add_argument("--lvq-epochs", type=int, default=5, help="0 = plain k-means centroids")
    t.add_argument("--version", help="version name (default: next vN)")
    t.add_argument(
        "--promote",
        action="store_true",
        help="point CURRENT at the new version if the promotion gate accepts it",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "eval", parents=[common], help="accuracy / macro-F1 / confusion on labelled JSONL"
    )
    e.add_argument("--data", required=True)
    e.add_argument("--json", action="store_true", help="one JSON object on stdout")
    e.add_argument("--version", help="centroid version (default: CURRENT)")
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser(
        "eval-cache",
        parents=[common],
        help="cache hit / false-hit rates per budget tier on labelled pairs (a, b, duplicate)",
    )
    c.add_argument("--data", required=True)
    c.add_argument("--json", action="store_true", help="one JSON object on stdout")
    c.set_defaults(func=cmd_eval_cache)

    q = sub.add_parser(
        "eval-cost",
        parents=[common],
        help="quality and cost of the routing policy vs baselines on per-model outcomes",
    )
    q.add_argument("--data", required=True, help="JSONL with correct/scores per model")
    q.add_argument("--prices", required=True, help="TOML: per-model prices and the policy")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument(
        "--suggest-ranking",
        metavar="PATH",
        help="write a per-task model order suggestion (TOML, for review; never applied)",
    )
    q.add_argument("--json", action="store_true", help="one JSON object on stdout")
    q.set_defaults(func=cmd_eval_cost)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    try:
        code: int = args.func(args)
    except RouterError as exc:
        print(f"semroute: error: {exc.message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
