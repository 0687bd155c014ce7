"""Assembling the parts from settings: store, practice, actions, NLU and the runner."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from actions import context, extraction, make_executor, week_words
from dialogue.runner import Runner
from ground.formatting import zone_label
from ground.hours import HoursError, parse_hours
from ground.practice import Practice, load_practice
from ground.settings import Settings
from sessionbot.parts import Parts
from store.db import Store

__all__ = ["Parts", "build", "make_nlu"]  # Parts lives in sessionbot.parts; kept here too


def make_nlu(
    practice: Practice,
) -> Callable[[str, datetime, str | None, str | None, str | None], week_words.Heard]:
    packages = {p.key: p.name for p in practice.documents}
    services = {s.key: s.name for s in practice.services}

    def nlu(
        text: str,
        now: datetime,
        requested_slot: str | None,
        theirs: str | None = None,
        own_hours: str | None = None,
    ) -> week_words.Heard:
        """`theirs`: the draft's participant zone ("10am her time", a national number);
        `own_hours`: the clinician's working hours, which close calls ("at 7") read."""
        bounds = practice.working_hours
        if own_hours:
            with contextlib.suppress(HoursError):
                bounds = parse_hours(own_hours).bounds()
        return week_words.read(
            text, now, lambda words: slots(words, now, requested_slot, theirs, bounds)
        )

    def slots(
        text: str,
        now: datetime,
        requested_slot: str | None,
        theirs: str | None,
        bounds: tuple[int, int],
    ) -> extraction.Extracted:
        return extraction.extract(
            text,
            now=now,
            default_region=practice.default_region,
            packages=packages,
            services=services,
            requested_slot=requested_slot,
            working_hours=bounds,
            participant_zone=theirs,
        )

    return nlu


def read_zone(text: str) -> tuple[str, str] | None:
    """The zone a clinician named for themselves, with its label; None when unknown."""
    try:
        zone = extraction.parse_zone(text)
    except ValueError:
        return None
    return zone, zone_label(zone)


def build(
    settings: Settings,
    *,
    store: Store | None = None,
    admits: Callable[[Store], context.SenderCheck] | None = None,
) -> Parts:
    """Everything a process needs, built once at the edge and passed in. `admits`: the
    check of senders for actions whose trackers come from outside (the action server),
    made on the store."""
    store = store or context.open_store(settings)
    practice = load_practice(settings.practice_file)
    context.configure(
        context.Services(
            store=store,
            practice=practice,
            settings=settings,
            admits=admits(store) if admits else None,
        )
    )
    runner = Runner(
        store,
        make_executor(),
        make_nlu(practice),
        default_tz=practice.default_timezone,
        read_zone=read_zone,
    )
    return Parts(settings=settings, store=store, practice=practice, runner=runner)
