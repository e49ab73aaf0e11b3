"""Recall of message-declared reverts on real history.

    python benchmarks/reverts_recall.py REPO

Every commit whose message says ``This reverts commit <sha>`` with a target that is a
commit of the history must be found by ``repo.reverts()`` as a ``message`` revert of that
target. Prints the count, the recall, and any miss.
"""

from __future__ import annotations

import re
import sys
import tempfile

import aiimpact as ai

_LINE = re.compile(r"This reverts commits? ([0-9a-f]{7,40})")


def main() -> None:
    path = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        repo = ai.Repo(path, cache_dir=tmp, progress=True)
        commits = repo.commits()
        shas = sorted(commits["sha"])
        expected = set()
        for sha, message in zip(commits["sha"], commits["message"], strict=True):
            for target in _LINE.findall(message):
                hits = [s for s in shas if s.startswith(target)]
                if len(hits) == 1 and hits[0] != sha:
                    expected.add((sha, hits[0]))
        found = repo.reverts()
        got = set(zip(found.revert_sha, found.reverted_sha, strict=True))
        got_message = set(
            zip(
                found[found.kind == "message"].revert_sha,
                found[found.kind == "message"].reverted_sha,
                strict=True,
            )
        )
        missed = expected - got_message
        print(
            f"{repo.name}: {len(commits):,} commits; {len(expected)} declared reverts whose "
            f"target is in the history; found {len(expected - missed)} "
            f"(recall {1 - len(missed) / max(len(expected), 1):.3f}); "
            f"all reverts found: {found.kind.value_counts().to_dict()}; "
            f"unresolved targets: {repo.last_report.unresolved_reverts}"
        )
        for pair in sorted(missed)[:10]:
            print("  missed", pair)
        assert got >= got_message


if __name__ == "__main__":
    main()
