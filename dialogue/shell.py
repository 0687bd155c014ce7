"""`sessionbot shell`: the conversation in a terminal, or driven by a script.

On a terminal it prompts, numbers the buttons (type the number to click) and keeps line
editing; from a pipe it reads one line a turn, echoes it, and exits at end of input.
"""

from __future__ import annotations

from typing import TextIO

from dialogue.domain import BotMessage
from dialogue.runner import Runner, Who
from ground.settings import Settings

BANNER = (
    "sessionbot shell: schedule a session as clinician {user} ({tz}). "
    "Type “help” for help, Ctrl-D to quit."
)
BANNER_FOR = (
    "sessionbot shell: schedule sessions for clinician {clinician}, as {user}. "
    "Type “help” for help, Ctrl-D to quit."
)


class Shell:
    def __init__(
        self,
        runner: Runner,
        *,
        team: str,
        user: str,
        tz: str,
        settings: Settings | None = None,
        for_user: str | None = None,
    ) -> None:
        self.runner = runner
        self.who = Who(team_id=team, user_id=user, tz=tz, for_user=for_user)
        self.tz = tz
        self.choices: list[str] = []

    def run(self, stdin: TextIO, stdout: TextIO) -> int:
        interactive = stdin.isatty() and stdout.isatty()
        if interactive:
            import readline  # noqa: F401  (line editing and history for input())
        if self.who.for_user:
            banner = BANNER_FOR.format(user=self.who.user_id, clinician=self.who.for_user)
        else:
            banner = BANNER.format(user=self.who.user_id, tz=self.tz)
        stdout.write(banner + "\n")
        self._show_pending(stdout)
        while True:
            try:
                line = input("you> ") if interactive else stdin.readline()
            except EOFError:
                stdout.write("\n")
                return 0
            if not interactive:
                if line == "":
                    return 0
                line = line.rstrip("\n")
                stdout.write(f"you> {line}\n")
            if line.strip().lower() in ("quit", "exit") and interactive:
                return 0
            reply = self.runner.handle(self.who, self._resolve(line))
            self.choices = []
            for message in reply.messages:
                self._print(message, stdout)
            stdout.flush()

    def _show_pending(self, stdout: TextIO) -> None:
        """After a restart, say where the conversation stands."""
        state = self.runner.state_of(self.who)
        if state and state.phase in ("form", "confirm"):
            stdout.write("bot> We were in the middle of scheduling a session; let's go on.\n")
            for message in self.runner.handle(self.who, "/help").messages[1:]:
                self._print(message, stdout)

    def _resolve(self, line: str) -> str:
        """A number picks the button with that number from the last question."""
        text = line.strip()
        if text.isdigit() and self.choices and 1 <= int(text) <= len(self.choices):
            return self.choices[int(text) - 1]
        return line

    def _print(self, message: BotMessage, stdout: TextIO) -> None:
        text = message.text.replace("*", "")
        for i, line in enumerate(text.splitlines() or [""]):
            stdout.write(("bot> " if i == 0 else "     ") + line + "\n")
        if message.buttons:
            self.choices = [b.payload for b in message.buttons]
            for i, b in enumerate(message.buttons, 1):
                stdout.write(f"     [{i}] {b.title}\n")
        custom = message.custom
        if custom.get("kind") == "saved":
            stdout.write(f"     Enter Meeting: {custom['enter_meeting_url']}\n")
            stdout.write(f"     Participant's link: {custom['participant_url']}\n")
