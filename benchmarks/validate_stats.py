"""Validate the statistics by simulation: CI coverage, type-I error, naive vs adjusted bias.

Each simulation builds a real git repository with planted effects
(``aiimpact.synth.make_repo``), mines it with ``aiimpact.Repo`` and fits each comparison
adjusted (log size + author) and naive. Targets: 95% CI coverage of the truth between 93%
and 97% for the adjusted estimators, and a type-I error of at most 6% under no effect.

With ``--history real`` the repositories are shaped like real ones (years of pre-AI
history, AI only in the last part, a secular trend in the revert and fix rates, rare
events, censored recent commits; 3,000 feature commits by 36 authors over four years) and
the estimator checked is the report's design, ``ai.study``, on the 90-day outcomes and
churn, beside the naive whole-history comparison (which should be biased).

    python benchmarks/validate_stats.py                 # 200 + 200 simulations
    python benchmarks/validate_stats.py --sims 40       # quicker, noisier
    python benchmarks/validate_stats.py --history real --only effects --sims 100 --workers 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import pandas as pd

from aiimpact.synth.planted import Effects
from aiimpact.validation import null_effects, simulate, summarize


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sims", type=int, default=200, help="simulations per scenario")
    p.add_argument(
        "--commits",
        type=int,
        help="feature commits per repository (default 800, or 3,000 with --history real)",
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", choices=["effects", "null"], help="run one scenario only")
    p.add_argument("--seed", type=int, default=0, help="first seed (the null adds 100,000)")
    p.add_argument(
        "--history",
        choices=["planted", "real"],
        default="planted",
        help="the repositories' shape: planted, or like a real one",
    )
    p.add_argument(
        "--no-confounding",
        action="store_true",
        help="authors' risks neither differ nor drive their AI use",
    )
    p.add_argument("--save", help="write every simulation's rows to this CSV file")
    args = p.parse_args()
    real = args.history == "real"
    history = "real" if real else None
    commits = args.commits or (3000 if real else 800)
    main_estimator = "study" if real else "adjusted"

    pd.set_option("display.width", 160)
    verdicts = []
    saved = []
    base = replace(Effects(), confounding=not args.no_confounding)
    with ProcessPoolExecutor(args.workers) as pool:
        scenarios = [
            ("planted effects", base, args.seed),
            ("no effect (null)", null_effects(base), args.seed + 100_000),
        ]
        for name, effects, seed in scenarios:
            if args.only and not name.startswith({"effects": "planted", "null": "no"}[args.only]):
                continue
            t0 = time.perf_counter()
            results = simulate(
                args.sims, effects, commits, seed=seed, executor=pool, history=history
            )
            took = time.perf_counter() - t0
            saved.append(results.assign(scenario=name))
            summary = summarize(results)
            mismatched = int((results.groupby("seed")["mismatches"].first() > 0).sum())
            shape = "real-shaped " if real else ""
            print(
                f"\n== {name}: {args.sims} {shape}repositories of {commits} feature commits, "
                f"{took:.0f} s; mined outcomes differing from the planted ones in "
                f"{mismatched} repositories"
            )
            print(summary.round(3).to_string(index=False))
            checked = summary[summary["estimator"] == main_estimator]
            if name.startswith("planted"):
                ok = checked["coverage"].between(0.93, 0.97)
                verdicts += [
                    f"coverage {main_estimator} {r.outcome}: {r.coverage:.3f} "
                    f"(MC SE {r.coverage_mc_se:.3f}; "
                    f"{'within' if k else 'OUTSIDE'} 93-97%)"
                    for r, k in zip(checked.itertuples(), ok, strict=True)
                ]
            else:
                ok = checked["rejection"] <= 0.06
                verdicts += [
                    f"type-I error {main_estimator} {r.outcome}: {r.rejection:.3f} "
                    f"({'within' if k else 'ABOVE'} 6%)"
                    for r, k in zip(checked.itertuples(), ok, strict=True)
                ]
            naive = summary[summary["estimator"] == "naive"].set_index("outcome")
            for r in checked.itertuples():
                n = naive.loc[r.outcome]
                biased = abs(n["bias"]) > 3 * n["bias_mc_se"]
                line = (
                    f"bias {r.outcome}: naive {n['bias']:+.3f} (MC SE {n['bias_mc_se']:.3f}, "
                    f"coverage {n['coverage']:.3f}), {main_estimator} {r.bias:+.3f} "
                    f"(MC SE {r.bias_mc_se:.3f})"
                )
                print("  " + line)
                if real and name.startswith("planted"):
                    verdicts.append(
                        f"naive {r.outcome}: "
                        f"{'BIASED' if biased else 'not shown biased'} "
                        f"({n['bias']:+.3f}, {abs(n['bias']) / n['bias_mc_se']:.1f} "
                        "MC SE from 0)"
                    )
    if args.save:
        pd.concat(saved).to_csv(args.save, index=False)
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
