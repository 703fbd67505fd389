"""The results database: Optuna's RDB storage plus saber's own table of per-step scores."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from saber.errors import InputError, SaberError
from saber.scores import _sql
from saber.scores._sql import metadata as _metadata
from saber.scores._sql import scores_table
from saber.scores._compat import optuna_tables
from saber.scores._report import Score, StudyReport, StudyRow, TrialRow, build_report, study_row

if TYPE_CHECKING:
    from typing import Self

    from optuna.storages import RDBStorage

    from saber.home import SaberHome

__all__ = ["ResultsStore", "Score", "open_storage", "results_url"]

# Seconds a SQLite connection waits for another process's write lock (the optimizer loop
# writes while `saber results` reads) before giving up with "database is locked".
_SQLITE_TIMEOUT_S = 30

_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is Python 3.11+; saber supports 3.10)



def results_url(home: SaberHome | None = None) -> str:
    """$SABER_DB, or SQLite in the saber home; the SQLite file's folder is created."""
    url = os.environ.get("SABER_DB")
    if not url:
        if home is None:
            from saber.home import SaberHome

            home = SaberHome.from_env()
        url = f"sqlite:///{home.results_db}"
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def open_storage(url: str) -> RDBStorage:
    """Optuna's storage on ``url``, its tables created or checked; SaberError if unreachable."""
    from optuna.storages import RDBStorage

    try:
        with _creation_lock(url):
            return RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except (sa.exc.SQLAlchemyError, RuntimeError) as e:
        # RuntimeError: Optuna's schema check (a database written by another Optuna version).
        raise SaberError(f"cannot open the results database {_safe(url)}: {e}") from e


class ResultsStore:
    """Studies and trials (Optuna) and per-step scores (saber) in one database.

    ``storage`` is the Optuna storage to hand to ``optuna.create_study``/``load_study``.
    Close the store (or use it as a context manager) to release its connections.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.storage = open_storage(url)
        self._engine = sa.create_engine(url, **_engine_kwargs(url))
        try:
            _create_tables(self._engine)
        except sa.exc.SQLAlchemyError as e:
            self.close()
            raise SaberError(f"cannot create table saber_scores in {_safe(url)}: {e}") from e

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()
        self.storage.remove_session()
        self.storage.engine.dispose()

    @property
    def engine(self) -> sa.engine.Engine:
        """The database's engine, for saber's own tables (the study leases among them)."""
        return self._engine

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return _safe(self.url)

    def record_score(self, *, study: str, trial_number: int, run_id: str, task_id: str,
                     score: float | None, map_index: int = -1,
                     fields: Mapping[str, Any] | None = None) -> None:
        """Store one scored step instance; ``score`` None means its format never matched."""
        row = {"study": study, "trial_number": trial_number, "run_id": run_id, "task_id": task_id,
               "map_index": map_index, "score": score,
               "fields": json.dumps(dict(fields or {}), default=str),
               "recorded_at": datetime.now(_UTC)}
        with self._engine.begin() as conn:
            conn.execute(scores_table.insert().values(**row))

    def has_run(self, study: str, run_id: str) -> bool:
        """Whether a trial of ``study`` was run by DAG run ``run_id`` (one query, whatever the
        study's size: Optuna's API would load every trial)."""
        t = optuna_tables()
        studies, trials, attrs = t["studies"], t["trials"], t["trial_user_attributes"]
        query = (sa.select(sa.func.count()).select_from(attrs)
                 .join(trials, trials.c.trial_id == attrs.c.trial_id)
                 .join(studies, studies.c.study_id == trials.c.study_id)
                 .where(studies.c.study_name == study, attrs.c.key == "saber_run_id",
                        attrs.c.value_json == json.dumps(run_id)))
        with self._engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def scores(self, study: str) -> list[Score]:
        """Every score recorded for ``study``, oldest first."""
        query = (sa.select(scores_table).where(scores_table.c.study == study)
                 .order_by(scores_table.c.recorded_at, scores_table.c.id))
        with self._engine.connect() as conn:
            return [_score(row._mapping) for row in conn.execute(query)]

    def list_studies(self) -> list[StudyRow]:
        """One summary per study, in creation order: trial counts by state and the best value
        read by SQL (GROUP BY, MIN/MAX), whatever the studies' sizes."""
        with self._engine.connect() as conn:
            studies = _sql.study_meta(conn)
            states = _sql.state_counts(conn)
            best = _sql.best_values(conn)
        rows = []
        for s in studies.values():
            high, low = best.get(s.study_id, (None, None))
            value = None if len(s.directions) != 1 else high if s.directions[0] == "maximize" else low
            rows.append(study_row(s.name, s.directions, s.attrs, states.get(s.study_id, {}), value))
        return rows

    def study_report(self, name: str, *, offset: int = 0, limit: int | None = None) -> StudyReport:
        """Study ``name`` with its trials in number order past the first ``offset`` (``limit`` of
        them, every one if None) and the best trial of the whole study; only the detail of the
        trials returned is read.
        InputError naming the known studies if there is none by that name."""
        with self._engine.connect() as conn:
            study = self._study(conn, name)
            trials = optuna_tables()["trials"]
            total = conn.execute(sa.select(sa.func.count()).where(trials.c.study_id == study.study_id)).scalar()
            page = _sql.trial_query(study).offset(offset)
            light = [] if limit == 0 else conn.execute(page if limit is None else page.limit(limit)).all()
            n = len(study.directions)
            rows = _sql.trial_rows(conn, study, light, n)
            best = _sql.best_trial(conn, study)
            best_row = None
            if best is not None:
                best_row = next((r for r in rows if r.number == best[1]), None)
                if best_row is None:  # not on this page
                    found = conn.execute(_sql.trial_query(study, best[0])).all()
                    best_row = _sql.trial_rows(conn, study, found, n)[0]
        return build_report(name, study.directions, study.attrs, rows, best_row, total=total, offset=offset)

    def trials(self, name: str, *, offset: int = 0, limit: int | None = None,
               batch: int = 1000) -> Iterator[TrialRow]:
        """The trials of study ``name`` in number order past the first ``offset`` (``limit`` of
        them, every one if None), their detail read ``batch`` trials at a time: an export of a
        million trials holds one batch in memory."""
        with self._engine.connect() as conn:
            study = self._study(conn, name)
            query = _sql.trial_query(study).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            result = conn.execute(query, execution_options={"yield_per": batch})
            for light in result.partitions():
                yield from _sql.trial_rows(conn, study, light, len(study.directions))

    def labels(self, name: str, *, offset: int = 0, limit: int | None = None,
               batch: int = 1000) -> tuple[list[str], list[str]]:
        """The parameter labels and scored-step labels of those trials, each in first-seen order
        (StudyReport.param_labels and step_labels), read a batch at a time: a CSV's header."""
        params: dict[str, None] = {}
        steps: dict[str, None] = {}
        with self._engine.connect() as conn:
            study = self._study(conn, name)
            t = optuna_tables()["trials"]
            query = (sa.select(t.c.trial_id, t.c.number).where(t.c.study_id == study.study_id)
                     .order_by(_sql.by_number(t)).offset(offset))
            result = conn.execute(query if limit is None else query.limit(limit),
                                  execution_options={"yield_per": batch})
            for light in result.partitions():
                found = _sql.trial_params(conn, study.study_id, [r.trial_id for r in light])
                scores = _sql.step_scores(conn, name, [r.number for r in light])
                for r in light:
                    params.update(dict.fromkeys(found.get(r.trial_id, {})))
                    steps.update(dict.fromkeys(_sql.step_label(s["task_id"], s["map_index"])
                                               for s in scores.get(r.number, ())))
        return list(params), list(steps)

    def _study(self, conn: sa.engine.Connection, name: str) -> _sql.StudyMeta:
        found = _sql.study_meta(conn, name)
        if found:
            return next(iter(found.values()))
        known = [s.name for s in _sql.study_meta(conn).values()]
        listing = ("known studies: " + ", ".join(known)) if known else "it holds no studies yet"
        raise InputError(f"no study named '{name}' in {self.display_url}; {listing}")


