"""Precision and recall of the detector on a hand-labelled corpus of realistic commits.

``tests/data/ai_corpus.jsonl`` was labelled from the research notes alone, without looking
at the detector or its signatures: positives from every tool and signal, negatives from
every known trap. The test prints the figures and requires both to be at least 0.99.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiimpact as ai

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "ai_corpus.jsonl").read_text().splitlines()
    if line.strip()
]


def _run():
    det = ai.Detector()
    return [
        (
            c,
            det.detect(
                c["message"],
                c["author_name"],
                c["author_email"],
                c["committer_name"],
                c["committer_email"],
            ),
        )
        for c in CORPUS
    ]


def _pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def test_corpus_precision_and_recall(capsys):
    results = _run()
    assert len(results) >= 300
    tp = sum(bool(c["tools"]) and a.ai_assisted for c, a in results)
    fp = sum(not c["tools"] and a.ai_assisted for c, a in results)
    fn = sum(bool(c["tools"]) and not a.ai_assisted for c, a in results)
    precision, recall = _pr(tp, fp, fn)
    pairs = [(set(c["tools"]), set(a.tools)) for c, a in results]
    t_tp = sum(len(want & got) for want, got in pairs)
    t_fp = sum(len(got - want) for want, got in pairs)
    t_fn = sum(len(want - got) for want, got in pairs)
    t_precision, t_recall = _pr(t_tp, t_fp, t_fn)
    modes_right = sum(set(c["modes"]) == set(a.modes) for c, a in results if c["tools"])
    wrong = [
        (c["id"], c["tools"], list(a.tools)) for c, a in results if set(c["tools"]) != set(a.tools)
    ]
    with capsys.disabled():
        print(
            f"\nAI corpus: {len(results)} commits ({tp + fn} AI-assisted). "
            f"commit level: precision {precision:.3f}, recall {recall:.3f}; "
            f"tool level: precision {t_precision:.3f}, recall {t_recall:.3f}; "
            f"modes exact on {modes_right}/{tp + fn} positives; "
            f"disagreements {wrong}"
        )
    assert precision >= 0.99 and recall >= 0.99, wrong
    assert t_precision >= 0.99 and t_recall >= 0.99, wrong


def test_corpus_carried_marks_name_the_original():
    for c, a in _run():
        if c.get("carried"):
            assert a.carried == c["carried"], c["id"]
            assert c["original"].startswith(a.carried_from), c["id"]
