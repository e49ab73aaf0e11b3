"""SZZ against git blame on a real repository: are the inducing commits the ones blame names?

    python benchmarks/szz_blame.py REPO [--fixes N] [--cache-dir D] [--show K] [--json FILE]
                                        [--name NAME]

aiimpact's SZZ reads the commits that wrote the lines a fix deleted or modified from its
one-pass line history (``repo.lines()``: a replay of ``git log -p -U0``), never running
blame. This script checks it against git itself. It mines REPO, takes the N newest
non-merge fix commits (``repo.fixes()``, newest commit time first; root commits have no
parent and are skipped), runs ``repo.szz(fixes=..., variant="b", use_trailers=False,
context=False)`` (every candidate, no ``Fixes:`` trailers, no context links: exactly what
the line history says) and, for every fix, the oracle (one git process per call: it is
the peer, not our pipeline):

* ``git diff -U0 -M <fix>^ <fix>``: the lines the fix deleted or modified (old side of the
  hunks; a renamed file is diffed against its old path, so only its edited lines count);
* ``git blame -w -M -C --porcelain -L <ranges> <fix>^ -- <old path>``: who wrote each;
* the same ranges with plain ``git blame -w`` (no ``-M``/``-C``), which tells apart what
  blame's move and copy detection re-attributed.

Every git call goes through ``aiimpact.git.safety.run_git`` (no repository config can run
a program or change the output). Each old-side line is classified the way our SZZ filters
lines, so the two sides are compared on the same footing:

* ``blank/comment``: blank or comment-only (``aiimpact.outcomes.lines.meaningful``); SZZ
  skips these, blame names their writer anyway;
* ``whitespace``: absent from the old side of ``git diff -U0 -M -w`` (a whitespace-only
  edit); the line history keeps such lines, so SZZ names nobody for them;
* ``moved``: the fix deletes it and adds the same text (whitespace removed, at least 10
  characters) somewhere (as the line history's move rule): the line survives the fix;
* ``merge``: blame names a merge commit (a line the merge itself wrote, e.g. a conflict
  resolution); SZZ never names merges, so these count on neither side;
* ``core``: all other lines: those SZZ should name the writer of.

Figures (per fix and summed over fixes):

* **agreement (precision-like)** = share of SZZ links whose commit ``git blame -w -M -C``
  also names for some old-side line of that fix (any class): the issue's criterion; also
  against plain ``blame -w`` and against either;
* **recall-like** = share of the commits blame names for *core* lines that SZZ found (and,
  for information, of those it names for any non-merge line);
* line-weighted: SZZ's ``lines`` of agreeing links over all its lines;
* the default call ``repo.szz(fixes=...)`` (variant ``l``, context links for add-only
  fixes, ``Fixes:`` trailers), per kind of link (context links name the lines around an
  insertion, which blame of deleted lines cannot name).

Disagreements are printed per (fix, commit) with a likely reason checked against git:
SZZ-only links (the fix's paths that commit touched; a rename commit; a copy that only
``-M``/``-C`` re-attributes; a line identical to one blame gives to another commit) and
blame-only core commits (only ``-M``/``-C`` names them; short or duplicated lines). Files
whose blobs are partly absent are not followed by the line history; they are left out of
the blame side too (and counted). A line history that skipped commits is warned about.
``--json FILE`` writes every fix's detail (both sides, every classified line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiimpact as ai
from aiimpact.git.safety import run_git
from aiimpact.outcomes.lines import meaningful

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_MOVE_MIN = 10  # the line history's move rule: at least this many non-blank characters
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SHA = re.compile(rb"^([0-9a-f]{40}) (\d+) (\d+)(?: (\d+))?$")


def norm(line: bytes) -> bytes:
    """The line without whitespace (as the line history compares lines)."""
    return line.translate(None, b" \t\r\n\x0b\x0c")


@dataclass
class FileDiff:
    old_path: str
    new_path: str
    removed: dict[int, bytes] = field(default_factory=dict)  # old line number -> text
    added: list[bytes] = field(default_factory=list)


def unquote(path: bytes) -> bytes:
    if not path.startswith(b'"'):
        return path
    return path[1:-1].decode("unicode_escape").encode("latin-1")


def parse_diff(out: bytes) -> list[FileDiff]:
    """``git diff -U0`` output -> per file: old-side lines (by number) and added lines."""
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    minus = b""
    old_no = old_left = new_left = 0
    for line in out.split(b"\n"):
        if old_left or new_left:  # inside a hunk: its counts say which lines are content
            if line.startswith(b"-"):
                cur.removed[old_no] = line[1:]
                old_no += 1
                old_left -= 1
            elif line.startswith(b"+"):
                cur.added.append(line[1:])
                new_left -= 1
            continue  # "\\ No newline at end of file"
        if line.startswith(b"diff --git "):
            cur = None
        elif line.startswith(b"--- "):
            minus = line[4:].rstrip(b"\t")  # git adds a tab after names with spaces
        elif line.startswith(b"+++ "):
            plus = line[4:].rstrip(b"\t")
            old = unquote(minus)[2:] if minus != b"/dev/null" else b""
            new = unquote(plus)[2:] if plus != b"/dev/null" else b""
            cur = FileDiff(old.decode("utf-8", "replace"), new.decode("utf-8", "replace"))
            files.append(cur)
        elif line.startswith(b"@@ ") and cur is not None:
            m = _HUNK.match(line)
            old_no = int(m[1])
            old_left = int(m[2] or 1) if m[2] != b"0" else 0
            new_left = int(m[4] or 1) if m[4] != b"0" else 0
    return files


def ranges(numbers) -> list[str]:
    """Sorted line numbers -> ``-L`` arguments covering them (adjacent runs merged)."""
    out, start, prev = [], None, None
    for n in sorted(numbers):
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out += ["-L", f"{start},{prev}"]
        start = prev = n
    if start is not None:
        out += ["-L", f"{start},{prev}"]
    return out


def parse_blame(out: bytes) -> dict[int, tuple[str, str, int]]:
    """``git blame --porcelain`` -> {final line: (commit, its file name, its line)}."""
    names: dict[str, str] = {}
    result: dict[int, tuple[str, str, int]] = {}
    pending: tuple[str, int, int] | None = None
    for line in out.split(b"\n"):
        if pending is None:
            m = _SHA.match(line)
            if m:
                pending = (m[1].decode(), int(m[2]), int(m[3]))
            continue
        if line.startswith(b"filename "):
            names[pending[0]] = unquote(line[9:]).decode("utf-8", "replace")
        elif line.startswith(b"\t"):
            sha, orig, final = pending
            result[final] = (sha, names.get(sha, "?"), orig)
            pending = None
    return result


def classify(fd: FileDiff, ws_only: set[int], added_norms: Counter, blamed, merges) -> dict:
    """Each old-side line -> (class, commit, origin path)."""
    out = {}
    for no, text in sorted(fd.removed.items()):
        if no not in blamed:
            continue
        sha, origin, _ = blamed[no]
        key = norm(text)
        if sha in merges:
            kind = "merge"
        elif not meaningful(text):
            kind = "blank/comment"
        elif no in ws_only:
            kind = "whitespace"
        elif len(key) >= _MOVE_MIN and added_norms[key] > 0:
            added_norms[key] -= 1
            kind = "moved"
        else:
            kind = "core"
        out[no] = (kind, sha, origin)
    return out


def oracle(git_dir: str, fix: str, merges: set[str], unfollowed: set[str]) -> dict:
    """What git blame at the fix's parent names for the lines the fix deleted or modified."""
    plain = parse_diff(run_git(git_dir, ["diff", "-U0", "-M", f"{fix}^", fix]).stdout)
    ws = parse_diff(run_git(git_dir, ["diff", "-U0", "-M", "-w", f"{fix}^", fix]).stdout)
    ws_removed = {(f.old_path, n) for f in ws for n in f.removed}
    added_norms = Counter(norm(x) for f in plain for x in f.added)
    lines: list[tuple] = []  # path, line, class, commit, origin path, text, blame -w commit
    failed, skipped, renamed = [], [], []
    for fd in plain:
        if not fd.removed:
            continue
        if fd.old_path != fd.new_path and fd.new_path:
            renamed.append((fd.old_path, fd.new_path))
        if fd.old_path in unfollowed or fd.new_path in unfollowed:
            skipped.append(fd.old_path)
            continue
        span = ranges(fd.removed)
        rev = [f"{fix}^", "--", fd.old_path]
        done = run_git(
            git_dir, ["blame", "-w", "-M", "-C", "--porcelain", *span, *rev], check=False
        )
        if done.returncode:
            failed.append((fd.old_path, done.stderr.decode("utf-8", "replace").strip()[-200:]))
            continue
        # the same lines without move/copy detection: tells -M/-C's re-attributions apart
        simple = parse_blame(run_git(git_dir, ["blame", "-w", "--porcelain", *span, *rev]).stdout)
        ws_only = {n for n in fd.removed if (fd.old_path, n) not in ws_removed}
        for no, (kind, sha, origin) in classify(
            fd, ws_only, added_norms, parse_blame(done.stdout), merges
        ).items():
            text = fd.removed[no].decode("utf-8", "replace")
            lines.append((fd.old_path, no, kind, sha, origin, text, simple[no][0]))
    return {"lines": lines, "failed": failed, "skipped": skipped, "renamed": renamed}


