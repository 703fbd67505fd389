"""The ask -> run -> tell loop: rounds of trials, each trial one DAG run, until a budget ends.

The loop knows nothing of Airflow: it hands each round to ``run_round`` (the embedded runner
in `saber run`, a plain function in the benchmarks) and reads back what each run scored.
Studies and trials live in Optuna's RDB storage, so a study can be resumed by name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from saber.errors import InputError
from saber.optimize._encode import encodings
from saber.optimize._unseen import UnseenSampler, param_key, space_size
from saber.scores._report import unscored
from saber.sweep import GRID_METHODS, Point, SearchSpace

__all__ = ["StudySpec", "TrialJob", "StepScore", "TrialOutcome", "TrialRecord", "Optimizer", "LoopResult",
           "objective_value"]


@dataclass(frozen=True)
class StudySpec:
    """What the sweep's sampler block and the command line decide about one study."""

    name: str
    method: str
    direction: str
    # Task id of the scored step whose score is the trial's value; several (no sampler.objective
    # and several scored steps): a multi-objective study, the trial's values their scores in order.
    objective: str | tuple[str, ...]
    max_iterations: int | None  # the study's total; None: the grid's size
    batch_size: int | None  # None: as many as the method allows (all of a grid)
    seed: int = 0
    max_time: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # workflow, sweep, DAG id: shown by `saber results`

    @property
    def objectives(self) -> tuple[str, ...]:
        return (self.objective,) if isinstance(self.objective, str) else tuple(self.objective)


@dataclass(frozen=True)
class TrialJob:
    """One trial to run: its number in the study and the sweep point it runs."""

    number: int
    point: Point


@dataclass(frozen=True)
class StepScore:
    task_id: str
    map_index: int  # -1 unless the scored step is scattered
    score: float | None  # None: the step's score_format matched no line
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialOutcome:
    """What running one trial gave: the run's state, its scores and what it cost."""

    run_id: str
    state: str  # the DAG run's final state
    scores: list[StepScore]
    wall_s: float
    container_s: float
    error: str | None = None  # why the run failed, when it did
    cached: tuple[str, ...] = ()  # steps whose outputs came from the step cache


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: str  # COMPLETE or FAIL
    value: float | list[float] | None  # a list, one per objective, in a multi-objective study
    outcome: TrialOutcome
    error: str | None
    adopted: bool = False  # settled after its round was cut short (its run had already ended)


@dataclass
class LoopResult:
    study: str
    direction: str
    trials: list[TrialRecord]  # those run by this call
    best: dict | None  # {"number", "params", "value"} over the whole study; None for several objectives
    stopped_by: str  # "max_iterations", "grid", "max_time", "exhausted" (no unseen point left)
    seconds: float

    @property
    def ok(self) -> bool:
        return all(t.state == "COMPLETE" for t in self.trials)


RunRound = Callable[[list[TrialJob]], list[TrialOutcome]]
# What became of trials whose round did not finish (interrupted, or left by a loop that died):
# the outcome of each trial's run if it ended, None if it had not (it is stopped, and the trial
# fails and runs again later).
Recover = Callable[[list[TrialJob]], list["TrialOutcome | None"]]


