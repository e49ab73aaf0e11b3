"""What became of each pull request's code: the outcomes of the commits it landed, per PR.

One row per PR of the data (those of this repository), its review metrics beside its code
outcomes, aggregated over the commits that landed through it (``pr_number`` of
``Repo.outcomes(prs=...)``: merge commit, branch commits, squash commit, rebased copies):

* ``in_history``: some commit of the history landed through it; the code columns of a PR
  that is not found (closed unmerged, or merged elsewhere) are NA, and the row is kept;
* ``landed_commits``; ``lines_added``, ``lines_moved`` and ``lines_alive`` summed over them;
* ``churn_14d``/``30d``/``90d`` summed, NA when any of them is censored (younger than the
  window), and ``churn_rate_*`` = churn / ``lines_added``;
* ``reverted``, ``fix_inducing``: any of them; ``n_fixes_induced`` summed; a PR that a
  merged PR of the data reverts (``reverts_pr``: GitHub's revert, ``Reverts owner/repo#N``;
  for a PR without one, a ``Revert "<title>"`` title naming ``(#N)`` or a PR merged
  before) is ``reverted`` too, and within 30/90 days when that PR was merged so soon after it
  (``reverted_by_pr`` names it);
  ``reverted_within_30d``/``90d`` and ``fix_inducing_within_90d``: true if any is, NA if
  none is and one is censored;
* ``author_prs_before``: the author's PRs in the data opened earlier (experience);
* with ``Repo.outcomes(quality=True)``: ``complexity_delta``, ``nloc_delta``,
  ``lines_copied``, ``functions_changed``, ``test_lines_added`` and
  ``source_lines_added`` summed over the landed commits that have a figure (merges and
  commits that change no file lizard reads have none, and nor do commits with an absent
  blob); NA when none has. So are the DMM deltas (``size_low`` ...
  ``interfacing_high``), and the PR's ``dmm_unit_size``, ``dmm_unit_complexity`` and
  ``dmm_unit_interfacing`` are made from those sums: the DMM of the PR's change as one
  (of its squashed diff, when its commits follow one another), not an average of its
  commits' proportions.
"""

from __future__ import annotations

import re

import pandas as pd

from aiimpact.outcomes.reverts import SQUASH_SUFFIX
from aiimpact.quality.table import PROFILE, PROPERTIES, good_share

_SUMS = ("lines_added", "lines_moved", "lines_alive", "n_fixes_induced")
_CENSORED_SUMS = ("churn_14d", "churn_30d", "churn_90d")
_ANY = ("reverted", "partially_reverted", "fix_inducing")
_ANY_WITHIN = ("reverted_within_30d", "reverted_within_90d", "fix_inducing_within_90d")
_QUALITY_SUMS = (
    "complexity_delta",
    "nloc_delta",
    "lines_copied",
    "functions_changed",
    "test_lines_added",
    "source_lines_added",
    *PROFILE,
)


