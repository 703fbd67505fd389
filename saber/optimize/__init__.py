"""Hyperparameter optimization on Optuna: samplers over a sweep's labels, and the ask -> run ->
tell loop in which every trial is one DAG run."""

from saber.optimize._encode import Encoding, encodings
from saber.optimize._loop import (
    LoopResult,
    Optimizer,
    StepScore,
    StudySpec,
    TrialJob,
    TrialOutcome,
    TrialRecord,
    objective_value,
)

__all__ = [
    "Encoding",
    "encodings",
    "LoopResult",
    "Optimizer",
    "StepScore",
    "StudySpec",
    "TrialJob",
    "TrialOutcome",
    "TrialRecord",
    "objective_value",
]
