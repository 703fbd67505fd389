"""The tool registry over cwl_tools/ + dockerfiles/: list, show, validate (schema + lint)."""

from saber.registry._catalog import Registry, Tool, find_root
from saber.registry._lint import Problem, lint, validate

__all__ = ["Problem", "Registry", "Tool", "find_root", "lint", "validate"]
