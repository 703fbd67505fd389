"""A plain sweep's points in the results store, recorded as their runs go.

The sweep is an Optuna study marked a plain sweep (saber.scores.PLAIN_SWEEP) and each point run
a trial with no value: RUNNING when its run is seen running, then COMPLETE or FAIL when it ends,
with the user attributes a scored trial has (saber_params, saber_run_id, saber_wall_s,
saber_container_s, saber_error) and saber_point, the point's index. So the studies page,
`saber results` and its report read a plain sweep as they read a study, and a sweep cut short
still shows what ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from saber.backends import TERMINAL, Backend, RunOutcome, RunProgress
from saber.errors import InputError
from saber.scores import PLAIN_SWEEP, ResultsStore, unscored

__all__ = ["SweepRecord"]

_INTERRUPTED = "interrupted: the sweep stopped before this point's run ended"


class SweepRecord:
    """The trials of plain sweep ``name`` in ``store``: created with ``attrs`` (workflow, DAG
    id, sweep file, method) if new; InputError if ``name`` is a scored study's, or another
    workflow's sweep. Given again (a resumed sweep), a point whose run is kept keeps its trial."""

    def __init__(self, store: ResultsStore, name: str, attrs: dict[str, Any]) -> None:
        import optuna
        from optuna.study import StudyDirection

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
        self.storage = store.storage
        self.name = name
        try:
            self.study_id = self.storage.get_study_id_from_name(name)
        except KeyError:
            # One direction because Optuna needs one; PLAIN_SWEEP tells readers to ignore it.
            self.study_id = self.storage.create_new_study([StudyDirection.MINIMIZE], name)
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 (Python 3.10)
            for key, value in {PLAIN_SWEEP[0]: PLAIN_SWEEP[1], "saber_created": created, **attrs}.items():
                self.storage.set_study_user_attr(self.study_id, key, value)
        else:
            self._check(attrs)
        # point index -> (trial id, state name, run id) of its latest trial
        self.latest: dict[int, tuple[int, str, str | None]] = {}
        for t in self.storage.get_all_trials(self.study_id, deepcopy=False):
            if isinstance(index := t.user_attrs.get("saber_point"), int):
                self.latest[index] = (t._trial_id, t.state.name, t.user_attrs.get("saber_run_id"))  # noqa: SLF001
        self.open: dict[str, tuple[int, int]] = {}  # run id -> (point index, trial id), RUNNING
        self.done: set[str] = set()  # run ids whose trial this record finished or found finished

    def _check(self, attrs: dict[str, Any]) -> None:
        old = self.storage.get_study_user_attrs(self.study_id)
        if not unscored(old):
            raise InputError(f"study '{self.name}' is a scored study, and this workflow has no scored step; "
                             "give another --study name")
        if old.get("saber_dag_id") not in (None, attrs.get("saber_dag_id")):
            raise InputError(f"sweep '{self.name}' belongs to workflow {old.get('saber_workflow')}; "
                             "give another --study name")

    def kept(self, index: int, run_id: str) -> bool:
        """Whether point ``index`` already has a complete trial of run ``run_id`` (a resumed
        sweep keeps a run that succeeded): nothing to record."""
        latest = self.latest.get(index)
        return latest is not None and latest[1] == "COMPLETE" and latest[2] == run_id

    def started(self, index: int, params: dict[str, Any], run_id: str) -> None:
        """Point ``index``'s run ``run_id`` is running: its trial, RUNNING. A trial a dead driver
        left RUNNING for the point is taken over, not left running beside a new one."""
        if run_id in self.open or run_id in self.done:
            return
        latest = self.latest.get(index)
        if latest is not None and latest[1] == "RUNNING":
            trial_id = latest[0]
            self.storage.set_trial_user_attr(trial_id, "saber_run_id", run_id)
        else:
            trial_id = self._new_trial({"saber_point": index, "saber_params": params, "saber_run_id": run_id})
        self.open[run_id] = (index, trial_id)
        self.latest[index] = (trial_id, "RUNNING", run_id)

    def _new_trial(self, user_attrs: dict[str, Any]) -> int:
        """A RUNNING trial with its attributes in one transaction, not one per attribute."""
        from optuna.trial import FrozenTrial, TrialState

        template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                               datetime_start=datetime.now(), datetime_complete=None, params={},  # noqa: DTZ005
                               distributions={}, user_attrs=user_attrs, system_attrs={}, intermediate_values={},
                               trial_id=-1)
        return self.storage.create_new_trial(self.study_id, template_trial=template)

    def finished(self, index: int, params: dict[str, Any], outcome: RunOutcome) -> None:
        """Point ``index``'s run ended: its trial COMPLETE (the run succeeded) or FAIL, with its
        costs and, if it failed, why."""
        from optuna.trial import TrialState

        run_id = outcome.run_id
        if run_id in self.done or self.kept(index, run_id):
            return
        self.started(index, params, run_id)
        _, trial_id = self.open.pop(run_id)
        self.storage.set_trial_user_attr(trial_id, "saber_wall_s", round(outcome.wall_s, 3))
        self.storage.set_trial_user_attr(trial_id, "saber_container_s",
                                         round(sum(s.container_s for s in outcome.steps), 3))
        ok = outcome.state == "success"
        if not ok:
            self.storage.set_trial_user_attr(trial_id, "saber_error",
                                             outcome.error or f"the DAG run ended {outcome.state}")
        self.storage.set_trial_state_values(trial_id, TrialState.COMPLETE if ok else TrialState.FAIL, None)
        self.done.add(run_id)
        self.latest[index] = (trial_id, "COMPLETE" if ok else "FAIL", run_id)

    def abandon(self) -> None:
        """The sweep stops with runs unfinished (interrupted, or an error): their trials FAIL,
        saying so, rather than stay RUNNING for ever."""
        from optuna.trial import TrialState

        for run_id, (index, trial_id) in list(self.open.items()):
            self.storage.set_trial_user_attr(trial_id, "saber_error", _INTERRUPTED)
            self.storage.set_trial_state_values(trial_id, TrialState.FAIL, None)
            self.latest[index] = (trial_id, "FAIL", run_id)
            del self.open[run_id]

    def watching(self, backend: Backend, prepared: Sequence[tuple[Any, Any]],
                 show: Callable[[list[RunProgress]], None]) -> Callable[[list[RunProgress]], None]:
        """``show`` wrapped so that each run of ``prepared`` (point, RunRequest) is recorded
        when seen running and when seen ended, not only when its whole batch ends."""
        points = {req.run_id: point for point, req in prepared}

        def on_progress(runs: list[RunProgress]) -> None:
            show(runs)
            for r in runs:
                point = points.get(r.run_id)
                if point is None or r.run_id in self.done:
                    continue
                if r.state in TERMINAL:
                    self.finished(point.index, point.params, backend.outcome(r.run_id))
                elif r.state == "running":
                    self.started(point.index, point.params, r.run_id)
        return on_progress
