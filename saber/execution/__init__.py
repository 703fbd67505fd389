"""Running one step: resolving its inputs and running its tool with cwltool in Docker."""

from saber.execution._conf import CONF_KEY, storage_root
from saber.execution._resolve import Resolver, evaluate, finish_inputs, nest, scatter_jobs, when_true
from saber.execution._tool import ToolRun, preload_tool, run_tool

__all__ = [
    "CONF_KEY",
    "storage_root",
    "Resolver",
    "ToolRun",
    "evaluate",
    "finish_inputs",
    "nest",
    "preload_tool",
    "run_tool",
    "scatter_jobs",
    "when_true",
]
