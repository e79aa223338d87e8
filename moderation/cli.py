"""The `moderation` command: a thin shell over the library, one function per subcommand."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from contextlib import contextmanager
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


@contextmanager
def _cycles_uncollected():
    """Pause the cyclic garbage collector, then freeze what was allocated (`gc.freeze`).

    Training allocates hundreds of thousands of long-lived, acyclic objects (label rows, texts,
    sklearn's and numba's modules): each full collection walks them all, for nothing (~1 s in
    all), and so does the interpreter at exit (~1.5 s) unless they are frozen. So does the start-up
    of scoring (numba's modules and the model's kernels: ~0.15 s of collections, ~0.4 s at exit),
    and so would the collections while it scores (~0.65 s more on 100,000 comments).
    Refcounting still frees everything as usual; only garbage in reference cycles waits for the
    next collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def cmd_train(args: argparse.Namespace) -> int:
    """Train a candidate from every label file; make it current only if the promotion gate passes."""
    with _cycles_uncollected():
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    """`cmd_train` itself."""
    from moderation.evaluation import format_table
    from moderation.labels import load_labels
    from moderation.registry import decide, format_gate, register
    from moderation.training import TrainConfig, training_run

    policy = _policy(args)
    started = time.perf_counter()
    labels = load_labels(args.labels, policy)
    _log(f"read {len(labels)} label rows from {len(labels.hashes)} files")
    config = TrainConfig(folds=args.folds, n_jobs=args.jobs)
    run = training_run(labels, policy, Path(args.policy).read_text(encoding="utf-8"), config, log=_log,
                       cross_validate=not args.no_cv, terms=_identity_terms(args))
    promotion = decide(run, args.out, policy, force=args.force)
    path, promotion = register(run, args.out, promotion)
    metrics = (run.model.card.get("cross_validation") or {}).get("metrics")
    if metrics:
        print(format_table(metrics, by_source=False))
    if promotion.gate is not None:
        print(format_gate(promotion.gate))
    current = Path(args.out) / "current"
    if promotion.promoted:
        forced = " (forced)" if promotion.forced else ""
        _log(f"wrote {path} in {time.perf_counter() - started:.1f} s; {current} → {path.name}{forced}: "
             f"{promotion.reason}")
        return 0
    _log(f"wrote candidate {path} in {time.perf_counter() - started:.1f} s; NOT promoted: {promotion.reason}; "
         f"{current} still → {promotion.previous}")
    _log(f"hint: `moderation rollback --to {path.name}` makes this candidate current anyway; "
         "`moderation train --force` retrains and promotes regardless of the gate")
    return 3


