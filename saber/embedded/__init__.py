"""The embedded default: state under $SABER_HOME and DAG runs driven without a scheduler service."""

from saber.embedded._home import SaberHome
from saber.embedded._runner import EmbeddedRunner, RunProgress, RunRequest
from saber.embedded._sweeprun import PointResult, RunSpec, Summary, compile_workflow, prepare_points, run_sweep

__all__ = [
    "EmbeddedRunner",
    "PointResult",
    "RunProgress",
    "RunRequest",
    "RunSpec",
    "SaberHome",
    "Summary",
    "compile_workflow",
    "prepare_points",
    "run_sweep",
]
