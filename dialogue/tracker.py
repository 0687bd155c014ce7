"""A clinician's conversation as the embedded runner keeps it between turns.

Stored (encrypted) as JSON by `store.clinician_rows.save_tracker`; `to_json` and `from_json` are
the only way in and out, so the stored shape is written down here once. The slots hold
JSON values (`dialogue/slots.py` says how each is written and read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from ground.jsontypes import JSON

Phase = Literal["idle", "form", "confirm"]
PHASES: tuple[Phase, ...] = ("idle", "form", "confirm")
TURN_IDS_KEPT = 50
HISTORY_DEPTH = 20
# What a stored part is read as: a dict or a list of JSON.
K = TypeVar("K", dict[str, JSON], list[JSON])


@dataclass(frozen=True)
class Held:
    """The first message of a clinician whose own zone is being asked: answered once the
    zone is known."""

    text: str
    turn_id: str


@dataclass
class TrackerState:
    sender_id: str
    phase: Phase = "idle"
    slots: dict[str, JSON] = field(default_factory=dict)
    # The slots before each answer, newest last ("back" pops one).
    history: list[dict[str, JSON]] = field(default_factory=list)
    # Refused answers in a row, by slot (the formats are offered every few).
    misses: dict[str, int] = field(default_factory=dict)
    # The ids of the latest turns: a retried Slack event is recognised and not run twice.
    turn_ids: list[str] = field(default_factory=list)
    # The draft id of the session just saved ("save" again says it is saved).
    last_saved: str | None = None
    held: Held | None = None
    # The turn whose answer showed the summary last: Save stores it only once that answer
    # was delivered (the clinician saw it).
    summary_turn: str | None = None

    @property
    def requested_slot(self) -> str | None:
        value = self.slots.get("requested_slot")
        return value if isinstance(value, str) else None

    def seen(self, turn_id: str | None) -> bool:
        return bool(turn_id) and turn_id in self.turn_ids

    def remember(self, turn_id: str | None) -> None:
        if turn_id:
            self.turn_ids = [*self.turn_ids, turn_id][-TURN_IDS_KEPT:]

    def snapshot(self) -> None:
        self.history.append(dict(self.slots))
        del self.history[:-HISTORY_DEPTH]

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {
            "sender_id": self.sender_id,
            "phase": self.phase,
            "slots": self.slots,
            # Copies as JSON (a list of JSON, not of slot dicts; a dict of JSON, not of ints).
            "history": [*self.history],
            "misses": {**self.misses},
            "turn_ids": [*self.turn_ids],
            "last_saved": self.last_saved,
        }
        if self.summary_turn is not None:
            out["summary_turn"] = self.summary_turn
        if self.held is not None:
            out["held_for_own_zone"] = {"text": self.held.text, "turn_id": self.held.turn_id}
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, JSON], sender_id: str) -> TrackerState:
        """A stored state; parts missing or of the wrong kind (an older row) start empty."""

        def part(key: str, kind: type[K]) -> K:
            value = raw.get(key)
            return value if isinstance(value, kind) else kind()

        phase = raw.get("phase")
        held = raw.get("held_for_own_zone")
        return cls(
            sender_id=str(raw.get("sender_id") or sender_id),
            phase=phase if phase in PHASES else "idle",
            slots=part("slots", dict),
            history=[h for h in part("history", list) if isinstance(h, dict)],
            misses={k: v for k, v in part("misses", dict).items() if isinstance(v, int)},
            turn_ids=[t for t in part("turn_ids", list) if isinstance(t, str)],
            last_saved=last if isinstance(last := raw.get("last_saved"), str) else None,
            summary_turn=shown if isinstance(shown := raw.get("summary_turn"), str) else None,
            held=(
                Held(str(held.get("text") or ""), str(held.get("turn_id") or ""))
                if isinstance(held, dict)
                else None
            ),
        )
