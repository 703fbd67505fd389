"""Running one step: resolving its inputs and running its tool with cwltool in Docker."""

from saber.execution._conf import CONF_KEY, SCATTER_SUFFIX, storage_root, unwire, wire_safe
from saber.execution._resolve import (
    Resolver,
    evaluate,
    finish_inputs,
    nest,
    scatter_jobs,
    step_fetcher,
    when_true,
)
from saber.execution._tool import ToolRun, preload_tool, run_tool

__all__ = [
    "CONF_KEY",
    "SCATTER_SUFFIX",
    "storage_root",
    "Resolver",
    "ToolRun",
    "evaluate",
    "finish_inputs",
    "nest",
    "preload_tool",
    "run_tool",
    "scatter_jobs",
    "step_fetcher",
    "when_true",
    "unwire",
    "wire_safe",
]
