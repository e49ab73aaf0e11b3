"""A realistic synthetic history for benchmarks: many developers, hunks, moves, merges.

Unlike :func:`aiimpact.synth.make_repo` (planted effects, a known truth), this writes the
shape of a busy real repository, for timing the miners on a history of any length.
"""

from __future__ import annotations

import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiimpact.synth.builder import Binary, RepoBuilder

_WORDS = [
    "value",
    "count",
    "index",
    "buffer",
    "result",
    "parser",
    "token",
    "config",
    "record",
    "cache",
    "handle",
    "stream",
    "offset",
    "request",
    "response",
    "session",
    "payload",
    "window",
    "commit",
    "branch",
    "report",
    "metric",
]
_VERBS = [
    "Add",
    "Fix",
    "Refactor",
    "Update",
    "Remove",
    "Improve",
    "Rename",
    "Document",
    "Test",
    "Simplify",
]
_FIRST = [
    "Alice",
    "Bob",
    "Chen",
    "Dana",
    "Émile",
    "Farah",
    "Gabriel",
    "Hana",
    "Igor",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Noor",
]
_LAST = [
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Tanaka",
    "Novak",
    "Okafor",
    "Silva",
    "Kowalski",
    "Dubois",
    "Larsen",
]


def _line_pool(rng: random.Random, n: int = 20_000) -> list[str]:
    pool = []
    for _ in range(n):
        w1, w2 = rng.choice(_WORDS), rng.choice(_WORDS)
        indent = " " * rng.choice((0, 4, 4, 8, 8, 12))
        pool.append(f"{indent}{w1}_{rng.randrange(1000)} = {w2}({rng.randrange(100)})\n")
    return pool


def _content(v):
    """A model value (list of lines, Binary or None) as RepoBuilder content."""
    return "".join(v) if isinstance(v, list) else v


