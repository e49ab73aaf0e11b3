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
import warnings
from collections.abc import Container, Mapping
from dataclasses import dataclass

from aiimpact.errors import MissingObjectsWarning
from aiimpact.git.blobs import iter_blobs
from aiimpact.git.safety import run_git

NOTES_REF = "refs/notes/ai"
LEGACY_PREFIX = "refs/ai/authorship/"
_AGENT_TOOLS = {
    "claude": "claude-code",
    "claude-code": "claude-code",
    "cursor": "cursor",
    "copilot": "copilot",
    "codex": "codex",
    "gemini": "gemini",
    "windsurf": "windsurf",
    "amp": "amp",
    "cline": "cline",
    "aider": "aider",
    "devin": "devin",
    "jules": "jules",
    "junie": "junie",
    "zed": "zed",
    "goose": "goose",
    "roo": "roo",
}
_RANGE = re.compile(rb"(\d+)(?:-(\d+))?")
_AGENT = re.compile(rb'"agent_id"\s*:\s*\{[^{}]*?"tool"\s*:\s*"([^"]*)"')
_OPENING_KEY = re.compile(rb'"([^"]+)"\s*:\s*\{\s*$')
_SCHEMA = re.compile(rb'"schema_version"\s*:\s*"([^"]*)"')


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


def _count_ranges(spec: bytes) -> int:
    return sum(int(b or a) - int(a) + 1 for a, b in _RANGE.findall(spec))


def parse_note(note: bytes | str) -> NoteAttribution:
    r"""Parse one ``authorship/3.0.0`` note (attestation, ``---``, JSON metadata).

    Works on the raw bytes: notes can hold whole agent transcripts, and only the
    attestation and each record's ``agent_id`` are needed.

    Examples
    --------
    >>> note = 'a.py\n  s_0123456789abcd::t_0123456789abcd 1-10,15\n  h_0123456789abcd 11-14\n'
    >>> note += '---\n{"schema_version": "authorship/3.0.0", "sessions": '
    >>> note += '{"s_0123456789abcd": {"agent_id": {"tool": "cursor"}}}}'
    >>> parse_note(note)
    NoteAttribution(ai_lines=11, human_lines=4, tools=('cursor',), schema='authorship/3.0.0')
    """
    data = note.encode() if isinstance(note, str) else note
    if data.startswith(b"---\n"):
        attestation, meta = b"", data[4:]
    else:
        attestation, _, meta = data.partition(b"\n---\n")
    ai = human = 0
    keys: set[str] = set()
    for line in attestation.splitlines():
        if not line.startswith((b" ", b"\t")) or not line.strip():
            continue  # a file path line
        key, _, ranges = line.strip().partition(b" ")
        n = _count_ranges(ranges)
        if key.startswith(b"h_"):
            human += n
        else:
            ai += n
            keys.add(key.split(b"::", 1)[0].decode("ascii", "replace"))
    agents = _agents(meta, keys)
    tools = tuple(sorted({tool_id(agents.get(k, "")) for k in keys}))
    schema = _SCHEMA.search(meta)
    return NoteAttribution(ai, human, tools, schema.group(1).decode() if schema else "")


def _agents(meta: bytes, keys: set[str]) -> dict[str, str]:
    """Agent tool name per session/prompt key. git-ai writes each record's ``agent_id``
    first, so a regular expression finds them without parsing the (often huge) transcripts;
    anything it misses is looked up in the parsed JSON."""
    agents = {}
    for m in _AGENT.finditer(meta):  # a literal-led pattern: fast even over huge text
        key = _OPENING_KEY.search(meta, max(0, m.start() - 200), m.start())
        if key:
            agents[key.group(1).decode("utf-8", "replace")] = m.group(1).decode("utf-8", "replace")
    if keys <= agents.keys():
        return agents
    try:
        parsed = json.loads(meta) if meta.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return agents
    for section in ("sessions", "prompts"):
        for key, record in (parsed.get(section) or {}).items():
            agents.setdefault(key, ((record or {}).get("agent_id") or {}).get("tool", ""))
    return agents


