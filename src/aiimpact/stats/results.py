"""Results of ``compare`` and ``compare_many``: figures, tables, plots and notebook views."""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, SupportsFloat

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from aiimpact.stats.fitting import of_t

if TYPE_CHECKING:
    from matplotlib.axes import Axes

GROUPS = ("treated", "control")


def group_summary(data: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Raw (unadjusted) figures per group with 95% CIs.

    Binary: share with the outcome (Wilson interval). Durations: Kaplan-Meier median with
    its interval (censoring-aware). Counts and continuous values: mean (t interval) and
    median. A group without rows has no row.
    """
    rows = []
    for group, flag in zip(GROUPS, (1, 0), strict=True):
        g = data[data["t"] == flag]
        if g.empty:
            continue
        row: dict[str, Any] = {"group": group, "n": len(g)}
        if kind == "logit":
            k = int(g["y"].sum())
            low, high = proportion_confint(k, len(g), method="wilson")
            # exactly 0 (1) with no events (all events), not rounding noise such as 1.7e-18
            low, high = (0.0 if k == 0 else low), (1.0 if k == len(g) else high)
            row |= {
                "events": k,
                "statistic": "share",
                "value": k / len(g),
                "low": low,
                "high": high,
            }
        elif kind == "cox":
            row["events"] = int(g["event"].sum())
            km = sm.SurvfuncRight(g["dur"].to_numpy(), g["event"].to_numpy())
            median = float(km.quantile(0.5))  # NaN: fewer than half had the event
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    low, high = km.quantile_ci(0.5)
                except (ValueError, IndexError, ZeroDivisionError):
                    low, high = np.nan, np.nan
            row |= {
                "statistic": "median (Kaplan-Meier)",
                "value": median,
                "low": float(low),
                "high": float(high),
            }
        else:
            y = g["y"].to_numpy(dtype=float)
            sem = sps.sem(y) if len(y) > 1 else np.nan
            half = sem * sps.t.ppf(0.975, len(y) - 1) if len(y) > 1 else np.nan
            row |= {
                "statistic": "mean",
                "value": y.mean(),
                "low": y.mean() - half,
                "high": y.mean() + half,
                "median": float(np.median(y)),
            }
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(repr=False)
class Comparison:
    """The adjusted comparison of one outcome between treated and other rows.

    Attributes
    ----------
    estimate : float
        The effect on ``scale`` (odds, rate or hazard ratio, ratio of geometric means, or
        a difference in means for OLS).
    ci : tuple of float
        Its 95% confidence interval.
    p_value : float
        Of ``test`` (named in words, e.g. a Wald z-test with cluster-robust errors).
    n : dict
        Rows per group (``treated``, ``control``); ``events`` likewise for binary and
        duration outcomes.
    groups : DataFrame
        Raw figures per group with CIs (see :func:`group_summary`).
    model : statsmodels results
        The fitted model (``.summary()`` for every coefficient).
    warnings, notes : list of str
        Caveats in words (also emitted as warnings) and facts about the fit.
    balance : DataFrame or None
        Standardised mean differences before/after weighting (``weights=`` only).
    """

    outcome: str
    treatment: str
    kind: str
    scale: str
    estimate: float
    ci: tuple[float, float]
    p_value: float
    test: str
    n: dict[str, int]
    events: dict[str, int] | None
    groups: pd.DataFrame
    model: Any
    formula: str
    controls: tuple[str, ...]
    cluster: str | None
    n_clusters: int | None
    weights: str | None
    balance: pd.DataFrame | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dropped: int = 0
    coef: float = np.nan
    se: float = np.nan
    _fitter: Any = None
    _data: pd.DataFrame | None = None

    @classmethod
    def build(
        cls, *, fitter: Any, data: pd.DataFrame, res: Any, coef: float, se: float, **kw: Any
    ) -> Comparison:
        low, high = (float(v) for v in of_t(res, "conf_int"))
        ratio = kw["kind"] != "ols"
        if ratio:
            estimate, ci = float(np.exp(coef)), (float(np.exp(low)), float(np.exp(high)))
        else:
            estimate, ci = coef, (low, high)
        return cls(
            estimate=estimate,
            ci=ci,
            p_value=float(of_t(res, "pvalues")),
            test=_test_name(kw["kind"], res, kw["cluster"], kw["n_clusters"], kw["weights"]),
            model=res,
            formula=fitter.formula,
            coef=coef,
            se=se,
            _fitter=fitter,
            _data=data,
            **kw,
        )

    @property
    def is_ratio(self) -> bool:
        return self.kind != "ols"

    def table(self) -> pd.DataFrame:
        """One tidy row: outcome, model, scale, estimate, CI, p-value, test, group sizes."""
        row = {
            "outcome": self.outcome,
            "model": self.kind,
            "scale": self.scale,
            "estimate": self.estimate,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "p_value": self.p_value,
            "test": self.test,
            "n_treated": self.n["treated"],
            "n_control": self.n["control"],
            "events_treated": (self.events or {}).get("treated"),
            "events_control": (self.events or {}).get("control"),
            "controls": ", ".join(self.controls),
            "cluster": self.cluster,
            "weights": self.weights,
            "warnings": len(self.warnings),
        }
        return pd.DataFrame([row])

    def sensitivity(
        self,
        unlabeled_share: Sequence[float] = (0.0, 0.1, 0.2, 0.4),
        draws: int = 20,
        burn_in: int = 5,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Re-estimate assuming a share of the "unassisted" rows were in fact AI-assisted.

        See :func:`aiimpact.stats.sensitivity.misclassification`.

        Examples
        --------
        >>> r.sensitivity([0, 0.1, 0.2, 0.4])  # doctest: +SKIP
        """
        from aiimpact.stats.sensitivity import misclassification

        return misclassification(self, unlabeled_share, draws=draws, burn_in=burn_in, seed=seed)

    def describe(self) -> str:
        """One sentence with the effect, its interval and the test."""
        ci = f"{fmt(self.ci[0])} to {fmt(self.ci[1])}"
        return (
            f"{self.outcome}: {self.scale} {fmt(self.estimate)} (95% CI {ci}), "
            f"p {p_text(self.p_value)} ({self.test}); n = {self.n['treated']} treated, "
            f"{self.n['control']} other"
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """A one-row forest plot (matplotlib Axes)."""
        return forest([self], ax=ax)

    def __repr__(self) -> str:
        lines = [
            f"Comparison of {self.outcome!r} by {self.treatment!r} ({self.kind}: {self.formula})",
            "  " + self.describe(),
        ]
        for _, g in self.groups.iterrows():
            events = f", {g['events']} events" if "events" in g and pd.notna(g["events"]) else ""
            lines.append(
                f"  {g['group']:>8}: n = {g['n']}{events}; {g['statistic']} {fmt(g['value'])} "
                f"[{fmt(g['low'])}, {fmt(g['high'])}]"
            )
        lines += [f"  note: {m}" for m in self.notes]
        lines += [f"  warning: {m}" for m in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        items = "".join(f"<li>{e(m)}</li>" for m in self.warnings)
        notes = "".join(f"<li>{e(m)}</li>" for m in self.notes)
        return (
            f"<div><b>{e(self.outcome)}</b> by <code>{e(self.treatment)}</code> "
            f"({e(self.kind)}: <code>{e(self.formula)}</code>)<br>{e(self.describe())}"
            f"{self.groups.to_html(index=False, float_format=fmt)}"
            + (f"<p>Notes</p><ul>{notes}</ul>" if notes else "")
            + (f"<p>Warnings</p><ul>{items}</ul>" if items else "")
            + "</div>"
        )


@dataclass(repr=False)
class ComparisonSet:
    """Several outcomes compared on the same table (``compare_many``)."""

    results: list[Comparison]
    failed: dict[str, str] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per outcome, with Holm-adjusted p-values and Benjamini-Hochberg q-values."""
        if not self.results:
            return pd.DataFrame()
        out = pd.concat([r.table() for r in self.results], ignore_index=True)
        out["p_holm"] = multipletests(out["p_value"], method="holm")[1]
        out["q_bh"] = multipletests(out["p_value"], method="fdr_bh")[1]
        return out

    @property
    def multiple_comparisons_note(self) -> str:
        k = len(self.results)
        return (
            f"{k} outcomes were tested; at 5% each, about {0.05 * k:.1f} would look "
            "significant by chance alone if nothing differed. p_holm controls the chance of "
            "any false positive; q_bh the expected share of false positives among them."
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """One forest plot across outcomes (ratio scales on a log axis)."""
        return forest(self.results, ax=ax)

    def __repr__(self) -> str:
        lines = [r.describe() for r in self.results]
        lines += [f"failed: {k}: {v}" for k, v in self.failed.items()]
        return "\n".join([*lines, self.multiple_comparisons_note])

    def _repr_html_(self) -> str:
        table = self.table()
        body = table.to_html(index=False, float_format=fmt) if len(table) else ""
        return f"<div>{body}<p>{html.escape(self.multiple_comparisons_note)}</p></div>"


def forest(results: list[Comparison], ax: Axes | None = None) -> Axes:
    """Forest plot: one row per comparison, ratios on a log axis with a line at 1."""
    import matplotlib.pyplot as plt

    ratios = [r for r in results if r.is_ratio]
    other = [r for r in results if not r.is_ratio]
    shown = ratios or other
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(shown)))
    ys = np.arange(len(shown))[::-1]
    for y, r in zip(ys, shown, strict=True):
        ax.plot(r.ci, [y, y], color="#444", lw=1.5)
        ax.plot([r.estimate], [y], "s", color="#1f77b4" if r.p_value >= 0.05 else "#d62728")
    ax.set_yticks(ys, [f"{r.outcome}\n({r.scale})" for r in shown], fontsize=8)
    ax.axvline(1.0 if ratios else 0.0, color="#999", ls="--", lw=1)
    if ratios:
        from matplotlib.ticker import FormatStrFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel("ratio, treated vs other (95% CI; log scale)")
    else:
        ax.set_xlabel("difference, treated vs other (95% CI)")
    if ratios and other:
        ax.set_title(f"{len(other)} difference-scale outcome(s) not shown", fontsize=8)
    return ax


def _test_name(
    kind: str, res: Any, cluster: str | None, n_clusters: int | None, weights: str | None
) -> str:
    stat = "t-test" if getattr(res, "use_t", False) else "Wald z-test"
    what = "Cox coefficient" if kind == "cox" else "treatment coefficient"
    if cluster:
        errors = f"errors clustered by {cluster} ({n_clusters} clusters)"
    elif weights:
        errors = "heteroskedasticity-robust errors (HC0)"
    else:
        errors = "model-based errors"
    if weights:
        errors += f", {weights} weights"
    return f"{stat} of the {what}, {errors}"


def fmt(x: SupportsFloat | None) -> str:
    """A number for people: 3 significant digits, thousands separated, NA for missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "NA"
    x = float(x)
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def p_text(p: float) -> str:
    """A p-value for people: ``= 0.042`` or ``< 0.001``."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
