"""The ``semroute`` command: serve, prepare, config, route, train, eval, eval-cache, eval-cost."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from router.errors import InvalidRequest, RouterError
from router.types import Message, Priority
from service.cli_common import config_of, config_path_of, encoder_of
from service.commands import cmd_eval, cmd_eval_cache, cmd_eval_cost, cmd_train
from service.prepare import cmd_prepare

log = logging.getLogger("semroute.cli")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from router.config import Config, stray_variables
    from service.app import create_app
    from service.logs import configure
    from service.server import DrainingServer

    configure(args.log_level, json_lines=not args.plain_logs)
    config = config_of(args)
    for message in stray_variables(Config, os.environ):
        log.warning("%s", message)
    host = args.host or config.service.host
    port = args.port if args.port is not None else config.service.port
    if not config.auth.enabled and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "AUTH IS OFF and semroute listens on %s: anyone who can reach it can spend your "
            "provider budget. Enable [auth] with client keys before exposing it.",
            host,
        )
    app = create_app(config, config_path=config_path_of(args))
    server = DrainingServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            loop=config.service.event_loop,
            timeout_graceful_shutdown=int(config.service.shutdown_grace_s),
        ),
        app.state.semroute,
    )
    server.run()
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from router import Router
    from router.classify import build_first_stage, build_multilingual_stage
    from router.types import ChatRequest
    from service.route_schemas import RouteResponse

    if not args.text.strip():
        raise InvalidRequest("nothing to route: the text is empty", param="text")
    config = config_of(args)
    engine = Router.from_config(
        config,
        encoder_of(config),
        first_stage=build_first_stage(config),
        multilingual=build_multilingual_stage(config, workers=False),
    )
    request = ChatRequest(
        messages=(Message(role="user", content=argv_text(args.text)),),
        model=args.model,
        priority=Priority(args.priority) if args.priority else None,
    )
    decision = RouteResponse.from_decision(anyio.run(engine.route, request))
    if args.json:
        print(decision.model_dump_json(indent=2))
        return 0
    _print_decision(decision)
    return 0


def argv_text(text: str) -> str:
    """Text from the command line as valid Unicode: bytes that were not UTF-8 arrive as lone
    surrogates (Python's surrogateescape), which no tokenizer takes; they become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def cmd_config(args: argparse.Namespace) -> int:
    from router.config import config_from, load_layers
    from service.config_check import check
    from service.config_report import show

    path = config_path_of(args)
    layers = load_layers(path)
    config = config_from(layers)
    if args.action == "show":
        print(show(config, layers), end="")
        return 0
    findings = check(config)
    for finding in findings:
        print(finding)
    errors = sum(f.level == "error" for f in findings)
    where = str(path) if path is not None else "the embedded default"
    print(f"{where}: {errors} error(s), {len(findings) - errors} warning(s) or note(s)")
    return 1 if errors else 0


def _print_decision(d: Any) -> None:
    if d.task is not None:
        state = "confident" if d.confident else "not confident → default route"
        score = d.scores[d.task]
        print(
            f"task: {d.task}  (score {score:.3f}, margin {d.margin:.3f}, {state}; "
            f"decided by the {d.decided_by} encoder)"
        )
    print(f"route: {d.route}   priority: {d.priority}   centroids: {d.centroid_version}")
    if d.truncated:
        print(f"note: the text was truncated to fit the encoder ({d.embedded_chars} chars kept)")
    for i, c in enumerate(d.candidates, 1):
        print(f"  {i}. {c.model:<20} {c.provider:<10} {c.tier:<9} {c.reason}")
    for s in d.skipped:
        print(f"     skipped {s.model}: {s.reason}")


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

    m = sub.add_parser(
        "prepare",
        parents=[common],
        help="build the encoder files the config needs (ONNX export) now and check them "
        "on the hold-out",
    )
    m.add_argument(
        "--record",
        action="store_true",
        help="record this machine's hold-out figures in the centroid versions (maintainers, "
        "after fitting centroids; other machines check against them)",
    )
    m.set_defaults(func=cmd_prepare)

    k = sub.add_parser(
        "config",
        parents=[common],
        help="show: the effective configuration and where each value came from; "
        "check: validate it and what it points at (non-zero exit on errors)",
    )
    k.add_argument("action", choices=["show", "check"])
    k.set_defaults(func=cmd_config)

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
    e.add_argument(
        "--no-cascade",
        action="store_true",
        help="the transformer classifies every row (default: as configured, [encoder.cascade])",
    )
    e.add_argument(
        "--multilingual",
        choices=["off", "other_languages", "all"],
        help="the multilingual stage: off, or the text it takes (default: [encoder.multilingual])",
    )
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
