"""SZZ by per-fix blame: the links of :func:`aiimpact.outcomes.szz.szz` without a replay.

The line history (:mod:`aiimpact.outcomes.lines`) replays a whole history to know who
wrote every line; for a few fixes on a big repository that costs minutes. Here each fix
is read on its own:

1. the fixes' patches come from one ``git log -p -U0 -M --diff-merges=first-parent
   --no-walk=unsorted --stdin`` (each against its first parent, as in the replay);
2. the lines each fix deletes are chosen exactly as the replay chooses them (its
   ``_apply``): a line whose whitespace-stripped text is the one added at the same place
   of the hunk is kept (a whitespace-only edit); a removed line of at least ten non-blank
   characters that is added elsewhere in the same commit is taken back (a move; of equal
   lines, one of the same file first, then the first removed); only meaningful lines
   (neither blank nor comment-only) count;
3. those lines are blamed at the fix's first parent with ``git blame -w -M -C
   --porcelain -L ...`` on the file's name there (one process per fix and file, several
   at once), and the origins are counted per path, as the replay counts them;
4. the links are selected by :func:`aiimpact.outcomes.szz.fix_links`, the selection both
   methods share (merges and the fix itself never blamed, the issue-date cutoff, ghost
   fixes, the ``"<v>-context"`` fallback, the variants).

For an add-only fix with ``context=True``, the lines just above and below each insertion
are blamed afterwards (only for the ghost fixes), blank and comment lines included.

Where the two can differ: the replay follows a line through the history by its own rules
and blame by git's. They agree on whitespace-only edits, renames, moves of long lines
within a commit and the lines a merge brings from its branch (the histories of
``tests/test_szz_blame.py``). They can disagree where git's heuristics and the replay's
part: a moved block shorter than blame's ``-M``/``-C`` thresholds (20 and 40
alphanumeric characters) against the replay's ten non-blank characters per line, lines
identical to other lines in a commit that moved them, a file that was binary for a
while, or a merge that rewrote lines by hand. Blame is then the reference the replay
imitates. A commit missing from *commits* has an unknown time: it is never the most
recent (variant ``"r"``) and an issue date keeps it.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from aiimpact.git.blame import blame_lines
from aiimpact.git.patches import Patch, log_args, parse_patches
from aiimpact.git.safety import GitStream, run_git
from aiimpact.outcomes.edits import _norm
from aiimpact.outcomes.lines import _MOVE_MIN, _by_origin, _take, meaningful
from aiimpact.outcomes.szz import check_variant, fix_links, links_frame

Line = tuple[str, str, int]  # the fix's path, the file's path at the parent, line number (1-)


@dataclass
class _Plan:
    """What to blame for one fix."""

    parent: str | None
    dead: list[Line] = field(default_factory=list)  # meaningful deleted lines, replay order
    context: list[Line] = field(default_factory=list)  # around each insertion, in order
    unsure: set[str] = field(default_factory=set)  # files that may be absent or empty


def szz_by_blame(
    git_dir: str,
    fixes: list[str],
    commits: pd.DataFrame,
    *,
    merges: Collection[str] | None,
    variant: str = "b",
    context: bool = False,
    issue_dates: Mapping[str, pd.Timestamp] | None = None,
    exclude: Collection[str] = (),
    workers: int | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Inducing commits of *fixes* by blame at each fix's parent; what
    :func:`~aiimpact.outcomes.szz.szz` returns (links and ghost fixes).

    *commits* is the commits table (``sha``, ``commit_time``, ``is_merge``): fixes not
    in it are skipped (as ``szz`` skips those not in the line history) and its times are
    the candidates' (variant ``"r"``, *issue_dates*). *merges* are never blamed (None:
    the table's merges). Paths in *exclude* (files the line history does not follow) are
    left out of the fixes' diffs. Up to *workers* blames run at once (default: the
    number of CPUs). A git failure raises :class:`~aiimpact.errors.GitCommandError`;
    a file whose blame needs absent objects is skipped.
    """
    check_variant(variant)
    times = _times(commits)
    if merges is None:
        merges = set(commits.loc[commits["is_merge"].astype(bool), "sha"])
    wanted = [f for f in fixes if f in times]
    plans = {p.sha: _plan(p) for p in fix_patches(git_dir, list(dict.fromkeys(wanted)), exclude)}
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        deleted = _count(pool, git_dir, {f: (p.parent, p.dead) for f, p in plans.items()})
        results = {
            fix: fix_links(
                fix,
                *deleted.get(fix, ({}, {})),
                times.get,
                merges=merges,
                variant=variant,
                issue_dates=issue_dates,
            )
            for fix in plans
        }
        if context:
            ghosts = [fix for fix, (_, ghost) in results.items() if ghost]
            around = _count(pool, git_dir, _context_lines(git_dir, plans, ghosts))
            for fix in ghosts:
                counts, where = around.get(fix, ({}, {}))
                results[fix] = fix_links(
                    fix,
                    *deleted.get(fix, ({}, {})),
                    times.get,
                    merges=merges,
                    variant=variant,
                    issue_dates=issue_dates,
                    context_of=counts,
                    context_where=where,
                )
    rows: list[tuple] = []
    ghost_fixes = []
    for fix in wanted:
        found, ghost = results.get(fix, ([], True))
        rows += found
        if ghost:
            ghost_fixes.append(fix)
    return links_frame(rows), ghost_fixes


