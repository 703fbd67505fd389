"""Posting one JSON message to a webhook: a few tries with backoff, bounded, and never an error.

Why httpx and not a notification library: httpx is already a dependency (Airflow's too) and one
POST with retries is a dozen lines. Airflow's notifier classes (``BaseNotifier``, the Slack
provider's ``SlackWebhookNotifier``) are DAG and task callbacks that run inside a worker and read
the webhook from an Airflow connection; a study's end is known only in the `saber run` process,
which is no DAG run's callback, and a URL given on the command line is no connection (the Slack
one also needs the Slack provider installed). apprise speaks to many services, but it is a large
dependency for one JSON POST, and Slack's incoming-webhook format is a small dict.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable

from saber._webhook_url import redact

__all__ = ["TRIES", "TIMEOUT_S", "deliver", "post_json"]

TRIES = 3
TIMEOUT_S = 4.0  # per try: three tries and the 1 s + 2 s waits between them fit in DEADLINE_S
BACKOFF_S = 1.0  # the first wait; each next one doubles
DEADLINE_S = 15.0  # per URL: a slow receiver must not hold up the end of `saber run` for long


def post_json(url: str, body: dict, *, tries: int = TRIES, timeout: float = TIMEOUT_S,
              sleep: Callable[[float], None] = time.sleep) -> str | None:
    """POST ``body``; None once a 2xx answers, else why it was not delivered (one phrase).

    A connection error, a timeout, a 5xx or a 429 is tried again after 1 s, then 2 s, within
    DEADLINE_S; any other answer (a 4xx: the URL or the message is wrong; a 3xx) is final.
    """
    import httpx

    content = json.dumps(body, default=str).encode()
    why, tried, started = "not tried", 0, time.monotonic()
    # Redirects are not followed: a webhook that moved answers 3xx, and the message (maybe with
    # the URL's token) should not go where a redirect points.
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(tries):
            if attempt:
                wait = BACKOFF_S * 2 ** (attempt - 1)
                if time.monotonic() - started + wait >= DEADLINE_S:
                    break
                sleep(wait)
            left = DEADLINE_S - (time.monotonic() - started)
            tried += 1
            try:
                answer = client.post(url, content=content, headers={"Content-Type": "application/json"},
                                     timeout=min(timeout, max(left, 0.1)))
            except httpx.UnsupportedProtocol:
                return "not an http(s) URL"
            except httpx.TransportError as e:
                why = _transport_reason(e)
                continue
            if answer.is_success:
                return None
            why = f"HTTP {answer.status_code}"
            if answer.status_code != 429 and answer.status_code < 500:
                return why
    return f"{why} ({tried} tries)" if tried > 1 else why


def deliver(messages: Iterable[tuple[str, dict]], *, warn: Callable[[str], None] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Send each (url, body); a message not delivered is one warning line naming its URL
    (redacted). Returns the URLs that got their message. Never raises: a notification must not
    change how the run ends. A Ctrl-C while sending gives up on the rest."""
    warn = warn or _to_stderr
    delivered: list[str] = []
    pending = list(messages)
    for i, (url, body) in enumerate(pending):
        try:
            why = post_json(url, body, sleep=sleep)
        except KeyboardInterrupt:
            for skipped, _ in pending[i:]:
                warn(f"saber: warning: notification to {redact(skipped)} not sent: interrupted")
            break
        except Exception as e:  # whatever goes wrong in sending is a warning, never the run's failure
            why = type(e).__name__  # not its text: that may quote the URL with its credentials
        if why is None:
            delivered.append(url)
        else:
            warn(f"saber: warning: notification to {redact(url)} not delivered: {why}")
    return delivered


def _transport_reason(error: Exception) -> str:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return "cannot connect"
    return type(error).__name__


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
