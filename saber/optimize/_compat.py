"""The one Optuna internal the optimizer touches, checked against the versions it was tested with
(the results store's, its table definitions, are in saber.scores._compat)."""

from __future__ import annotations

from importlib.metadata import version

from saber.errors import SaberError
from saber.scores._compat import TESTED  # Trial(study, trial_id), FrozenTrial._trial_id: checked too

__all__ = ["TESTED", "fail_trials", "running_trial"]


def running_trial(study, frozen):
    """The live ``Trial`` of a RUNNING trial another process asked (a loop that died), so its
    user attributes can be set and it can be told. Optuna has no public lookup for one."""
    from optuna.trial import Trial

    found = version("optuna")
    if not found.startswith(TESTED):
        raise SaberError(f"optuna {found} is not a version saber was tested with (4.x, 5.x): "
                         "pip install 'optuna>=4,<6'")
    return Trial(study, frozen._trial_id)  # noqa: SLF001


def fail_trials(storage, study_name: str, numbers: set[int], error: str) -> list[int]:
    """Fail the RUNNING trials ``numbers`` of a study (their runs were stopped); returns those failed."""
    import optuna
    from optuna.trial import TrialState

    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return []
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.number in numbers:
            running_trial(study, t).set_user_attr("saber_error", error)
            study.tell(t.number, state=TrialState.FAIL)
            failed.append(t.number)
    return failed

