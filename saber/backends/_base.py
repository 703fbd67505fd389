"""The backend boundary: where the DAG runs of a compiled plan execute.

``saber.runs`` (sweeps, studies, ``saber cwl-runner``) talks to a :class:`Backend` and nothing
else: no Airflow ORM, log file or private module above this line. A backend owns its Airflow,
the embedded one in this process or a real deployment over REST.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["TERMINAL", "Backend", "Capabilities", "RunOutcome", "RunProgress", "RunRequest", "RunState",
           "StepRecord", "run_state"]

RunState = Literal["queued", "running", "success", "failed"]
TERMINAL: frozenset[str] = frozenset({"success", "failed"})


def run_state(airflow_state: str | None) -> RunState:
    """An Airflow DAG-run state as one of the backend's named states."""
    state = str(airflow_state or "queued").rpartition(".")[2].lower()
    return state if state in ("queued", "running", "success", "failed") else "failed"  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a backend promises; ``runs`` asks, never guesses."""

    shared_storage: bool  # step outputs are file:// locations this process can read
    stores_secrets: bool  # store_secrets() puts values where a task's reveal() finds them
    needs_dag_sync: bool  # prepare() waits for another process (a DAG processor) to parse the DAG
    parallel_runs: int  # runs worth having in flight at once (a study's default batch size)


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """One DAG run to create: its id and its conf (``saber.plan.run_conf``)."""

    run_id: str
    conf: dict[str, Any]


@dataclass(kw_only=True)
class RunProgress:
    """A run's state and its task instances counted by state, for live display."""

    run_id: str
    state: str = "queued"
    tasks: dict[str, int] = field(default_factory=dict)
    cached: int = 0  # of the succeeded tasks, those whose outputs came from the step cache
    runs: int = 1  # runs this entry stands for (a sweep folds its finished batches into one per state)


@dataclass(frozen=True, kw_only=True)
class StepRecord:
    """One task instance of a finished run, with what a scored step pushed."""

    task_id: str
    map_index: int = -1  # -1 unless mapped
    state: str
    score: float | None = None
    score_fields: Mapping[str, Any] = field(default_factory=dict)
    container_s: float = 0.0
    scored: bool = False  # the step has a score_format (its score may still be None)
    cached: bool = False  # its outputs came from the step cache: no container ran


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    """How a run ended. ``error`` is one sentence (the failed steps and the first one's own last
    error line); ``failures`` maps each failed task (``task`` or ``task[i]``) to its log's tail."""

    run_id: str
    state: RunState
    wall_s: float = 0.0
    steps: Sequence[StepRecord] = ()
    error: str | None = None
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def cached_steps(self) -> tuple[str, ...]:
        """The steps whose outputs came from the step cache (no container ran)."""
        return tuple(step_label(s.task_id, s.map_index) for s in self.steps if s.cached)


def step_label(task_id: str, map_index: int) -> str:
    """``task`` or ``task[i]`` for a mapped instance."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


@runtime_checkable
class Backend(Protocol):
    """Runs the DAG runs of one compiled plan.

    Lifecycle, in this order::

        start()                     connect: configure/authenticate; nothing is created yet
        prepare(plan)               the DAG is there, is this plan, and can run
        store_secrets({key: value}) once, before the runs that refer to them
        submit(requests)            any number of batches (a study's rounds) ...
        wait(run_ids)               ... each waited for until every run is terminal
        outcome(id), outputs(id)    per finished run
        annotate(id, note)          the UI note of a run (a trial's score)
        cancel(run_ids)             on interrupt: unfinished runs failed, their containers killed
        settle(run_ids)             runs this client did not see end (a dead client's, an
                                    interrupted batch's): final states, stopping any still going
        forget_secrets(keys)        when the runs are over (finished, failed or cancelled)
        close()                     always, also after an error

    Raises only ``saber.errors.SaberError`` subclasses: ``BackendUnavailable`` (exit 2) when the
    backend cannot be reached or refuses the credentials, before any run exists. Run ids are
    unique per plan: ``submit`` refuses one that already exists.
    """

    name: str
    capabilities: Capabilities

    def start(self) -> None:
        """Connect. Embedded: point this process at the saber home and its database (before
        anything imports Airflow). Remote: authenticate and check the permissions."""

    def prepare(self, plan: dict) -> None:
        """Make ``plan``'s DAG runnable (write, sync or verify it) and unpause what must be."""

    def store_secrets(self, values: Mapping[str, str]) -> None:
        """Keep each secret ``value`` under its variable ``key`` in the backend's secret store."""

    def submit(self, requests: Sequence[RunRequest]) -> None:
        """Create these DAG runs (they may start at once, or when ``wait`` drives them)."""

    def wait(self, run_ids: Sequence[str], *,
             on_progress: Callable[[list[RunProgress]], None] | None = None) -> dict[str, RunState]:
        """Block until every run is terminal; returns run_id -> final state."""

    def outcome(self, run_id: str) -> RunOutcome:
        """Scores, container seconds, wall time and, for a failed run, why."""

    def outputs(self, run_id: str) -> dict[str, Any]:
        """The run's CWL output object (File locations as the tasks wrote them)."""

    def annotate(self, run_id: str, note: str) -> None:
        """Set the run's note (shown beside it in the Airflow UI)."""

    def cancel(self, run_ids: Sequence[str]) -> None:
        """Fail every unfinished run of ``run_ids`` and kill their containers; idempotent."""

    def settle(self, run_ids: Sequence[str]) -> dict[str, RunState | None]:
        """Each run's final state, for runs whose end this client did not see: a run still
        going is stopped first (failed, containers killed), so it can never finish behind the
        caller's back; None for a run that does not exist. Works after ``cancel``."""

    def forget_secrets(self, keys: Sequence[str]) -> None:
        """Remove these keys from the secret store; a key not there is skipped. Called while a
        use case ends, also on an error: what cannot be removed is logged, not raised."""

    def close(self) -> None:
        """Release what ``start`` and ``prepare`` opened."""
