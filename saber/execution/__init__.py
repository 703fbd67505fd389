"""Running one step: resolving its inputs and running its tool with cwltool in Docker."""

from saber.execution._resolve import (
    Resolver,
    evaluate,
    finish_inputs,
    nest,
    scatter_jobs,
    step_fetcher,
    when_true,
)
from saber.execution._cache import StepCache, run_cached
from saber.execution._retry import RetryPolicy, run_with_retries
from saber.execution._tool import ToolRun, preload_tool, run_tool

__all__ = [
    "Resolver",
    "RetryPolicy",
    "run_with_retries",
    "StepCache",
    "run_cached",
    "ToolRun",
    "evaluate",
    "finish_inputs",
    "nest",
    "preload_tool",
    "run_tool",
    "scatter_jobs",
    "step_fetcher",
    "when_true",
]
