"""Line-level AI attribution recorded by git-ai in git notes.

git-ai (git-ai-project/git-ai) writes one note per commit under ``refs/notes/ai``
(``authorship/3.0.0``): an attestation section (a file path, then indented
``<key> <ranges>`` lines), a ``---`` line, then JSON metadata naming each session's agent.
Keys ``s_<id>::t_<id>`` are AI sessions, bare hex keys legacy AI prompts, ``h_<id>`` known
humans; lines a note does not mention are *unknown*, not human. Older git-ai versions
stored JSON blobs under ``refs/ai/authorship/<commit>``; both are read.

Notes are read in bulk (one ``git notes list``/``for-each-ref`` and one
``git cat-file --batch``), never one process per commit. A commit without a note has no
row here: "no note" is recorded apart from "no AI lines".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aiimpact.git.safety import run_git

NOTES_REF = "refs/notes/ai"
LEGACY_PREFIX = "refs/ai/authorship/"
_AGENT_TOOLS = {
    "claude": "claude-code", "claude-code": "claude-code", "cursor": "cursor",
    "copilot": "copilot", "codex": "codex", "gemini": "gemini", "windsurf": "windsurf",
    "amp": "amp", "cline": "cline", "aider": "aider", "devin": "devin", "jules": "jules",
    "junie": "junie", "zed": "zed", "goose": "goose", "roo": "roo",
}  # fmt: skip
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


@dataclass(frozen=True)
class NoteAttribution:
    """What one commit's note says: AI-written and known-human lines, and the AI tools."""

    ai_lines: int
    human_lines: int
    tools: tuple[str, ...]
    schema: str


def tool_id(name: str) -> str:
    """Canonical tool id for an agent name found in a note (``other`` when unknown)."""
    name = (name or "").strip().lower()
    if name in _AGENT_TOOLS:
        return _AGENT_TOOLS[name]
    for key, tool in _AGENT_TOOLS.items():
        if key in name:
            return tool
    return "other"


def _count_ranges(spec: str) -> int:
    return sum(int(b or a) - int(a) + 1 for a, b in _RANGE.findall(spec))


def parse_note(text: str) -> NoteAttribution:
    """Parse one ``authorship/3.0.0`` note (attestation, ``---``, JSON metadata).

    Examples
    --------
    >>> note = 'a.py\\n  s_0123456789abcd::t_0123456789abcd 1-10,15\\n  h_0123456789abcd 11-14\\n'
    >>> note += '---\\n{"schema_version": "authorship/3.0.0", "sessions": '
    >>> note += '{"s_0123456789abcd": {"agent_id": {"tool": "cursor"}}}}'
    >>> parse_note(note)
    NoteAttribution(ai_lines=11, human_lines=4, tools=('cursor',), schema='authorship/3.0.0')
    """
    attestation, _, meta_text = text.partition("\n---\n")
    try:
        meta = json.loads(meta_text) if meta_text.strip() else {}
    except json.JSONDecodeError:
        meta = {}
    sessions = meta.get("sessions") or {}
    prompts = meta.get("prompts") or {}
    ai = human = 0
    tools: set[str] = set()
    for line in attestation.splitlines():
        if not line.startswith((" ", "\t")) or not line.strip():
            continue  # a file path line
        key, _, ranges = line.strip().partition(" ")
        n = _count_ranges(ranges)
        if key.startswith("h_"):
            human += n
            continue
        ai += n
        entry = sessions.get(key.split("::", 1)[0]) if key.startswith("s_") else prompts.get(key)
        agent = ((entry or {}).get("agent_id") or {}).get("tool", "")
        tools.add(tool_id(agent))
    return NoteAttribution(ai, human, tuple(sorted(tools)), str(meta.get("schema_version", "")))


def parse_legacy(text: str) -> NoteAttribution:
    """Parse an old git-ai JSON blob (``refs/ai/authorship/<commit>``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return NoteAttribution(0, 0, (), "invalid")
    ai, tools = 0, set()
    for entry in (data.get("files") or {}).values():
        for author in (entry or {}).get("authors") or []:
            lines = author.get("lines") or []
            ai += sum(x[1] - x[0] + 1 if isinstance(x, list) and len(x) == 2 else 1 for x in lines)
            tools.add(tool_id(str(author.get("author", ""))))
    return NoteAttribution(ai, 0, tuple(sorted(tools)), str(data.get("schema_version", "")))


def _cat_blobs(git_dir: str, oids: list[str]) -> dict[str, str]:
    if not oids:
        return {}
    out = run_git(git_dir, ["cat-file", "--batch"], input="\n".join(oids).encode() + b"\n")
    blobs, data, pos = {}, out.stdout, 0
    while pos < len(data):
        eol = data.index(b"\n", pos)
        header = data[pos:eol].split()
        pos = eol + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        blobs[header[0].decode()] = data[pos : pos + size].decode("utf-8", "replace")
        pos += size + 1
    return blobs


def read_notes(git_dir: str) -> dict[str, NoteAttribution]:
    """Every commit's git-ai attribution, by commit sha (commits without a note are absent)."""
    listed = run_git(git_dir, ["notes", f"--ref={NOTES_REF}", "list"], check=False)
    pairs = [line.split() for line in listed.stdout.decode().splitlines() if line.strip()]
    legacy = run_git(
        git_dir, ["for-each-ref", "--format=%(objectname) %(refname)", LEGACY_PREFIX]
    ).stdout.decode()
    legacy_pairs = [
        (oid, ref.removeprefix(LEGACY_PREFIX))
        for oid, ref in (line.split(" ", 1) for line in legacy.splitlines() if line.strip())
    ]
    blobs = _cat_blobs(git_dir, [b for b, _ in pairs] + [b for b, _ in legacy_pairs])
    found: dict[str, NoteAttribution] = {}
    for oid, commit in legacy_pairs:
        if oid in blobs:
            found[commit] = parse_legacy(blobs[oid])
    for oid, commit in pairs:  # the current format wins over the legacy one
        if oid in blobs:
            found[commit] = parse_note(blobs[oid])
    return found
