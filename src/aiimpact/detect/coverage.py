"""How the AI share was decided: signal coverage, and git-ai notes merged into the tags."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from aiimpact.detect.detector import Detector, default_detector
from aiimpact.git.notes import NoteAttribution

CAVEAT = (
    "AI assistance is detected from the marks tools leave. Tools can be configured to leave "
    "none and hooks can strip them, so the absence of a mark is not evidence of human "
    "authorship: every AI share is a lower bound."
)


def coverage(
    commits: pd.DataFrame, detector: Detector | None = None, *, all_signatures: bool = False
) -> pd.DataFrame:
    """How many commits each signature matched, with the signature's tool, kind and mode.

    Parameters
    ----------
    commits : pandas.DataFrame
        A commits table with an ``ai_signals`` column.
    detector : Detector, optional
        Whose signatures to list (default: the built-in ones).
    all_signatures : bool, default False
        Also list signatures that matched nothing.

    Returns
    -------
    pandas.DataFrame
        One row per signature: ``id, tool, kind, mode, confidence, evidence, commits,
        share`` (of all commits in the table), most matched first.

    Examples
    --------
    >>> ai.coverage(repo.commits())[["id", "commits"]]  # doctest: +SKIP
    """
    table = (detector or default_detector()).table().drop(columns="source")
    counts = commits["ai_signals"].explode().dropna().value_counts()
    table["commits"] = table["id"].map(counts).fillna(0).astype(int)
    table["share"] = table["commits"] / max(len(commits), 1)
    if not all_signatures:
        table = table[table["commits"] > 0]
    return table.sort_values(["commits", "id"], ascending=[False, True]).reset_index(drop=True)


def apply_notes(
    commits: pd.DataFrame, notes: Mapping[str, NoteAttribution], detector: Detector
) -> int:
    """Fill ``ai_lines`` from git-ai notes and add their tools to the tags; return notes used.

    ``ai_lines`` is NA for a commit without a note (unknown), and the note's count otherwise
    (0 = the note records no AI line). A note with AI lines makes the commit AI-assisted,
    unless the note signature is disabled in *detector*.
    """
    shas = commits["sha"].tolist()  # a list: iterating the Arrow-backed column is slow
    noted = [notes.get(s) for s in shas] if notes else [None] * len(shas)
    commits["ai_lines"] = pd.array(
        [None if n is None else n.ai_lines for n in noted], dtype="Int64"
    )
    used = len(shas) - noted.count(None)
    sig = next((s for s in detector.signatures if s.kind == "note"), None)
    rows = [(i, n) for i, n in enumerate(noted) if n is not None and n.ai_lines > 0]
    if sig is None or not rows:
        return used
    cols = {c: list(commits[c]) for c in ("ai_tools", "ai_modes", "ai_evidence", "ai_signals")}
    assisted = commits["ai_assisted"].to_numpy(copy=True)
    for i, note in rows:
        assisted[i] = True
        for col, extra in (
            ("ai_tools", note.tools),
            ("ai_modes", (sig.mode,)),
            ("ai_evidence", (sig.evidence,)),
            ("ai_signals", (sig.id,)),
        ):
            cols[col][i] = sorted({*cols[col][i], *extra})
    commits["ai_assisted"] = pd.array(assisted, dtype="boolean")
    for col, values in cols.items():
        commits[col] = values
    return used
