"""A pytest plugin: everything the test run logged, scanned for the fake participants.

Every log record of the test processes passes through the production handler's filter
(`RedactingFilter`) at the production level (INFO) into a list; the logs of the
`sessionbot serve` processes the tests start are added as they stop. When the session
ends, the scan fails the run if any fake participant's name, e-mail or phone is there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ground.logs import RedactingFilter, set_library_levels

# The participants the tests make up (tests/*.py): names, e-mails, phone digits.
NAMES = (
    "Jane Doe",
    "Jane Smith",
    "John Smith",
    "Alice Smith",
    "Brian Jones",
    "Janet Other",
    "Zebediah",
    "Quartermaine",
)
EMAILS = re.compile(r"\b(?:jd|jane\.doe|jane|robin|sam|dana\.k)@(?:\w+\.)?example\.\w+", re.I)
PHONES = ("6175550101", "6175550102", "4155550199")

_lines: list[str] = []
_files: list[Path] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a line that cannot format is no finding
            _lines.append(f"<unformattable record of {record.name}>")


def scan_later(path: Path) -> None:
    """Add a process's log file (read at the end of the run)."""
    _files.append(path)


def findings(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        digits = re.sub(r"\D", "", line)
        if (
            any(name in line for name in NAMES)
            or EMAILS.search(line)
            or any(p in digits for p in PHONES)
        ):
            found.append(line[:300])
    return found


@pytest.fixture(scope="session", autouse=True)
def no_participant_in_any_log() -> Iterator[None]:
    handler = _Collect(level=logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(min(before, logging.INFO) if before else logging.INFO)
    set_library_levels(logging.INFO)  # as `sessionbot serve` sets them
    yield
    root.removeHandler(handler)
    root.setLevel(before)
    lines = list(_lines)
    for path in _files:
        if path.exists():
            lines += path.read_text(errors="replace").splitlines()
    found = findings(lines)
    assert not found, "participant data in the log:\n" + "\n".join(found[:20])
