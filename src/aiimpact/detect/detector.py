"""Tag commits (and pull requests) with the AI tools that left a mark on them.

Signatures are data (``signatures.toml`` beside this file; the header there documents every
field). A :class:`Detector` compiles them once and applies them to a commit's message,
author and committer:

* trailers are read **anywhere** in the message (squash merges put them above and below
  GitHub's ``---------`` line), keys compared case-insensitively; lines quoted with ``>``
  are neither trailers nor footers; file contents are never read;
* identities are matched on the e-mail first: exact addresses, or a GitHub account's
  ``<id>+<login>@users.noreply.github.com`` pair (never the no-reply domain alone); names
  only where a tool marks the name itself (aider's ``(aider)`` author suffix);
* generic policy trailers (``Assisted-by:`` ...) count as ``other`` only when no
  tool-specific signature read the same line;
* a revert or cherry-pick whose marks all come from its message (the original change's
  trailers, copied by git) is tagged, with ``carried`` and ``carried_from`` naming the
  original, so outcome analyses can attribute to the original instead;
* the absence of a mark is not evidence of human authorship: tools can be configured to
  leave none, so every AI share computed from these tags is a lower bound.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from aiimpact import schema

TOOLS = (
    "claude-code",
    "copilot",
    "cursor",
    "aider",
    "codex",
    "devin",
    "jules",
    "gemini",
    "amazon-q",
    "openhands",
    "windsurf",
    "cline",
    "roo",
    "amp",
    "goose",
    "junie",
    "zed",
    "tabnine",
    "sweep",
    "other",
)
MODES = ("agent", "co-author", "suggestion", "declared")
COMMIT_KINDS = ("trailer", "footer", "subject", "author", "committer")
PR_KINDS = ("pr_author", "branch", "pr_body")
KINDS = (*COMMIT_KINDS, "note", *PR_KINDS)
PATTERN_KINDS = ("footer", "subject", "branch", "pr_body")  # matched by their pattern alone
IDENTITY_FIELDS = ("message", "author_name", "author_email", "committer_name", "committer_email")
_ATTRIBUTE = {  # the Attribution attribute behind each of the schema's ai_* columns
    "ai_assisted": "ai_assisted",
    "ai_tools": "tools",
    "ai_modes": "modes",
    "ai_evidence": "evidence",
    "ai_signals": "signatures",
    "ai_carried_from": "carried_from",
}

_TRAILER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)
_EMAIL_IN_VALUE = re.compile(r"<([^<>]*)>\s*$")
_GITHUB_NOREPLY = re.compile(r"^(\d+)\+([^@\s]+)@users\.noreply\.github\.com$")
_REVERT = re.compile(r"^This reverts commit ([0-9a-f]{7,64})\b", re.M)
_CHERRY = re.compile(r"^\(cherry picked from commit ([0-9a-f]{7,64})\)", re.M)
_FIELDS = {
    "id",
    "tool",
    "kind",
    "mode",
    "confidence",
    "key",
    "email",
    "email_regex",
    "name_regex",
    "github_bot",
    "pattern",
    "login_regex",
    "fallback",
    "evidence",
    "source",
    "ref",
    "example",
    "near_miss",
    "value_tools",
}
_FENCED = re.compile(r"^[ \t]*```.*?^[ \t]*```[^\n]*$", re.M | re.S)


@dataclass(frozen=True)
class Attribution:
    """What the detector found on one commit (or pull request).

    Attributes
    ----------
    ai_assisted : bool
        True when at least one signature fired.
    tools, modes, evidence, signatures : tuple of str
        Canonical tool ids; modes (agent, co-author, suggestion, declared); the labels of
        the signals that fired (e.g. ``trailer:co-authored-by``); the ids of the signatures
        that fired. Each sorted and unique.
    carried : str or None
        ``"revert"`` or ``"cherry-pick"`` when every mark was copied from the original
        change's message by git; ``carried_from`` is then the original's sha as written.
    """

    ai_assisted: bool
    tools: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    carried: str | None = None
    carried_from: str | None = None


@dataclass(frozen=True)
class Signature:
    """One compiled signature (see ``signatures.toml`` for the meaning of each field)."""

    id: str
    tool: str
    kind: str
    mode: str
    confidence: str
    evidence: str
    source: str
    keys: frozenset[str] = frozenset()
    email: str | None = None
    email_re: re.Pattern | None = None
    name_re: re.Pattern | None = None
    bot_id: int | None = None
    bot_logins: frozenset[str] = frozenset()
    pattern: re.Pattern | None = None
    login_re: re.Pattern | None = None
    fallback: bool = False
    value_tools: str | None = None

    @property
    def regex(self) -> re.Pattern:
        """The pattern of a signature that has one (every kind in :data:`PATTERN_KINDS`)."""
        if self.pattern is None:
            raise ValueError(f"signature {self.id!r} has no pattern")
        return self.pattern

    @property
    def has_identity(self) -> bool:
        return bool(self.email or self.email_re or self.name_re or self.bot_logins)

    def identity_matches(self, name: str, email: str) -> bool:
        """Match a stripped name and a stripped, lower-cased e-mail."""
        if self.email is not None and email != self.email:
            return False
        if self.email_re is not None and not self.email_re.search(email):
            return False
        if self.name_re is not None and not self.name_re.search(name):
            return False
        if self.bot_logins:
            m = _GITHUB_NOREPLY.match(email)
            if not m or m.group(2) not in self.bot_logins:
                return False
            if self.bot_id is not None and int(m.group(1)) != self.bot_id:
                return False
        return True


def _compile(entry: Mapping) -> Signature:
    sid = entry.get("id", "?")
    missing = {"id", "tool", "kind", "mode"} - entry.keys()
    if missing:
        raise ValueError(f"signature {sid!r} lacks {', '.join(sorted(missing))}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"signature {sid!r} has unknown field(s) {', '.join(sorted(unknown))}")
    for name, allowed in (("kind", KINDS), ("mode", MODES), ("tool", TOOLS)):
        if entry[name] not in allowed:
            raise ValueError(
                f"signature {sid!r}: {name} {entry[name]!r} is not one of {', '.join(allowed)}"
            )
    confidence = entry.get("confidence", "explicit")
    if confidence not in ("explicit", "heuristic"):
        raise ValueError(f"signature {sid!r}: confidence must be explicit or heuristic")

    def rx(name: str) -> re.Pattern | None:
        value = entry.get(name)
        if value is None:
            return None
        try:
            return re.compile(value, re.I)
        except re.error as exc:
            raise ValueError(f"signature {sid!r}: bad {name} {value!r}: {exc}") from None

    keys = entry.get("key", ())
    keys = frozenset(k.lower() for k in ([keys] if isinstance(keys, str) else keys))
    if entry["kind"] == "trailer" and not keys:
        raise ValueError(f"signature {sid!r}: a trailer signature needs a key")
    if entry["kind"] in PATTERN_KINDS and entry.get("pattern") is None:
        raise ValueError(f"signature {sid!r}: a {entry['kind']} signature needs a pattern")
    bot = entry.get("github_bot") or {}
    first_key = sorted(keys)[0] if keys else "match"
    return Signature(
        id=sid,
        tool=entry["tool"],
        kind=entry["kind"],
        mode=entry["mode"],
        confidence=confidence,
        evidence=entry.get("evidence") or _default_evidence(entry["kind"], first_key, entry),
        source=entry.get("source", ""),
        keys=keys,
        email=entry["email"].lower() if entry.get("email") else None,
        email_re=rx("email_regex"),
        name_re=rx("name_regex"),
        bot_id=bot.get("id"),
        bot_logins=frozenset(login.lower() for login in bot.get("logins", ())),
        pattern=rx("pattern"),
        login_re=rx("login_regex"),
        fallback=bool(entry.get("fallback", False)),
        value_tools=_value_tools(sid, entry.get("value_tools")),
    )


def _value_tools(sid: str, value) -> str | None:
    if value not in (None, "replace", "add"):
        raise ValueError(f"signature {sid!r}: value_tools must be 'replace' or 'add'")
    return value


def _default_evidence(kind: str, key: str, entry: Mapping) -> str:
    if kind == "trailer":
        return f"trailer:{key}"
    if kind in ("author", "committer", "pr_author"):
        return (
            f"{kind}:bot"
            if entry.get("github_bot")
            else (
                f"{kind}:email"
                if entry.get("email") or entry.get("email_regex")
                else f"{kind}:name"
            )
        )
    return {
        "subject": "subject:prefix",
        "branch": "branch:prefix",
        "pr_body": "pr_body:marker",
        "footer": "footer:marker",
        "note": "note:git-ai",
    }[kind]


def load_signatures(path: str | Path | None = None) -> list[dict]:
    """Read signature entries from a TOML file (default: the built-in ``signatures.toml``)."""
    if path is None:
        text = resources.files("aiimpact.detect").joinpath("signatures.toml").read_text()
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ValueError(f"cannot read signatures file {path}: {exc.strerror}") from None
    try:
        return list(tomllib.loads(text).get("signature", []))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"signatures file {path or 'built-in'} is not valid TOML: {exc}") from None


def load_tool_names(path: str | Path | None = None) -> dict[str, str]:
    """The ``[tool_names]`` table: how each tool is named in free text (regular expressions)."""
    text = (
        resources.files("aiimpact.detect").joinpath("signatures.toml").read_text()
        if path is None
        else Path(path).read_text()
    )
    names = dict(tomllib.loads(text).get("tool_names", {}))
    unknown = set(names) - set(TOOLS)
    if unknown:
        raise ValueError(f"tool_names has unknown tool id(s): {', '.join(sorted(unknown))}")
    return names


class _IdentityIndex:
    """Identity signatures of one kind, indexed so that most identities cost one lookup."""

    def __init__(self, sigs: list[Signature]) -> None:
        self.exact: dict[str, list[Signature]] = {}
        self.bots: dict[str, list[Signature]] = {}
        self.patterned: list[Signature] = []
        for s in sigs:
            if s.email is not None and not (s.email_re or s.name_re or s.bot_logins):
                self.exact.setdefault(s.email, []).append(s)
            elif s.bot_logins and not (s.email or s.email_re or s.name_re):
                for login in s.bot_logins:
                    self.bots.setdefault(login, []).append(s)
            else:
                self.patterned.append(s)
        emails = [s.email_re.pattern for s in self.patterned if s.email_re is not None]
        names = [s.name_re.pattern for s in self.patterned if s.name_re is not None]
        self._email_hint = re.compile("|".join(f"(?:{p})" for p in emails) or "(?!)", re.I)
        self._name_hint = re.compile("|".join(f"(?:{p})" for p in names) or "(?!)", re.I)

    def match(self, name: str, email: str) -> list[Signature]:
        email = email.strip().lower()
        found = list(self.exact.get(email, ()))
        if self.bots and "@users.noreply.github.com" in email:
            m = _GITHUB_NOREPLY.match(email)
            login = m.group(2) if m else ""
            found += [s for s in self.bots.get(login, ()) if s.identity_matches(name, email)]
        if self.patterned and (self._email_hint.search(email) or self._name_hint.search(name)):
            name = name.strip()
            found += [s for s in self.patterned if s.identity_matches(name, email)]
        return found


class Detector:
    """Apply AI-assistance signatures to commits and pull requests.

    Parameters
    ----------
    extra : iterable of dict, str or Path, optional
        More signatures: dicts shaped like the entries of ``signatures.toml``, or paths of
        TOML files holding ``[[signature]]`` tables. An extra entry whose id equals a
        built-in one replaces it.
    disable : iterable of str
        Ids of signatures to switch off.

    Examples
    --------
    >>> det = Detector()
    >>> det.detect("Fix parser\\n\\nCo-authored-by: Cursor <cursoragent@cursor.com>").tools
    ('cursor',)
    >>> Detector(disable=["cursor/co-author"]).detect(
    ...     "Fix parser\\n\\nCo-authored-by: Cursor <cursoragent@cursor.com>").ai_assisted
    False
    """

    def __init__(self, extra: Iterable[Mapping | str | Path] | None = None, disable=()) -> None:
        entries = {e["id"]: e for e in load_signatures() if "id" in e}
        for item in extra or ():
            added = [dict(item)] if isinstance(item, Mapping) else load_signatures(item)
            for e in added:
                if "id" not in e:
                    raise ValueError(f"a signature has no id: {e}")
                entries[e["id"]] = e
        disabled = set(disable)
        unknown = disabled - entries.keys()
        if unknown:
            raise ValueError(f"cannot disable unknown signature(s): {', '.join(sorted(unknown))}")
        used = [e for sid, e in entries.items() if sid not in disabled]
        self.signatures = [_compile(e) for e in used]
        #: identifies the signature set; cached tags are reused only under the same one
        self.fingerprint = hashlib.sha256(
            json.dumps(used, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        by_kind = {k: [s for s in self.signatures if s.kind == k] for k in KINDS}
        self._trailer = by_kind["trailer"]
        self._footer = by_kind["footer"]
        self._subject = by_kind["subject"]
        self._identity = {k: _IdentityIndex(by_kind[k]) for k in ("author", "committer")}
        self._pr = {k: by_kind[k] for k in PR_KINDS}
        self._trailer_keys = {k for s in self._trailer for k in s.keys}
        names = load_tool_names()
        for item in extra or ():
            if not isinstance(item, Mapping):
                names |= load_tool_names(item)
        self._tool_names = re.compile(
            "|".join(f"(?P<{t.replace('-', '_')}>{rx})" for t, rx in names.items()) or "(?!)",
            re.I,
        )
        # Cheap pre-checks: most commits carry no mark, and skip the per-signal loops.
        keys = "|".join(sorted(re.escape(k) for k in self._trailer_keys)) or "(?!)"
        self._any_trailer = re.compile(rf"^(?:{keys})[ \t]*:", re.I | re.M)
        footers = "|".join(f"(?:{s.regex.pattern})" for s in self._footer) or "(?!)"
        self._any_footer = re.compile(footers, re.I | re.M)

    def table(self) -> pd.DataFrame:
        """The signatures in use: id, tool, kind, mode, confidence, evidence, source."""
        cols = ["id", "tool", "kind", "mode", "confidence", "evidence", "source"]
        return pd.DataFrame([[getattr(s, c) for c in cols] for s in self.signatures], columns=cols)

    # -- commits -------------------------------------------------------------------------
    def detect(
        self,
        message: str,
        author_name: str = "",
        author_email: str = "",
        committer_name: str = "",
        committer_email: str = "",
    ) -> Attribution:
        """Find the AI signals on one commit; see :func:`aiimpact.detect`."""
        in_message = self._from_message(message)
        by_author = self._identity["author"].match(author_name, author_email)
        by_committer = self._identity["committer"].match(committer_name, committer_email)
        if not (in_message or by_author or by_committer):
            return _NOTHING
        fired = in_message + [(s, (s.tool,)) for s in by_author + by_committer]
        # Marks copied from the original change are "carried": a revert's message can repeat
        # the original's trailers, and a cherry-pick keeps the original message and author;
        # an AI identity as the revert's author, or as the cherry-pick's committer, is its own.
        kind, original = _carried(message)
        own = by_committer if kind == "cherry-pick" else by_author + by_committer
        if kind is None or own or not (in_message or by_author):
            kind = original = None
        return _attribution(fired, kind, original)

    def _from_message(self, message: str) -> list[tuple[Signature, tuple[str, ...]]]:
        fired: list[tuple[Signature, tuple[str, ...]]] = []
        scan = _FENCED.sub("", message) if "```" in message else message
        if self._any_trailer.search(scan):
            for key, value in _TRAILER_LINE.findall(scan):
                key = key.lower()
                if key in self._trailer_keys:
                    fired += self._trailer_line(key, value)
        if self._any_footer.search(scan):
            for line in scan.splitlines():
                if not line.lstrip().startswith(">"):
                    fired += [(s, (s.tool,)) for s in self._footer if s.regex.search(line.strip())]
        if self._subject:
            subject = message.lstrip("\n").split("\n", 1)[0]
            fired += [(s, (s.tool,)) for s in self._subject if s.regex.search(subject)]
        return fired

    def _trailer_line(self, key: str, value: str) -> list[tuple[Signature, tuple[str, ...]]]:
        m = _EMAIL_IN_VALUE.search(value)
        email = m.group(1).strip().lower() if m else ""
        name = (value[: m.start()] if m else value).strip()
        hits: list[tuple[Signature, tuple[str, ...]]] = []
        fallbacks: list[tuple[Signature, tuple[str, ...]]] = []
        for s in self._trailer:
            if key not in s.keys or (s.pattern is not None and not s.pattern.search(value)):
                continue
            if s.has_identity and not s.identity_matches(name, email):
                continue
            (fallbacks if s.fallback else hits).append((s, self._tools_of(s, value)))
        return hits or fallbacks

    def _tools_of(self, sig: Signature, value: str) -> tuple[str, ...]:
        """The signature's tool, or the tool its trailer value names (``value_tools``)."""
        if sig.value_tools is None:
            return (sig.tool,)
        named = self._tool_names.search(value)
        if named is None:
            return (sig.tool,)
        assert named.lastgroup is not None  # every alternative is a named group
        tool = named.lastgroup.replace("_", "-")
        return (tool,) if sig.value_tools == "replace" else (sig.tool, tool)

    def columns(
        self, message, author_name, author_email, committer_name, committer_email
    ) -> dict[str, list]:
        """The ``ai_*`` columns for parallel sequences of commit fields.

        ``ai_assisted`` is a list of bool, ``ai_carried_from`` of str or None; the others
        (``ai_tools``, ``ai_modes``, ``ai_evidence``, ``ai_signals``) are lists of tuples.
        """
        found = [
            self.detect(*row)
            for row in zip(
                message, author_name, author_email, committer_name, committer_email, strict=True
            )
        ]
        return {c: [getattr(a, _ATTRIBUTE[c]) for a in found] for c in schema.AI_COLUMNS}

    def tag(self, commits: pd.DataFrame) -> pd.DataFrame:
        """Set the ``ai_*`` columns of a commits table (in place) and return it."""
        cols = self.columns(*(commits[c] for c in IDENTITY_FIELDS))
        dtypes = schema.dtypes(schema.COMMITS)
        for name, values in cols.items():
            if pd.api.types.is_object_dtype(dtypes[name]):  # list columns: lists, not tuples
                values = [list(v) for v in values]
            commits[name] = pd.Series(values, index=commits.index, dtype=dtypes[name])
        return commits

    # -- pull requests -------------------------------------------------------------------
    def detect_pr(
        self,
        author_login: str = "",
        author_id: int | None = None,
        head_ref: str = "",
        body: str = "",
    ) -> Attribution:
        """Find the AI signals on one pull request: its author, head branch and body.

        Examples
        --------
        >>> Detector().detect_pr("Copilot", 198982749, "copilot/fix-login").tools
        ('copilot',)
        """
        login = (author_login or "").lower()
        noreply = f"{author_id}+{login}@users.noreply.github.com".lower() if author_id else ""
        fired = []
        for s in self._pr["pr_author"]:
            if s.login_re is not None:
                if s.login_re.search(login):
                    fired.append(s)
            elif s.bot_logins and login in s.bot_logins:
                if s.bot_id is None or author_id is None or s.bot_id == author_id:
                    fired.append(s)
            elif s.has_identity and noreply and s.identity_matches(login, noreply):
                fired.append(s)
        fired += [s for s in self._pr["branch"] if head_ref and s.regex.search(head_ref)]
        fired += [s for s in self._pr["pr_body"] if body and s.regex.search(body)]
        return _attribution([(s, (s.tool,)) for s in fired], None, None) if fired else _NOTHING


