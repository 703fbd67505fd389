"""One driver per study: a lease row in the results database, kept alive by a heartbeat.

Two loops on one study fail each other's trials and run the grid twice. A `saber run` takes
the study's lease before its first run and gives it back when it ends; a second one is refused
while the holder is alive. A holder that died keeps nothing: on its own host a dead process id
frees the lease at once, elsewhere a heartbeat older than ``STALE_S`` does. The row lives in
the results database, so the lease holds across every client of a shared database (SQLite in
a home, or PostgreSQL for a lab), and `saber status` can read who drives what.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from saber.errors import SaberError

__all__ = ["Lease", "LeaseHolder", "StudyBusy", "drop_lease", "lease_holders", "leases_table"]

HEARTBEAT_S = 5.0
STALE_S = 30.0  # no heartbeat for this long: the holder is gone (another host, or frozen)

_UTC = timezone.utc  # noqa: UP017 (3.10)
_metadata = sa.MetaData()
leases_table = sa.Table(
    "saber_leases", _metadata,
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("holder", sa.String(512), nullable=False),  # host:pid:process start time
    sa.Column("command", sa.String(1024), nullable=False, default=""),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)


class StudyBusy(SaberError):
    """Another live `saber run` drives this study."""

    exit_code = 2


@dataclass(frozen=True)
class LeaseHolder:
    name: str
    host: str
    pid: int
    command: str
    started_at: datetime
    heartbeat_at: datetime

    @property
    def alive(self) -> bool:
        """On this host: the process still exists (same start time); elsewhere: a recent heartbeat."""
        if self.host == socket.gethostname():
            if os.path.exists("/proc/self/stat"):
                return _started(self.pid) == self._start_time
            try:  # no /proc (macOS): the pid alone
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                pass
            return True
        return _now() - self.heartbeat_at < timedelta(seconds=STALE_S)

    _start_time: str = ""


class Lease:
    """``with Lease(url, name, command):`` holds study ``name`` in the results database at
    ``url`` or raises StudyBusy."""

    def __init__(self, url: str, name: str, command: str = "") -> None:
        from saber.scores._store import _engine_kwargs

        self.engine = sa.create_engine(url, **_engine_kwargs(url))
        self.name, self.command = name, command[:1024]
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid())}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        try:
            self._acquire()
        except BaseException:
            self.engine.dispose()
            raise

    def _acquire(self) -> None:
        _create(self.engine)
        now = _now()
        row = {"name": self.name, "holder": self.holder, "command": self.command,
               "started_at": now, "heartbeat_at": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(leases_table.insert().values(**row))
        except sa.exc.IntegrityError:
            self._take_over(row)
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.name}", daemon=True)
        self._thread.start()

    def _take_over(self, row: dict) -> None:
        current = _holder(self.engine, self.name)
        if current is not None and current.alive:
            raise StudyBusy(
                f"study '{self.name}' is being run by another saber run (pid {current.pid} on "
                f"{current.host}, since {current.started_at:%Y-%m-%d %H:%M:%S} UTC, last heard "
                f"{(_now() - current.heartbeat_at).total_seconds():.0f} s ago): wait for it to end, or "
                f"stop it (kill {current.pid} on {current.host}), then run again")
        # The holder is gone: take its place, unless another process just did (compare and swap).
        old = current and f"{current.host}:{current.pid}:{current._start_time}"
        try:
            with self.engine.begin() as conn:
                if current is None:  # the holder released it between our insert and our look
                    taken = conn.execute(leases_table.insert().values(**row)).rowcount
                else:
                    taken = conn.execute(leases_table.update().where(
                        leases_table.c.name == self.name, leases_table.c.holder == old).values(**row)).rowcount
        except sa.exc.IntegrityError:
            taken = 0
        if taken != 1:
            raise StudyBusy(f"study '{self.name}' was just taken by another saber run; run again later")

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                with self.engine.begin() as conn:
                    kept = conn.execute(leases_table.update().where(
                        leases_table.c.name == self.name, leases_table.c.holder == self.holder
                    ).values(heartbeat_at=_now())).rowcount
                self.lost = kept != 1
            except sa.exc.SQLAlchemyError:
                pass  # a busy or briefly unreachable database: the next beat tries again

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            with self.engine.begin() as conn:
                conn.execute(leases_table.delete().where(
                    leases_table.c.name == self.name, leases_table.c.holder == self.holder))
        except sa.exc.SQLAlchemyError:
            pass  # the row frees itself: its holder is gone once this process ends
        self.engine.dispose()


def lease_holders(engine: sa.engine.Engine) -> list[LeaseHolder]:
    """Every study lease in the database, alive or left by a dead process."""
    _create(engine)
    with engine.connect() as conn:
        return [_parse(r._mapping) for r in conn.execute(sa.select(leases_table).order_by(leases_table.c.name))]


def drop_lease(engine: sa.engine.Engine, holder: LeaseHolder) -> bool:
    """Delete the row ``holder`` left (its process is dead); False if another process holds
    the name by now (compare and delete: a new driver's lease is never taken from it)."""
    with engine.begin() as conn:
        return conn.execute(leases_table.delete().where(
            leases_table.c.name == holder.name,
            leases_table.c.holder == f"{holder.host}:{holder.pid}:{holder._start_time}")).rowcount == 1


def _holder(engine: sa.engine.Engine, name: str) -> LeaseHolder | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(leases_table).where(leases_table.c.name == name)).first()
    return _parse(row._mapping) if row is not None else None


def _parse(row) -> LeaseHolder:
    host, pid, start = (row["holder"].rsplit(":", 2) + ["", ""])[:3]
    return LeaseHolder(name=row["name"], host=host, pid=int(pid or 0), command=row["command"],
                       started_at=_aware(row["started_at"]), heartbeat_at=_aware(row["heartbeat_at"]),
                       _start_time=start)


def _create(engine: sa.engine.Engine) -> None:
    try:
        _metadata.create_all(engine, checkfirst=True)
    except sa.exc.DBAPIError:
        _metadata.create_all(engine, checkfirst=True)  # another process created it meanwhile


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot: with the pid, names one process
    (a pid alone is reused); "" for none, or for a zombie (it exited; its parent has not
    reaped it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else ""


def _now() -> datetime:
    return datetime.now(_UTC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
