"""Trying a step again: how many times, after what, and from a clean slate each time.

A step whose container was killed (exit 137/143: the OOM killer, `docker kill`, a node
draining) or whose Docker engine refused it failed for reasons outside the tool: it gets one
more try by default. A tool's own non-zero exit is its answer and is not tried again unless the
step (`hints: saber: {retries: N}`) or the run (`sampler: {retries: N}`, `saber run --retries N`)
asks, and then any failure is. Each try writes its outputs into an emptied folder, so what a
step returns comes from exactly one try, never from a mix of a killed one and the next.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saber.errors import StepFailed

__all__ = ["STOP_MARK", "RetryPolicy", "infrastructure_failure", "mark_stopped", "run_with_retries"]

# Left in a run's work folder (`<storage>/.work/<dag>/<run>/`) by whatever stops the run (a
# cancel, the watchdog, `saber cancel`) before it kills the containers: the killed step must
# then not be tried again, although its container died like one the OOM killer took.
STOP_MARK = ".saber-stopped"


def mark_stopped(run_workdir: Path) -> None:
    try:
        run_workdir.mkdir(parents=True, exist_ok=True)
        (run_workdir / STOP_MARK).touch()
    except OSError:
        pass  # a folder that cannot be written holds no container of this run either

# Exit codes of a `docker run` whose container did not end by itself: 125 the engine refused
# to run it, 137 SIGKILL (OOM, docker kill), 143 SIGTERM (docker stop).
_INFRASTRUCTURE_EXITS = {125, 137, 143}
_ENGINE_TROUBLE = ("Cannot connect to the Docker daemon", "Error response from daemon",
                   "error during connect")
DEFAULT_INFRA_RETRIES = 1
DEFAULT_DELAY_S = 2.0


@dataclass(frozen=True)
class RetryPolicy:
    retries: int | None = None  # asked for (any failure is tried again); None: the default
    delay_s: float | None = None

    @classmethod
    def of(cls, step: dict, run_default: dict) -> RetryPolicy:
        """The step's own policy wins over the run's default."""
        own = step.get("retry") or {}
        retries = own.get("retries") if own.get("retries") is not None else run_default.get("retries")
        delay = own.get("retry_delay") if own.get("retry_delay") is not None else run_default.get("retry_delay")
        return cls(retries, delay)

    def tries_after(self, error: StepFailed) -> int:
        """How many tries in all a failure like ``error`` may have."""
        if self.retries is not None:
            return 1 + self.retries
        return 1 + DEFAULT_INFRA_RETRIES if infrastructure_failure(error) else 1


def infrastructure_failure(error: StepFailed) -> bool:
    """The step failed for reasons outside its tool (a killed container, the Docker engine)."""
    if error.tool_exit_code in _INFRASTRUCTURE_EXITS:
        return True
    return error.tool_exit_code is None and any(t in (error.log_tail or "") for t in _ENGINE_TROUBLE)


def run_with_retries(run_once: Callable[[int], Any], policy: RetryPolicy, outdir: Path, say: Callable[[str], None],
                     sleep: Callable[[float], None] = time.sleep,
                     stopped: Callable[[], bool] = lambda: False) -> Any:
    """``run_once(try number)`` until it succeeds, the policy says no more, or ``stopped()``
    (the run is being stopped); its outputs go to ``outdir``, emptied before every try."""
    attempt = 1
    while True:
        if outdir.exists():
            shutil.rmtree(outdir)  # a killed try's half-written outputs must not reach the next
        try:
            return run_once(attempt)
        except StepFailed as e:
            allowed = policy.tries_after(e)
            if attempt >= allowed or stopped():
                raise
            why = "infrastructure failure" if infrastructure_failure(e) else "failed"
            delay = policy.delay_s if policy.delay_s is not None else DEFAULT_DELAY_S
            say(f"step {e.step} {why} (exit code {e.tool_exit_code}); try {attempt + 1} of {allowed} "
                f"in {delay:g} s")
            sleep(delay)
            if stopped():
                raise
            attempt += 1
