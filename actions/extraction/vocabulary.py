"""The words of a message that name nothing: fillers, roles, short forms, non-answers.

Shared by every finder (a participant's name, a date or a zone answered on its own) so
that what nobody claimed is said back the same way: `leftover_words`.
"""

from __future__ import annotations

import re

FILLER = frozenset({
    "schedule", "session", "sessions", "with", "for", "on", "at", "by", "a", "an", "the", "new",
    "book", "please", "pls", "plz", "invite", "via", "and", "send", "to", "it", "make",
    "instead", "actually", "change", "set", "up", "setup", "appointment", "appt", "video",
    "call", "meeting", "client", "patient", "can", "could", "would", "you", "i", "i'd", "want",
    "like", "need", "let's", "lets", "let", "me", "my", "her", "him", "them", "their", "his",
    "is", "of", "in", "next", "hi", "hey", "hello", "thanks", "thank", "thx", "ty", "time",
    "date", "from", "invitation", "link", "should", "be", "i'm", "im", "we", "also", "us",
    "our", "name", "participant", "called", "named", "or", "oh", "um", "uh", "rather", "than",
    "not", "move", "reschedule", "put", "push", "shift", "see", "meet", "do", "get", "have",
    "will", "that", "this", "there", "forms", "form", "packet", "package", "documents",
    "paperwork", "it's", "that's", "its", "thats", "he's", "she's", "he", "she", "they",
    "sorry", "oops", "wait", "just", "so", "ok", "okay", "sure", "yes", "no", "but", "then",
    "please.", "sth", "smth", "something", "someone", "somebody", "anyone", "one", "session.",
    "asap", "quick", "quickly", "really", "now", "right", "correction", "fix", "update",
    "meant", "mean", "typo", "sent", "number", "address", "cell", "mobile", "phone", "email",
    "e-mail", "are", "was", "were", "am", "as", "if", "any", "all", "again", "way",
    "prefer", "prefers", "preferred", "should've", "go", "add", "include", "use", "using",
    "only", "same", "still", "more", "less", "later", "earlier", "back", "here",
    "what", "when", "where", "who", "how", "why", "which", "lol", "btw", "fyi", "hmm",
    "ah", "gonna", "wanna", "needs", "to-do", "pm", "dr", "mr", "mrs", "ms",
    "sched", "u", "ur", "w/", "mtg", "sesh", "vid", "telehealth", "zoom", "nah", "yeah",
    "morning", "afternoon", "evening", "needed", "required", "necessary", "sounds", "good",
    "great", "perfect", "works", "fine", "thanks.", "cheers", "else", "nothing", "anything",
    "eod", "cob", "eow", "charge", "bill", "dollars", "dollar", "bucks", "usd", "fee",
    "price", "cost", "rate", "pt", "pts", "clt", "appts", "mtgs", "sess", "thnx", "tyvm",
    "tx", "approx", "abt", "kk", "np", "nm", "nvm",
})  # fmt: skip
# Never part of a name, wherever they stand: roles and their short forms, the short forms
# clinicians type, dictated punctuation, and answers that name nobody ("none", "idk").
# Those that mean nothing for the session are fillers too (never said back); the others,
# when no finder read them, are said back as not understood.
ROLES = frozenset({
    "patient", "patients", "pt", "pts", "client", "clients", "clt", "cl", "participant",
    "member", "consumer", "resident", "caller", "customer", "kiddo",
})  # fmt: skip
SHORT_FORMS = frozenset({
    "appt", "appts", "apt", "mtg", "mtgs", "sess", "sesh", "f/u", "fu", "f-u", "w/", "w/o",
    "wo", "asap", "thx", "thnx", "tx", "ty", "tyvm", "pls", "plz", "txt", "eml", "msg",
    "sms", "re", "fyi", "btw", "tbd", "tba", "np", "kk", "docs", "doc", "info", "tmw",
    "tmrw", "tmr", "tmrow", "tmo", "tomo", "2moro", "2day", "tdy", "tonite", "nxt", "wk",
    "wks", "hr", "hrs", "min", "mins", "approx", "abt", "b/c", "bc", "ur",
    "pm", "am", "p.m", "a.m", "est", "cst", "mst", "pst", "edt", "cdt", "mdt", "pdt", "utc",
    "gmt", "vid", "tele", "virt", "zoom", "sched", "resched",
    "cxl", "canc", "conf", "confirm", "ok", "okay", "thurs", "thur", "tues", "weds",
    "tmrws", "eod", "cob", "eow", "nm", "nvm",
})  # fmt: skip
NON_ANSWERS = frozenset({
    "none", "n/a", "na", "nil", "nobody", "noone", "no-one", "skip", "idk", "dunno",
    "same", "tbd", "unknown", "whatever", "anyone", "nothing", "pass", "later", "-", "?",
})  # fmt: skip
PUNCTUATION_WORDS = frozenset({
    "comma", "period", "colon", "semicolon", "dash", "hyphen", "quote", "unquote",
    "newline", "exclamation", "paragraph", "paren", "bracket",
})  # fmt: skip
MONTH_WORDS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
# A month name alone is never a participant ("May", "Dec"); "April Jones" is a name.
NOT_NAME = ROLES | SHORT_FORMS | NON_ANSWERS | PUNCTUATION_WORDS
TITLES = frozenset({"mr", "mrs", "ms", "mx", "dr", "prof", "miss"})
TOKEN = re.compile(r"[^\s,;:!?()\[\]{}\"“”<>*_]+")
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")


def clean_token(token: str) -> str:
    token = token.strip("-–—'’")
    if (
        token.count(".") == 1
        and token.endswith(".")
        and token[:-1].lower() not in TITLES
        and not is_initial(token)
    ):
        token = token[:-1]  # sentence end, not initials like "J.D.", "K." nor "Mr."
    return token


def is_initial(token: str) -> bool:
    """One letter and its period: "K." of "Dr. K. O'Brien", "J." of "Mary J. Blige"."""
    return len(token) == 2 and token[0].isalpha() and token[1] == "."


def leftover_words(rest: str) -> list[str]:
    """The words nobody claimed, fillers dropped."""
    found = []
    for token in TOKEN.findall(rest):
        token = clean_token(token)
        if token and token.lower() not in FILLER and EMOJI.sub("", token):
            found.append(token)  # an emoji alone is no word to say back
    return found
