"""The offline commands of ``semroute``: train, eval, eval-cache, eval-cost."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

from router.classify import build_first_stage, build_multilingual_stage, load_centroids
from router.errors import InvalidRequest
from service.cli_common import config_of, encoder_of


def cmd_train(args: argparse.Namespace) -> int:
    from router.classify import current_version
    from router.errors import ArtifactError
    from training.dataset import read_many
    from training.logs import add_log_examples
    from training.train import TrainOptions, train

    config = config_of(args)
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
    encoder = encoder_of(config)
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

    config = config_of(args)
    encoder = encoder_of(config)
    centroids = load_centroids(
        config.routing.centroids_dir,
        args.version or config.routing.centroid_version,
        encoder_name=encoder.name,
        dim=encoder.dim,
    )
    stage = None if args.no_cascade else build_first_stage(config)
    if args.multilingual is not None:
        settings = config.encoder.multilingual.model_copy(
            update={"enabled": args.multilingual != "off", "scope": args.multilingual}
            if args.multilingual != "off"
            else {"enabled": False}
        )
        encoder_config = config.encoder.model_copy(update={"multilingual": settings})
        config = config.model_copy(update={"encoder": encoder_config})
    multilingual = build_multilingual_stage(config, workers=False)
    report = evaluate_file(
        Path(args.data), encoder, centroids, stage, multilingual, progress=not args.json
    )
    if args.json:
        print(json.dumps(report))
        return 0
    _print_report(report)
    return 0


def cmd_eval_cache(args: argparse.Namespace) -> int:
    from router.cache import build_verifier
    from router.types import BudgetTier
    from training.evaluate_cache import evaluate_cache

    config = config_of(args)
    thresholds = {t.value: config.cache.threshold(t, None) for t in BudgetTier}
    report = evaluate_cache(
        Path(args.data),
        encoder_of(config),
        build_verifier(config.cache),
        thresholds,
        progress=not args.json,
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
    _print_categories(report.get("categories", {}))
    return 0


def _print_categories(categories: dict[str, Any]) -> None:
    """Per category: hit % where its rows are duplicates, false-hit % where they are not."""
    if not categories:
        return
    tiers = list(next(iter(categories.values()))["tiers"])
    print(f"\n{'category':<16} {'n':>5}  {'':<6}" + "".join(f"{t:>11}" for t in tiers))
    for name, part in categories.items():
        dup = part["duplicates"] * 2 >= part["n"]
        key, label = ("hit_rate", "hit %") if dup else ("false_hit_rate", "false %")
        cells = "".join(f"{100 * part['tiers'][t][key]:>11.1f}" for t in tiers)
        print(f"{name:<16} {part['n']:>5}  {label:<6}{cells}")


def cmd_eval_cost(args: argparse.Namespace) -> int:
    from training.evaluate_cost import format_cost_report, run_eval_cost

    config = config_of(args)
    encoder = encoder_of(config)
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
    decided = r.get("decided_by") or {}
    split = ", ".join(f"{k} {100 * v / max(1, r['n']):.0f}%" for k, v in sorted(decided.items()))
    print(
        f"centroids {r['centroid_version']}  n={r['n']}"
        + (f"  (decided by: {split})" if split else "")
    )
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
    routed = r.get("routed")
    if routed:
        print(
            f"as routed (unsure → default route): accuracy {routed['accuracy']:.4f}  "
            f"default route {routed['default_share']:.4f}  "
            f"other tasks sent to chat {routed['chat_sink']:.4f}"
        )
    if r.get("slices"):
        print(f"{'slice':<26} {'n':>5} {'acc':>6} {'routed':>7}")
        for name, sl in r["slices"].items():
            print(f"{name:<26} {sl['n']:>5} {sl['accuracy']:>6.3f} {sl['routed_accuracy']:>7.3f}")
    skipped = r["outside_taxonomy"]
    if skipped["n"] or r["invalid_rows"]:
        print(
            f"skipped: {skipped['n']} row(s) labelled outside the taxonomy {skipped['labels']}, "
            f"{r['invalid_rows']} invalid row(s)"
        )
