"""Validate the statistics by simulation: CI coverage, type-I error, naive vs adjusted bias.

Each simulation builds a real git repository with planted effects
(``aiimpact.synth.make_repo``), mines it with ``aiimpact.Repo`` and fits each comparison
adjusted (log size + author) and naive. Targets: 95% CI coverage of the truth between 93%
and 97% for the adjusted estimators, and a type-I error of at most 6% under no effect.

    python benchmarks/validate_stats.py                 # 200 + 200 simulations
    python benchmarks/validate_stats.py --sims 40       # quicker, noisier
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from aiimpact.stats.power import null_effects, simulate, summarize
from aiimpact.synth.planted import Effects


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sims", type=int, default=200, help="simulations per scenario")
    p.add_argument("--commits", type=int, default=800, help="feature commits per repository")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", choices=["effects", "null"], help="run one scenario only")
    p.add_argument("--seed", type=int, default=0, help="first seed (the null adds 100,000)")
    args = p.parse_args()

    pd.set_option("display.width", 140)
    verdicts = []
    with ProcessPoolExecutor(args.workers) as pool:
        scenarios = [("planted effects", Effects(), args.seed),
                     ("no effect (null)", null_effects(), args.seed + 100_000)]  # fmt: skip
        for name, effects, seed in scenarios:
            if args.only and not name.startswith({"effects": "planted", "null": "no"}[args.only]):
                continue
            t0 = time.perf_counter()
            results = simulate(args.sims, effects, args.commits, seed=seed, executor=pool)
            took = time.perf_counter() - t0
            summary = summarize(results)
            mismatched = int((results.groupby("seed")["mismatches"].first() > 0).sum())
            print(f"\n== {name}: {args.sims} repositories of {args.commits} feature commits, "
                  f"{took:.0f} s; mined outcomes differing from the planted ones in "
                  f"{mismatched} repositories")  # fmt: skip
            print(summary.round(3).to_string(index=False))
            adjusted = summary[summary["estimator"] == "adjusted"]
            if name.startswith("planted"):
                ok = adjusted["coverage"].between(0.93, 0.97)
                verdicts += [f"coverage {r.outcome}: {r.coverage:.3f} "
                             f"({'within' if k else 'OUTSIDE'} 93-97%)"
                             for r, k in zip(adjusted.itertuples(), ok, strict=True)]  # fmt: skip
            else:
                ok = adjusted["rejection"] <= 0.06
                verdicts += [f"type-I error {r.outcome}: {r.rejection:.3f} "
                             f"({'within' if k else 'ABOVE'} 6%)"
                             for r, k in zip(adjusted.itertuples(), ok, strict=True)]  # fmt: skip
            naive = summary[summary["estimator"] == "naive"].set_index("outcome")["bias"]
            adj = adjusted.set_index("outcome")["bias"]
            for outcome in adj.index:
                print(f"  bias {outcome}: naive {naive[outcome]:+.3f}, adjusted "
                      f"{adj[outcome]:+.3f}")  # fmt: skip
    print("\n" + "\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
