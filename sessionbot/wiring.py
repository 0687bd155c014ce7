"""Assembling the parts from settings: store, practice, actions, NLU and the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actions import context, extraction, make_executor
from dialogue.runner import Runner
from sessionbot.practice import Practice, load_practice
from sessionbot.settings import Settings
from sessionbot.turns import TurnProcesses
from store.db import Store


def make_nlu(practice: Practice):  # type: ignore[no-untyped-def]
    packages = {p.key: p.name for p in practice.documents}
    services = {s.key: s.name for s in practice.services}

    def nlu(text: str, now: datetime, requested_slot: str | None) -> extraction.Extracted:
        return extraction.extract(
            text,
            now=now,
            default_region=practice.default_region,
            packages=packages,
            services=services,
            requested_slot=requested_slot,
            working_hours=practice.working_hours,
        )

    return nlu


@dataclass
class Parts:
    settings: Settings
    store: Store
    practice: Practice
    runner: Runner
    # The web process's turns in worker processes (`sessionbot serve`); None: in threads.
    turns: TurnProcesses | None = None


def build(settings: Settings, *, store: Store | None = None) -> Parts:
    """Everything a process needs, built once at the edge and passed in."""
    store = store or context.open_store(settings)
    practice = load_practice(settings.practice_file)
    context.configure(context.Services(store=store, practice=practice, settings=settings))
    runner = Runner(
        store, make_executor(), make_nlu(practice), default_tz=practice.default_timezone
    )
    return Parts(settings=settings, store=store, practice=practice, runner=runner)
