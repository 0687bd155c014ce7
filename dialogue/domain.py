"""The domain (dialogue/domain.yml) and the rendering of its responses into messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

FORM = "schedule_form"
# The intents that answer no question: the form rejects them and a rule (a Rasa server)
# or the runner's handler takes over. "change" is not among them: it names what to
# change, and the form reads it as an answer (the runner handles it too: runner.py).
CONTROL_INTENTS = frozenset(
    {
        "cancel",
        "start_over",
        "go_back",
        "help",
        "save",
        "list_sessions",
        "schedule_next",
        "set_agenda",
        "set_hours",
        "hold",
        "cancel_session",
    }
)
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message of the bot, free of any channel: text, buttons and a widget hint."""

    text: str
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.custom.get("kind", "info"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.custom:
            out["custom"] = self.custom
        return out


@cache
def load_domain() -> dict[str, Any]:
    """The domain as the dict a Rasa server sends to an action server."""
    text = resources.files("dialogue").joinpath("domain.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def fill(template: Any, values: dict[str, Any]) -> Any:
    """Rasa-style fill of `{name}` placeholders; `{{`/`}}` are literal braces."""
    if isinstance(template, str):
        text = _PLACEHOLDER.sub(
            lambda m: str(values[m.group(1)]) if values.get(m.group(1)) is not None else m.group(0),
            template,
        )
        return text.replace("{{", "{").replace("}}", "}")
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def render_response(name: str, values: dict[str, Any]) -> BotMessage:
    variants = load_domain()["responses"].get(name)
    if not variants:
        raise KeyError(f"no response {name!r} in domain.yml")
    filled = fill(variants[0], values)
    return BotMessage(
        text=filled.get("text", ""),
        buttons=tuple(Button(b["title"], b["payload"]) for b in filled.get("buttons", [])),
        custom=dict(filled.get("custom") or {}),
    )


def message_from_dispatch(raw: dict[str, Any], values: dict[str, Any]) -> BotMessage:
    """A message collected by rasa-sdk's dispatcher, as the bot will say it."""
    if raw.get("response") or raw.get("template"):
        name = raw.get("response") or raw.get("template")
        extra = {k: v for k, v in raw.items() if k not in ("response", "template")}
        base = render_response(str(name), {**values, **extra})
        custom = {**base.custom, **(raw.get("custom") or {})}
        return BotMessage(base.text, base.buttons, custom)
    return BotMessage(
        text=raw.get("text") or "",
        buttons=tuple(Button(b["title"], b["payload"]) for b in raw.get("buttons") or []),
        custom=dict(raw.get("custom") or raw.get("json_message") or {}),
    )


def parse_payload(text: str) -> tuple[str, dict[str, Any]] | None:
    """A Rasa button payload (`/intent{"entity": value}`) as intent and entities."""
    match = re.fullmatch(r"/([A-Za-z_]+)(\{.*\})?", text.strip(), flags=re.S)
    if not match:
        return None
    entities: dict[str, Any] = {}
    if match.group(2):
        try:
            entities = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        if not isinstance(entities, dict):
            return None
    return match.group(1), entities