def _carried(message: str) -> tuple[str | None, str | None]:
    m = _REVERT.search(message)
    if m:
        return "revert", m.group(1)
    m = _CHERRY.search(message)
    if m:
        return "cherry-pick", m.group(1)
    return None, None


def _attribution(
    fired: Sequence[tuple[Signature, tuple[str, ...]]], carried, carried_from
) -> Attribution:
    return Attribution(
        True,
        tuple(sorted({t for _s, tools in fired for t in tools})),
        tuple(sorted({s.mode for s, _t in fired})),
        tuple(sorted({s.evidence for s, _t in fired})),
        tuple(sorted({s.id for s, _t in fired})),
        carried,
        carried_from,
    )


_NOTHING = Attribution(False)
_DEFAULT: Detector | None = None


def default_detector() -> Detector:
    """The detector with the built-in signatures (compiled once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Detector()
    return _DEFAULT


def detect(
    message: str,
    author_name: str = "",
    author_email: str = "",
    committer_name: str = "",
    committer_email: str = "",
) -> Attribution:
    """Detect AI assistance on one commit with the built-in signatures.

    Parameters
    ----------
    message : str
        The full commit message.
    author_name, author_email, committer_name, committer_email : str
        The commit's identities.

    Returns
    -------
    Attribution
        ``ai_assisted``, ``tools``, ``modes``, ``evidence``, ``signatures`` and, for reverts
        and cherry-picks that only carry the original's marks, ``carried``/``carried_from``.

    Examples
    --------
    >>> a = detect("Add cache\\n\\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>")
    >>> a.ai_assisted, a.tools, a.modes
    (True, ('claude-code',), ('co-author',))
    """
    return default_detector().detect(
        message, author_name, author_email, committer_name, committer_email
    )
