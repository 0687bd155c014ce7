"""`sessionbot worker [--once]`: send due invitations, reminders and notices."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ground.settings import Settings

NAME = "worker"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="send due invitations, reminders and notices")
    p.add_argument("--once", action="store_true", help="send what is due now, then exit")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between looks when idle")
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve this process's Prometheus /metrics on 127.0.0.1:PORT (0: a free port)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.providers import payments, senders
    from sessionbot.outbox.worker import Worker
    from sessionbot.wiring import build

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parts = build(settings)
    if args.metrics_port is not None:
        from ground.metrics import serve_metrics

        port = serve_metrics(args.metrics_port)
        print(f"metrics: http://127.0.0.1:{port}/metrics", flush=True)
    for what, ok in (
        ("e-mail (SESSIONBOT_SMTP_URL)", settings.email_configured),
        ("text messages (TWILIO_*)", settings.sms_configured),
        ("Slack DMs (SLACK_BOT_TOKEN)", bool(settings.slack_bot_token or settings.slack_client_id)),
    ):
        if not ok:
            print(f"{what}: not configured; they go to the local outbox (`sessionbot outbox`).")
    worker = Worker(
        parts.store,
        parts.practice,
        settings,
        senders(settings, parts.store),
        payments=payments(settings),
    )
    if args.once:
        stats = worker.run_once()
        worker.close()
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(stats.counts.items())) or "nothing due"
        print(f"worker --once: {summary}")
        return 0
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %s: finishing the message in hand", signum)
        stop.set()

    failed: list[BaseException] = []

    def _run() -> None:
        try:
            worker.run_forever(stop, poll=args.poll)
        except BaseException as exc:  # raised again in this thread, for the one-line exit
            failed.append(exc)
            stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.getLogger(__name__).info("worker %s: running; SIGTERM stops it", worker.worker_id)
    # The loop runs in a thread of its own and this one only waits for it: a handler
    # that runs while this thread is inside `stop.wait()`, between two bytecodes that hold
    # the event's lock, would wait for that lock forever in `stop.set()` (a worker that
    # once did not stop on SIGTERM).
    runner = threading.Thread(target=_run, name="sessionbot-worker-loop")
    runner.start()
    while runner.is_alive():
        runner.join(0.5)
    parts.store.dispose()
    if failed:
        raise failed[0]
    return 0