class Optimizer:
    """Runs one study's loop over a checked search space."""

    def __init__(self, spec: StudySpec, space: SearchSpace, storage, *, record_score=None,
                 default_batch: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self.space = space
        self.storage = storage  # an optuna storage (RDBStorage on $SABER_DB)
        self.record_score = record_score  # (study, trial number, run_id, StepScore) -> None
        self.default_batch = default_batch
        self.clock = clock  # seconds, for max_time
        self.encodings = encodings(space)
        self._asked: dict[int, Any] = {}  # trial number -> optuna Trial, until told
        self._seen: set[str] = set()  # points completed or running: never proposed again

    # -- set-up -----------------------------------------------------------------------------

    def _study(self):
        import optuna

        # Not optuna.get_all_study_summaries: it reads every study's trials, and takes the best
        # of a plain sweep's valueless ones (a TypeError).
        storage = optuna.storages.get_storage(self.storage)  # a URL becomes a storage once
        old = _existing(storage, self.spec.name)
        sampler = self._sampler(old.n_trials if old else 0)
        wanted = [optuna.study.StudyDirection.MAXIMIZE if self.spec.direction == "maximize"
                  else optuna.study.StudyDirection.MINIMIZE] * len(self.spec.objectives)
        if old is not None:
            if unscored(old.user_attrs):
                raise InputError(f"study '{self.spec.name}' is a plain sweep (no scored step), not a study to "
                                 "optimize; give another --study name")
            if list(old.directions) != wanted:
                raise InputError(f"study '{self.spec.name}' was created to {_goal(old.directions)}, not "
                                 f"{_goal(wanted)}; give another --study name", field="sampler.direction")
            if old.user_attrs.get("saber_dag_id") not in (None, self.spec.attrs.get("saber_dag_id")):
                raise InputError(f"study '{self.spec.name}' belongs to workflow "
                                 f"{old.user_attrs.get('saber_workflow')}; give another --study name")
        study = optuna.create_study(study_name=self.spec.name, storage=storage, sampler=sampler,
                                    directions=wanted, load_if_exists=True)
        if old is None:
            objective = self.spec.objective if isinstance(self.spec.objective, str) else list(self.spec.objective)
            attrs = {"saber_method": self.spec.method, "saber_objective": objective,
                     "saber_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     **self.spec.attrs}
            for key, value in attrs.items():
                study.set_user_attr(key, value)
        return study

    def _sampler(self, trials_before: int):
        """The method's sampler, wrapped so it never proposes a point already run. On a resume
        its seed moves on by the trials the study already has: the same seed would replay the
        first call's draws, yet the same history still gives the same proposals."""
        import optuna

        method, seed = self.spec.method, self.spec.seed + trials_before
        if method == "tpe":
            # constant_liar: trials of one round still running count as bad guesses, so a round
            # of batch_size trials spreads out instead of proposing one point batch_size times.
            inner = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=self._batch() > 1)
        elif method == "cmaes":
            # Categorical labels are sampled at random by CMA-ES (it models numbers only).
            inner = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        else:
            inner = optuna.samplers.RandomSampler(seed=seed)
        return UnseenSampler(inner, self.encodings, lambda: self._seen, seed)

    def _queued(self) -> bool:
        """Grids (and random draws from a finite grid) are chosen up front, then enqueued."""
        return self.spec.method in GRID_METHODS or (self.spec.method == "random"
                                                    and self.space.grid_size is not None)

    def _batch(self) -> int:
        if self.spec.batch_size:
            return self.spec.batch_size
        if self.spec.method == "grid" and self.spec.max_time is None:
            return 1 << 30  # the whole grid at once: nothing learns from the scores
        return self.default_batch

    def _plan_points(self) -> list[dict[str, Any]] | None:
        """For queued methods: every point the study should have run, in order."""
        if not self._queued():
            return None
        return self.space.grid(random_order=self.spec.method == "random",
                               limit=self.spec.max_iterations, seed=self.spec.seed)

    # -- the loop ---------------------------------------------------------------------------

    def run(self, run_round: RunRound, *, on_trial: Callable[[TrialRecord], None] | None = None,
            on_round: Callable[[list[TrialJob]], None] | None = None,
            recover: Recover | None = None) -> LoopResult:
        """Run rounds until the budget, the grid, the unseen points or ``max_time`` end.

        ``recover`` settles trials whose round did not finish: those a dead loop left running
        (before the first round) and those of an interrupted round (a finished run's result is
        kept, not failed)."""
        import optuna
        from optuna.trial import TrialState

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        started = self.clock()
        study = self._study()
        records: list[TrialRecord] = []
        self._settle_stale(study, recover, records, on_trial)
        size_of_space = space_size(self.encodings)
        self._seen = {param_key(t.user_attrs.get("saber_params"))
                      for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}
        planned = self._plan_points()
        total = len(planned) if planned is not None else self.spec.max_iterations
        # Failed trials of an earlier call are run again (same parameters), before new ones.
        retry = [] if planned is not None else self._failed_params(study)
        stopped_by = "grid" if planned is not None and self.spec.max_iterations is None else "max_iterations"
        while True:
            trials = study.get_trials(deepcopy=False)
            complete = sum(t.state == TrialState.COMPLETE for t in trials)
            failed_now = sum(r.state != "COMPLETE" and not r.adopted for r in records)
            if planned is not None:
                # Completed earlier, or run (either way) in this call: not run again now.
                skip = {_key(t.user_attrs.get("saber_params")) for t in trials if t.state == TrialState.COMPLETE}
                skip |= {_key(r.params) for r in records}
                todo = [p for p in planned if _key(p) not in skip]
                budget = len(todo)
            else:
                budget = total - complete - failed_now
                if size_of_space is not None and size_of_space - len(self._seen) <= 0 and not retry:
                    stopped_by = "exhausted"
                    break
                if size_of_space is not None:
                    budget = min(budget, size_of_space - len(self._seen) + len(retry))
            if budget <= 0:
                break
            if self.spec.max_time is not None and self.clock() - started >= self.spec.max_time:
                stopped_by = "max_time"
                break
            size = min(self._batch(), budget)
            fixed = todo[:size] if planned is not None else retry[:size]
            retry = retry[len(fixed):] if planned is None else retry
            jobs = self._ask(study, size, fixed)
            if on_round:
                on_round(jobs)
            try:
                outcomes = run_round(jobs)
            except BaseException:
                self._settle_interrupted(study, jobs, recover, records, on_trial)
                raise
            for job, outcome in zip(jobs, outcomes):
                record = self._tell(study, job, outcome)
                records.append(record)
                if on_trial:
                    on_trial(record)
        return LoopResult(study=self.spec.name, direction=self.spec.direction, trials=records,
                          best=_best(study), stopped_by=stopped_by, seconds=self.clock() - started)

    def _ask(self, study, size: int, fixed: list[dict[str, Any]]) -> list[TrialJob]:
        for chosen in fixed:
            study.enqueue_trial({e.key: e.encode(chosen[e.key]) for e in self.encodings})
        dists = {e.key: e.distribution for e in self.encodings}
        jobs = []
        for _ in range(size):
            trial = study.ask(fixed_distributions=dists)
            chosen = {e.key: e.decode(trial.params[e.key]) for e in self.encodings}
            trial.set_user_attr("saber_params", chosen)
            self._asked[trial.number] = trial
            self._seen.add(param_key(chosen))
            jobs.append(TrialJob(trial.number, self.space.point(trial.number, chosen)))
        return jobs

    def _tell(self, study, job: TrialJob, outcome: TrialOutcome) -> TrialRecord:
        from optuna.trial import TrialState

        number = job.number
        trial = self._asked.pop(number)
        trial.set_user_attr("saber_run_id", outcome.run_id)
        trial.set_user_attr("saber_wall_s", round(outcome.wall_s, 3))
        trial.set_user_attr("saber_container_s", round(outcome.container_s, 3))
        if self.record_score:
            for s in outcome.scores:
                self.record_score(self.spec.name, number, outcome.run_id, s)
        value, error = self._value(outcome)
        if error is None:
            study.tell(trial, value)
            state = "COMPLETE"
        else:
            trial.set_user_attr("saber_error", error)
            study.tell(trial, state=TrialState.FAIL)
            state = "FAIL"
            self._seen.discard(param_key(job.point.params))  # not run to the end: may come again
        return TrialRecord(number, job.point.params, state, value, outcome, error)

    def _value(self, outcome: TrialOutcome) -> tuple[float | list[float] | None, str | None]:
        return objective_value(outcome, self.spec.objective)

    def _settle_interrupted(self, study, jobs: list[TrialJob], recover: Recover | None,
                            records: list[TrialRecord], on_trial) -> None:
        """A round that never finished (Ctrl-C, SIGTERM, a worker died): the runs that ended
        keep their result; the others fail at once, so the study shows why and a resume runs
        them again. Never masks the interruption."""
        outcomes: list[TrialOutcome | None] = [None] * len(jobs)
        if recover is not None:
            try:
                outcomes = list(recover(jobs))
            except Exception:  # noqa: BLE001 - the interruption is what the user must see
                pass
        self._settle(study, jobs, outcomes, "interrupted: the round did not finish", records, on_trial)

    def _settle_stale(self, study, recover: Recover | None, records: list[TrialRecord], on_trial) -> None:
        """Trials left RUNNING by a loop that died (SIGKILL, OOM, a lost session) are settled
        before anything new runs: a run that finished is adopted, one still going is stopped
        (it must not complete behind the study's back) and its trial failed, to run again."""
        from optuna.trial import TrialState

        from saber.optimize._compat import running_trial

        jobs = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            params = t.user_attrs.get("saber_params")
            self._asked[t.number] = running_trial(study, t)
            if params is None:  # died between ask and the parameters being stored
                self._asked[t.number].set_user_attr("saber_error", "its saber run stopped before it started")
                study.tell(self._asked.pop(t.number), state=TrialState.FAIL)
                continue
            jobs.append(TrialJob(t.number, self.space.point(t.number, params)))
        if not jobs:
            return
        outcomes = list(recover(jobs)) if recover is not None else [None] * len(jobs)
        self._settle(study, jobs, outcomes, "its saber run stopped before the trial finished",
                     records, on_trial)

    def _settle(self, study, jobs: list[TrialJob], outcomes: list[TrialOutcome | None], error: str,
                records: list[TrialRecord], on_trial) -> None:
        from optuna.trial import TrialState

        for job, outcome in zip(jobs, outcomes):
            if job.number not in self._asked:
                continue  # told already
            if outcome is not None:
                record = dataclasses.replace(self._tell(study, job, outcome), adopted=True)
                records.append(record)
                if on_trial:
                    on_trial(record)
                continue
            trial = self._asked.pop(job.number)
            trial.set_user_attr("saber_error", error)
            study.tell(trial, state=TrialState.FAIL)
            self._seen.discard(param_key(job.point.params))

    def _failed_params(self, study) -> list[dict[str, Any]]:
        """Parameters of failed trials that no later trial completed, oldest first, once each."""
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        done = {_key(t.user_attrs.get("saber_params")) for t in trials if t.state == TrialState.COMPLETE}
        seen, out = set(), []
        for t in trials:
            params = t.user_attrs.get("saber_params")
            if t.state == TrialState.FAIL and params is not None and _key(params) not in done | seen:
                seen.add(_key(params))
                out.append(params)
        return out


def objective_value(outcome: TrialOutcome, objective: str | tuple[str, ...] | list[str]
                    ) -> tuple[float | list[float] | None, str | None]:
    """A trial's value: the scored step's score (the mean over its instances if scattered); for
    several objectives, the list of their scores. Or None and why there is none."""
    if outcome.state != "success":
        return None, outcome.error or f"the DAG run ended {outcome.state}"
    values = []
    for task_id in ((objective,) if isinstance(objective, str) else objective):
        value, error = _step_value(outcome, task_id)
        if error is not None:
            return None, error
        values.append(value)
    return (values[0] if isinstance(objective, str) else values), None


def _step_value(outcome: TrialOutcome, task_id: str) -> tuple[float | None, str | None]:
    mine = [s for s in outcome.scores if s.task_id == task_id]
    if not mine:
        return None, f"step '{task_id}' reported no score (was it skipped?)"
    missing = [s for s in mine if s.score is None]
    if missing:
        return None, f"step '{task_id}' printed no line matching its score_format"
    value = sum(s.score for s in mine) / len(mine)
    if not math.isfinite(value):
        return None, f"step '{task_id}' scored {value}"
    return value, None


@dataclass(frozen=True)
class _Existing:
    directions: list[Any]
    user_attrs: dict[str, Any]
    n_trials: int


def _existing(storage, name: str) -> _Existing | None:
    """A study already in ``storage`` under ``name``, as much of it as the loop checks."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return None
    return _Existing(list(storage.get_study_directions(study_id)), storage.get_study_user_attrs(study_id),
                     storage.get_n_trials(study_id))


def _goal(directions) -> str:
    """What a study's directions ask for: "maximize", or "maximize 2 scores" for several objectives."""
    kinds = sorted({d.name.lower() for d in directions})
    return ",".join(kinds) + ("" if len(directions) == 1 else f" {len(directions)} scores")


def _key(params: dict | None) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _best(study) -> dict | None:
    from optuna.trial import TrialState

    if len(study.directions) > 1:
        return None  # each scored step is an objective: there is no single best trial
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return None
    best = study.best_trial
    return {"number": best.number, "params": best.user_attrs.get("saber_params", best.params),
            "value": best.value}

