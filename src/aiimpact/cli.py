"""The ``aiimpact`` command.

Exit codes: 0 ok, 2 bad input (one line on stderr naming the problem), 1 internal error.
``--json`` output and data go to stdout; progress bars and warnings go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import pandas as pd

from aiimpact import schema
from aiimpact.detect.coverage import CAVEAT
from aiimpact.detect.detector import Detector
from aiimpact.errors import AiimpactError, InputError, printable
from aiimpact.files import atomic_output, writable_dir, writable_file

TABLE_SUFFIXES = (".parquet", ".csv", ".json")


def _write_table(df: pd.DataFrame, out: Path, table_schema=None) -> None:
    """Write *df* to *out* (format by suffix) whole, or leave the old file as it was.

    Parquet is written with *table_schema* (a :mod:`aiimpact.schema` schema) when given, so
    that the file's types are the table's whatever the rows hold (an all-null column is not
    Arrow's ``null``, nor text ``large_string``).
    """
    suffix = out.suffix.lower()
    writable_file(out, "output", TABLE_SUFFIXES)
    flat = df.copy()
    if suffix == ".csv":  # list columns as JSON text
        for col in flat.columns:
            if (
                flat[col].dtype == object
                and flat[col].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()
            ):
                flat[col] = flat[col].map(lambda v: json.dumps(_plain(v)))
    elif suffix == ".json":
        for col in flat.columns:
            if isinstance(flat[col].dtype, pd.DatetimeTZDtype):
                flat[col] = flat[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
        records = [{k: _plain(v) for k, v in row.items()} for row in flat.to_dict("records")]
    with atomic_output(out) as tmp:
        if suffix == ".parquet" and table_schema is not None:
            import pyarrow.parquet as pq

            from aiimpact import schema

            pq.write_table(schema.to_arrow(df, table_schema), tmp)
        elif suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            flat.to_csv(tmp, index=False)
        else:
            tmp.write_text(json.dumps(records, ensure_ascii=False))


def _plain(v):
    """JSON-ready Python values from numpy/pandas/pyarrow cell values."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if hasattr(v, "tolist") and not isinstance(v, str):
        return _plain(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    return v


def _show(value) -> str:
    """*value* (text, or a DataFrame rendered as a table) for a terminal: repository content
    (subjects, names, paths, refs) can hold escape sequences, so every control character is
    shown as ``\\xNN`` (:func:`~aiimpact.errors.printable`). JSON and data files stay exact.
    """
    if not isinstance(value, pd.DataFrame):
        return printable(str(value))

    def cell(v):
        if isinstance(v, str):
            return printable(v)
        if hasattr(v, "__len__") and not isinstance(v, dict):  # lists as pandas shows them
            return "[" + ", ".join(printable(str(x)) for x in v) + "]"
        return v

    shown = value.copy()
    for col in shown.columns:
        if shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col]):
            shown[col] = shown[col].map(cell)
    return shown.to_string(index=False)


def _cmd_mine(args: argparse.Namespace) -> int:
    from aiimpact import schema
    from aiimpact.repo import Repo

    detector = None
    if args.signatures or args.disable_signature:
        detector = Detector(extra=args.signatures or (), disable=args.disable_signature or ())
    if args.output:
        writable_file(args.output, "output", TABLE_SUFFIXES)
    repo = Repo(
        args.repo,
        cache_dir=args.cache_dir,
        renames=args.renames,
        workers=args.workers,
        progress=False if args.no_progress else None,
        detector=detector,
    )
    df = repo.commits(rev=args.rev, since=args.since, until=args.until)
    report = repo.last_report
    if args.output:
        _write_table(df, Path(args.output), schema.COMMITS)
    ai = df["ai_assisted"].fillna(False).astype(bool) if len(df) else pd.Series([], dtype=bool)
    print(
        _show(
            f"{repo.name}: {len(df)} commits ({report.mined} mined now, "
            f"{len(df) - min(report.mined, len(df))} from cache), "
            f"{int(ai.sum())} AI-assisted" + (f" -> {args.output}" if args.output else "")
        ),
        file=sys.stderr,
    )
    cov = report.coverage
    if cov is not None and len(cov):
        print("  AI signals matched (commits):", file=sys.stderr)
        for row in cov.itertuples():
            line = f"    {row.id:<28} {row.tool:<12} {row.mode:<10} {row.commits}"
            print(_show(line), file=sys.stderr)
    if report.notes:
        print(f"  git-ai notes: {report.notes} commits", file=sys.stderr)
    if len(df):
        print(f"  note: {CAVEAT}", file=sys.stderr)
    if not args.output:
        cols = [
            "sha",
            "commit_time",
            "author_name",
            "insertions",
            "deletions",
            "ai_tools",
            "subject",
        ]
        with pd.option_context("display.width", 160, "display.max_colwidth", 50):
            print(_show(df[cols].head(20)))
    return 0