def pr_outcomes_table(data, outcomes: pd.DataFrame, repo: str) -> pd.DataFrame:
    """The PRs of *repo* in *data* (PR data: ``.prs``) with the code outcomes of the
    commits that landed through each, from *outcomes* (``Repo.outcomes(prs=data)``, which
    has ``pr_number``).

    Examples
    --------
    >>> table = pr_outcomes_table(data, repo.outcomes(prs=data), repo.name)  # doctest: +SKIP
    """
    prs = data.prs[data.prs["repo"] == repo]
    out = prs.drop_duplicates("number").reset_index(drop=True)
    landed = outcomes[outcomes["pr_number"].notna()]
    groups = landed.groupby(landed["pr_number"].astype("int64"))
    numbers = out["number"].astype("int64")
    count = groups.size()
    out["in_history"] = numbers.isin(count.index).to_numpy()
    out["landed_commits"] = numbers.map(count).fillna(0).astype("Int64")
    for column in _SUMS:
        out[column] = _on(numbers, groups[column].sum(min_count=1), "Int64")
    added = out["lines_added"].astype("Float64")
    for column in _CENSORED_SUMS:
        censored = groups[column].apply(lambda s: s.isna().any())
        total = groups[column].sum(min_count=1).where(~censored)
        out[column] = _on(numbers, total, "Int64")
        out[f"churn_rate_{column[6:]}"] = out[column].astype("Float64") / added.where(added > 0)
    for column in _ANY:
        out[column] = _on(numbers, groups[column].apply(lambda s: bool(s.fillna(False).any())))
    for column in _ANY_WITHIN:
        out[column] = _on(numbers, groups[column].apply(_any_within))
    _reverted_by_prs(out)
    for column in (c for c in _QUALITY_SUMS if c in outcomes):
        out[column] = _on(numbers, groups[column].sum(min_count=1), "Int64")
    for p in (p for p in PROPERTIES if f"{p}_low" in outcomes):
        out[f"dmm_unit_{p}"] = good_share(out[f"{p}_low"], out[f"{p}_high"])
    # the author's PRs opened strictly earlier: the lowest rank among ties, less one (a PR
    # with no creation time counts none before it, and is counted before none)
    seconds = (out["created_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()  # NaT: NaN
    rank = seconds.groupby(out["author_login"]).rank(method="min") - 1  # (datetimes: NaT ranks)
    known = out["author_login"].notna()
    out["author_prs_before"] = rank.where(~(known & out["created_at"].isna()), 0).astype("Int64")
    return out


def _reverted_by_prs(out: pd.DataFrame) -> None:
    """``reverted_by_pr``: the first merged PR that reverts each PR (``reverts_pr``:
    GitHub's revert, else a ``Revert "<title>"`` title, :func:`_title_reverts`), which
    makes it ``reverted``, and ``reverted_within_30d``/``90d`` when merged that soon after
    it (a revert is known even where the commits are not found)."""
    if "reverts_pr" not in out:
        return
    if "title" in out:
        out["reverts_pr"] = out["reverts_pr"].astype("Int64").fillna(_title_reverts(out))
    reverts = out[(out["state"] == "merged") & out["reverts_pr"].notna()]
    reverts = reverts.sort_values("merged_at").drop_duplicates("reverts_pr")
    by = reverts.set_index(reverts["reverts_pr"].astype("int64"))
    numbers = out["number"].astype("int64")
    out["reverted_by_pr"] = numbers.map(by["number"]).astype("Int64")
    if by.empty:
        return
    hit = out["reverted_by_pr"].notna().to_numpy()
    out["reverted"] = out["reverted"].astype("boolean").mask(hit, True)
    after = numbers.map(by["merged_at"]) - out["merged_at"]
    for column, days in (("reverted_within_30d", 30), ("reverted_within_90d", 90)):
        soon = (hit & (after <= pd.Timedelta(days=days))).fillna(False).to_numpy(dtype=bool)
        out[column] = out[column].astype("boolean").mask(soon, True)


_REVERT_TITLE = re.compile(r'^Revert "(.+)"$')


def _title_reverts(out: pd.DataFrame) -> pd.Series:
    """The PR each ``Revert "<title>"`` PR without ``reverts_pr`` reverts: *N* when the
    quoted title ends with ``(#N)`` (a squash merge's subject, as ``git revert`` quotes
    it), else the last PR of that title merged before the revert PR was opened (before it
    was merged, when its creation is unknown); NA for the others.

    Examples
    --------
    >>> prs = pd.DataFrame({"number": [1, 2], "title": ["Add x", 'Revert "Add x"'],
    ...     "merged_at": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True),
    ...     "created_at": pd.to_datetime(["2024-12-31", "2025-01-02"], utc=True),
    ...     "reverts_pr": pd.array([None, None], "Int64")})
    >>> _title_reverts(prs).tolist()
    [<NA>, 1]
    """
    found = pd.Series(pd.NA, index=out.index, dtype="Int64")
    titles = out["title"].astype("string")
    quoted = titles.str.extract(_REVERT_TITLE, expand=False)
    merged = out[out["merged_at"].notna()]
    for i in quoted[quoted.notna() & out["reverts_pr"].isna()].index:
        inner = quoted[i]
        number = SQUASH_SUFFIX.search(inner)
        if number:
            found[i] = int(number[1])
            continue
        opened = out.at[i, "created_at"]
        before = opened if pd.notna(opened) else out.at[i, "merged_at"]
        same = merged[(titles[merged.index] == inner) & (merged.index != i)]
        if pd.notna(before):
            same = same[same["merged_at"] < before]
        if len(same):
            found[i] = int(same.sort_values("merged_at")["number"].iloc[-1])
    return found


def _any_within(values: pd.Series) -> object:
    """True if any value is, NA if none is and one is NA (censored), else False."""
    if values.fillna(False).astype(bool).any():
        return True
    return pd.NA if values.isna().any() else False


def _on(numbers: pd.Series, by_pr: pd.Series, dtype: str = "boolean") -> pd.Series:
    """*by_pr* (indexed by PR number) for each of *numbers*: NA for a PR not landed."""
    return numbers.map(by_pr).astype(dtype)
