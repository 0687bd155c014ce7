"""How the participant is invited: a `Channel` ("by text", "switch to e-mail", "send it by
text instead", "no invite"). A new channel adds its words here."""

from __future__ import annotations

import re

from actions.extraction.reader import Context, Reader, Rule, constant, read_rules, rules_finder
from ground.channel import Channel

_SWITCH = r"(?:switch|change|move|go|swap)(?:\s+(?:it|that|the\s+invit\w*|over))?\s+to\s+"
_NONE = re.compile(
    r"\b(?:(?:no|without(?:\s+an?)?|skip(?:\s+the)?)\s+invit(?:e|es|ation|ations)"
    r"|(?:don'?t|do\s+not|no\s+need\s+to)\s+(?:send\s+(?:an?\s+|the\s+|any\s+)?(?:invit\w*|anything"
    r"|(?:a\s+)?link|notifications?)|invite(?:\s+(?:them|her|him))?"
    r"|notify(?:\s+(?:them|her|him|the\s+(?:client|patient|participant)))?)"
    r"|no\s+(?:notifications?|link|contact)"
    rf"|{_SWITCH}(?:no\s+invit\w*|none))\b",
    re.IGNORECASE,
)
_SMS = re.compile(
    r"\b(?:(?:by|via|over|through|send\s+(?:a|an)|as\s+an?)\s+(?:text(?:\s+message)?|sms|txt)"
    rf"|{_SWITCH}(?:a\s+)?(?:text(?:\s+message)?|sms|txt)|text\s+message|sms|texting"
    r"|text\s+(?:her|him|them|it)(?:\s+instead)?)\b",
    re.IGNORECASE,
)
# "text" standing alone in a list of answers ("Lee, text 617 555 0101, ..."): the phone
# beside it is already taken, so a gap, a comma or the end follows the word.
_SMS_ALONE = re.compile(r"\b(?:text|txt)\b(?=\s*(?:[,;]|$)|\s{2})", re.IGNORECASE)
# "by mail" is e-mail as a second-language clinician says it (French and German "mail"):
# there is no post here, and only with "by" or "via" in front.
_EMAIL = re.compile(
    rf"\b(?:(?:by|via|over|through|{_SWITCH}(?:an?\s+)?)\s*)?(?:e-?mail|eml)\b(?!\s+(?:is|should|address))"
    r"|\b(?:by|via)\s+mail\b(?!\s+(?:is|should|address))",
    re.IGNORECASE,
)
# A one-word answer, with the courtesies of terse typing around it ("txt pls", "ok eml").
_COURTESY = r"(?:\W+(?:pls|plz|please|thx|thanks|ty|thank\s+you))?"
_LEAD = r"^\W*(?:(?:ok|okay|by|via)\W+)?"
_ANSWER_SMS = re.compile(
    rf"{_LEAD}(?:text|txt|phone|mobile|cell|sms){_COURTESY}\W*$", re.IGNORECASE
)
_ANSWER_EMAIL = re.compile(rf"{_LEAD}(?:mail|email|e-mail|eml){_COURTESY}\W*$", re.IGNORECASE)
_ANSWER_NONE = re.compile(
    r"^\W*(?:none|no|nope|neither|nothing|skip|no\s+thanks|don'?t|no\s+need|not\s+needed"
    rf"|not\s+necessary|not\s+required|none\s+needed|no\s+invite\s+needed){_COURTESY}\W*$",
    re.IGNORECASE,
)
RULES: tuple[Rule[Channel], ...] = (
    (_NONE, constant(Channel.NONE)),
    (_SMS, constant(Channel.SMS)),
    (_EMAIL, constant(Channel.EMAIL)),
)
ANSWER_RULES = (
    *RULES,
    (_ANSWER_SMS, constant(Channel.SMS)),
    (_ANSWER_EMAIL, constant(Channel.EMAIL)),
    (_ANSWER_NONE, constant(Channel.NONE)),
)
# While the name is asked, "text" or "email" alone still answer how to invite: nobody is
# called "txt". ("no" is not among them: it answers nothing about the name.)
_NAME_ASKED_RULES = (
    *RULES,
    (_ANSWER_SMS, constant(Channel.SMS)),
    (_ANSWER_EMAIL, constant(Channel.EMAIL)),
)
_find = rules_finder(RULES, ANSWER_RULES, "invite_channel")


def find_channel(reader: Reader, ctx: Context) -> str | None:
    if ctx.requested_slot == "participant":
        found = read_rules(reader, _NAME_ASKED_RULES, ctx, "invite_channel")
    else:
        found = _find(reader, ctx)
    if found is None and reader.claims:  # "text" among other answers, its number taken
        found = read_rules(reader, ((_SMS_ALONE, constant(Channel.SMS)),), ctx, "invite_channel")
    return found
