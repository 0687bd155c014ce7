"""The domain (dialogue/domain.yml) and the rendering of its responses into messages."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TypedDict

import yaml
from rasa_sdk.types import DomainDict

from ground.jsontypes import JSON

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


class MappingCondition(TypedDict, total=False):
    active_loop: str | None
    requested_slot: str | None


class SlotMapping(TypedDict, total=False):
    """One of a slot's `mappings` in domain.yml (Rasa 3): how a message fills the slot."""

    type: str  # from_entity, from_intent, from_text, custom
    entity: str
    value: JSON
    intent: str | list[str]
    not_intent: str | list[str]
    action: str
    conditions: list[MappingCondition]


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message of the bot, free of any channel: text, buttons and a widget hint."""

    text: str
    buttons: tuple[Button, ...] = ()
    custom: dict[str, JSON] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.custom.get("kind", "info"))

    def to_dict(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.custom:
            out["custom"] = self.custom
        return out


@cache
def load_domain() -> DomainDict:
    """The domain as the dict a Rasa server sends to an action server."""
    text = resources.files("dialogue").joinpath("domain.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def fill(template: JSON, values: Mapping[str, object]) -> JSON:
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


def _buttons(raw: JSON) -> tuple[Button, ...]:
    """A response's or a dispatched message's buttons (a title and a payload each)."""
    if not isinstance(raw, list):
        return ()
    return tuple(Button(str(b["title"]), str(b["payload"])) for b in raw if isinstance(b, dict))


def _object(raw: JSON) -> dict[str, JSON]:
    return dict(raw) if isinstance(raw, dict) else {}


def render_response(name: str, values: Mapping[str, object]) -> BotMessage:
    variants = load_domain()["responses"].get(name)
    if not variants:
        raise KeyError(f"no response {name!r} in domain.yml")
    filled: dict[str, JSON] = {k: fill(v, values) for k, v in variants[0].items()}
    text = filled.get("text", "")
    return BotMessage(
        text=text if isinstance(text, str) else "",
        buttons=_buttons(filled.get("buttons")),
        custom=_object(filled.get("custom")),
    )


def message_from_dispatch(raw: dict[str, JSON], values: Mapping[str, object]) -> BotMessage:
    """A message collected by rasa-sdk's dispatcher, as the bot will say it."""
    if raw.get("response") or raw.get("template"):
        name = raw.get("response") or raw.get("template")
        extra = {k: v for k, v in raw.items() if k not in ("response", "template")}
        base = render_response(str(name), {**values, **extra})
        custom = {**base.custom, **_object(raw.get("custom"))}
        return BotMessage(base.text, base.buttons, custom)
    text = raw.get("text")
    return BotMessage(
        text=text if isinstance(text, str) else "",
        buttons=_buttons(raw.get("buttons")),
        custom=_object(raw.get("custom") or raw.get("json_message")),
    )


def parse_payload(text: str) -> tuple[str, dict[str, JSON]] | None:
    """A Rasa button payload (`/intent{"entity": value}`) as intent and entities."""
    match = re.fullmatch(r"/([A-Za-z_]+)(\{.*\})?", text.strip(), flags=re.S)
    if not match:
        return None
    entities: dict[str, JSON] = {}
    if match.group(2):
        try:
            entities = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        if not isinstance(entities, dict):
            return None
    return match.group(1), entities
