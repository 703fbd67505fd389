"""Parsing a sweep file and checking its shape; nothing here knows the workflow yet."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from saber.errors import InputError
from saber.sweep._model import METHODS, SPACE_KINDS, Dimension, Space, Steps, Sweep, Tile, Value
from saber.sweep._size import check_size
from saber._yaml import exact, item_line, key_line, plain, read_yaml, value_line

__all__ = ["load_sweep", "MAX_RANGE_VALUES"]

# A typo in a step (0.0001 for 0.1) should fail fast, not fill memory with a billion points.
MAX_RANGE_VALUES = 1_000_000
_SOURCES = ("range", "values", "choice", *SPACE_KINDS)  # where a dimension's values come from
_LABEL_KEYS = (*_SOURCES, "parameters", "steps")
_RANGE_KEYS = ("start", "stop", "step")
_SAMPLER_KEYS = ("method", "max_iterations", "batch_size", "seed", "direction", "objective", "max_time",
                 "retries", "retry_delay", "notify")
_DIRECTIONS = ("maximize", "minimize")


class _Reader:
    """Carries the file name so every check can raise an InputError that points at a line."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, message: str, line: int | None, field: str | None) -> InputError:
        return InputError(message, file=self.file, line=line, field=field)

    def sweep(self, doc: Any) -> Sweep:
        if doc is None:  # an empty file is an empty sweep: one point with nothing set
            return Sweep(file=self.file)
        if not isinstance(doc, Mapping):
            raise self.error(f"a sweep file must be a mapping of labels or inputs, "
                             f"got {_kind(doc)}", _line(doc, 1), None)
        dimensions = []
        options: dict[str, Any] = {}
        for key, node in doc.items():
            line = key_line(doc, key)
            if not isinstance(key, str):
                raise self.error(f"keys must be names, got {key!r}", line, None)
            if key == "sampler":
                options = self.sampler(node, line)
            else:
                dimensions.append(self.dimension(key, node, line))
        sweep = Sweep(file=self.file, dimensions=tuple(dimensions), **options)
        check_size(sweep)
        return sweep

    def dimension(self, key: str, node: Any, line: int | None) -> Dimension:
        if isinstance(node, list):
            return Dimension(key=key, line=line or 1, listed=True,
                             values=self.value_list(node, key, line))
        if not isinstance(node, Mapping):
            raise self.error(f"expected a list of values or a mapping with 'range' or 'values', "
                             f"got {_kind(node)}", line, key)
        unknown = [k for k in node if k not in _LABEL_KEYS]
        if unknown:
            raise self.error(f"unknown key '{unknown[0]}' (expected {', '.join(_LABEL_KEYS)})",
                             key_line(node, unknown[0], line), key)
        sources = [k for k in _SOURCES if k in node]
        if len(sources) > 1:
            raise self.error(f"give one of {', '.join(_SOURCES)}, not both '{sources[0]}' and "
                             f"'{sources[1]}'", key_line(node, sources[1], line), key)
        if not sources:
            raise self.error(f"a label needs one of {', '.join(_SOURCES)}", line, key)
        if sources[0] in SPACE_KINDS:
            space, values = self.space(sources[0], node, key, line)
            parameters, parameters_lines = self.parameters(node, key, line, None)
            steps, steps_lines = self.steps(node, key, line)
            return Dimension(key=key, line=line or 1, values=values, listed=False,
                             parameters=parameters, parameters_lines=parameters_lines,
                             steps=steps, steps_lines=steps_lines, space=space)
        values, tile = self.values_of(node, key, line)
        parameters, parameters_lines = self.parameters(node, key, line, tile)
        steps, steps_lines = self.steps(node, key, line)
        return Dimension(key=key, line=line or 1, values=values, listed=False,
                         parameters=parameters, parameters_lines=parameters_lines,
                         steps=steps, steps_lines=steps_lines, tile=tile)

    def values_of(self, node: Mapping, key: str,
                  line: int | None) -> tuple[Sequence[Value], Tile | None]:
        name = next(k for k in ("range", "values", "choice") if k in node)
        body, body_line = node[name], value_line(node, name, line)
        if isinstance(body, list):
            return self.value_list(body, f"{key}.{name}", body_line), None
        if name == "range" and isinstance(body, Mapping):
            return self.numeric_range(body, f"{key}.range", body_line)
        expected = "a list or {start, stop, step}" if name == "range" else "a list"
        raise self.error(f"'{name}' must be {expected}, got {_kind(body)}", body_line, key)

    def space(self, kind: str, node: Mapping, key: str,
              line: int | None) -> tuple[Space, Sequence[Value]]:
        """`uniform`/`loguniform`: {low, high}; `int`: {low, high, step (default 1)}."""
        body, body_line = node[kind], value_line(node, kind, line)
        field = f"{key}.{kind}"
        allowed = ("low", "high", "step") if kind == "int" else ("low", "high")
        if not isinstance(body, Mapping):
            raise self.error(f"'{kind}' must be {{{', '.join(allowed)}}}, got {_kind(body)}", body_line, field)
        unknown = [k for k in body if k not in allowed]
        if unknown:
            raise self.error(f"unknown key '{unknown[0]}' in {kind} (expected {', '.join(allowed)})",
                             key_line(body, unknown[0], body_line), field)
        missing = [k for k in ("low", "high") if k not in body]
        if missing:
            raise self.error(f"{kind} needs {' and '.join(missing)}", body_line, field)
        bounds = {}
        for k in [k for k in allowed if k in body]:
            v, v_line = body[k], value_line(body, k, body_line)
            number = int if kind == "int" else (int, float)
            if isinstance(v, bool) or not isinstance(v, number) or not math.isfinite(v):
                what = "an integer" if kind == "int" else "a finite number"
                raise self.error(f"{kind} {k} must be {what}, got {_kind(v)}", v_line, f"{field}.{k}")
            bounds[k] = plain(v)
        if bounds["low"] >= bounds["high"]:
            raise self.error(f"{kind} low ({bounds['low']}) must be below high ({bounds['high']})",
                             value_line(body, "low", body_line), f"{field}.low")
        if kind == "loguniform" and bounds["low"] <= 0:
            raise self.error(f"loguniform low must be > 0, got {bounds['low']}",
                             value_line(body, "low", body_line), f"{field}.low")
        step = bounds.get("step", 1 if kind == "int" else None)
        if step is not None and step <= 0:
            raise self.error(f"int step must be positive, got {step}", value_line(body, "step", body_line),
                             f"{field}.step")
        space = Space(kind=kind, low=bounds["low"], high=bounds["high"], step=step, line=body_line or 1)
        if kind != "int":
            return space, ()
        count = (space.high - space.low) // step + 1
        if count > MAX_RANGE_VALUES:
            raise self.error(f"int space has {count} values, more than {MAX_RANGE_VALUES}", body_line, field)
        # Inclusive of high when the steps land on it, like Optuna's IntDistribution.
        return space, Steps(Decimal(space.low), Decimal(step), count, ints=True, line=body_line or 1)

    def value_list(self, node: list, field: str, line: int | None) -> tuple[Value, ...]:
        if not node:
            raise self.error("the list of values is empty", line, field)
        return tuple(Value(plain(v), item_line(node, i, line) or 1) for i, v in enumerate(node))

    def numeric_range(self, node: Mapping, field: str,
                      line: int | None) -> tuple[Steps, Tile]:
        unknown = [k for k in node if k not in _RANGE_KEYS]
        if unknown:
            raise self.error(f"unknown key '{unknown[0]}' in range (expected start, stop, step)",
                             key_line(node, unknown[0], line), field)
        missing = [k for k in _RANGE_KEYS if k not in node]
        if missing:
            raise self.error(f"range needs {', '.join(missing)}", line, field)
        for k in _RANGE_KEYS:
            if isinstance(node[k], bool) or not isinstance(node[k], (int, float)):
                raise self.error(f"range {k} must be a number, got {_kind(node[k])}",
                                 value_line(node, k, line), f"{field}.{k}")
            if not math.isfinite(node[k]):
                raise self.error(f"range {k} must be finite", value_line(node, k, line),
                                 f"{field}.{k}")
        start, stop, step = (exact(node[k]) for k in _RANGE_KEYS)
        step_line = value_line(node, "step", line)
        if step == 0:
            raise self.error("range step must not be 0", step_line, f"{field}.step")
        if step < 0:
            raise self.error(f"range step must be positive, got {plain(node['step'])}",
                             step_line, f"{field}.step")
        if start > stop:
            raise self.error(f"range start {plain(node['start'])} is after stop "
                             f"{plain(node['stop'])}", value_line(node, "start", line), field)
        count = math.ceil((stop - start) / step)
        if count == 0:
            raise self.error(f"range is empty: start equals stop ({plain(node['stop'])}); "
                             f"stop is excluded", line, field)
        if count > MAX_RANGE_VALUES:
            raise self.error(f"range has {count} values, more than {MAX_RANGE_VALUES}",
                             step_line, field)
        # start and step decide the values' type: {start: 0, stop: 9.5, step: 1} gives ints.
        ints = isinstance(node["start"], int) and isinstance(node["step"], int)
        values = Steps(start, step, count, ints=ints, line=line or 1)
        return values, Tile(step=step, stop=stop, stop_value=plain(node["stop"]))

    def parameters(self, node: Mapping, key: str, line: int | None,
                   tile: Tile | None) -> tuple[dict[str, str] | None, dict[str, int]]:
        if "parameters" not in node:
            return None, {}
        body, body_line = node["parameters"], value_line(node, "parameters", line)
        if not isinstance(body, Mapping) or set(body) not in ({"min", "max"}, {"abs"}):
            raise self.error("parameters must be {min: NAME, max: NAME} or {abs: NAME}",
                             body_line, f"{key}.parameters")
        names, lines = {}, {}
        for role, name in body.items():
            role_line = value_line(body, role, body_line) or 1
            if not isinstance(name, str) or not name:
                raise self.error(f"parameters.{role} must name a step input, got {_kind(name)}",
                                 role_line, f"{key}.parameters.{role}")
            names[str(role)], lines[str(role)] = str(name), role_line
        if "min" in names and tile is None:
            raise self.error("parameters min/max need a range with start, stop and step",
                             body_line, f"{key}.parameters")
        return names, lines

    def steps(self, node: Mapping, key: str,
              line: int | None) -> tuple[tuple[str, ...] | None, tuple[int, ...]]:
        if "steps" not in node:
            return None, ()
        body, body_line = node["steps"], value_line(node, "steps", line)
        if isinstance(body, str):  # `steps: one_step` is a natural way to name one step
            body = [body]
        if not isinstance(body, list) or not body:
            raise self.error("steps must be a non-empty list of step names", body_line,
                             f"{key}.steps")
        steps: dict[str, int] = {}  # step -> line; a dict keeps file order and drops repeats
        for i, step in enumerate(body):
            step_line = item_line(body, i, body_line) or 1
            if not isinstance(step, str) or not step:
                raise self.error(f"a step name must be a string, got {_kind(step)}", step_line,
                                 f"{key}.steps")
            steps.setdefault(str(step), step_line)
        return tuple(steps), tuple(steps.values())

    def sampler(self, node: Any, line: int | None) -> dict[str, Any]:
        if not isinstance(node, Mapping):
            raise self.error(f"sampler must be a mapping, got {_kind(node)}", line, "sampler")
        unknown = [k for k in node if k not in _SAMPLER_KEYS]
        if unknown:
            raise self.error(f"unknown sampler key '{unknown[0]}' "
                             f"(expected {', '.join(_SAMPLER_KEYS)})",
                             key_line(node, unknown[0], line), "sampler")
        method = node.get("method", "grid")
        if method not in METHODS:
            raise self.error(f"unknown sampler method {plain(method)!r} "
                             f"(known: {', '.join(METHODS)})",
                             value_line(node, "method", line), "sampler.method")
        options: dict[str, Any] = {"method": str(method), "sampler_line": line,
                                   "lines": {str(k): value_line(node, k, line) or line or 1 for k in node}}
        for k, low in (("max_iterations", 1), ("batch_size", 1), ("seed", 0), ("retries", 0)):
            if k not in node:
                continue
            v = node[k]
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                what = "a positive int" if low else "an int >= 0"
                raise self.error(f"{k} must be {what}, got {plain(v)!r}",
                                 value_line(node, k, line), f"sampler.{k}")
            options[k] = int(v)
        if "direction" in node:
            if node["direction"] not in _DIRECTIONS:
                raise self.error(f"direction must be maximize or minimize, got {plain(node['direction'])!r}",
                                 value_line(node, "direction", line), "sampler.direction")
            options["direction"] = str(node["direction"])
        if "objective" in node:
            if not isinstance(node["objective"], str) or not node["objective"]:
                raise self.error(f"objective must name a scored step, got {_kind(node['objective'])}",
                                 value_line(node, "objective", line), "sampler.objective")
            options["objective"] = str(node["objective"])
        if "max_time" in node:
            options["max_time"] = self.duration(node["max_time"], value_line(node, "max_time", line))
        if "retry_delay" in node:
            options["retry_delay"] = self.duration(node["retry_delay"], value_line(node, "retry_delay", line),
                                                   "retry_delay", zero=True)
        if "notify" in node:
            options["notify"] = self.notify(node["notify"], value_line(node, "notify", line))
        if method in ("random", "tpe", "cmaes") and "max_iterations" not in options:
            raise self.error(f"the {method} sampler needs max_iterations", line, "sampler")
        return options

    def notify(self, node: Any, line: int | None) -> tuple[str, ...]:
        """Webhook URLs told when the run ends: one URL or a list of them."""
        from saber._webhook_url import check_url

        urls = [node] if isinstance(node, str) else node
        if not isinstance(urls, list) or not urls:
            raise self.error(f"notify must be a URL or a list of URLs, got {_kind(node)}", line, "sampler.notify")
        for i, url in enumerate(urls):
            where = line if urls is not node else item_line(node, i, line)
            if not isinstance(url, str):
                raise self.error(f"notify must be an http(s) URL, got {_kind(url)}", where, "sampler.notify")
            if (why := check_url(url)) is not None:
                raise self.error(f"notify {why}", where, "sampler.notify")
        return tuple(dict.fromkeys(str(url).strip() for url in urls))

    def duration(self, value: Any, line: int | None, key: str = "max_time", *, zero: bool = False) -> float:
        """Seconds from 90, 90s, 30m, 2h, 1h30m or 1d."""
        from saber._duration import seconds

        found = seconds(plain(value), zero=zero)
        if found is None:
            raise self.error(f"{key} must be a {'' if zero else 'positive '}duration like 90s, 30m, 2h or "
                             f"1h30m, got {plain(value)!r}", line, f"sampler.{key}")
        return found


def load_sweep(path: str | os.PathLike[str]) -> Sweep:
    """Parse a sweep file and check its shape; errors name the file and line.

    Raises:
        InputError: the file is missing, is not YAML, or does not have a sweep's shape.
    """
    path = Path(path)
    return _Reader(str(path)).sweep(read_yaml(path))


def _kind(node: Any) -> str:
    value = plain(node)
    kind = ("a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list)
            else "null" if value is None else type(value).__name__)
    return kind if isinstance(value, (dict, list)) or value is None else f"{kind} {value!r}"


def _line(node: Any, default: int) -> int:
    try:
        return node.lc.line + 1
    except AttributeError:
        return default