def parse_legacy(blob: bytes | str) -> NoteAttribution:
    """Parse an old git-ai JSON blob (``refs/ai/authorship/<commit>``)."""
    try:
        data = json.loads(blob)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return NoteAttribution(0, 0, (), "invalid")
    ai, tools = 0, set()
    for entry in (data.get("files") or {}).values():
        for author in (entry or {}).get("authors") or []:
            lines = author.get("lines") or []
            ai += sum(x[1] - x[0] + 1 if isinstance(x, list) and len(x) == 2 else 1 for x in lines)
            tools.add(tool_id(str(author.get("author", ""))))
    return NoteAttribution(ai, 0, tuple(sorted(tools)), str(data.get("schema_version", "")))


def _cat_blobs(git_dir: str, oids: list[str]) -> dict[str, bytes]:
    """Read blobs with one streamed ``git cat-file --batch`` (raw bytes, by object id)."""
    return {oid: blob for oid, blob in iter_blobs(git_dir, oids) if blob is not None}


def read_notes(
    git_dir: str,
    known: Mapping[str, NoteAttribution] | None = None,
    commits: Container[str] | None = None,
) -> tuple[dict[str, NoteAttribution], dict[str, NoteAttribution]]:
    """git-ai attributions by commit sha (commits without a note are absent).

    *known* maps note blob ids to attributions parsed before (notes can hold whole agent
    transcripts, hundreds of MB in all; a blob id names its content, so they are parsed
    once). *commits* limits the reading to those commits. Returns the attributions by
    commit and those parsed now, by blob id.
    """
    known = known or {}
    listed = run_git(git_dir, ["notes", f"--ref={NOTES_REF}", "list"])  # 0 without notes too
    entries = [line.split() for line in listed.stdout.decode().splitlines() if line.strip()]
    pairs = [(blob, commit) for blob, commit in entries]
    legacy = run_git(
        git_dir, ["for-each-ref", "--format=%(objectname) %(refname)", LEGACY_PREFIX]
    ).stdout.decode()
    legacy_pairs = [
        (oid, ref.removeprefix(LEGACY_PREFIX))
        for oid, ref in (line.split(" ", 1) for line in legacy.splitlines() if line.strip())
    ]
    if commits is not None:
        pairs = [(b, c) for b, c in pairs if c in commits]
        legacy_pairs = [(b, c) for b, c in legacy_pairs if c in commits]
    wanted = {b for b, _ in pairs} | {b for b, _ in legacy_pairs}
    unread = sorted(wanted - known.keys())
    blobs = _cat_blobs(git_dir, unread)
    if len(blobs) < len(unread):
        warnings.warn(
            f"{len(unread) - len(blobs)} git-ai note(s) in {git_dir} could not be read: their "
            "blobs are absent (a partial clone or an incomplete mirror); those commits' "
            "ai_lines are unknown",
            MissingObjectsWarning,
            stacklevel=3,
        )
    new = {oid: parse_note(text) for oid, text in blobs.items() if oid in dict(pairs)}
    new |= {oid: parse_legacy(blobs[oid]) for oid, _ in legacy_pairs if oid in blobs}
    parsed = {**known, **new}
    found = {commit: parsed[oid] for oid, commit in legacy_pairs if oid in parsed}
    # the current format wins over the legacy one
    found |= {commit: parsed[oid] for oid, commit in pairs if oid in parsed}
    return found, new


def notes_state(git_dir: str) -> str:
    """What the git-ai notes refs point at (one ``git for-each-ref``): equal strings mean
    the notes :func:`read_notes` would read are the same."""
    return run_git(
        git_dir, ["for-each-ref", "--format=%(objectname) %(refname)", NOTES_REF, LEGACY_PREFIX]
    ).stdout.decode()