def added_norms_of(git_dir: str, sha: str) -> set[bytes]:
    """Normalised lines *sha* added (against its first parent; root: the empty tree)."""
    parents = run_git(git_dir, ["rev-parse", f"{sha}^@"]).stdout.split()
    base = parents[0].decode() if parents else _EMPTY_TREE
    out = run_git(git_dir, ["diff", "-U0", "--no-renames", base, sha]).stdout
    return {norm(x) for f in parse_diff(out) for x in f.added} - {b""}


def why_szz_only(git_dir: str, sha: str, lines) -> tuple[str, str]:
    """A likely reason SZZ names *sha* where neither blame does: (tag, detail)."""
    parents = run_git(git_dir, ["rev-parse", f"{sha}^@"]).stdout.split()
    if parents:
        status = run_git(
            git_dir, ["diff", "-M", "--name-status", parents[0].decode(), sha]
        ).stdout.decode("utf-8", "replace")
        renames = sum(1 for x in status.splitlines() if x.startswith("R"))
        if renames:
            return (
                "rename commit (blame follows the rename)",
                f"{sha[:10]} renames {renames} file(s)",
            )
    mine = added_norms_of(git_dir, sha)
    same = {c for _p, _n, _k, c, _o, t, _s in lines if norm(t.encode()) in mine and c != sha}
    if same:
        return (
            "wrote a line identical to one blame gives to another commit",
            "blame gives that text to " + " ".join(sorted(c[:10] for c in same)),
        )
    return "unexplained", ""