def make_realistic_repo(path: str | Path, n_commits: int, seed: int = 7) -> dict:
    """Write a realistic synthetic history of *n_commits* commits into a bare repository.

    Developers edit a few files per commit (hunks of deleted and inserted lines), add,
    delete and move files, now and then commit a binary file, and about 4% of commits
    are merges of short feature branches that ran alongside the main line. The result is
    repacked, as every cloned or garbage-collected repository is.

    Returns counts of what was written (``commits``, ``merges``, ... ``files_at_head``).
    It is the history the mining benchmarks (``benchmarks/mine.py``, ``many.py``) time.

    Examples
    --------
    >>> ai.synth.make_realistic_repo(tmp_path / "big.git", 10_000)  # doctest: +SKIP
    """
    path = Path(path)

    rng = random.Random(seed)
    pool = _line_pool(rng)
    authors = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)} <dev{i}@example.com>" for i in range(60)]
    dirs = [f"src/pkg{i}" for i in range(12)] + ["tests", "docs", "tools"]
    clock = [datetime(2016, 1, 4, 9, 0, tzinfo=UTC)]
    made = {"commits": 0, "merges": 0}

    def new_lines(k: int) -> list[str]:
        return [pool[rng.randrange(len(pool))] for _ in range(k)]

    def new_path(model: dict) -> str:
        while True:
            p = f"{rng.choice(dirs)}/{rng.choice(_WORDS)}_{rng.randrange(100_000)}.py"
            if p not in model:
                return p

    def edit(lines: list[str]) -> list[str]:
        out = list(lines)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
            pos = rng.randrange(len(out) + 1)
            shrink = len(out) > 300
            n_del = min(len(out) - pos, rng.randrange(0, 12 if shrink else 5))
            n_ins = rng.randrange(0, 4 if shrink else 14)
            out[pos : pos + n_del] = new_lines(n_ins)
        if out == lines:
            out.append(pool[rng.randrange(len(pool))])
        return out

    def n_files() -> int:
        r = rng.random()
        if r < 0.40:
            return 1
        if r < 0.65:
            return 2
        if r < 0.80:
            return 3
        if r < 0.92:
            return rng.randint(4, 6)
        if r < 0.98:
            return rng.randint(7, 15)
        return rng.randint(16, 40)

    def change(model: dict, paths: list[str]) -> dict:
        """Mutate *model* (path -> lines or Binary) and return the builder's files dict."""
        files: dict = {}
        for _ in range(n_files()):
            r = rng.random()
            if r < 0.06 or len(paths) < 20:
                p = new_path(model)
                model[p] = new_lines(rng.randint(10, 150))
                paths.append(p)
            elif r < 0.07 and len(paths) > 50:
                p = paths.pop(rng.randrange(len(paths)))
                model.pop(p)
                files[p] = None
                continue
            elif r < 0.08 and len(paths) > 50:  # a move: D + A without rename detection
                old = paths.pop(rng.randrange(len(paths)))
                files[old] = None
                p = new_path(model)
                moved = model.pop(old)
                if not isinstance(moved, Binary) and rng.random() < 0.5:
                    moved = edit(moved)
                model[p] = moved
                paths.append(p)
            elif r < 0.085:
                p = f"assets/img_{rng.randrange(100_000)}.png"
                model[p] = Binary(rng.randbytes(rng.randint(200, 3000)))
                if p not in paths:
                    paths.append(p)
            else:
                p = paths[rng.randrange(len(paths))]
                cur = model[p]
                if isinstance(cur, Binary):
                    model[p] = Binary(rng.randbytes(rng.randint(200, 3000)))
                else:
                    model[p] = edit(cur)
            files[p] = model[p]
        return {p: _content(v) for p, v in files.items()}

    def message() -> str:
        subject = f"{rng.choice(_VERBS)} {rng.choice(_WORDS)} {rng.choice(_WORDS)} handling"
        parts = [subject]
        if rng.random() < 0.5:
            body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 60)))
            parts.append(body)
        trailers = []
        if rng.random() < 0.15:
            trailers.append("Signed-off-by: " + rng.choice(authors))
        if rng.random() < 0.08:
            trailers.append("Co-authored-by: Claude <noreply@anthropic.com>")
        if trailers:
            parts.append("\n".join(trailers))
        return "\n\n".join(parts) + "\n"

    def tick() -> tuple[datetime, datetime]:
        clock[0] += timedelta(minutes=rng.randint(1, 90))
        return clock[0], clock[0] + timedelta(minutes=rng.randint(0, 30))

    def commit(b, model, paths, branch: str | None = None) -> None:
        when, committed = tick()
        author = rng.choice(authors)
        files = change(model, paths)
        b.commit(
            message(),
            files,
            author=author,
            committer=author if rng.random() < 0.7 else rng.choice(authors),
            date=when,
            commit_date=committed,
            branch=branch,
        )
        made["commits"] += 1

    b = RepoBuilder(path, bare=True)
    main: dict = {}
    main_paths: list[str] = []
    for _ in range(120):
        p = new_path(main)
        main[p] = new_lines(rng.randint(20, 200))
        main_paths.append(p)
    when, _ = tick()
    b.commit(
        "Initial import\n",
        {p: "".join(v) for p, v in main.items()},
        author=authors[0],
        date=when,
    )
    made["commits"] += 1
    feature_no = 0
    while made["commits"] < n_commits:
        left = n_commits - made["commits"]
        if left >= 4 and rng.random() < 0.05:
            feature_no += 1
            name = f"feature/{feature_no}"
            b.branch(name)
            feat, feat_paths = dict(main), list(main_paths)
            before_main = dict(main)
            n_feat = min(rng.randint(1, 5), left - 2)
            n_main = min(rng.randint(0, 3), left - 1 - n_feat)
            steps = ["f"] * n_feat + ["m"] * n_main
            rng.shuffle(steps)
            for s in steps:
                if s == "f":
                    commit(b, feat, feat_paths, branch=name)
                else:
                    commit(b, main, main_paths)
            # Merge: the feature's changes win where both sides touched a file; every path
            # either side changed is written explicitly so the builder takes nothing else.
            touched_feat = {
                p for p in before_main.keys() | feat.keys() if before_main.get(p) is not feat.get(p)
            }
            touched_main = {
                p for p in before_main.keys() | main.keys() if before_main.get(p) is not main.get(p)
            }
            for p in touched_feat:
                if p in feat:
                    if p not in main:
                        main_paths.append(p)
                    main[p] = feat[p]
                elif p in main:
                    main.pop(p)
                    main_paths.remove(p)
            files = {p: _content(main.get(p)) for p in touched_feat | touched_main}
            when, committed = tick()
            author = rng.choice(authors)
            b.commit(
                f"Merge branch '{name}'\n",
                files,
                author=author,
                date=when,
                commit_date=committed,
                merge=[name],
            )
            made["commits"] += 1
            made["merges"] += 1
        else:
            commit(b, main, main_paths)
    b.close()
    # fast-import writes objects in creation order (commits interleaved with blobs); every
    # real repository has been packed by pack-objects (clone, fetch, gc), commits together.
    subprocess.run(["git", "-C", str(path), "repack", "-a", "-d", "-q"], check=True)
    return {**made, "files_at_head": len(main)}
