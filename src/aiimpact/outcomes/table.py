"""The commit-level analysis table: every commit with what happened to it afterwards.

A pure function of the mined tables (commits, file changes, reverts, churn, fixes, SZZ
links), so every column can be recomputed and checked on its own. Windows are censored: a
commit younger than a window (relative to the newest commit) gets NA, never 0, and so does a
commit whose ``commit_time`` is NaT (a date pandas cannot hold): its windows cannot be placed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aiimpact import schema
from aiimpact.outcomes.reverts import effective_reverts

HOUR = 3600.0


def _within(days_to_event: pd.Series, window: int, age_h: pd.Series) -> pd.Series:
    """True if the event came within *window* days, False if not; NA for a commit younger
    than the window (or of unknown time), even one that had the event: keeping young
    commits only when they had it would select on the outcome."""
    within = (days_to_event <= window).fillna(False).astype(bool)
    observed = (age_h >= window * 24).fillna(False).astype(bool)
    return pd.Series(pd.array(within, dtype="boolean"), index=days_to_event.index).where(
        observed, pd.NA
    )


def author_experience(commits: pd.DataFrame) -> pd.Series:
    """Commits the same author (by e-mail, case-insensitive) made before this one."""
    order = commits.sort_values(["author_time", "sha"])
    prior = order.groupby(order["author_email"].str.lower()).cumcount()
    return prior.reindex(commits.index).astype("Int64")


def file_ownership(commits: pd.DataFrame, files: pd.DataFrame) -> pd.Series:
    """Mean over the commit's files of the share of earlier commits to that file made by
    the same author (NA for a commit that only touches new files)."""
    if files.empty:
        return pd.Series(pd.NA, index=commits.index, dtype="Float64")
    meta = commits[["sha", "author_email", "author_time"]]
    f = files[["sha", "path"]].merge(meta, on="sha").sort_values(["author_time", "sha"])
    f["author"] = f["author_email"].str.lower()
    before_all = f.groupby("path").cumcount()
    before_mine = f.groupby(["path", "author"]).cumcount()
    f["share"] = (before_mine / before_all.where(before_all > 0)).astype(float)
    share = f.groupby("sha")["share"].mean()
    return commits["sha"].map(share).astype("Float64")


def outcomes_table(
    commits: pd.DataFrame,
    files: pd.DataFrame,
    reverts: pd.DataFrame,
    churn: pd.DataFrame,
    fixes: pd.DataFrame,
    links: pd.DataFrame,
) -> pd.DataFrame:
    """Join commits with their outcomes (see ``Repo.outcomes`` for the columns)."""
    if commits.empty:  # an empty repository: the typed empty table
        return schema.empty(schema.OUTCOMES)
    out = commits.copy(deep=False)  # copy-on-write: the commits table is never changed
    newest = out["commit_time"].max()
    age_h = (newest - out["commit_time"]).dt.total_seconds() / HOUR

    full = effective_reverts(reverts[reverts["kind"].isin(["message", "content"])])
    first_revert = full.groupby("reverted_sha")["time_to_revert"].min()
    out["reverted"] = out["sha"].isin(first_revert.index).astype("boolean")
    out["time_to_revert"] = out["sha"].map(first_revert).astype("Float64")
    partial = reverts[reverts["kind"] == "partial"]
    out["partially_reverted"] = out["sha"].isin(partial["reverted_sha"]).astype("boolean")
    for days in (30, 90):
        out[f"reverted_within_{days}d"] = _within(out["time_to_revert"] / 24, days, age_h)

    cols = [c for c in churn.columns if c.startswith(("churn", "lines_"))]
    aligned = churn.set_index("sha")[cols].reindex(out["sha"].to_numpy())  # no frame copy
    for c in cols:
        out[c] = aligned[c].array
    windowed = [c for c in cols if c.startswith("churn")]
    out.loc[out["commit_time"].isna().to_numpy(), windowed] = pd.NA

    out["is_fix"] = out["sha"].isin(fixes["sha"]).astype("boolean")
    times = out.set_index("sha")["commit_time"]
    times = times[~times.index.duplicated(keep="last")]
    if len(links):
        lk = links.assign(
            fix_time=links["fix_sha"].map(times), inducing_time=links["inducing_sha"].map(times)
        )
        lk["days"] = (lk["fix_time"] - lk["inducing_time"]).dt.total_seconds() / 86400
        per = lk.groupby("inducing_sha").agg(n=("fix_sha", "nunique"), first=("days", "min"))
    else:
        per = pd.DataFrame({"n": pd.Series(dtype=int), "first": pd.Series(dtype=float)})
    out["n_fixes_induced"] = out["sha"].map(per["n"]).fillna(0).astype("Int64")
    out["fix_inducing"] = (out["n_fixes_induced"] > 0).astype("boolean")
    out["days_to_first_fix"] = out["sha"].map(per["first"]).astype("Float64")
    out["fix_inducing_within_90d"] = _within(out["days_to_first_fix"], 90, age_h)

    out["author_experience"] = author_experience(out)
    out["file_ownership"] = file_ownership(out, files)
    out["log_size"] = np.log1p(out["insertions"].astype(float) + out["deletions"].astype(float))
    return schema.conform(out, schema.OUTCOMES)
