"""The use cases, written against the Backend protocol: `saber run` (a sweep or a study) and
`saber cwl-runner` (one process, one job); and the operations on what runs in a saber home:
`saber status`, `saber cancel` and `saber gc`."""

from saber.runs._cancel import Cancelled, cancel
from saber.runs._cwl_runner import run_cwl, warm_up
from saber.runs._gc import Garbage, collect_garbage
from saber.runs._batch import run_batch
from saber.runs._status import Flight, flights
from saber.runs._study import scores_text
from saber.runs._sweep import PointResult, RunSpec, Summary, compile_workflow, prepare_points, run_sweep

__all__ = ["Cancelled", "Flight", "Garbage", "collect_garbage", "PointResult", "RunSpec", "Summary", "cancel", "compile_workflow", "flights",
           "prepare_points", "run_batch", "run_cwl", "run_sweep", "scores_text", "warm_up"]