def cmd_models(args: argparse.Namespace) -> int:
    """List the saved model versions, newest first, marking the current one."""
    from moderation.registry import format_versions, list_versions

    versions = list_versions(args.models)
    if not versions:
        _log(f"no models in {args.models}; train one with `moderation train`")
        return 0
    print(format_versions(versions))
    problems = [v.problem for v in versions if v.problem]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Point models/current back at the previously promoted version, or at --to VERSION."""
    from moderation.registry import rollback

    previous, target = rollback(args.models, args.to)
    print(f"{Path(args.models) / 'current'} → {target} (was {previous or 'nothing'})")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """List the archive comments whose labels would teach the model most."""
    from moderation.files import atomic_write
    from moderation.inputs import iter_comments
    from moderation.labels import load_labels, text_key
    from moderation.model import load_model
    from moderation.suggest import format_suggestions, suggest_comments

    if args.n < 1:
        raise ModerationError(f"--n: expected a positive number of comments, found {args.n}")
    model = load_model(args.model)
    labelled: set[str] = set()
    label_paths = args.labels if args.labels is not None else (
        [str(DEFAULT_LABELS)] if DEFAULT_LABELS.is_dir() else [])
    if label_paths:
        labelled = {text_key(t) for t in load_labels(label_paths, model.policy).texts}
        _log(f"excluding {len(labelled)} labelled comments ({', '.join(label_paths)})")
    picked = suggest_comments(iter_comments([Path(p) for p in args.inputs]), model, args.n, labelled)
    print(format_suggestions(picked, model.categories))
    if args.out:
        with atomic_write(Path(args.out)) as fh:
            for s in picked:
                fh.write(json.dumps(s.record(), ensure_ascii=False) + "\n")
        _log(f"wrote {len(picked)} suggestions to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Grouped cross-validation of the default model on the given label files: table, JSON, PNG."""
    from moderation.evaluation import format_table, write_report
    from moderation.labels import load_labels
    from moderation.training import TrainConfig, featurize, held_out, prepare

    policy = _policy(args)
    labels = load_labels(args.labels, policy)
    examples = prepare(labels, policy, _identity_terms(args))
    _log(f"{len(labels)} label rows → {len(examples.texts) - examples.copies} distinct comments "
         f"(+{examples.copies} counterfactual copies, never evaluated); {args.folds}-fold grouped CV")
    config = TrainConfig(folds=args.folds, n_jobs=args.jobs)
    _, X = featurize(examples, config)
    proba, _, thresholds, metrics = held_out(X, examples, policy, config)
    print(format_table(metrics))
    for path in write_report(metrics, thresholds, Path(args.out), proba, examples, policy):
        _log(f"wrote {path}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score archive pages, JSON Lines, CSV or Parquet into one output file; --resume continues a run."""
    from moderation.errors import InputError

    if args.scheduler and args.workers > 0:
        raise InputError("--workers and --scheduler exclude each other: with --scheduler the Dask "
                         "cluster's workers do the scoring")
    with _cycles_uncollected():  # the start-up: numpy's and numba's modules, the model, its kernels
        from moderation.batch import partial_progress, score_files
        from moderation.model import load_model, resolve_model_dir

        model_dir = resolve_model_dir(args.model)
        model = load_model(model_dir, explain=False)  # scoring explains nothing: the featuriser stays pickled
    workers = args.workers if args.workers > 0 else (os.cpu_count() or 1)
    out = Path(args.out)
    try:
        summary = score_files(model, args.inputs, out, progress=None if not args.quiet else False,
                              workers=workers, model_dir=model_dir, scheduler=args.scheduler,
                              resume=args.resume, chunk_size=args.chunk_size, log=_log)
    except KeyboardInterrupt:
        kept = partial_progress(out)
        if kept is None:
            _log("interrupted: no output was written")
        else:
            _log(f"interrupted: {kept[1]} scored comments are kept in {kept[0]}; run the same command "
                 "with --resume to continue from there")
        return 130
    print(summary.render(model.categories, out))
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
    resolve_model_dir(model_dir)  # fail fast, with a clear message, when there is no model
    # The service watches this path (models/ or models/current), so a new `current` is picked up live.
    settings = Settings.from_env(model_dir=model_dir)
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
    "train": "example: moderation train --labels labels --out models\n"
             "exit codes: 0 promoted, 3 the gate refused the candidate (saved, not current), 1 error",
    "models": "example: moderation models --models models",
    "rollback": "example: moderation rollback            (back to the previously promoted version)\n"
                "         moderation rollback --to 20250101-120000-ab12",
    "suggest": "example: moderation suggest seeds/ archive.jsonl --n 50 --out to_label.jsonl",
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

    p = add("train", cmd_train, "train a candidate models/<version>/ from every label file; it becomes "
                                "models/current only if it is not worse than the current model on the fixed "
                                "evaluation split (policy: training.promotion_tolerance)")
    p.add_argument("--labels", nargs="+", default=[str(DEFAULT_LABELS)], help="label files or directories")
    p.add_argument("--out", default=str(DEFAULT_MODELS), help="models directory (default: models)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for the card's metrics")
    p.add_argument("--no-cv", action="store_true",
                   help="skip cross-validation (no metrics, policy thresholds); with a current model "
                        "the gate then has nothing to compare and refuses unless --force")
    p.add_argument("--jobs", type=int, default=-1, help="parallel fits (default: all cores)")
    p.add_argument("--force", action="store_true",
                   help="make the candidate current whatever the gate says (recorded in its card)")

    p = add("models", cmd_models, "list the saved model versions, newest first: created, label rows, "
                                  "cross-validated ROC-AUC per category, promotion status; * marks current")
    p.add_argument("--models", default=str(DEFAULT_MODELS), help="models directory (default: models)")

    p = add("rollback", cmd_rollback, "point models/current back at the previously promoted version "
                                      "(from models/history.jsonl), or at --to VERSION")
    p.add_argument("--to", metavar="VERSION", default=None, help="the version to make current")
    p.add_argument("--models", default=str(DEFAULT_MODELS), help="models directory (default: models)")

    p = add("suggest", cmd_suggest, "list the unlabelled archive comments whose labels would teach the model "
                                    "most: uncertain near a decision threshold, and unlike each other")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="archive pages (.txt), JSON Lines, CSV, or directories")
    p.add_argument("--n", type=int, default=50, help="how many comments to suggest (default: 50)")
    p.add_argument("--model", default=str(DEFAULT_MODELS), help="model directory (default: models/current)")
    p.add_argument("--labels", nargs="+", default=None,
                   help="label files or directories whose comments are left out (default: labels/ if present)")
    p.add_argument("--out", default=None, help="also write the suggestions as JSON Lines to this file")

    p = add("score", cmd_score, "score archive pages (.txt), JSON Lines, CSV or Parquet; one record per comment")
    p.epilog += ("\n         moderation score archive.parquet --out scores.parquet --resume"
                 "\n         moderation score archive/ --out scores.jsonl --scheduler tcp://127.0.0.1:8786")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="files (.txt, .jsonl, .csv, .parquet) or directories of them")
    p.add_argument("--out", required=True, help="output file: .jsonl, .csv or .parquet")
    p.add_argument("--model", default=str(DEFAULT_MODELS), help="model directory (default: models/current)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="score on this Dask cluster instead of local processes (needs the dask extra; "
                        "the model directory must be readable at the same path on every worker)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run that was interrupted from its partial output (.OUT.partial) "
                        "instead of starting over; refused if the inputs or the model changed")
    p.add_argument("--chunk-size", type=int, default=2000, metavar="N",
                   help="comments per task and per fsync of the partial output (default: 2000)")
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