def why_blame_only(git_dir: str, fix: str, sha: str, lines) -> tuple[str, str]:
    """A likely reason SZZ misses *sha* (its core lines: short, duplicated, ...)."""
    mine = [(p, t) for p, _, kind, c, _o, t, _s in lines if c == sha and kind == "core"]
    short = sum(len(norm(t.encode())) < _MOVE_MIN for _, t in mine)
    counts: Counter = Counter()
    for path in {p for p, _ in mine}:
        blob = run_git(git_dir, ["cat-file", "blob", f"{fix}^:{path}"], check=False).stdout
        counts.update(norm(x) for x in blob.split(b"\n"))
    dup = sum(counts[norm(t.encode())] > 1 for _, t in mine)
    tags, reasons = [], []
    if short:
        tags.append("short lines")
        reasons.append(f"{short}/{len(mine)} line(s) under {_MOVE_MIN} non-blank chars")
    if dup:
        tags.append("duplicated text")
        reasons.append(f"{dup}/{len(mine)} line(s) occur more than once in the file")
    return " + ".join(tags) or "unexplained", "; ".join(reasons)


def share(a, b) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "n/a (0/0)"


def compare(git_dir, chosen, ours, ours_default, detail, merges, touched) -> dict:
    """Both sides per fix -> totals, line classes, per-fix shares and the disagreements."""
    tot = Counter()
    line_kinds = Counter()
    per_fix_prec = []
    disagreements = []
    hints: Counter = Counter()
    for fix in chosen:
        d = detail[fix]
        by_commit: dict[str, Counter] = defaultdict(Counter)
        paths: dict[str, set[str]] = defaultdict(set)
        simple_of: dict[str, set[str]] = defaultdict(set)  # -M -C commit -> blame -w's
        for path, _, kind, sha, _origin, _text, simple in d["lines"]:
            by_commit[sha][kind] += 1
            paths[sha].add(path)
            line_kinds[kind] += 1
            simple_of[sha].add(simple)
        b_any = {s for s, c in by_commit.items() if s not in merges}
        b_simple = {x for xs in simple_of.values() for x in xs} - merges
        b_core = {s for s, c in by_commit.items() if c["core"]}
        s = ours.get(fix, {})
        agree = set(s) & b_any
        tot["fixes"] += 1
        tot["szz_links"] += len(s)
        tot["agree"] += len(agree)
        tot["agree_simple"] += len(set(s) & b_simple)
        tot["agree_either"] += len(set(s) & (b_any | b_simple))
        tot["szz_lines"] += sum(s.values())
        tot["agree_lines"] += sum(n for c, n in s.items() if c in agree)
        tot["blame_core"] += len(b_core)
        tot["core_found"] += len(b_core & set(s))
        tot["blame_any"] += len(b_any)
        tot["any_found"] += len(b_any & set(s))
        tot["blame_merges"] += len({c for c in by_commit if c in merges})
        tot["fixes_ok"] += set(s) <= b_any
        tot["fixes_exact"] += set(s) == b_core
        tot["fixes_no_szz"] += not s
        tot["fixes_no_blame"] += not b_any
        tot["blame_failed"] += len(d["failed"])
        tot["paths_unfollowed"] += len(d["skipped"])
        tot["fixes_renaming"] += bool(d["renamed"])
        for c, variant in ours_default.get(fix, {}).items():
            kind = "context" if variant.endswith("-context") else variant
            tot[f"default_{kind}"] += 1
            tot[f"default_{kind}_agree"] += c in b_any
        if s:
            per_fix_prec.append(len(agree) / len(s))
        fix_paths = {p for p, *_ in d["lines"]} | {p for p, _ in d["failed"]}
        fix_paths |= touched.get(fix, set())
        for c in sorted(set(s) - b_any):
            where = sorted(touched.get(c, set()) & fix_paths) or ["(no path of the fix)"]
            if c in b_simple:
                tag = "copy: blame -M/-C gives the text to an older commit, blame -w names this"
                hint = tag
            else:
                tag, hint = why_szz_only(git_dir, c, d["lines"])
            disagreements.append(("szz-only", fix, ", ".join(where), c, s[c], hint or tag))
            hints[f"szz-only: {tag}"] += 1
        for c in sorted(b_core - set(s)):
            if c not in simple_of[c]:
                tag = "copy: only -M/-C names it (blame -w names " + (
                    "commits SZZ found)" if simple_of[c] <= set(s) else "other commits)"
                )
                hint = tag + " " + " ".join(sorted(x[:10] for x in simple_of[c]))
            else:
                tag, hint = why_blame_only(git_dir, fix, c, d["lines"])
            disagreements.append(
                (
                    "blame-only",
                    fix,
                    ", ".join(sorted(paths[c])),
                    c,
                    by_commit[c]["core"],
                    hint or tag,
                )
            )
            hints[f"blame-only: {tag}"] += 1

    return {
        "tot": tot,
        "line_kinds": line_kinds,
        "per_fix_prec": per_fix_prec,
        "disagreements": disagreements,
        "hints": hints,
    }


