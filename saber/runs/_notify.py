"""What `saber run` tells webhooks when a study or sweep ends: who is told, and the message.

The URLs come from `saber run --notify`, ``$SABER_NOTIFY`` and the sweep file's
``sampler: {notify: ...}``, merged. A run is followed through the callbacks `run_sweep` already
has (ready, each trial, progress), so an interrupted or failed run still says how far it got.
Nothing is sent for a run refused before it started (bad input, a study another driver holds):
the terminal says that at once. Delivery (retries, warnings) is in ``_webhook``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from saber._webhook_url import check_url
from saber.errors import InputError
from saber.runs._webhook import deliver

__all__ = ["EVENT", "Ending", "Watch", "body_for", "command_line_urls", "message", "merge_urls", "slack_message",
           "study_link"]

EVENT = "saber.sweep.ended"
_SLACK_TEXT = 3000  # Slack refuses a section whose text is longer


@dataclass(frozen=True)
class Ending:
    """How one `saber run` ended, as the message says it."""

    name: str  # the study's or sweep's name (--study)
    kind: str  # "run" (no sweep file), "sweep" (every point of a grid) or "study" (a sampler chose)
    state: str  # "finished" (every point ran, some may have failed), "failed" or "interrupted"
    workflow: str
    dag_id: str
    done: int  # points (trials) that succeeded
    failed: int
    planned: int | None  # None: the study has no fixed count
    best: dict | None  # {"number", "params", "score"}; None for a plain sweep or several objectives
    wall_s: float
    error: str | None = None  # why it failed or what stopped it


def merge_urls(*sources: str | Iterable[str] | None) -> list[str]:
    """Every URL of the sources once, in order. A string source holds URLs separated by whitespace
    or commas (``$SABER_NOTIFY``); a list's items are URLs as they are (a comma may be in one)."""
    urls: dict[str, None] = {}
    for source in sources:
        if source is None:
            continue
        items = re.split(r"[\s,]+", source) if isinstance(source, str) else [u.strip() for u in source]
        urls.update((url, None) for url in items if url)
    return list(urls)


def command_line_urls(given: Iterable[str] | None, env: str | None) -> tuple[str, ...]:
    """`--notify` URLs and ``$SABER_NOTIFY``'s, checked: a bad one is an InputError (exit 2)."""
    for field, source in (("--notify", given), ("$SABER_NOTIFY", env)):
        for url in merge_urls(source):
            if (why := check_url(url)) is not None:
                raise InputError(f"{field} {why}", field=field)
    return tuple(merge_urls(given, env))


def study_link(ui: str | None, name: str) -> str | None:
    """The study's page in the Airflow UI (saber's plugin), or None when the UI is not known."""
    if not ui:
        return None
    parts = urlsplit(ui.strip())
    if not parts.scheme or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    base = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"
    return f"{base}/saber/studies/{quote(name, safe='')}"  # no credentials or query of the UI URL


def message(end: Ending, ui: str | None) -> dict:
    """The JSON message every webhook but Slack's gets."""
    return {"event": EVENT, "name": end.name, "kind": end.kind, "state": end.state, "workflow": end.workflow,
            "dag_id": end.dag_id, "trials": {"done": end.done, "failed": end.failed, "planned": end.planned},
            "best": end.best, "wall_s": round(end.wall_s, 3), "url": study_link(ui, end.name),
            "error": end.error}


