"""Amounts of money: "$120", "95.50 dollars", "charge 75 instead"; a bare number only when
the amount was asked for or a charging word stands before it."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from actions.extraction.reader import Context, ExtractionError, Reader, Rule, rules_finder

NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SIGN = re.compile(
    rf"(-\s*)?(?:US\$|\$|\busd\b)\s*(-\s*)?{NUMBER}(?:\s*(?:dollars?|bucks|usd)\b)?",
    re.IGNORECASE,
)
_WORD = re.compile(rf"(?<![\w.])(-\s*)?{NUMBER}\s*(?:dollars?|bucks|usd)\b", re.I)
_BARE = re.compile(rf"(?<![\w.])(-\s*)?{NUMBER}(?![\w.%:])")
# "charge 75", "the fee is 90", "price should be 120", "bill them 80": the words say money.
_VERB = re.compile(
    r"\b(?:charge|bill|price|fee|amount|cost|rate)(?:\s+(?:is|of|to|at|them|her|him|it|"
    r"should|will|be|just|only|the|client))"
    rf"{{0,3}}\s+(-\s*)?{NUMBER}(?![\w.%:/])",
    re.IGNORECASE,
)


# Whether payment is required at all: "no payment", "don't charge", "free session".
_NO_PAYMENT = re.compile(
    r"\b(?:no|without|skip(?:\s+the)?|drop(?:\s+the)?)\s+(?:payment|charge|fee)s?\b"
    r"|\b(?:don'?t|do\s+not|no\s+need\s+to)\s+(?:charge|bill)(?:\s+(?:them|her|him|it))?\b"
    r"|\bfree(?:\s+of\s+charge)?\s+(?:session|visit|consult\w*)\b|\bno\s+cost\b"
    r"|\b(?:it'?s|it’s|is|be|for)\s+free\b|\bfree\s+of\s+charge\b|\bpro\s+bono\b"
    r"|\bcomplimentary\b",
    re.IGNORECASE,
)
_PAYMENT = re.compile(
    r"\b(?:require|requires|take|collect|needs?)\s+(?:a\s+)?payment\b"
    r"|\bpayment\s+(?:required|needed)\b|\bcharge\s+(?:for\s+it|them|her|him)\b(?!\s*\$?\d)",
    re.IGNORECASE,
)


def find_payment_required(reader: Reader, ctx: Context) -> bool | None:
    if reader.take_all(_NO_PAYMENT, "payment_required"):
        return False
    if reader.take_all(_PAYMENT, "payment_required"):
        return True
    return None


def _from_sign(match: re.Match[str], _ctx: Context) -> Decimal:
    return to_amount(match.group(3), negative=bool(match.group(1) or match.group(2)))


def _from_word(match: re.Match[str], _ctx: Context) -> Decimal:
    return to_amount(match.group(2), negative=bool(match.group(1)))


def to_amount(number: str, *, negative: bool) -> Decimal:
    cents = number.partition(".")[2]
    if len(cents) > 2:
        raise ExtractionError("An amount can have at most two decimals (cents), like 12.35.")
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation as err:
        raise ExtractionError(f"I couldn't read “{number}” as an amount; try 120.") from err
    if negative or amount <= 0:
        raise ExtractionError("The amount must be more than $0.")
    return amount.quantize(Decimal("0.01"))


RULES: tuple[Rule[Decimal], ...] = ((_SIGN, _from_sign), (_VERB, _from_word), (_WORD, _from_word))
ANSWER_RULES = (*RULES, (_BARE, _from_word))
_find = rules_finder(RULES, ANSWER_RULES, "amount")
_DIGIT = re.compile(r"\d")


def find_amount(reader: Reader, ctx: Context) -> Decimal | None:
    return _find(reader, ctx) if _DIGIT.search(reader.rest) else None
