"""Validation by simulation: do the intervals cover the planted truth?

Each simulation writes a real git repository with :func:`aiimpact.synth.make_repo`, mines
it with :class:`aiimpact.Repo` (so detection, reverts, SZZ and churn are part of what is
validated), checks that the mined outcomes equal the planted ones, and fits every
comparison twice: adjusted (``log_size`` and the author) and naive (no controls). Over many
simulations, :func:`summarize` gives the 95% CI coverage of the truth, the rejection rate
(type-I error when the truth is "no effect", power otherwise) and the bias of each
estimator on the log (ratio) or raw (difference) scale.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.synth.planted import Effects, make_repo

# outcome -> (table, model, the planted parameter, control for the author)
TARGETS = {
    "reverted": ("commits", "logit", "revert_odds_ratio", "author_email"),
    "fix_inducing": ("commits", "logit", "fix_odds_ratio", "author_email"),
    "churn_rate_14d": ("commits", "ols", "churn_difference", "author_email"),
    "time_to_merge": ("prs", "cox", "merge_hazard_ratio", "author_login"),
}


def simulate_once(seed: int, effects: Effects | dict, n_commits: int = 800) -> list[dict]:
    """One simulation: build, mine, check, and fit; one row per (outcome, estimator).

    A top-level function (picklable) so that it runs in any executor.
    """
    from aiimpact.repo import Repo
    from aiimpact.stats.compare import compare

    effects = Effects(**effects) if isinstance(effects, dict) else effects
    with tempfile.TemporaryDirectory(prefix="aiimpact-sim-") as tmp:
        planted = make_repo(f"{tmp}/repo", n_commits=n_commits, effects=effects, seed=seed)
        repo = Repo(planted.path, cache_dir=f"{tmp}/cache", progress=False)
        commits = planted.features(repo.outcomes())
    merged = commits.merge(planted.truth, on="sha", suffixes=("", "_planted"))
    mismatches = int(
        (merged["reverted"].astype(bool) != merged["reverted_planted"]).sum()
        + (merged["fix_inducing"].astype(bool) != merged["fix_inducing_planted"]).sum()
        + (merged["ai_assisted"].astype(bool) != merged["ai_marked"]).sum()
        + (~np.isclose(merged["churn_rate_14d"].astype(float), merged["churn_rate"])).sum()
    )
    tables = {"commits": commits, "prs": planted.prs}
    rows = []
    for outcome, (table, model, parameter, author) in TARGETS.items():
        truth = getattr(effects, parameter)
        for estimator, controls in (("adjusted", ["log_size", author]), ("naive", [])):
            row = {"seed": seed, "outcome": outcome, "estimator": estimator, "truth": truth,
                   "mismatches": mismatches}  # fmt: skip
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = compare(tables[table], outcome, controls=controls, model=model)
            except InputError as exc:
                rows.append({**row, "error": str(exc)})
                continue
            rows.append({**row, "estimate": r.estimate, "ci_low": r.ci[0], "ci_high": r.ci[1],
                         "p_value": r.p_value, "ratio": r.is_ratio, "error": None})  # fmt: skip
    return rows


def simulate(
    n_sims: int,
    effects: Effects | dict | None = None,
    n_commits: int = 800,
    seed: int = 0,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Run *n_sims* simulations (seeds ``seed .. seed + n_sims - 1``).

    Examples
    --------
    >>> from aiimpact.stats.power import simulate, summarize
    >>> summarize(simulate(200, executor=ProcessPoolExecutor(2)))  # doctest: +SKIP
    """
    effects = Effects(**effects) if isinstance(effects, dict) else (effects or Effects())
    seeds = range(seed, seed + n_sims)
    plain = asdict(effects)
    if executor is None:
        batches: Iterable = (simulate_once(s, plain, n_commits) for s in seeds)
    else:
        batches = executor.map(simulate_once, seeds, [plain] * n_sims, [n_commits] * n_sims)
    return pd.DataFrame([row for batch in batches for row in batch])


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage, rejection rate and bias per (outcome, estimator).

    Bias is the mean of ``log(estimate) - log(truth)`` for ratios and of ``estimate -
    truth`` for differences; ``rejection`` is the share of p-values below 0.05 (the type-I
    error when the truth is no effect).
    """
    ok = results[results["error"].isna()].copy()
    log = ok["ratio"].astype(bool)
    estimate, truth = ok["estimate"].astype(float), ok["truth"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where evaluates both sides
        ok["error_scale"] = np.where(log, np.log(estimate) - np.log(truth), estimate - truth)
    ok["covered"] = (ok["ci_low"] <= ok["truth"]) & (ok["truth"] <= ok["ci_high"])
    ok["rejected"] = ok["p_value"] < 0.05
    out = ok.groupby(["outcome", "estimator"], sort=False).agg(
        sims=("seed", "size"),
        truth=("truth", "first"),
        coverage=("covered", "mean"),
        rejection=("rejected", "mean"),
        bias=("error_scale", "mean"),
        rmse=("error_scale", lambda e: math.sqrt(float(np.mean(np.square(e))))),
    )
    failed = results[results["error"].notna()].groupby(["outcome", "estimator"]).size()
    out["failed"] = failed.reindex(out.index).fillna(0).astype(int)
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["sims"])
    return out.reset_index()


def null_effects(effects: Effects | None = None) -> Effects:
    """*effects* (default :class:`Effects`) with every planted effect set to none."""
    base = effects or Effects()
    return replace(base, revert_odds_ratio=1.0, fix_odds_ratio=1.0, churn_difference=0.0,
                   merge_hazard_ratio=1.0)  # fmt: skip
