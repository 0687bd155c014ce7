"""App Home's "Add to your calendar": the link reaches the clinician's DM only, and
"Make a new link" stops the old one at once (the real app on loopback, the fake Slack)."""

from __future__ import annotations

import re

from fake_slack import FakeSlack, Person, SlackApp

LINK = re.compile(r"https://sessions\.example\.test(/cal/[A-Za-z0-9_-]{32}\.ics)")


def test_app_home_sends_the_calendar_link_to_the_dm_and_a_new_link_replaces_it(
    clinician: Person, fake_slack: FakeSlack, running: SlackApp
) -> None:
    clinician.event({"type": "app_home_opened", "user": clinician.user, "tab": "home"})
    (published,) = fake_slack.wait_calls("views.publish", 1)
    view = published.args["view"]
    assert "Add to your calendar" in str(view)
    assert "/cal/" not in str(view)  # the link is never in a view
    (button,) = [
        b["accessory"]
        for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == "cal:show"
    ]
    clinician.interact(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"type": "home", "id": "V1"},
            "actions": [{**button, "block_id": "b", "action_ts": "3.1"}],
        }
    )
    (sent,) = clinician.replies()
    assert sent.channel == clinician.dm_channel
    assert "Google Calendar" in sent.text and "keep it to yourself" in sent.text
    link = LINK.search(sent.text)
    assert link is not None
    old = link.group(1)
    assert running.http.get(old).status_code == 200
    assert running.http.get(old).headers["content-type"].startswith("text/calendar")

    renewed = clinician.click(sent, "Make a new link")
    assert "the old one stopped working" in renewed.text
    link = LINK.search(renewed.text)
    assert link is not None
    new = link.group(1)
    assert new != old
    assert running.http.get(old).status_code == 404
    assert running.http.get(new).status_code == 200
    # Every message with a link went to the clinician's DM, nowhere else.
    posted = fake_slack.of("chat.postMessage")
    assert {c.args["channel"] for c in posted if "/cal/" in str(c.args)} == {clinician.dm_channel}
