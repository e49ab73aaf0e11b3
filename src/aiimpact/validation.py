"""Validation by simulation: do the intervals cover the planted truth?

The harness on top of every layer (it mines with :class:`aiimpact.Repo`, so it lives beside
it, not in ``stats/``).

Each simulation writes a real git repository with :func:`aiimpact.synth.make_repo`, mines
it with :class:`aiimpact.Repo` (so detection, reverts, SZZ and churn are part of what is
validated), checks that the mined outcomes equal the planted ones, and fits every
comparison twice: adjusted (``log_size`` and the author) and naive (no controls). Over many
simulations, :func:`summarize` gives the 95% CI coverage of the truth, the rejection rate
(type-I error when the truth is "no effect", power otherwise) and the bias of each
estimator on the log (ratio) or raw (difference) scale.

With ``history="real"`` each repository is shaped like a real one
(:class:`aiimpact.synth.planted.RealHistory`: years of pre-AI history, AI only in the last
part, a secular trend in the revert and fix rates, rare events, censored recent commits)
and :func:`simulate_history_once` fits the report's design, ``ai.study``, beside the naive
whole-history comparison, on the censored outcomes ``reverted_within_90d``,
``fix_inducing_within_90d`` and ``churn_rate_14d``.
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
from aiimpact.synth.planted import Effects, RealHistory, make_repo

# outcome -> (table, model, the planted parameter, control for the author)
TARGETS = {
    "reverted": ("commits", "logit", "revert_odds_ratio", "author_email"),
    "fix_inducing": ("commits", "logit", "fix_odds_ratio", "author_email"),
    "churn_rate_14d": ("commits", "ols", "churn_difference", "author_email"),
    "time_to_merge": ("prs", "cox", "merge_hazard_ratio", "author_login"),
}
# real-shaped histories: outcome -> (model, the planted parameter); every planted revert and
# fix comes within 38 days, so the 90-day flags are the planted ones wherever observed
HISTORY_TARGETS = {
    "reverted_within_90d": ("logit", "revert_odds_ratio"),
    "fix_inducing_within_90d": ("logit", "fix_odds_ratio"),
    "churn_rate_14d": ("ols", "churn_difference"),
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
            row = {
                "seed": seed,
                "outcome": outcome,
                "estimator": estimator,
                "truth": truth,
                "mismatches": mismatches,
            }
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = compare(tables[table], outcome, controls=controls, model=model)
            except InputError as exc:
                rows.append({**row, "error": str(exc)})
                continue
            rows.append(
                {
                    **row,
                    "estimate": r.estimate,
                    "ci_low": r.ci[0],
                    "ci_high": r.ci[1],
                    "p_value": r.p_value,
                    "ratio": r.is_ratio,
                    "error": None,
                }
            )
    return rows


def simulate_history_once(
    seed: int,
    effects: Effects | dict,
    n_commits: int = 3000,
    history: RealHistory | dict | None = None,
) -> list[dict]:
    """One simulation on a real-shaped history: build, mine, check, and fit.

    Fits, for each outcome of :data:`HISTORY_TARGETS` (one row each):

    * ``study``: ``ai.study`` with its default design (the AI-era window, the smooth time
      trend, its author adjustment, clustered errors) on the feature commits;
    * ``naive``: ``compare`` on every feature commit of the whole history, no controls;
    * ``study_author_fe`` (yes/no outcomes only): the study's window, trend, size and
      clusters with author fixed effects always kept (the check that found ``ai.study``'s
      first author rule biased; equal to ``study`` whenever it keeps them).

    ``mismatches`` counts the feature commits whose mined outcomes (``reverted``,
    ``fix_inducing``, both 90-day flags with their NAs, ``churn_rate_14d``, the AI mark)
    differ from the planted ones. A top-level function (picklable) for any executor.
    """
    from aiimpact.repo import Repo
    from aiimpact.stats.compare import compare
    from aiimpact.stats.study import study

    effects = Effects(**effects) if isinstance(effects, dict) else effects
    shape = RealHistory(**history) if isinstance(history, dict) else (history or RealHistory())
    with tempfile.TemporaryDirectory(prefix="aiimpact-sim-") as tmp:
        planted = make_repo(
            f"{tmp}/repo",
            n_commits=n_commits,
            effects=effects,
            seed=seed,
            history=shape,
            pull_requests=False,
        )
        repo = Repo(planted.path, cache_dir=f"{tmp}/cache", progress=False)
        commits = planted.features(repo.outcomes())
    mismatches = history_mismatches(commits, planted.truth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = study(commits, commit_outcomes={o: m for o, (m, _) in HISTORY_TARGETS.items()})
    table = s.table().set_index("outcome")
    rows = []
    for outcome, (model, parameter) in HISTORY_TARGETS.items():
        row = {
            "seed": seed,
            "outcome": outcome,
            "truth": getattr(effects, parameter),
            "mismatches": mismatches,
        }
        r = table.loc[outcome]
        if pd.isna(r["reason"]):
            rows.append(
                {
                    **row,
                    "estimator": "study",
                    "estimate": r["estimate"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "p_value": r["p_value"],
                    "ratio": r["scale"] != "difference in means",
                    "adjusted_for": r["adjusted_for"],
                    "error": None,
                }
            )
        else:
            rows.append({**row, "estimator": "study", "error": str(r["reason"])})
        fits: list[tuple[str, pd.DataFrame, list[str], str | None]] = [("naive", commits, [], None)]
        if model == "logit" and "author_email" in s.design.controls:
            fits.append(("study_author_fe", s.commits, s.design.controls, s.design.cluster))
        for estimator, data, controls, cluster in fits:
            rows.append(
                {
                    **row,
                    **_fit_row(compare, data, outcome, controls, cluster, model),
                    "estimator": estimator,
                }
            )
    return rows


def _fit_row(compare, data, outcome, controls, cluster, model) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = compare(data, outcome, controls=controls, cluster=cluster, model=model)
    except InputError as exc:
        return {"error": str(exc)}
    return {
        "estimate": r.estimate,
        "ci_low": r.ci[0],
        "ci_high": r.ci[1],
        "p_value": r.p_value,
        "ratio": r.is_ratio,
        "adjusted_for": ", ".join(controls),
        "error": None,
    }


def history_mismatches(commits: pd.DataFrame, truth: pd.DataFrame) -> int:
    """Feature commits whose mined outcome differs from the planted one (NAs included)."""
    m = commits.merge(truth, on="sha", suffixes=("", "_planted"))
    wrong = pd.Series(len(truth) != len(m), index=m.index)  # a feature the miner lost
    for flag in ("reverted", "fix_inducing", "reverted_within_90d", "fix_inducing_within_90d"):
        mined, planted = m[flag].astype("boolean"), m[f"{flag}_planted"].astype("boolean")
        wrong |= (mined.isna() != planted.isna()) | (mined.fillna(False) != planted.fillna(False))
    wrong |= m["ai_assisted"].astype(bool) != m["ai_marked"]
    mined, planted = m["churn_rate_14d"].astype(float), m["churn_rate_14d_planted"].astype(float)
    wrong |= ~(np.isclose(mined, planted) | (np.isnan(mined) & np.isnan(planted)))
    return int(wrong.sum())


def simulate(
    n_sims: int,
    effects: Effects | dict | None = None,
    n_commits: int | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    history: RealHistory | str | None = None,
) -> pd.DataFrame:
    """Run *n_sims* simulations (seeds ``seed .. seed + n_sims - 1``).

    *history* ``"real"`` (or a :class:`~aiimpact.synth.planted.RealHistory`) runs
    :func:`simulate_history_once` (default 3,000 feature commits), else
    :func:`simulate_once` (default 800).

    Examples
    --------
    >>> from aiimpact.validation import simulate, summarize
    >>> summarize(simulate(200, executor=ProcessPoolExecutor(2)))  # doctest: +SKIP
    >>> summarize(simulate(100, history="real"))  # doctest: +SKIP
    """
    effects = Effects(**effects) if isinstance(effects, dict) else (effects or Effects())
    seeds = list(range(seed, seed + n_sims))
    args: list[list] = [seeds, [asdict(effects)] * n_sims]
    if history is None:
        one, args = simulate_once, [*args, [n_commits or 800] * n_sims]
    else:
        shape = RealHistory() if history == "real" else history
        if not isinstance(shape, RealHistory):
            raise InputError(f"history must be None, 'real' or a RealHistory, not {history!r}")
        one = simulate_history_once
        args = [*args, [n_commits or 3000] * n_sims, [asdict(shape)] * n_sims]
    if executor is None:
        batches: Iterable = (one(*a) for a in zip(*args, strict=True))
    else:
        batches = executor.map(one, *args)
    return pd.DataFrame([row for batch in batches for row in batch])


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage, rejection rate and bias per (outcome, estimator).

    Bias is the mean of ``log(estimate) - log(truth)`` for ratios and of ``estimate -
    truth`` for differences (``bias_mc_se``: its Monte Carlo standard error); ``rejection``
    is the share of p-values below 0.05 (the type-I error when the truth is no effect).
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
        bias_mc_se=(
            "error_scale",
            lambda e: float(np.std(e, ddof=1) / math.sqrt(len(e))) if len(e) > 1 else math.nan,
        ),
        rmse=("error_scale", lambda e: math.sqrt(float(np.mean(np.square(e))))),
    )
    failed = results[results["error"].notna()].groupby(["outcome", "estimator"]).size()
    out["failed"] = failed.reindex(out.index).fillna(0).astype(int)
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["sims"])
    return out.reset_index()


def null_effects(effects: Effects | None = None) -> Effects:
    """*effects* (default :class:`Effects`) with every planted effect set to none."""
    base = effects or Effects()
    return replace(
        base,
        revert_odds_ratio=1.0,
        fix_odds_ratio=1.0,
        churn_difference=0.0,
        merge_hazard_ratio=1.0,
    )