def slack_message(end: Ending, ui: str | None) -> dict:
    """Slack's incoming-webhook format: a one-line ``text`` (notifications, and clients without
    blocks) and one Block Kit section in mrkdwn."""
    trials = f"{end.done} done, {end.failed} failed" + (f" of {end.planned} planned" if end.planned else "")
    best = _best_text(end.best)
    text = _mrkdwn(f"saber {end.kind} {end.name} {end.state}: {trials}{f'; best {best}' if best else ''} "
                   f"({_wall(end.wall_s)})")
    lines = [f"*saber {end.kind} `{_mrkdwn(end.name)}` {end.state}*",
             f"workflow `{_mrkdwn(end.workflow)}`, DAG `{_mrkdwn(end.dag_id)}`",
             f"trials: {trials}"]
    if best:
        lines.append(f"best: {_mrkdwn(best)}")
    lines.append(f"wall time: {_wall(end.wall_s)}")
    if end.error:
        lines.append(f"error: {_mrkdwn(_cut(end.error, 500))}")
    if link := study_link(ui, end.name):
        lines.append(f"<{link}|open the {end.kind} in the Airflow UI>")
    section = {"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), _SLACK_TEXT)}}
    return {"text": text, "blocks": [section]}


def body_for(url: str, end: Ending, ui: str | None) -> dict:
    """Slack's format for a Slack incoming webhook, saber's JSON message for any other URL."""
    host = (urlsplit(url).hostname or "").lower()
    return slack_message(end, ui) if host == "hooks.slack.com" else message(end, ui)


class Watch:
    """Follows one `saber run` through its callbacks and tells the URLs how it ended.

    ``ready``, ``trial`` and ``progress`` stand in for `run_sweep`'s callbacks (and call the
    caller's); ``finished`` or ``stopped`` sends the message. Only counts and the best trial so
    far are kept, so a 10,000-trial study costs nothing here.
    """

    def __init__(self, *, name: str, urls: Callable[[], list[str]], ui: str | None, sweep_file: bool,
                 on_ready=None, on_trial=None, on_progress=None, send=deliver,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.urls, self.ui, self.sweep_file = name, urls, ui, sweep_file
        self.on_ready, self.on_trial, self.on_progress = on_ready, on_trial, on_progress
        self.send, self.clock, self.started = send, clock, clock()
        self.plan: dict | None = None  # set once the first run is about to start
        self.study = None  # the StudySpec of a scored workflow
        self.planned: int | None = None
        self.done = self.failed = 0
        self.best: dict | None = None
        self.runs: list = []  # the last progress shown: a plain sweep's runs (earlier ones folded)

    # -- run_sweep's callbacks -------------------------------------------------------------

    def ready(self, plan: dict, count: int | None, study) -> None:
        self.plan, self.planned, self.study = plan, count, study
        if self.on_ready:
            self.on_ready(plan, count, study)

    def trial(self, record) -> None:
        if record.state == "COMPLETE":
            self.done += 1
            self._consider(record)
        else:
            self.failed += 1
        if self.on_trial:
            self.on_trial(record)

    def progress(self, runs: list) -> None:
        self.runs = runs
        if self.on_progress:
            self.on_progress(runs)

    # -- the end ---------------------------------------------------------------------------

    def finished(self, summary) -> None:
        """Every point ran (some may have failed): the summary has the counts and the best trial
        over the whole study (a resumed study's earlier trials included)."""
        if self.plan is None:
            return
        done = sum(p.state == "success" and p.error is None for p in summary.points)
        best = (summary.study or {}).get("best")
        self._send(Ending(name=summary.sweep_id, kind=self._kind(), state="finished", workflow=self.plan["name"],
                          dag_id=summary.dag_id, done=done, failed=len(summary.points) - done,
                          planned=self.planned, wall_s=summary.seconds,
                          best=None if best is None else {"number": best["number"], "params": best["params"],
                                                          "score": best["value"]}))

    def stopped(self, error: BaseException) -> None:
        """The run raised: interrupted (Ctrl-C, SIGTERM, SIGHUP) or failed. Counts and the best
        trial are those of the trials this run saw end."""
        if self.plan is None:
            return  # refused before anything ran
        interrupted = isinstance(error, KeyboardInterrupt)
        if interrupted:  # saber run's Stopped names its signal; a bare KeyboardInterrupt is Ctrl-C
            why = f"stopped by {str(error) or 'Ctrl-C (SIGINT)'}"
        else:
            why = str(error) if _is_sentence(error) else f"{type(error).__name__}: {error}"
        done, failed = self.done, self.failed
        if self.study is None:  # a plain sweep has no trials: its runs as last shown
            done = sum(getattr(r, "runs", 1) for r in self.runs if r.state == "success")
            failed = sum(getattr(r, "runs", 1) for r in self.runs if r.state == "failed")
        self._send(Ending(name=self.name, kind=self._kind(), state="interrupted" if interrupted else "failed",
                          workflow=self.plan["name"], dag_id=self.plan["dag_id"], done=done, failed=failed,
                          planned=self.planned, best=self.best, wall_s=self.clock() - self.started,
                          error=_cut(why, 1000)))

    def _send(self, end: Ending) -> None:
        try:
            messages = [(url, body_for(url, end, self.ui)) for url in self.urls()]
        except Exception as e:  # a notification never changes how the run ends
            print(f"saber: warning: no notification sent: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return
        if messages:
            self.send(messages)

    def _kind(self) -> str:
        from saber.sweep import GRID_METHODS

        if not self.sweep_file:
            return "run"
        return "study" if self.study is not None and self.study.method not in GRID_METHODS else "sweep"

    def _consider(self, record) -> None:
        """Keep the best completed trial so far (one objective only: several have no best)."""
        value = record.value
        if isinstance(value, list) or value is None or (isinstance(value, float) and math.isnan(value)):
            return
        better = (self.best is None or (value > self.best["score"] if self.study.direction == "maximize"
                                        else value < self.best["score"]))
        if better:
            self.best = {"number": record.number, "params": record.params, "score": value}


def _is_sentence(error: BaseException) -> bool:
    from saber.errors import SaberError

    return isinstance(error, SaberError)


def _best_text(best: dict | None) -> str | None:
    if best is None:
        return None
    params = json.dumps(best["params"], default=str, separators=(", ", ": "))
    return f"#{best['number']} score {best['score']:.6g} {_cut(params, 200)}"


def _wall(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s"


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, as its message formatting guide asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