def report(name, n_commits, n_merges, n_fixes, replayed, times, res, detail, show) -> None:
    """Print the summary and the disagreements."""
    tot, line_kinds, per_fix_prec = res["tot"], res["line_kinds"], res["per_fix_prec"]
    disagreements, hints = res["disagreements"], res["hints"]
    t_mine, t_replay, t_szz, t_blame = times
    chosen = list(detail)

    print(
        f"{name}: {n_commits:,} commits ({n_merges:,} merges), {n_fixes:,} fixes; "
        f"{tot['fixes']} newest non-merge fixes checked"
    )
    if replayed != n_commits:
        print(
            f"  WARNING: the line history replayed {replayed:,} of {n_commits:,} commits "
            "(SZZ cannot see lines whose history was skipped)"
        )
    print(
        f"  time: mining {t_mine:.1f} s, line replay {t_replay:.1f} s, szz {t_szz:.2f} s; "
        f"git diff + blame {t_blame:.1f} s ({t_blame / max(1, tot['fixes']):.2f} s/fix)"
    )
    print(
        f"  SZZ (variant b, no trailers, no context): {tot['szz_links']} links, "
        f"{tot['szz_lines']} lines; {tot['fixes_no_szz']} fixes with no link"
    )
    print(
        f"  blame: {tot['blame_any']} non-merge commits named ({tot['blame_core']} for core "
        f"lines), {tot['blame_merges']} merges named; {tot['fixes_no_blame']} fixes with "
        f"nothing to blame"
    )
    print(f"  old-side lines by class: {dict(sorted(line_kinds.items()))}")
    rows = [
        ("agreement: SZZ links blame -w -M -C also names", tot["agree"], tot["szz_links"]),
        ("  named by plain blame -w (no -M/-C)", tot["agree_simple"], tot["szz_links"]),
        ("  named by either blame", tot["agree_either"], tot["szz_links"]),
        ("  line-weighted (SZZ's lines of agreeing links)", tot["agree_lines"], tot["szz_lines"]),
        ("recall-like: blame's core commits SZZ found", tot["core_found"], tot["blame_core"]),
        ("  of blame's commits for any non-merge line", tot["any_found"], tot["blame_any"]),
    ]
    for label, a, b in rows:
        print(f"  {label:<50} {share(a, b)}")
    if per_fix_prec:
        mean = sum(per_fix_prec) / len(per_fix_prec)
        print(
            f"  per fix: mean agreement {mean:.3f} over {len(per_fix_prec)} fixes with links; "
            f"SZZ within blame's set in {tot['fixes_ok']}/{tot['fixes']} fixes, "
            f"equal to its core set in {tot['fixes_exact']}/{tot['fixes']}"
        )
    parts = [
        f"{kind} {share(tot[f'default_{kind}_agree'], tot[f'default_{kind}'])}"
        for kind in ("l", "context", "trailer")
        if tot[f"default_{kind}"]
    ]
    print(
        "  default repo.szz() (variant l, context, trailers), links named by blame: "
        + ("; ".join(parts) or "none")
    )
    print(
        f"  fixes renaming a file: {tot['fixes_renaming']}; paths not followed (absent "
        f"blobs): {tot['paths_unfollowed']}; blame failures: {tot['blame_failed']}"
    )
    for fix in chosen:
        for path, err in detail[fix]["failed"]:
            print(f"    blame failed: {fix[:12]} {path}: {err}")
    print(f"\ndisagreements ({len(disagreements)}; first {show}):")
    for hint, k in hints.most_common():
        print(f"  {k:>4}  {hint}")
    print(f"  {'kind':<10} {'fix':<12} {'commit':<12} {'lines':>5}  path  [why]")
    for kind, fix, path, c, lines_, hint in disagreements[:show]:
        print(f"  {kind:<10} {fix[:12]} {c[:12]} {lines_:>5}  {path}  [{hint}]")


