"""Tag commits with the AI tools that left a mark on them.

Signatures are data (``signatures.toml`` beside this file). A :class:`Detector` compiles
them once and applies them to a commit's message, author and committer:

* trailers are read **anywhere** in the message (squash merges put them above and below
  GitHub's ``---------`` line), keys compared case-insensitively; lines quoted with ``>``
  are not trailers;
* identities are matched on the e-mail first (exact, or a GitHub bot's ``<id>+<login>``
  pair, never the ``users.noreply.github.com`` domain alone), then on the name;
* the absence of a mark is not evidence of human authorship: AI use without a marker is
  invisible, so every AI share computed from these tags is a lower bound.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

_TRAILER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)
_EMAIL_IN_VALUE = re.compile(r"<([^<>]*)>\s*$")
_KINDS = {"trailer", "footer", "subject", "author", "committer"}
_MODES = {"agent", "co-author", "suggestion", "declared"}


@dataclass(frozen=True)
class Attribution:
    """What the detector found on one commit.

    Attributes
    ----------
    ai_assisted : bool
        True when at least one signature fired.
    tools, modes, evidence : tuple of str
        Canonical tool ids, modes (agent, co-author, suggestion, declared) and the labels of
        the signals that fired (e.g. ``trailer:co-authored-by``), each sorted and unique.
    signatures : tuple of str
        Ids of the signatures that fired.
    """

    ai_assisted: bool
    tools: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    signatures: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class _Signature:
    id: str
    tool: str
    kind: str
    mode: str
    evidence: str
    key: str | None
    email: str | None
    email_re: re.Pattern | None
    name_re: re.Pattern | None
    pattern: re.Pattern | None

    def identity_matches(self, name: str, email: str) -> bool:
        """Match a stripped name and a stripped, lower-cased e-mail."""
        if self.email is not None and email != self.email:
            return False
        if self.email_re is not None and not self.email_re.search(email):
            return False
        return not (self.name_re is not None and not self.name_re.search(name))


class _IdentityIndex:
    """Identity signatures of one kind, indexed so that most identities cost one lookup."""

    def __init__(self, sigs: list[_Signature]) -> None:
        self.exact: dict[str, list[_Signature]] = {}
        self.patterned: list[_Signature] = []
        for s in sigs:
            if s.email is not None and s.email_re is None and s.name_re is None:
                self.exact.setdefault(s.email, []).append(s)
            else:
                self.patterned.append(s)
        emails = [s.email_re.pattern for s in self.patterned if s.email_re is not None]
        names = [s.name_re.pattern for s in self.patterned if s.name_re is not None]
        self._email_hint = re.compile("|".join(f"(?:{p})" for p in emails) or "(?!)", re.I)
        self._name_hint = re.compile("|".join(f"(?:{p})" for p in names) or "(?!)", re.I)

    def match(self, name: str, email: str) -> list[_Signature]:
        email = email.strip().lower()
        found = list(self.exact.get(email, ()))
        if self.patterned and (self._email_hint.search(email) or self._name_hint.search(name)):
            name = name.strip()
            found += [s for s in self.patterned if s.identity_matches(name, email)]
        return found


def _compile(entry: Mapping) -> _Signature:
    sid = entry.get("id", "?")
    missing = {"id", "tool", "kind", "mode"} - entry.keys()
    if missing:
        raise ValueError(f"signature {sid!r} lacks {', '.join(sorted(missing))}")
    if entry["kind"] not in _KINDS:
        raise ValueError(f"signature {sid!r}: kind {entry['kind']!r} is not one of {_KINDS}")
    if entry["mode"] not in _MODES:
        raise ValueError(f"signature {sid!r}: mode {entry['mode']!r} is not one of {_MODES}")

    def rx(name: str) -> re.Pattern | None:
        value = entry.get(name)
        if value is None:
            return None
        try:
            return re.compile(value, re.I)
        except re.error as exc:
            raise ValueError(f"signature {sid!r}: bad {name} {value!r}: {exc}") from None

    return _Signature(
        id=sid,
        tool=entry["tool"],
        kind=entry["kind"],
        mode=entry["mode"],
        evidence=entry.get("evidence", f"{entry['kind']}:{entry.get('key') or 'match'}"),
        key=entry["key"].lower() if entry.get("key") else None,
        email=entry["email"].lower() if entry.get("email") else None,
        email_re=rx("email_regex"),
        name_re=rx("name_regex"),
        pattern=rx("pattern"),
    )


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


class Detector:
    """Apply AI-assistance signatures to commits.

    Parameters
    ----------
    extra : iterable of dict, str or Path, optional
        More signatures: dicts shaped like the entries of ``signatures.toml``, or paths of
        TOML files holding ``[[signature]]`` tables.
    disable : iterable of str
        Ids of built-in (or extra) signatures to switch off.

    Examples
    --------
    >>> det = Detector()
    >>> det.detect("Fix parser\\n\\nCo-authored-by: Cursor <cursoragent@cursor.com>").tools
    ('cursor',)
    """

    def __init__(self, extra: Iterable[Mapping | str | Path] | None = None, disable=()) -> None:
        entries = load_signatures()
        for item in extra or ():
            if isinstance(item, Mapping):
                entries.append(dict(item))
            else:
                entries.extend(load_signatures(item))
        disabled = set(disable)
        unknown = disabled - {e.get("id") for e in entries}
        if unknown:
            raise ValueError(f"cannot disable unknown signature(s): {', '.join(sorted(unknown))}")
        used = [e for e in entries if e.get("id") not in disabled]
        self.signatures = [_compile(e) for e in used]
        #: identifies the signature set; cached tags are reused only under the same one
        self.fingerprint = hashlib.sha256(
            json.dumps(used, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        self._trailer = [s for s in self.signatures if s.kind == "trailer"]
        self._footer = [s for s in self.signatures if s.kind == "footer"]
        self._subject = [s for s in self.signatures if s.kind == "subject"]
        self._identity = {
            kind: _IdentityIndex([s for s in self.signatures if s.kind == kind])
            for kind in ("author", "committer")
        }
        self._trailer_keys = {s.key for s in self._trailer}
        # Cheap pre-checks: most commits carry no mark, and skip the per-signal loops.
        keys = "|".join(sorted(re.escape(k) for k in self._trailer_keys)) or "(?!)"
        self._any_trailer = re.compile(rf"^(?:{keys})[ \t]*:", re.I | re.M)
        footers = "|".join(f"(?:{s.pattern.pattern})" for s in self._footer) or "(?!)"
        self._any_footer = re.compile(footers, re.I)

    def detect(
        self,
        message: str,
        author_name: str = "",
        author_email: str = "",
        committer_name: str = "",
        committer_email: str = "",
    ) -> Attribution:
        """Find the AI signals on one commit; see :func:`aiimpact.detect`."""
        fired: list[_Signature] = []
        trailers = _TRAILER_LINE.findall(message) if self._any_trailer.search(message) else ()
        for key, value in trailers:
            key = key.lower()
            if key not in self._trailer_keys:
                continue
            m = _EMAIL_IN_VALUE.search(value)
            email = m.group(1) if m else ""
            name = value[: m.start()] if m else value
            for s in self._trailer:
                if s.key != key or (s.pattern is not None and not s.pattern.search(value)):
                    continue
                if (s.email or s.email_re or s.name_re) and not s.identity_matches(
                    name.strip(), email.strip().lower()
                ):
                    continue
                fired.append(s)
        if self._any_footer.search(message):
            for line in message.splitlines():
                if line.lstrip().startswith(">"):
                    continue
                fired += [s for s in self._footer if s.pattern.search(line)]
        subject = message.lstrip("\n").split("\n", 1)[0]
        fired += [s for s in self._subject if s.pattern.search(subject)]
        fired += self._identity["author"].match(author_name, author_email)
        fired += self._identity["committer"].match(committer_name, committer_email)
        if not fired:
            return _NOTHING
        return Attribution(
            True,
            tuple(sorted({s.tool for s in fired})),
            tuple(sorted({s.mode for s in fired})),
            tuple(sorted({s.evidence for s in fired})),
            tuple(sorted({s.id for s in fired})),
        )

    def columns(self, message, author_name, author_email, committer_name, committer_email):
        """The four ``ai_*`` columns for parallel sequences of commit fields.

        ``ai_assisted`` is a list of bool; the others are lists of tuples of str.
        """
        found = [
            self.detect(*row)
            for row in zip(
                message, author_name, author_email, committer_name, committer_email, strict=True
            )
        ]
        return {
            "ai_assisted": [a.ai_assisted for a in found],
            "ai_tools": [a.tools for a in found],
            "ai_modes": [a.modes for a in found],
            "ai_evidence": [a.evidence for a in found],
        }

    def tag(self, commits: pd.DataFrame) -> pd.DataFrame:
        """Set ``ai_assisted, ai_tools, ai_modes, ai_evidence`` on a commits table (in place).

        Returns the same DataFrame, for chaining.
        """
        cols = self.columns(*(commits[c] for c in IDENTITY_FIELDS))
        commits["ai_assisted"] = pd.array(cols.pop("ai_assisted"), dtype="boolean")
        for name, values in cols.items():
            commits[name] = [list(v) for v in values]
        return commits


IDENTITY_FIELDS = ("message", "author_name", "author_email", "committer_name", "committer_email")
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
        ``ai_assisted``, ``tools``, ``modes`` and ``evidence``.

    Examples
    --------
    >>> a = detect("Add cache\\n\\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>")
    >>> a.ai_assisted, a.tools, a.modes
    (True, ('claude-code',), ('co-author',))
    """
    return default_detector().detect(
        message, author_name, author_email, committer_name, committer_email
    )
