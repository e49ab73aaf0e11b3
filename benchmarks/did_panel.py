"""``ai.did`` on a published panel: He et al.'s repository-months of Cursor adoption.

He, Miller, Agarwal, Kästner and Vasilescu (2025), "Does AI-Assisted Coding Deliver? A
Difference-in-Differences Study of Cursor's Impact on Software Projects", estimate the effect
of adopting Cursor with the imputation estimator of Borusyak, Jaravel and Spiess (R package
didimputation) in ``notebooks/DiffInDiffBorusyak.Rmd`` of github.com/hehao98/CursorStudy.
This script prepares their ``data/panel_event_monthly.csv`` as that notebook does, runs
``ai.did(..., method="imputation")`` and a separate computation of the same estimator (sparse
dummies, ``scipy.sparse.linalg.lsqr`` on the untreated rows, impute, average), and prints both
beside the published figures, with the seconds each took.

The data is third-party: fetch the repository and pass the CSV's path; it is never copied here.

    python benchmarks/did_panel.py /path/to/CursorStudy/data/panel_event_monthly.csv
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from scipy.sparse.linalg import lsqr
from scipy.sparse.linalg import norm as sparse_norm

import aiimpact as ai

# the notebook's outcomes, in its order; the paper reports the static effects of these two
OUTCOMES = [
    "commits",
    "lines_added",
    "quality_warnings",
    "duplicated_lines_density",
    "cognitive_complexity",
]
PUBLISHED = {"quality_warnings": 30.0, "cognitive_complexity": 41.0}  # percent
COVARIATES = ["age", "ncloc", "contributors", "stars", "issues"]  # ncloc is not logged there
LOGGED = [
    "commits",
    "lines_added",
    "quality_warnings",
    "cognitive_complexity",
    "duplicated_lines_density",
    "comment_lines_density",
    "age",
    "contributors",
    "stars",
    "issues",
    "issue_comments",
]


def prepare(path: str) -> pd.DataFrame:
    """The notebook's data preparation: months and adoption months as YYYYMM numbers (0 when
    never adopted); never-adopters plus the cohorts after 2024-07 up to 2025-03; quality
    warnings = code smells + vulnerabilities + bugs; log(x + 1) of the outcomes and of the
    covariates but ncloc. Rows keep their duplicates (three repositories appear twice,
    once per data source), as the notebook keeps them."""
    d = pd.read_csv(path, dtype={"event": str, "time": str})
    d["time_n"] = d["time"].str.replace("-", "").astype(int)
    d["event_n"] = d["event"].str.replace("-", "").astype(float).fillna(0).astype(int)
    d = d[(d["event_n"] < 202401) | ((d["event_n"] > 202407) & (d["event_n"] <= 202503))]
    d = d.copy()
    d["quality_warnings"] = d["code_smells"] + d["vulnerabilities"] + d["bugs"]
    for c in LOGGED:
        d[c] = np.log(d[c] + 1)
    # for ai.did: the month as a timestamp, the adoption month (NaT: never adopted)
    d["month"] = pd.to_datetime(d["time"])
    d["adopted"] = pd.to_datetime(d["event"].where(d["event_n"] > 0))
    return d.reset_index(drop=True)


def independent(d: pd.DataFrame, outcome: str) -> tuple[float, int]:
    """The imputation estimator, written apart from aiimpact: as didimputation does, fit
    y ~ covariates | repo + month on the untreated rows (rows with a missing value left out),
    predict each treated row, drop those whose repository or month has no untreated row, and
    average y minus the prediction. The fit is least squares on a sparse design (one dummy per
    repository, per month but the first, and the raw covariates), columns scaled to unit norm
    for lsqr and scaled back."""
    e = d.dropna(subset=[outcome, *COVARIATES])
    treated = ((e["event_n"] > 0) & (e["time_n"] >= e["event_n"])).to_numpy()
    e0, e1 = e[~treated], e[treated]
    repos, months = pd.Index(e0["repo_name"].unique()), pd.Index(np.sort(e0["time_n"].unique()))

    def design(rows: pd.DataFrame) -> tuple[sparse.csr_matrix, np.ndarray]:
        ri, mi = repos.get_indexer(rows["repo_name"]), months.get_indexer(rows["time_n"])
        ok = (ri >= 0) & (mi >= 0)
        n, at = len(rows), np.arange(len(rows))[ok]
        r = sparse.csr_matrix((np.ones(ok.sum()), (at, ri[ok])), shape=(n, len(repos)))
        m = sparse.csr_matrix((np.ones(ok.sum()), (at, mi[ok])), shape=(n, len(months)))
        x = sparse.csr_matrix(rows[COVARIATES].to_numpy(float))
        return sparse.hstack([r, m[:, 1:], x]).tocsc(), ok

    z0, _ = design(e0)
    norm = sparse_norm(z0, axis=0)
    norm[norm == 0] = 1.0
    fit = lsqr(
        z0 @ sparse.diags(1 / norm),
        e0[outcome].to_numpy(),
        atol=1e-15,
        btol=1e-15,
        iter_lim=100_000,
    )
    z1, ok = design(e1)
    tau = (e1[outcome].to_numpy() - z1 @ (fit[0] / norm))[ok]
    return float(tau.mean()), int(ok.sum())


def pct(log_points: float) -> float:
    return 100 * (np.exp(log_points) - 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("panel_csv", help="CursorStudy's data/panel_event_monthly.csv")
    ap.add_argument("--outcomes", nargs="+", default=OUTCOMES, choices=OUTCOMES)
    ap.add_argument("--event-study", action="store_true", help="print each event study too")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    ai.did  # noqa: B018 (the lazy import of aiimpact.stats, timed apart from the fits)
    imported = time.perf_counter() - start
    d = prepare(args.panel_csv)
    n_repos = d["repo_name"].nunique()
    cohorts = d.loc[d["event_n"] > 0, "event_n"]
    print(
        f"panel: {len(d):,} repository-months, {n_repos:,} repositories; adoption cohorts "
        f"{cohorts.min()}..{cohorts.max()} ({cohorts.nunique()}) and never-adopters; "
        f"covariates {', '.join(COVARIATES)}; importing aiimpact.stats took "
        f"{imported:.1f} s\n"
    )
    rows, studies = [], {}
    for outcome in args.outcomes:
        start = time.perf_counter()
        r = ai.did(
            d,
            outcome,
            unit="repo_name",
            time="month",
            first_treated="adopted",
            controls=COVARIATES,
            method="imputation",
        )
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        ref, n_ref = independent(d, outcome)
        ref_s = time.perf_counter() - start
        published = PUBLISHED.get(outcome)
        rows.append(
            {
                "outcome": outcome,
                "ai.did": r.estimate,
                "ai.did %": pct(r.estimate),
                "95% CI %": f"{pct(r.ci[0]):.1f} to {pct(r.ci[1]):.1f}",
                "independent": ref,
                "independent %": pct(ref),
                "published %": published if published is not None else np.nan,
                "ai.did - indep.": r.estimate - ref,
                "ai.did - published": (
                    r.estimate - np.log1p(published / 100) if published is not None else np.nan
                ),
                "treated cells": f"{r.n_treated_obs:,}"
                + ("" if r.n_treated_obs == n_ref else f" vs {n_ref:,}"),
                "pre-trend p": r.pretrend.get("p_value", np.nan),
                "ai.did s": ours_s,
                "indep. s": ref_s,
            }
        )
        studies[outcome] = r
        print(
            f"{outcome}: {ours_s:.1f} s (ai.did, with event study, pre-trend test and "
            f"TWFE), {ref_s:.1f} s (independent point estimate)",
            file=sys.stderr,
        )
    table = pd.DataFrame(rows).set_index("outcome")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(
        "\nlog points: ai.did and independent are mean log(y + 1) differences; % is "
        "100 * (exp(estimate) - 1); published: He et al. (2025), static effects"
    )
    worst = table["ai.did - indep."].abs().max()
    print(
        f"largest |ai.did - independent|: {worst:.2e} log points "
        f"({'within' if worst < 0.01 else 'NOT within'} 0.01)"
    )
    if args.event_study:
        for r in studies.values():
            print(f"\n{r!r}\n{r.event_study.to_string(index=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