DEMO_EFFECTS = {
    "revert_odds_ratio": 2.0,
    "fix_odds_ratio": 1.5,
    "churn_difference": 0.05,
    "merge_hazard_ratio": 0.7,
}


def _cmd_demo(args: argparse.Namespace) -> int:
    from aiimpact.repo import Repo
    from aiimpact.report.study import write_report
    from aiimpact.synth import make_repo

    out = writable_dir(args.output, "output directory")
    with tempfile.TemporaryDirectory(prefix="aiimpact-demo-") as tmp:
        print("building the demo repository (planted effects) ...", file=sys.stderr)
        planted = make_repo(
            Path(tmp) / "demo-service",
            n_commits=800,
            effects=DEMO_EFFECTS,
            seed=args.seed,
            days=365,
        )
        repo = Repo(planted.path, cache_dir=Path(tmp) / "cache", progress=False)
        print("mining it and computing outcomes ...", file=sys.stderr)
        features = planted.features(repo.outcomes())
        for name, table in (("commits", features), ("prs", planted.prs)):
            with atomic_output(out / f"{name}.parquet") as part:
                table.to_parquet(part, index=False)
        # every planted revert and fix comes within 90 days: their odds ratios are those of
        # the 90-day windowed outcomes
        truth = {
            "reverted_within_90d": DEMO_EFFECTS["revert_odds_ratio"],
            "fix_inducing_within_90d": DEMO_EFFECTS["fix_odds_ratio"],
            "churn_rate_14d": DEMO_EFFECTS["churn_difference"],
            "time_to_merge": DEMO_EFFECTS["merge_hazard_ratio"],
        }
        note = (
            "<p>A synthetic repository with planted effects: 800 feature commits over a year "
            "by 12 developers who adopt AI tools at different times; what happened to each "
            "(revert, later fix, churn, PR merge time) was drawn from known models. The "
            "revert, fix and churn commits themselves are left out of the tables.</p>"
        )
        print("fitting the models and writing the report ...", file=sys.stderr)
        report = write_report(
            features,
            out / "report.html",
            "aiimpact demo: demo-service",
            prs=planted.prs,
            truth=truth,
            note=note,
        )
    ai = features["ai_assisted"].fillna(False).astype(bool)
    print(
        f"mined {len(features)} feature commits, {int(ai.sum())} AI-assisted "
        f"({ai.mean():.1%}); wrote {report}, {out / 'commits.parquet'} and "
        f"{out / 'prs.parquet'}",
        file=sys.stderr,
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from aiimpact.platforms.pr_outcomes import pr_outcomes_table
    from aiimpact.report.study import mining_notes, write_report
    from aiimpact.stats.study import nothing_to_compare

    writable_file(args.output, "report")
    repo = _repo_from(args)
    prs, data = _read_prs(Path(args.prs), repo.name) if args.prs else (None, None)
    outcomes = repo.outcomes(args.rev, prs=data, quality=args.quality)
    if data is not None and prs is not None:
        prs = pr_outcomes_table(data, outcomes, repo.name)  # review and code, per PR
        n = repo.last_report.prs
        print(
            f"{n['linked']} commits landed through {int(prs['in_history'].sum())} of the "
            f"{len(prs)} PRs of {repo.name}; "
            f"AI attribution: {n['commit']} by their own marks, {n['pr']} by their PR alone, "
            f"{n['both']} by both",
            file=sys.stderr,
        )
    controls = args.controls.split(",") if args.controls else None
    report = write_report(
        outcomes,
        args.output,
        f"aiimpact report: {repo.name}",
        prs=prs,
        controls=controls,
        cluster=args.cluster or "auto",
        since=args.since,
        until=args.until,
        data_notes=mining_notes(repo.last_report),
    )
    merges = outcomes["is_merge"].astype(bool)
    n = int(merges.sum())
    note = f" ({n} merge{'s' if n != 1 else ''}, left out of the comparisons)" if n else ""
    print(f"{len(outcomes)} commits{note}; wrote {report}", file=sys.stderr)
    absent = nothing_to_compare(outcomes[~merges])
    if absent:
        print(absent, file=sys.stderr)
    return 0


def _cmd_mine_many(args: argparse.Namespace) -> int:
    from aiimpact.parallel import FAILURES, mine_many

    path = Path(args.list_file)
    try:
        sources = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    executor = None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise InputError("--scheduler needs Dask: pip install 'aiimpact[dask]'") from None
        executor = Client(args.scheduler)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    try:
        result = mine_many(
            sources,
            executor=executor,
            out=args.output,
            tables=tables,
            cache_dir=args.cache_dir,
            timeout=args.timeout,
            workers=args.workers,
            progress=False if args.no_progress else None,
        )
    finally:
        if executor is not None:
            executor.close()
    for source, same_as in result.duplicates:
        print(
            f"duplicate: {source} is the same repository as {same_as}; mined once", file=sys.stderr
        )
    out = result.out
    failures = out / FAILURES if isinstance(out, Path) else f"{out.rstrip('/')}/{FAILURES}"
    print(
        f"{len(result.mined)} repositories mined, {len(result.skipped)} already complete, "
        f"{len(result.failures)} failed ({failures}); rows "
        f"{result.rows}; {result.seconds:.1f} s",
        file=sys.stderr,
    )
    for row in result.failures.itertuples():
        print(f"failed: {row.id} ({row.source}): {row.reason}", file=sys.stderr)
    return 0


def _repo_from(args: argparse.Namespace):
    from aiimpact.repo import Repo

    quiet = getattr(args, "json", False)
    progress = False if quiet else None
    return Repo(
        args.repo, cache_dir=args.cache_dir, progress=progress, name=getattr(args, "name", None)
    )


def _read_prs(path: Path, name: str):
    """``(prs, data)`` for ``report --prs``: a ``prs.parquet`` file gives the PR table alone
    (``data`` None); a directory (``aiimpact prs`` output, AIDev tables, GH Archive hours)
    gives the PR data too, whose commits then inherit their PRs' AI evidence."""
    from aiimpact.platforms.aidev import load_aidev
    from aiimpact.platforms.gharchive import load_gharchive
    from aiimpact.platforms.tables import PullRequestData

    if path.is_file():
        try:
            return pd.read_parquet(path), None
        except (OSError, ValueError) as exc:
            raise InputError(f"--prs {path} is not a readable Parquet file: {exc}") from None
    if not path.is_dir():
        raise InputError(
            f"--prs {path}: no such file or directory (a prs.parquet, or a directory from "
            "`aiimpact prs`, AIDev or GH Archive)"
        )
    if (path / "prs.parquet").is_file():
        tables = {
            t: pd.read_parquet(path / f"{t}.parquet") if (path / f"{t}.parquet").is_file()
            else schema.empty(schema.SCHEMAS[t])
            for t in ("prs", "reviews", "pr_commits")
        }  # fmt: skip
        data = PullRequestData(tables["prs"], tables["reviews"], tables["pr_commits"])
    elif any(path.glob("*.json")) or any(path.glob("*.json.gz")):
        data = load_gharchive(path, repos=[name])
    else:
        data = load_aidev(path)
    return data.prs[data.prs["repo"] == name], data


def _cmd_reverts(args: argparse.Namespace) -> int:
    repo = _repo_from(args)
    df = repo.reverts(rev=args.rev, window=args.window)
    if args.json:
        records = [
            {k: _plain(v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
            for row in df.to_dict("records")
        ]
        print(json.dumps(records))
    else:
        with pd.option_context("display.width", 160):
            print(_show(df.drop(columns=["repo"])))
    counts = df["kind"].value_counts().to_dict()
    print(
        _show(
            f"{repo.name}: {len(df)} reverts {counts}; "
            f"{repo.last_report.unresolved_reverts} declared targets not in the history"
        ),
        file=sys.stderr,
    )
    return 0


def _cmd_szz(args: argparse.Namespace) -> int:
    repo = _repo_from(args)
    links = repo.szz(
        fixes=args.fix or None,
        rev=args.rev,
        variant=args.variant,
        use_trailers=not args.no_trailers,
        context=not args.no_context,
    )
    fixes = args.fix and [repo.resolve(f) for f in args.fix]
    result: dict[str, list[str]] = {f: [] for f in (fixes or [])}
    for fix, inducing in zip(links["fix_sha"], links["inducing_sha"], strict=True):
        result.setdefault(fix, []).append(inducing)
    if args.json:
        print(json.dumps(result))
    else:
        for fix, inducing in result.items():
            print(_show(f"{fix} {' '.join(inducing) or '(ghost: nothing to blame)'}"))
    print(
        _show(
            f"{repo.name}: {len(result)} fixes, {len(links)} links, "
            f"{len(repo.last_report.ghost_fixes)} ghost fixes"
        ),
        file=sys.stderr,
    )
    return 0


def _cmd_authorship(args: argparse.Namespace) -> int:
    repo = _repo_from(args)
    paths = None
    if args.paths_from:
        try:
            paths = [ln.strip() for ln in Path(args.paths_from).read_text().splitlines()]
        except OSError as exc:
            raise InputError(f"cannot read {args.paths_from}: {exc.strerror}") from None
        paths = [p for p in paths if p]
    result = repo.authorship(args.range, paths=paths)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        line = (
            f"{result.range}: {result.total_lines} lines written in the range, "
            f"{result.ai_lines} by AI-assisted commits ({result.ai_share:.1%})"
        )
        print(_show(line))
        print(_show(result.by_tool))
    return 0


def _cmd_prs(args: argparse.Namespace) -> int:
    from aiimpact.platforms.github import pull_requests

    out = writable_dir(args.output, "output directory")
    data = pull_requests(
        args.repo,
        api_url=args.api_url,
        cache_dir=args.cache_dir,
        since=args.since,
        api="graphql" if args.graphql else "rest",
    )
    for name in ("prs", "reviews", "pr_commits"):
        with atomic_output(out / f"{name}.parquet") as tmp:
            getattr(data, name).to_parquet(tmp, index=False)
    ai_share = data.prs["ai_assisted"].mean() if len(data.prs) else float("nan")
    print(
        f"{args.repo}: {len(data.prs)} pull requests ({ai_share:.1%} AI-assisted), "
        f"{len(data.reviews)} reviews -> {out}",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``aiimpact`` command."""
    p = argparse.ArgumentParser(
        prog="aiimpact",
        description="Do AI-assisted changes turn out better or worse? Mine the evidence.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser(
        "demo", help="build a repository with planted effects, mine it, write DIR/report.html"
    )
    d.add_argument("-o", "--output", default="demo", help="output directory (default: demo)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_cmd_demo)

    m = sub.add_parser("mine", help="commits + AI tags -> Parquet/CSV/JSON by suffix")
    m.add_argument("repo", help="path or URL of a git repository")
    m.add_argument("-o", "--output", help="FILE.parquet, FILE.csv or FILE.json")
    m.add_argument("--rev", default="HEAD", help="revision to mine (default: HEAD)")
    m.add_argument("--since", help="only commits committed at or after this date")
    m.add_argument("--until", help="only commits committed at or before this date")
    m.add_argument("--renames", action="store_true", help="detect renames (-M)")
    m.add_argument("--workers", type=int, help="parallel git processes (default: CPUs)")
    m.add_argument("--cache-dir", help="cache root (default: $AIIMPACT_CACHE_DIR or user cache)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument(
        "--signatures",
        action="append",
        metavar="FILE",
        help="TOML file of extra [[signature]] tables (repeatable)",
    )
    m.add_argument(
        "--disable-signature",
        action="append",
        metavar="ID",
        help="switch off a signature by id (repeatable)",
    )
    m.set_defaults(func=_cmd_mine)

    def repo_command(name: str, help: str, func) -> argparse.ArgumentParser:
        """A subcommand on one repository, printing a table or one JSON document."""
        c = sub.add_parser(name, help=help)
        c.add_argument("repo", help="path or URL of a git repository")
        c.add_argument("--json", action="store_true", help="one JSON document on stdout")
        c.add_argument("--cache-dir", help="cache root (default: $AIIMPACT_CACHE_DIR)")
        c.set_defaults(func=func)
        return c

    mm = sub.add_parser("mine-many", help="many repositories -> a Parquet dataset by repository")
    mm.add_argument("list_file", help="file with one path or URL per line (# comments)")
    mm.add_argument("-o", "--output", required=True, help="dataset directory or fsspec URL")
    where = mm.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local processes (default: one per CPU)")
    where.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    mm.add_argument(
        "--tables",
        default="commits,outcomes",
        help="comma-separated: commits, file_changes, outcomes, reverts, szz",
    )
    mm.add_argument("--timeout", type=float, help="seconds per repository before it is killed")
    mm.add_argument("--cache-dir", help="mining cache (shared storage on a cluster)")
    mm.add_argument("--no-progress", action="store_true")
    mm.set_defaults(func=_cmd_mine_many)

    rp = sub.add_parser("report", help="the HTML report: AI share, outcomes, models, caveats")
    rp.add_argument("repo", help="path or URL of a git repository")
    rp.add_argument("-o", "--output", default="report.html", help="HTML file to write")
    rp.add_argument(
        "--prs",
        help="prs.parquet for the review section, or a directory (`aiimpact prs` output, "
        "AIDev, GH Archive hours) whose PRs the commits also inherit AI evidence from",
    )
    rp.add_argument("--name", help="owner/name of the repository in the PR data")
    rp.add_argument("--rev", default="HEAD")
    rp.add_argument(
        "--controls", help="comma-separated controls (default: size, time trend, author)"
    )
    rp.add_argument(
        "--since",
        help="study window start (default: 6 months before the first "
        "AI-marked commit; 'all' for the whole history)",
    )
    rp.add_argument("--until", help="study window end (default: the newest commit)")
    rp.add_argument("--cluster", help="column to cluster errors by (default: author if >= 10)")
    rp.add_argument(
        "--quality",
        action="store_true",
        help="add code quality (complexity, DMM; lizard on every changed file: slow once)",
    )
    rp.add_argument("--cache-dir", help="cache root (default: $AIIMPACT_CACHE_DIR)")
    rp.set_defaults(func=_cmd_report)

    r = repo_command(
        "reverts", "reverts: declared in messages, exact or partial in content", _cmd_reverts
    )
    r.add_argument("--rev", default="HEAD")
    r.add_argument("--window", default="30D", help="how far back a partial revert may reach")

    z = repo_command("szz", "bug-inducing commits of fixes (SZZ)", _cmd_szz)
    z.add_argument("--fix", action="append", metavar="SHA", help="fix commit(s); default: all")
    z.add_argument("--rev", default="HEAD")
    z.add_argument("--variant", default="l", choices=["b", "r", "l"])
    z.add_argument("--no-context", action="store_true", help="no links for add-only fixes")
    z.add_argument("--no-trailers", action="store_true", help="ignore Fixes: trailers")

    g = sub.add_parser("prs", help="pull requests of OWNER/NAME -> DIR/{prs,reviews,pr_commits}")
    g.add_argument("repo", help="OWNER/NAME")
    g.add_argument("-o", "--output", required=True, help="output directory")
    g.add_argument("--api-url", help="API root (default: $GITHUB_API_URL or the public API)")
    g.add_argument("--since", help="only PRs updated since this date")
    g.add_argument(
        "--graphql",
        action="store_true",
        help="use the GraphQL API (about 1/150 of the REST requests, no ETags)",
    )
    g.add_argument("--cache-dir")
    g.set_defaults(func=_cmd_prs)

    a = repo_command("authorship", "AI share of the lines written in a range A..B", _cmd_authorship)
    a.add_argument("--range", required=True, help="A..B")
    a.add_argument("--paths-from", help="file with one path per line")
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {printable(str(message))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    program = argv is None and threading.current_thread() is threading.main_thread()
    code = 130  # a Ctrl-C after the command's own handler, as its result comes back
    try:
        code = _main(argv)
    except KeyboardInterrupt:
        pass
    finally:
        # run as the program, its work done and said: a Ctrl-C from here on (during
        # interpreter shutdown, say) would only print a traceback, so it is ignored; one
        # that comes while that is being set up is caught and it is set up again
        while program:
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                program = False
            except KeyboardInterrupt:
                pass
    return code


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.func(args)
    except (InputError, ValueError) as exc:
        print(f"aiimpact: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aiimpact: interrupted; finished batches are kept in the cache", file=sys.stderr)
        return 130
    except AiimpactError as exc:
        print(f"aiimpact: error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:
        if os.environ.get("AIIMPACT_DEBUG"):
            raise
        print(
            f"aiimpact: internal error: {type(exc).__name__}: {printable(str(exc))} "
            "(set AIIMPACT_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
