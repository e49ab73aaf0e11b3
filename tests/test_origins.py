"""The line history's per-commit origin table: the mappings it answers, and its columns."""

from collections import Counter

import numpy as np
import pytest

from aiimpact.outcomes.origins import OriginTable, counts_view, where_view


def _table() -> OriginTable:
    t = OriginTable()
    t.add(7, Counter({3: 2, 1: 5}), {3: "src/a.c", 1: "src/b.c"})
    t.add(2, Counter({0: 1}), {})  # an origin with no file recorded
    t.add(4, Counter(), {})  # nothing deleted: not a row
    t.add(9, Counter({7: 4}), {7: "src/a.c"})
    return t


def test_mappings_per_commit():
    t = _table()
    assert list(t) == [7, 2, 9] and len(t) == 3 and 4 not in t
    assert t.counts(7) == Counter({3: 2, 1: 5}) and list(t.counts(7)) == [3, 1]
    assert t.where(7) == {3: "src/a.c", 1: "src/b.c"}
    assert t.where(2) == {} and t.counts(2) == Counter({0: 1})
    assert t.counts(4) == Counter() and t.where(4) == {}
    deleted, where = counts_view(t), where_view(t)
    assert deleted.get(9) == Counter({7: 4}) and deleted.get(4, "none") == "none"
    assert dict(where) == {7: t.where(7), 2: {}, 9: {7: "src/a.c"}}
    with pytest.raises(KeyError):
        deleted[4]


def test_a_commit_is_added_once():
    t = _table()
    with pytest.raises(ValueError, match="already"):
        t.add(7, Counter({1: 1}), {})


def test_columns_round_trip():
    t = _table()
    ci, origin, n, path, paths = t.arrays()
    assert ci.tolist() == [7, 7, 2, 9] and origin.tolist() == [3, 1, 0, 7]
    assert n.tolist() == [2, 5, 1, 4] and [paths[p] if p >= 0 else None for p in path] == [
        "src/a.c", "src/b.c", None, "src/a.c"
    ]  # fmt: skip
    back = OriginTable.from_arrays(ci, origin, n, path, paths)
    assert list(back) == list(t)

    def pairs(table):  # commit by commit, each in its order
        return [(c, [*table.counts(c).items()], [*table.where(c).items()]) for c in table]

    assert pairs(back) == pairs(t)
    assert (
        back.where(9)[7] == "src/a.c"
        and OriginTable.from_arrays(*OriginTable().arrays()).counts(1) == Counter()
    )


def test_rows_of_a_commit_must_be_together():
    with pytest.raises(ValueError, match="together"):
        OriginTable.from_arrays(
            np.array([1, 2, 1]), np.array([0, 0, 0]), np.ones(3), np.full(3, -1), []
        )
