"""E-mail addresses: found anywhere in a message, checked by email-validator (no network)."""

from __future__ import annotations

import re

import email_validator

from actions.extraction.reader import Context, ExtractionError, Reader, Rule, rules_finder

# Slack wraps what it recognises: <mailto:a@b.c|a@b.c>, <tel:+16175550101|617 555 0101>.
SLACK_LINK = re.compile(r"<(?:mailto|tel):([^|>]{0,320})(?:\|([^>]{0,320}))?>")
# Local part, "@", then dot-separated labels; each label is a run of its own characters,
# so no two quantifiers compete for the same text.
EMAIL = re.compile(r"(?<![\w.+'\-])[\w.+'\-]+@[\w\-]*(?:\.[\w\-]+)*")


def unwrap_slack_links(text: str) -> str:
    return SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)


def email_address(address: str) -> str:
    """One bare address, normalized; raises ExtractionError."""
    address = address.rstrip(".")
    try:
        return email_validator.validate_email(address, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as err:
        domain = address.partition("@")[2]
        if "." not in domain:
            raise ExtractionError(
                "That e-mail address has no domain; try something like jane@example.com."
            ) from err
        raise ExtractionError(
            f"“{address}” is not a valid e-mail address; try something like jane@example.com."
        ) from err


def _email_from(match: re.Match[str], _ctx: Context) -> str:
    return email_address(match.group())


RULES: tuple[Rule[str], ...] = ((EMAIL, _email_from),)
_find = rules_finder(RULES, RULES, "email")


def find_email(reader: Reader, ctx: Context) -> str | None:
    return _find(reader, ctx) if "@" in reader.rest else None