def _display_name(path: str) -> str:
    """``/mirror/owner+name/repo`` -> ``owner+name``; ``x/name.git`` -> ``name``."""
    parts = [p for p in os.path.normpath(os.path.abspath(path)).split(os.sep) if p]
    while len(parts) > 1 and parts[-1] in ("repo", ".git"):
        parts.pop()
    return parts[-1].removesuffix(".git") if parts else path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--fixes", type=int, default=50, help="newest non-merge fixes (default 50)")
    ap.add_argument("--cache-dir", default=None, help="aiimpact cache (default: a fresh one)")
    ap.add_argument("--show", type=int, default=40, help="disagreements printed (default 40)")
    ap.add_argument("--json", default=None, help="write every fix's detail to this file")
    ap.add_argument("--name", default=None, help="the repository's name in the output")
    args = ap.parse_args()

    import tempfile

    tmp = None
    if args.cache_dir is None:
        tmp = tempfile.TemporaryDirectory()
        args.cache_dir = tmp.name
    t0 = time.perf_counter()
    name = args.name or _display_name(args.repo)
    repo = ai.Repo(args.repo, cache_dir=args.cache_dir, progress=False)
    commits = repo.commits()
    files = repo.file_changes()
    fixes = repo.fixes()
    t_mine = time.perf_counter() - t0
    merges = set(commits.loc[commits["is_merge"].astype(bool), "sha"])
    order = commits[["sha", "commit_time", "parents"]].reset_index(drop=True)
    order["pos"] = range(len(order))
    order = order[order["sha"].isin(set(fixes["sha"])) & ~order["sha"].isin(merges)]
    order = order[order["parents"].map(len) > 0]
    order = order.sort_values(["commit_time", "pos"], ascending=[False, True])
    chosen = list(order["sha"].head(args.fixes))
    missing = files[files["insertions"].isna()]
    unfollowed = set(missing["path"]) | set(missing["old_path"].dropna())
    touched = defaultdict(set)
    for sha, path, old in zip(files["sha"], files["path"], files["old_path"], strict=True):
        touched[sha].add(path)
        if isinstance(old, str):
            touched[sha].add(old)

    t0 = time.perf_counter()
    replayed = len(repo.lines().commits)
    t_replay = time.perf_counter() - t0
    t0 = time.perf_counter()
    links = repo.szz(fixes=chosen, variant="b", use_trailers=False, context=False)
    t_szz = time.perf_counter() - t0
    default = repo.szz(fixes=chosen)  # the default call (variant l, context, trailers)
    ours: dict[str, dict[str, int]] = defaultdict(dict)
    for f, i, n in zip(links["fix_sha"], links["inducing_sha"], links["lines"], strict=True):
        ours[f][i] = int(n)
    ours_default: dict[str, dict[str, str]] = defaultdict(dict)  # fix -> {inducing: variant}
    for f, i, v in zip(
        default["fix_sha"], default["inducing_sha"], default["variant"], strict=True
    ):
        ours_default[f][i] = v

    t0 = time.perf_counter()
    detail = {}
    for k, fix in enumerate(chosen):
        detail[fix] = oracle(repo.git_dir, fix, merges, unfollowed)
        print(f"\rblame {k + 1}/{len(chosen)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    t_blame = time.perf_counter() - t0

    res = compare(repo.git_dir, chosen, ours, ours_default, detail, merges, touched)
    times = (t_mine, t_replay, t_szz, t_blame)
    report(name, len(commits), len(merges), len(fixes), replayed, times, res, detail, args.show)
    if args.json:
        out = {
            fix: {
                "szz": ours.get(fix, {}),
                "szz_default": ours_default.get(fix, {}),
                **detail[fix],
            }
            for fix in chosen
        }
        with open(args.json, "w") as fh:
            json.dump({"summary": dict(res["tot"]), "fixes": out}, fh, indent=1)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