def _create_tables(engine: sa.engine.Engine) -> None:
    try:
        _create(engine)
    except sa.exc.DBAPIError:
        # Two processes opening a new database at once both see no table and both create it;
        # the loser's second look finds the winner's table.
        _create(engine)


def _create(engine: sa.engine.Engine) -> None:
    _metadata.create_all(engine, checkfirst=True)
    # create_all makes indexes with their table only: a database written before an index was
    # added gets it here.
    with engine.connect() as conn:
        have = {ix["name"] for ix in sa.inspect(conn).get_indexes(scores_table.name)}
    for index in scores_table.indexes:
        if index.name not in have:
            index.create(engine, checkfirst=True)


@contextmanager
def _creation_lock(url: str) -> Iterator[None]:
    """Two first runs on a fresh SQLite file would both create Optuna's tables; the second
    waits for the first (a server database orders its own DDL)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    import fcntl

    with open(f"{Path(parsed.database).expanduser()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _engine_kwargs(url: str) -> dict[str, Any]:
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": _SQLITE_TIMEOUT_S}}
    return {"pool_pre_ping": True}  # a long optimization outlives idle server connections


def _score(row: Mapping[str, Any]) -> Score:
    recorded = row["recorded_at"]
    if recorded is not None:
        # SQLite gives naive datetimes back; they were written in UTC.
        recorded = (recorded.replace(tzinfo=_UTC) if recorded.tzinfo is None
                    else recorded.astimezone(_UTC))
    return Score(study=row["study"], trial_number=row["trial_number"], run_id=row["run_id"],
                 task_id=row["task_id"], score=row["score"], map_index=row["map_index"],
                 fields=json.loads(row["fields"] or "{}"), recorded_at=recorded)


def _safe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
