"""SZZ accuracy and speed on real history, against the ``Fixes: <sha>`` oracle.

    python benchmarks/szz_eval.py REPO [--pydriller]

Projects that follow the Linux kernel convention name the commit a fix repairs in a
``Fixes: <sha> ("subject")`` trailer: a developer-informed oracle of (fix, bug-inducing)
pairs. This script takes every fix whose trailer resolves to a commit of the history, runs
aiimpact's SZZ *without* looking at the trailers (``use_trailers=False``) in each variant,
and prints precision, recall and F1 over pairs (as the SZZ literature reports them: R-SZZ
0.66/0.57/0.61, B-SZZ 0.39/0.69/0.50 on the developer-informed oracle of Rosa et al.).
With ``--pydriller`` it also runs PyDriller's ``Git.get_commits_last_modified_lines`` on
the same fixes and prints both speed and accuracy, in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import aiimpact as ai


def prf(predicted: dict[str, set[str]], oracle: dict[str, set[str]]) -> tuple[float, ...]:
    tp = sum(len(predicted.get(f, set()) & o) for f, o in oracle.items())
    n_pred = sum(len(predicted.get(f, set())) for f in oracle)
    n_true = sum(len(o) for o in oracle.values())
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--pydriller", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = ai.Repo(args.repo, cache_dir=tmp, progress=False)
        commits = repo.commits()
        shas = list(commits["sha"])
        fixes = repo.fixes()
        oracle: dict[str, set[str]] = {}
        for fix, named in zip(fixes["sha"], fixes["fixes_trailer"], strict=True):
            hits = {s for t in named for s in shas if s.startswith(t)} if len(named) else set()
            if hits:
                oracle[fix] = hits
        pairs = sum(map(len, oracle.values()))
        print(
            f"{repo.name}: {len(commits):,} commits; {len(oracle)} fixes whose Fixes: "
            f"trailer names a commit of the history ({pairs} pairs)"
        )
        t0 = time.perf_counter()
        repo.lines()
        replay = time.perf_counter() - t0
        ours = {}
        for variant, context in [(v, c) for c in (False, True) for v in ("b", "r", "l")]:
            t0 = time.perf_counter()
            links = repo.szz(
                fixes=list(oracle), variant=variant, use_trailers=False, context=context
            )
            took = time.perf_counter() - t0
            pred: dict[str, set[str]] = {}
            for f, i in zip(links["fix_sha"], links["inducing_sha"], strict=True):
                pred.setdefault(f, set()).add(i)
            ours[variant] = pred
            p, r, f1 = prf(pred, oracle)
            ghosts = len(repo.last_report.ghost_fixes)
            name = variant + (" +context" if context else "")
            print(
                f"  aiimpact szz variant {name}: precision {p:.3f} recall {r:.3f} "
                f"F1 {f1:.3f} ({ghosts} ghost fixes; {took:.2f} s "
                f"+ line replay {replay:.2f} s)"
            )
        if args.pydriller:
            import os

            os.environ.update(  # mirrors owned by another user: let GitPython read them
                GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="safe.directory", GIT_CONFIG_VALUE_0="*"
            )
            from pydriller import Git

            gr = Git(repo.git_dir)
            t0 = time.perf_counter()
            pyd: dict[str, set[str]] = {}
            for fix in oracle:
                found = gr.get_commits_last_modified_lines(gr.get_commit(fix))
                pyd[fix] = {s for shas_ in found.values() for s in shas_}
            took = time.perf_counter() - t0
            p, r, f1 = prf(pyd, oracle)
            print(
                f"  PyDriller get_commits_last_modified_lines: precision {p:.3f} recall {r:.3f}"
                f" F1 {f1:.3f} ({took:.2f} s)"
            )
            ours_s = replay  # our cost for all fixes is the replay plus a lookup
            print(
                f"  speed: aiimpact {ours_s:.2f} s (replay of the whole history, all fixes) vs "
                f"PyDriller {took:.2f} s for {len(oracle)} fixes = {took / ours_s:.1f}x"
            )


if __name__ == "__main__":
    main()
