"""The embedded runner's admission: tasks within the cores, beyond them on measured idle CPU only
(a fake /proc/stat and clock), declared cores and ``--workers N`` held to the bound."""

from __future__ import annotations

import pytest

from saber.backends.embedded._admission import MIN_TASK_CPU, Admission, IdleCpu, Slots, proc_stat

CORES = 2
ELASTIC = Slots(cores=CORES, in_flight=8, elastic=True)


class FakeCpu:
    """/proc/stat's (idle, all) ticks and a clock: ``run(seconds, idle_cores)`` advances both."""

    def __init__(self) -> None:
        self.now, self.idle_ticks, self.all_ticks = 0.0, 0, 0

    def run(self, seconds: float, idle_cores: float) -> None:
        self.now += seconds
        self.all_ticks += round(100 * CORES * seconds)
        self.idle_ticks += round(100 * idle_cores * seconds)

    def admission(self, slots: Slots = ELASTIC, *, gpus: int = 0) -> Admission:
        idle = IdleCpu(CORES, read=lambda: (self.idle_ticks, self.all_ticks), clock=lambda: self.now)
        return Admission(slots, gpus=gpus, idle=idle if slots.elastic else None)


def admitted(adm: Admission, n: int, **task) -> int:
    """How many of ``n`` ready tasks one dispatch pass starts."""
    return sum(adm.admit(**task) is not None for _ in range(n))


def measured(idle_cores: float, *, seconds: float = 1.0) -> tuple[FakeCpu, Admission]:
    """Two one-core tasks started, then a window of ``seconds`` with ``idle_cores`` left idle."""
    cpu = FakeCpu()
    adm = cpu.admission()
    admitted(adm, 2, cores=1)
    cpu.run(seconds, idle_cores=idle_cores)
    adm.sample()
    return cpu, adm


def test_within_the_cores_tasks_start_before_anything_is_measured() -> None:
    adm = FakeCpu().admission()
    assert admitted(adm, 5, cores=1) == CORES


def test_tasks_start_beyond_the_cores_while_the_cpu_is_idle() -> None:
    cpu = FakeCpu()
    adm = cpu.admission()
    assert admitted(adm, 2, cores=1) == 2
    cpu.run(1.0, idle_cores=1.6)  # two running tasks used 0.2 cores each
    adm.sample()
    assert adm.task_cpu == pytest.approx(MIN_TASK_CPU)
    assert admitted(adm, 10, cores=1) == 6  # the in-flight bound: 8
    assert adm.running == 8


def test_a_burst_counts_the_tasks_not_yet_measured() -> None:
    _, adm = measured(1.0)  # each running task used half a core
    assert adm.task_cpu == pytest.approx(0.5)
    assert admitted(adm, 10, cores=1) == 2  # 1 idle core: two more half-core tasks
    adm.sample()  # no new window yet: the two still count
    assert admitted(adm, 10, cores=1) == 0


def test_nothing_starts_beyond_the_cores_while_the_cpu_is_busy() -> None:
    """Other load on the machine: the idle CPU does not cover even a light task."""
    _, adm = measured(0.3)
    assert admitted(adm, 10, cores=1) == 0


def test_tasks_start_again_once_the_cpu_is_idle_again() -> None:
    cpu, adm = measured(0.0)
    assert admitted(adm, 4, cores=1) == 0
    for _ in range(4):  # the smoothed idle CPU catches up over a few windows
        cpu.run(0.25, idle_cores=1.8)
        adm.sample()
    assert admitted(adm, 4, cores=1) > 0


def test_a_window_too_short_is_not_measured() -> None:
    _, adm = measured(2.0, seconds=0.1)
    assert adm.idle.cores_idle == 0.0 and admitted(adm, 4, cores=1) == 0


@pytest.mark.parametrize("task, started", [
    pytest.param({"cores": 1, "declared": True}, 0, id="declared-1-core"),
    pytest.param({"cores": 2, "declared": True}, 0, id="declared-2-cores"),
    pytest.param({"cores": 1, "declared": False}, 6, id="undeclared"),
])
def test_declared_cores_stay_within_the_bound(task: dict, started: int) -> None:
    cpu = FakeCpu()
    adm = cpu.admission()
    assert admitted(adm, CORES, cores=1) == CORES
    cpu.run(1.0, idle_cores=2.0)  # an idle machine
    adm.sample()
    assert admitted(adm, 10, **task) == started


def test_declared_cores_start_when_the_bound_frees() -> None:
    adm = FakeCpu().admission()
    first = adm.admit(cores=1, declared=True)
    assert adm.admit(cores=2, declared=True) is None
    adm.release(first)
    assert adm.admit(cores=2, declared=True) is not None
    assert adm.admit(cores=1, declared=True) is None


def test_a_task_larger_than_the_machine_holds_all_of_it() -> None:
    adm = FakeCpu().admission()
    hold = adm.admit(cores=16, declared=True)
    assert hold is not None and hold.cores == CORES


def test_gpus_bound_tasks_whatever_the_cpu() -> None:
    cpu = FakeCpu()
    adm = cpu.admission(gpus=1)
    assert adm.admit(cores=1, gpus=1) is not None
    cpu.run(1.0, idle_cores=2.0)
    adm.sample()
    assert adm.admit(cores=1, gpus=1) is None
    assert adm.admit(cores=1) is not None


def test_fixed_workers_hold_exactly_n_tasks() -> None:
    """``--workers 3``: three tasks at once, measured CPU or not."""
    slots = Slots.of(3)
    assert slots == Slots(cores=3, in_flight=3, elastic=False)
    cpu = FakeCpu()
    adm = cpu.admission(slots)
    assert admitted(adm, 5, cores=1) == 3
    cpu.run(1.0, idle_cores=2.0)
    adm.sample()
    assert admitted(adm, 5, cores=1) == 0
    assert adm.idle is None


def test_the_default_is_elastic_beyond_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Slots.of() == Slots(cores=2, in_flight=8, elastic=True)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert Slots.of().in_flight == 32


def test_release_frees_what_a_task_held() -> None:
    cpu = FakeCpu()
    adm = cpu.admission(gpus=1)
    holds = [adm.admit(cores=1, gpus=1), adm.admit(cores=1)]
    for hold in holds:
        adm.release(hold)
    assert adm.running == 0 and admitted(adm, 3, cores=1) == CORES


def test_proc_stat_reads_this_machine() -> None:
    counters = proc_stat()
    if counters is None:
        pytest.skip("no /proc/stat here")
    idle, total = counters
    assert 0 <= idle <= total


