"""The `moderation` command: a thin shell over the library, one function per subcommand."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from moderation.errors import ModerationError

DEFAULT_LABELS = Path("labels")
DEFAULT_MODELS = Path("models")


def _policy(args: argparse.Namespace):
    from moderation.policy import Policy

    return Policy.load(args.policy)


def _identity_terms(args: argparse.Namespace):
    """The identity terms beside the policy file, used for counterfactual augmentation (None if absent)."""
    from moderation.augment import IdentityTerms

    path = Path(args.policy).parent / "identity_terms.toml"
    return IdentityTerms.load(path) if path.is_file() else None


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    """Train from every label file and make the new version current."""
    from moderation.labels import load_labels
    from moderation.training import TrainConfig, train

    policy = _policy(args)
    started = time.perf_counter()
    labels = load_labels(args.labels, policy)
    _log(f"read {len(labels)} label rows from {len(labels.hashes)} files")
    config = TrainConfig(folds=args.folds, n_jobs=args.jobs)
    model = train(labels, policy, Path(args.policy).read_text(encoding="utf-8"), config, log=_log,
                  cross_validate=not args.no_cv, terms=_identity_terms(args))
    path = model.save(args.out)
    _log(f"wrote {path} in {time.perf_counter() - started:.1f} s; {Path(args.out) / 'current'} → {path.name}")
    metrics = (model.card.get("cross_validation") or {}).get("metrics")
    if metrics:
        from moderation.evaluation import format_table

        print(format_table(metrics, by_source=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Grouped cross-validation of the default model on the given label files: table, JSON, PNG."""
    from moderation.evaluation import format_table, write_report
    from moderation.labels import load_labels
    from moderation.training import TrainConfig, featurize, held_out, prepare

    policy = _policy(args)
    labels = load_labels(args.labels, policy)
    examples = prepare(labels, policy, _identity_terms(args))
    _log(f"{len(labels)} label rows → {len(examples.texts)} distinct comments; {args.folds}-fold grouped CV")
    config = TrainConfig(folds=args.folds, n_jobs=args.jobs)
    _, X = featurize(examples, config)
    proba, _, thresholds, metrics = held_out(X, examples, policy, config)
    print(format_table(metrics))
    for path in write_report(metrics, thresholds, Path(args.out), proba, examples, policy):
        _log(f"wrote {path}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score archive pages, JSON Lines or CSV into one output file."""
    from moderation.inputs import iter_comments
    from moderation.batch import score_to_file
    from moderation.model import load_model, resolve_model_dir

    model_dir = resolve_model_dir(args.model)
    model = load_model(model_dir)
    workers = args.workers if args.workers > 0 else (os.cpu_count() or 1)
    summary = score_to_file(model, iter_comments([Path(p) for p in args.inputs]), Path(args.out),
                            progress=None if not args.quiet else False, workers=workers, model_dir=model_dir)
    print(summary.render(model.categories, Path(args.out)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the HTTP service."""
    import uvicorn

    from moderation.model import resolve_model_dir
    from service.app import create_app
    from service.settings import Settings

    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    model_dir = args.model or os.environ.get("MODERATION_MODEL_DIR") or str(DEFAULT_MODELS)
    settings = Settings.from_env(model_dir=str(resolve_model_dir(model_dir)))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_labels_check(args: argparse.Namespace) -> int:
    """Validate label files; every problem with file and line."""
    from moderation.labels import check_labels

    rows, problems = check_labels(args.paths, _policy(args))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {rows} label rows in {', '.join(map(str, args.paths))}")
    return 0


def cmd_labels_import(args: argparse.Namespace) -> int:
    """Convert the public datasets into label files under labels/public/."""
    from moderation.importers import copy_lexicons, import_all

    reports = import_all(Path(args.data), Path(args.out), _policy(args))
    for source, report in reports.items():
        print(f"{source}: {report}")
    for path in copy_lexicons(Path(args.data), Path(args.lexicons)):
        print(f"copied {path}")
    return 0


EXAMPLES = {
    "train": "example: moderation train --labels labels --out models",
    "score": "example: moderation score seeds/ --out scores.jsonl --workers 2",
    "evaluate": "example: moderation evaluate --labels labels --out reports",
    "serve": "example: moderation serve --host 127.0.0.1 --port 8000",
    "check": "example: moderation labels check labels/outlet labels/feedback",
    "import": "example: moderation labels import --data ../shared/data --out labels/public",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every command has help and an example."""
    parser = argparse.ArgumentParser(
        prog="moderation", description="Comment moderation classifier: label, train, score, serve.",
        epilog="example: moderation train && moderation serve",
    )
    parser.add_argument("--policy", default=str(DEFAULT_LABELS / "policy.toml"),
                        help="policy file (default: labels/policy.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str, parent=sub, example: str | None = None):
        p = parent.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[example or name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    p = add("train", cmd_train, "train from every label file; write models/<version>/ and point models/current at it")
    p.add_argument("--labels", nargs="+", default=[str(DEFAULT_LABELS)], help="label files or directories")
    p.add_argument("--out", default=str(DEFAULT_MODELS), help="models directory (default: models)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for the card's metrics")
    p.add_argument("--no-cv", action="store_true", help="skip cross-validation (no metrics, policy thresholds)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel fits (default: all cores)")

    p = add("score", cmd_score, "score archive pages (.txt), JSON Lines or CSV; one record per comment")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or directories")
    p.add_argument("--out", required=True, help="output file: .jsonl, .csv or .parquet")
    p.add_argument("--model", default=str(DEFAULT_MODELS), help="model directory (default: models/current)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("evaluate", cmd_evaluate, "grouped cross-validation per category: table, JSON and PR curves")
    p.add_argument("--labels", nargs="+", default=[str(DEFAULT_LABELS)], help="label files or directories")
    p.add_argument("--out", default="reports", help="where evaluation.json and pr_*.png go (default: reports)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=-1)

    p = add("serve", cmd_serve, "start the HTTP service (OpenAPI page at /docs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default=None,
                   help="model directory (default: $MODERATION_MODEL_DIR, else models/current)")

    labels = sub.add_parser("labels", help="check or import label files", description="check or import label files")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="COMMAND")
    p = add("check", cmd_labels_check, "validate label files: every problem with file and line", labels_sub)
    p.add_argument("paths", nargs="*", default=[str(DEFAULT_LABELS)], help="files or directories (default: labels)")
    p = add("import", cmd_labels_import, "convert the public datasets into labels/public/*.parquet", labels_sub)
    p.add_argument("--data", default="../shared/data", help="folder of the public datasets")
    p.add_argument("--out", default=str(DEFAULT_LABELS / "public"), help="where the label files go")
    p.add_argument("--lexicons", default=str(DEFAULT_LABELS / "lexicons"), help="where the word lists go")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; ModerationError becomes a message on stderr and exit code 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ModerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
