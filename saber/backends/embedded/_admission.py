"""Which ready task the embedded runner starts now: cores and GPUs held, and the CPU left idle.

A step that sleeps or waits on Docker or I/O holds a worker process but hardly a core, so a
runner that started only ``cores`` tasks at once left the machine idle on such steps (a sweep
of a 1 s container reached 0.57 of ideal throughput on 2 cores). By default the runner keeps
more worker processes than cores and starts a task beyond the core bound only while the
machine's measured idle CPU covers it; a step whose ResourceRequirement declares its cores is
always held to the core bound, so CPU-bound steps never oversubscribe the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["IN_FLIGHT_PER_CORE", "MAX_IN_FLIGHT", "MIN_TASK_CPU", "Admission", "Hold", "IdleCpu", "Slots", "proc_stat"]

IN_FLIGHT_PER_CORE = 4  # the default's worker processes per core (README, "Measured", P3)
MAX_IN_FLIGHT = 32  # and at most this many, however many cores
MIN_TASK_CPU = 0.25  # cores a task beyond the bound is taken to use, however little was measured


@dataclass(frozen=True, kw_only=True)
class Slots:
    """How many tasks a runner holds at once.

    ``cores``: tasks charged their cores never hold more in all; ``in_flight``: worker
    processes, so tasks running at once whatever they wait on; ``elastic``: tasks beyond
    ``cores`` start while the CPU is measured idle (the default), else never (``--workers N``).
    """

    cores: int
    in_flight: int
    elastic: bool

    @classmethod
    def of(cls, workers: int | None = None) -> Slots:
        """``--workers N``: N slots, fixed, as before; none given: elastic beyond the core count."""
        if workers:
            return cls(cores=workers, in_flight=workers, elastic=False)
        cores = os.cpu_count() or 2
        return cls(cores=cores, in_flight=min(IN_FLIGHT_PER_CORE * cores, MAX_IN_FLIGHT), elastic=True)


def proc_stat() -> tuple[int, int] | None:
    """The machine's CPU time since boot, in ticks: (idle + iowait, all), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]  # user .. steal; guest is in user
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)


class IdleCpu:
    """Cores the machine left idle lately: the idle + iowait share of its CPU time over windows
    of at least ``window`` seconds (a shorter one holds a tick or two), smoothed across windows."""

    def __init__(self, cores: int, *, read: Callable[[], tuple[int, int] | None] = proc_stat,
                 clock: Callable[[], float] = time.monotonic, window: float = 0.25, weight: float = 0.5) -> None:
        self.cores, self.read, self.clock, self.window, self.weight = cores, read, clock, window, weight
        self.cores_idle = 0.0  # smoothed; nothing measured yet: nothing idle
        self.last_idle: float | None = None  # the last window's own, unsmoothed (None: unreadable)
        self._measured = False
        self._last = (clock(), read())

    def update(self) -> float | None:
        """Close the current window if it is long enough: its length in seconds, else None."""
        now = self.clock()
        then, before = self._last
        if now - then < self.window:
            return None
        counters = self.read()
        self._last = (now, counters)
        if counters is None or before is None or counters[1] <= before[1]:
            self.last_idle = None
            return now - then
        idle = self.cores * (counters[0] - before[0]) / (counters[1] - before[1])
        self.cores_idle = self.weight * idle + (1 - self.weight) * self.cores_idle if self._measured else idle
        self.last_idle, self._measured = idle, True
        return now - then


@dataclass(frozen=True)
class Hold:
    """What one running task holds: cores against the core bound (none if it started on idle
    CPU beyond it), and GPUs."""

    cores: int
    gpus: int


class Admission:
    """Admits ready tasks within ``slots`` and ``gpus``, and keeps what the running ones hold.

    A task asks for its cores (pool slots; one larger than the bound gets the whole bound) and
    GPUs. It starts within the core bound if its cores fit there; else, on an elastic runner
    and for a task whose cores are not declared, if the idle CPU measured covers what a running
    task was measured to use (the machine's busy cores per task running in the last window, at
    least ``MIN_TASK_CPU``, at most its cores), less that use for each task started since the
    last measurement (it has not shown yet, so a burst cannot overshoot). Other load on the
    machine shows as less idle CPU and more use per task: fewer tasks start beyond the bound,
    none once the CPU is busy. Never more than ``slots.in_flight`` tasks at once.
    """

    def __init__(self, slots: Slots, *, gpus: int, idle: IdleCpu | None = None) -> None:
        self.slots, self.gpus = slots, gpus
        self.idle = idle if idle is not None or not slots.elastic else IdleCpu(os.cpu_count() or slots.cores)
        self.running = 0
        self._cores = self._gpus = 0
        self.task_cpu = 1.0  # cores a running task uses, as measured; a whole one until then
        self._unmeasured = True
        self._unseen = 0.0  # that, for each task started since the idle CPU was last measured
        self._task_seconds = 0.0  # tasks x seconds running in the current window
        self._counted = self.idle.clock() if self.idle else 0.0

    def sample(self) -> None:
        """Measure the idle CPU, at most once a window (the runner calls it every pass)."""
        if self.idle is None:
            return
        self._count(0)
        seconds = self.idle.update()
        if seconds is None:
            return
        tasks, self._task_seconds, self._unseen = self._task_seconds / seconds, 0.0, 0.0
        # With under half a task running, the busy CPU is mostly other work's: no measure of a task.
        if self.idle.last_idle is not None and tasks >= 0.5:
            use = (self.idle.cores - self.idle.last_idle) / tasks
            use = use if self._unmeasured else (use + self.task_cpu) / 2
            self.task_cpu, self._unmeasured = min(max(use, MIN_TASK_CPU), 1.0), False

    def admit(self, *, cores: int, gpus: int = 0, declared: bool = False) -> Hold | None:
        """The task's hold if it may start now, else None."""
        cores = min(max(cores, 1), self.slots.cores)
        gpus = min(gpus, self.gpus)
        if self.running >= self.slots.in_flight or self._gpus + gpus > self.gpus:
            return None
        use = min(self.task_cpu, cores)
        if self._cores + cores <= self.slots.cores:
            hold = Hold(cores, gpus)
        elif self.idle is not None and not declared and self.idle.cores_idle - self._unseen >= use:
            hold = Hold(0, gpus)
        else:
            return None
        self._count(+1)
        self._cores += hold.cores
        self._gpus += gpus
        self._unseen += use
        return hold

    def release(self, hold: Hold) -> None:
        """A task ended: what it held is free again."""
        self._count(-1)
        self._cores -= hold.cores
        self._gpus -= hold.gpus

    def _count(self, change: int) -> None:
        """Add ``change`` to the running tasks, keeping their task-seconds in this window."""
        if self.idle is not None:
            now = self.idle.clock()
            self._task_seconds += self.running * (now - self._counted)
            self._counted = now
        self.running += change
