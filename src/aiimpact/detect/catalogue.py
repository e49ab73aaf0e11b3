"""The signature catalogue as a Markdown page (``docs/signatures.md`` is generated from it).

Run ``python -m aiimpact.detect.catalogue > docs/signatures.md`` after editing
``signatures.toml``; a test fails while the page is out of date.
"""

from __future__ import annotations

from aiimpact.detect.detector import load_signatures

_KIND_TITLES = {
    "trailer": "Trailers (anywhere in the message)",
    "footer": "Footers (any line of the message)",
    "subject": "Subject prefixes",
    "author": "Author identities",
    "committer": "Committer identities",
    "note": "Git notes",
    "pr_author": "Pull-request authors",
    "branch": "Pull-request head branches",
    "pr_body": "Pull-request body markers",
}


def _match(entry: dict) -> str:
    parts = []
    key = entry.get("key")
    if key:
        parts.append("key " + ", ".join(f"`{k}`" for k in ([key] if isinstance(key, str) else key)))
    for field, label in (
        ("email", "e-mail"),
        ("email_regex", "e-mail ~"),
        ("name_regex", "name ~"),
        ("pattern", "text ~"),
        ("login_regex", "login ~"),
        ("ref", "ref"),
    ):
        if entry.get(field):
            parts.append(f"{label} `{entry[field]}`")
    bot = entry.get("github_bot")
    if bot:
        who = ", ".join(f"`{login}`" for login in bot.get("logins", []))
        parts.append(f"GitHub {'id ' + str(bot['id']) + ' + ' if 'id' in bot else ''}login {who}")
    if entry.get("fallback"):
        parts.append("only if no tool-specific signature read the line")
    return "; ".join(parts).replace("|", "\\|")


def markdown() -> str:
    """The catalogue page: every signature with its tool, match, mode, confidence, source."""
    entries = load_signatures()
    out = [
        "# Signature catalogue",
        "",
        f"{len(entries)} signatures, generated from `src/aiimpact/detect/signatures.toml` "
        "(`python -m aiimpact.detect.catalogue`). Add your own with "
        "`ai.Detector(extra=[...])` or `aiimpact mine --signatures FILE`; switch one off with "
        "`disable=[id]` or `--disable-signature ID`.",
        "",
        "Absence of every mark below is not evidence of human authorship: tools can be "
        "configured to leave none, and hooks can strip them.",
    ]
    for kind, title in _KIND_TITLES.items():
        rows = [e for e in entries if e["kind"] == kind]
        if not rows:
            continue
        out += [
            "",
            f"## {title}",
            "",
            "| id | tool | match | mode | confidence | source |",
            "|---|---|---|---|---|---|",
        ]
        for e in rows:
            source = e.get("source", "").replace("|", "\\|")
            out.append(
                f"| `{e['id']}` | {e['tool']} | {_match(e)} | {e['mode']} | "
                f"{e.get('confidence', 'explicit')} | {source} |"
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
