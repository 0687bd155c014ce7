"""Dictation, written back as typing before anything is read: punctuation said as words
("comma", "period", "new line", "question mark") becomes the mark, so a name never ends in
"period"; numbers said as words become figures (`text2num`'s ``alpha2digit``: "four
fifteen p m" is "4 15 pm", "the twenty third" is "the 23rd", "six one seven ..." a phone
number); "p m" / "a m" with a space are pm / am; "four oh five" is 4 05.

Addresses and links are left as they are ("jane.four@example.com"). Every pattern here is
linear in the text; ``alpha2digit`` is only called when a number word is there at all.
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

_PUNCTUATION = {
    "comma": ",", "period": ".", "full stop": ".", "question mark": "?", "colon": ":",
    "semicolon": ";", "semi colon": ";", "exclamation mark": "!", "exclamation point": "!",
    "new line": "\n", "newline": "\n", "new paragraph": "\n", "next line": "\n",
    "open paren": "", "close paren": "", "open bracket": "", "close bracket": "",
    "dash": " - ", "hyphen": "-", "quote": "", "unquote": "", "end quote": "",
}  # fmt: skip
PUNCTUATION_WORDS = frozenset(_PUNCTUATION)
_SAID_PUNCTUATION = re.compile(
    r"(?<![ \t])[ \t]*\b("
    + "|".join(sorted(map(re.escape, _PUNCTUATION), key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)
_NUMBER_WORD = re.compile(
    r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty"
    r"|sixty|seventy|eighty|ninety|hundred|thousand|third|fourth|fifth|sixth|seventh|eighth"
    r"|ninth|tenth|eleventh|twelfth|teenth|tieth)",
    re.IGNORECASE,
)
# Words alpha2digit leaves alone when they stand by themselves ("one", "two": a pronoun,
# "no one"), read as figures where only a clock time fits: "at one", "two pm".
_SMALL = {"one": "1", "two": "2"}
_SMALL_TIME = re.compile(
    r"(?<=\bat\s)(one|two)\b|\b(one|two)\b(?=\s*(?:[ap]\.?\s?m\b|o'?clock|thirty\b|fifteen\b))",
    re.IGNORECASE,
)
_PROTECTED = re.compile(r"((?<!\S)\S*[@/]\S*)")  # from word starts only: linear
_SPACED_MERIDIEM = re.compile(r"(?<=\d)\s*\b([ap])\.?\s+m\b\.?", re.IGNORECASE)
_OH_MINUTES = re.compile(r"\b(\d{1,2})\s+oh\s+(\d)\b", re.IGNORECASE)


def _punctuation(match: re.Match[str]) -> str:
    return _PUNCTUATION[" ".join(match.group(1).lower().split())]


def _numbers(text: str) -> str:
    if not _NUMBER_WORD.search(text):
        return text
    text = _SMALL_TIME.sub(lambda m: _SMALL[(m.group(1) or m.group(2)).lower()], text)
    pieces = _PROTECTED.split(text)
    for index in range(0, len(pieces), 2):  # odd pieces are addresses and links
        if _NUMBER_WORD.search(pieces[index]):
            pieces[index] = alpha2digit(pieces[index], "en")
    return "".join(pieces)


# "maria dot lopez at gmail dot com": an address said aloud, its domain ending in a
# common top-level domain.
_TLD = r"(?:com|org|net|edu|gov|io|co|us|uk|ca|de|fr|es|it|nl|au|in|info|me|health)"
_SAID_ADDRESS = re.compile(
    r"(?<![\w.@])(?!(?:her|him|them|me|us|it|you|email|e-mail|mail|address)\s+at\b)"
    r"([a-z0-9][\w\-]*(?:\s+(?:dot|underscore|dash)\s+[\w\-]+){0,4})\s+at\s+"
    rf"([a-z0-9][\w\-]*(?:\s+dot\s+[a-z0-9][\w\-]*){{0,3}}\s+dot\s+{_TLD})\b",
    re.IGNORECASE,
)
_ADDRESS_WORDS = {"dot": ".", "underscore": "_", "dash": "-"}


def _address(match: re.Match[str]) -> str:
    def joined(said: str) -> str:
        return "".join(_ADDRESS_WORDS.get(w.lower(), w) for w in said.split())

    return f"{joined(match.group(1))}@{joined(match.group(2))}"


def punctuated(text: str) -> str:
    """Punctuation said as words written as marks."""
    if _SAID_PUNCTUATION.search(text):
        return _SAID_PUNCTUATION.sub(_punctuation, text)
    return text


def written(text: str) -> str:
    """The message as it would have been typed."""
    if " dot " in text.lower():
        text = _SAID_ADDRESS.sub(_address, text)
    text = _numbers(punctuated(text))
    text = _OH_MINUTES.sub(r"\1 0\2", text)
    return _SPACED_MERIDIEM.sub(lambda m: f" {m.group(1)}m", text)
