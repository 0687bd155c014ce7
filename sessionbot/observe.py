"""What the database says, as Prometheus metrics: queue depths, oldest ages, sessions.

Read at each scrape of /metrics, so every web replica reports the same truth about the
shared queues (take `max`, not `sum`, across replicas). Counts and ages only: no row's
content is read, nothing is decrypted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store import overview
from store.db import Store


class StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        with self.store.reading() as s:
            inbox_depth, inbox_age = overview.inbox_overview(s, now)
            outbox, outbox_age = overview.outbox_overview(s, now)
            sessions = overview.sessions_by_status(s)
        yield GaugeMetricFamily(
            "sessionbot_inbox_depth",
            "Slack requests kept but not yet processed",
            value=inbox_depth,
        )
        yield GaugeMetricFamily(
            "sessionbot_inbox_oldest_age_seconds",
            "How long the oldest unprocessed Slack request has waited",
            value=inbox_age,
        )
        messages = GaugeMetricFamily(
            "sessionbot_outbox_messages",
            "Outbox messages by status and channel",
            labels=["status", "channel"],
        )
        for status, channel, count in outbox:
            messages.add_metric([status, channel], count)
        yield messages
        yield GaugeMetricFamily(
            "sessionbot_outbox_oldest_due_age_seconds",
            "How long the oldest message that is due has waited to be sent",
            value=outbox_age,
        )
        by_status = GaugeMetricFamily(
            "sessionbot_sessions", "Sessions in the store, by status", labels=["status"]
        )
        for status, count in sessions:
            by_status.add_metric([status], count)
        yield by_status


def registry_for(store: Store) -> CollectorRegistry:
    """A registry of this store's metrics alone (one per app: tests build many apps)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry
