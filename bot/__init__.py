"""The Slack face: Bolt app, listeners and Block Kit rendering."""
