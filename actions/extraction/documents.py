"""Document packages and services, by key, display name or a distinctive word of it;
"no paperwork", "skip documents", "no forms" mean no documents."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from actions.extraction.reader import Ambiguous, Context, Reader

_GENERIC_NAME_WORDS = frozenset({
    "packet", "package", "packages", "forms", "form", "documents", "document", "paperwork",
    "session", "sessions", "the", "and", "of", "for", "a", "an", "new", "visit", "appointment",
})  # fmt: skip
_PAPERS = r"(?:documents?|docs?|forms?|paperwork|packages?|packets?|papers?)"
NO_DOCUMENTS = re.compile(
    rf"(?:\b(?:no|without(?:\s+any)?|skip(?:\s+the)?|drop(?:\s+the)?|remove(?:\s+the)?"
    rf"|don'?t\s+(?:need|send)(?:\s+any)?|nothing\s+for|no\s+need\s+(?:of|for)(?:\s+any)?)"
    rf"|(?<![\w/])w/o(?:\s+any)?|\bw/out)\s+(?:the\s+)?{_PAPERS}\b"
    rf"|\b{_PAPERS}\s+(?:not\s+needed|not\s+required|none)\b"
    rf"|\b{_PAPERS}\s*:\s*none\b",
    re.IGNORECASE,
)
_NO_DOCUMENTS_ANSWER = re.compile(
    r"^\W*(?:none|no|nope|nah|nothing|skip|n/?a|no\s+(?:thanks|thx)|no\s+documents"
    r"|no\s+package|none\s+needed|not\s+needed|no\s+need|not\s+necessary|not\s+required)"
    r"(?:\W+(?:pls|plz|please|thx|thanks|ty))?\W*$",
    re.IGNORECASE,
)


def _name_pattern(name: str) -> str:
    """A display name or key as a regex: any spacing, hyphens optional, plural optional."""
    parts = re.findall(r"[^\W_]+", name.lower())
    pattern = r"[\s_\-]{0,3}".join(re.escape(word) for word in parts)
    return pattern[:-1] + "s?" if pattern.endswith("s") else pattern + "s?"


@functools.lru_cache(maxsize=64)
def _choice_pattern(
    choices: tuple[tuple[str, str], ...], others: tuple[str, ...]
) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """One regex over the keys, display names and distinctive words of the choices, with a
    lookup from each lower-case group name back to its key."""
    if not choices:
        return None
    other_words = {w for name in others for w in re.findall(r"[^\W_]+", name.lower())}
    counts: dict[str, int] = {}
    for _, name in choices:
        for word in set(re.findall(r"[^\W_]+", name.lower())):
            counts[word] = counts.get(word, 0) + 1
    alternatives: list[tuple[str, str]] = []
    for key, name in choices:
        alternatives += [(_name_pattern(name), key), (_name_pattern(key), key)]
        parts = re.findall(r"[^\W_]+", name.lower())
        for size in range(2, len(parts)):  # "PHQ-9" of "PHQ-9 questionnaire"
            alternatives.append((_name_pattern(" ".join(parts[:size])), key))
        for word in re.findall(r"[^\W_]+", name.lower()):
            distinctive = counts[word] == 1 and word not in other_words
            if distinctive and word not in _GENERIC_NAME_WORDS and len(word) >= 3:
                alternatives.append((_name_pattern(word), key))
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    groups = {f"c{index}": key for index, (_, key) in enumerate(alternatives)}
    body = "|".join(f"(?P<c{index}>{pattern})" for index, (pattern, _) in enumerate(alternatives))
    return re.compile(rf"\b(?:the\s+)?(?:{body})\b", re.IGNORECASE), groups


# "cancel the consent form", "drop the intake", "no PHQ-9": that package, taken away.
_REMOVED = re.compile(
    r"\b(?:no|skip|drop|remove|cancel|without|don'?t\s+(?:send|need)|not)\s+(?:the\s+|any\s+)?$",
    re.IGNORECASE,
)


def find_choice(
    reader: Reader,
    choices: Mapping[str, str],
    others: Mapping[str, str],
    slot: str,
    *,
    one_only: bool = False,
) -> str | None:
    """The choice named; with `one_only`, two named ("consent and intake") are asked
    about, since a session takes one."""
    compiled = _choice_pattern(tuple(choices.items()), tuple(others.values()))
    if compiled is None:
        return None
    pattern, keys = compiled
    taken = reader.take_all(pattern, slot)
    if not taken:
        return None
    preferred = [m for m, negated in taken if not negated] or [m for m, _ in taken]
    named = list(dict.fromkeys(keys[m.lastgroup or ""] for m in preferred))
    if one_only and len(named) > 1:
        raise Ambiguous(
            "A session takes one package of documents: which one?",
            slot,
            [(choices[key], key) for key in named],
        )
    return named[0]


def _removed_packages(reader: Reader, ctx: Context) -> bool:
    """Whether every package named is being taken away; the words that say so are
    claimed too, so "cancel the consent form" cancels no draft."""
    compiled = _choice_pattern(tuple(ctx.packages.items()), tuple(ctx.services.values()))
    if compiled is None:
        return False
    matches = list(compiled[0].finditer(reader.rest))
    removals = [_REMOVED.search(reader.rest[max(0, m.start() - 24) : m.start()]) for m in matches]
    if not matches or not all(removals):
        return False
    spans = [
        (m.start() - (len(removal.string) - removal.start()), m.end())
        for m, removal in zip(matches, removals, strict=True)
        if removal
    ]
    reader.cut_many(spans, "documents")
    return True


def find_documents(reader: Reader, ctx: Context) -> str | None:
    if reader.take_all(NO_DOCUMENTS, "documents") or _removed_packages(reader, ctx):
        return "none"
    key = find_choice(reader, ctx.packages, ctx.services, "documents", one_only=True)
    asked = key is None and ctx.requested_slot == "documents"
    if asked and reader.take_all(_NO_DOCUMENTS_ANSWER, "documents"):
        return "none"
    return key


def find_service(reader: Reader, ctx: Context) -> str | None:
    return find_choice(reader, ctx.services, ctx.packages, "service")