def fix_patches(git_dir: str, shas: list[str], exclude: Collection[str] = ()) -> Iterator[Patch]:
    """The ``-U0`` patches of *shas* against their first parents (one ``git log``), in order.

    Paths in *exclude* are left out of every diff, as in
    :func:`~aiimpact.git.patches.stream_patches`.
    """
    if not shas:
        return iter(())
    args = log_args(["--no-walk=unsorted", "--stdin"], exclude)
    stream = GitStream(
        git_dir, args, input="".join(f"{s}\n" for s in shas).encode(), literal_pathspecs=False
    )
    return parse_patches(stream.lines())


def _times(commits: pd.DataFrame) -> dict[str, int | None]:
    """Commit sha -> commit time in seconds (None: not known)."""
    return {
        sha: None if pd.isna(t) else int(pd.Timestamp(t).timestamp())
        for sha, t in zip(commits["sha"], commits["commit_time"], strict=True)
    }


def _plan(p: Patch) -> _Plan:
    """The lines *p* deletes (as the replay's ``LineHistory._apply`` chooses them) and the
    lines around its insertions, by their numbers in the first parent's files."""
    plan = _Plan(p.parents[0] if p.parents else None)
    if plan.parent is None:  # a root commit deletes nothing and has nothing around
        return plan
    away = set(p.renames.values()) - set(p.renames)

    def source(path: str) -> str | None:  # the file's name at the parent (None: absent)
        if path in p.renames:
            return p.renames[path]
        return None if path in away else path

    # 1. removed lines: whitespace-only edits keep theirs, the rest go to the pool
    pool: dict[bytes, dict[str, deque[tuple[Line, bytes]]]] = {}
    kept: dict[tuple[str, int], set[int]] = {}
    for path, hunks in p.files.items():
        src = source(path)
        for hi, h in enumerate(hunks):
            kept[(path, hi)] = pairs = set()
            if src is None:
                continue
            start = h.old_start - 1 if h.old_len else h.old_start
            if not h.old_len:
                plan.context += [(path, src, pos + 1) for pos in (start - 1, start) if pos >= 0]
                if start == 0 and all(not x.old_len for x in hunks):
                    plan.unsure.add(src)
            norms = [_norm(x[1:]) for x in h.added]  # hunk lines carry their sign
            for k in range(h.old_len):
                text = h.removed[k][1:] if k < len(h.removed) else b""
                key = _norm(text)
                if k < len(norms) and norms[k] == key:
                    pairs.add(k)
                    continue
                key = key if len(key) >= _MOVE_MIN else b""
                line = (path, src, start + k + 1)
                pool.setdefault(key, {}).setdefault(path, deque()).append((line, text))
    short = [entry for q in pool.pop(b"", {}).values() for entry in q]
    # 2. added lines take removed ones back (moves): files in order, hunks by position
    for path, hunks in p.files.items():
        for hi in sorted(range(len(hunks)), key=lambda i: hunks[i].old_start):
            pairs = kept[(path, hi)]
            for k, added in enumerate(hunks[hi].added):
                if k not in pairs:
                    _take(cast(Any, pool.get(_norm(added[1:]))), path)  # any deque's items
    # 3. what nobody took back died; the meaningful lines are blamed
    rest = (entry for by in pool.values() for q in by.values() for entry in q)
    plan.dead = [line for line, text in [*short, *rest] if meaningful(text)]
    return plan


def _context_lines(
    git_dir: str, plans: Mapping[str, _Plan], fixes: Iterable[str]
) -> dict[str, tuple[str | None, list[Line]]]:
    """The lines around the insertions of *fixes*, without files absent or empty at the
    parent (one ``git cat-file --batch-check`` for the files that might be)."""
    todo = {fix: plans[fix] for fix in fixes if fix in plans and plans[fix].context}
    asks = sorted({(p.parent, src) for p in todo.values() for src in p.unsure if "\n" not in src})
    empty: set[tuple[str | None, str]] = set()
    if asks:
        out = run_git(
            git_dir,
            ["cat-file", "--batch-check=%(objecttype) %(objectsize)"],
            input="".join(f"{parent}:{src}\n" for parent, src in asks).encode(),
        ).stdout.decode(errors="replace")
        for ask, answer in zip(asks, out.splitlines(), strict=True):
            kind, _, size = answer.rpartition(" ")
            if kind != "blob" or size == "0":  # "<name> missing", a tree, an empty file
                empty.add(ask)
    return {
        fix: (p.parent, [line for line in p.context if (p.parent, line[1]) not in empty])
        for fix, p in todo.items()
    }


def _count(
    pool: ThreadPoolExecutor, git_dir: str, lines: Mapping[str, tuple[str | None, list[Line]]]
) -> dict[str, tuple[dict[str, int], dict[str, str]]]:
    """Blame *lines* (per fix: its parent and lines) and count each fix's origins per path
    (``{origin: n}``, ``{origin: the path with most}``)."""
    jobs = {}
    for fix, (parent, wanted) in lines.items():
        by_file: dict[str, set[int]] = {}
        for _, src, n in wanted:
            by_file.setdefault(src, set()).add(n)
        for src, numbers in by_file.items():
            if parent is not None:
                jobs[(fix, src)] = pool.submit(blame_lines, git_dir, parent, src, numbers)
    blamed = {key: job.result() for key, job in jobs.items()}
    counted = {}
    for fix, (_, wanted) in lines.items():
        counts: Counter = Counter()
        for path, src, n in wanted:
            origin = (blamed.get((fix, src)) or {}).get(n)
            if origin is not None:
                counts[(origin, path)] += 1
        if counts:
            total, where = _by_origin(counts)
            counted[fix] = (dict(total), cast(dict[str, str], where))
    return counted
