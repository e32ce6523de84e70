"""The worklist's own index of this app's Tasks: an SQLite file per FHIR base, kept by the app.

Why: ordering Tasks by due date across patients needs either a server-side `_sort` over every
Task (22-28 s at 10k Tasks on sekmet-fhir) or a view the app maintains. The index holds one
small row per Task (what a worklist row shows, plus its sort key); a page is an indexed range
read here, and the FHIR server only answers narrow questions: "what changed since" (by
`_lastUpdated`) and "these ids, now" (by `_id`). See services.worklist_pages for the protocol.

The file lives in the instance folder, shared by every worker process of one host (SQLite WAL);
it holds no tokens. Rows are used to choose and order a page: what a user sees is always what
the server returned to that user's own token in the same round trip.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir_rehab.resources.worklist import COUNTED, OPEN, Filters, WorkRow

NO_DUE = 1e18  # rows without a due date sort last within their rank

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS task (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, rank INTEGER NOT NULL, due REAL NOT NULL,
  stage INTEGER, owner TEXT, priority TEXT, careplan TEXT, updated TEXT, row TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS task_order ON task(rank, due, id);
CREATE INDEX IF NOT EXISTS task_status ON task(status, rank, due, id);
DROP INDEX IF EXISTS task_count;
CREATE INDEX IF NOT EXISTS task_counts ON task(status, stage, owner, priority, due);
CREATE INDEX IF NOT EXISTS task_plan ON task(careplan, status);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""


def index_path(directory: str | Path, fhir_base: str) -> Path:
    """One file per FHIR base (the launch's `iss`), named by a hash of the base.

    >>> index_path("/x", "http://a/fhir").name.startswith("worklist-")
    True
    """
    digest = hashlib.sha256(fhir_base.rstrip("/").encode()).hexdigest()[:20]
    return Path(directory) / f"worklist-{digest}.sqlite3"


def sort_key(row: WorkRow) -> tuple[int, float, str]:
    due = row.due_at
    return (row.rank, due.timestamp() if due else NO_DUE, row.task_id)


class WorklistIndex:
    """The rows, the sync state (`meta`) and a build lease, in one SQLite file."""

    _open: dict[str, WorklistIndex] = {}
    _open_lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._counts: dict[tuple[Any, ...], dict[str, int]] = {}
        self._db().executescript(SCHEMA)  # idempotent; every process may run it

    @classmethod
    def at(cls, path: str | Path) -> WorklistIndex:
        """The index at `path`, opened once per process."""
        key = str(Path(path).resolve())
        with cls._open_lock:
            found = cls._open.get(key)
            if found is None:
                found = cls._open[key] = cls(path)
            return found

    # -- connections ---------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- sync state ----------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return {
            k: json.loads(v) if isinstance(v, str) else v
            for k, v in self._db().execute("SELECT k, v FROM meta")
        }

    def set_meta(self, **values: Any) -> None:
        with self._tx() as db:
            self._set(db, values)

    @staticmethod
    def _set(db: sqlite3.Connection, values: dict[str, Any]) -> None:
        db.executemany(
            "INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def take_lease(self, holder: str, seconds: float) -> bool:
        """One builder at a time across processes: True if `holder` now holds the lease."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT v FROM meta WHERE k = 'lease'").fetchone()
            lease = json.loads(row[0]) if row else None
            if lease and lease["holder"] != holder and lease["until"] > now:
                return False
            self._set(db, {"lease": {"holder": holder, "until": now + seconds}})
            return True

    # -- rows ----------------------------------------------------------------------------
    def apply(
        self, rows: Iterable[tuple[WorkRow, str | None]], removed: Iterable[str] = (), **meta: Any
    ) -> None:
        """Upsert rows (with their server `meta.lastUpdated`), drop `removed`, set `meta`: atomically.
        A row older than the one stored (by lastUpdated) does not replace it."""
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO task(id, status, rank, due, stage, owner, priority, careplan, updated, row) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "status = excluded.status, rank = excluded.rank, due = excluded.due, "
                "stage = excluded.stage, owner = excluded.owner, priority = excluded.priority, "
                "careplan = excluded.careplan, updated = excluded.updated, row = excluded.row "
                "WHERE (task.updated IS NULL OR excluded.updated IS NULL "
                "OR excluded.updated >= task.updated) AND task.row IS NOT excluded.row",
                [
                    (
                        r.task_id,
                        r.list_status,
                        r.rank,
                        sort_key(r)[1],
                        r.stage_number,
                        r.owner,
                        r.priority,
                        r.careplan_id if r.kind == "stage" else None,
                        updated,
                        json.dumps(r.to_dict()),
                    )
                    for r, updated in rows
                ],
            )
            db.executemany("DELETE FROM task WHERE id = ?", [(i,) for i in removed])
            if db.total_changes != before:  # counts cached by any process are out of date
                db.execute(
                    "INSERT INTO meta(k, v) VALUES ('generation', '1') "
                    "ON CONFLICT(k) DO UPDATE SET v = CAST(v AS INTEGER) + 1"
                )
            if meta:
                self._set(db, meta)

    def size(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM task").fetchone()[0])

    def page(
        self,
        filters: Filters,
        me: str | None,
        now: datetime,
        *,
        after: tuple[int, float, str] | None,
        limit: int,
    ) -> list[WorkRow]:
        """Rows in worklist order (rank, due, id) after the key `after`, at most `limit`."""
        where, args = _where(filters, me, now, with_status=True)
        if after is not None:
            where.append("(rank, due, id) > (?, ?, ?)")
            args.extend(after)
        # Walk an index already in list order and stop at `limit`: one status has its own
        # (status, rank, due, id) index; "open" (six statuses) walks (rank, due, id) and skips
        # closed rows, a few per open one. Sorting every match instead grows with the table.
        use = "task_status" if filters.status != "open" else "task_order"
        sql = f"SELECT row FROM task INDEXED BY {use} WHERE {' AND '.join(where)} ORDER BY rank, due, id LIMIT ?"  # noqa: S608, E501 - fixed fragments, values bound
        return [WorkRow.from_dict(json.loads(r[0])) for r in self._db().execute(sql, [*args, limit])]

    def held_stages(self, careplan_ids: Iterable[str]) -> dict[str, int]:
        """Held stage Tasks per program (a held program is one row with this count)."""
        ids = list(careplan_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = f"SELECT careplan, COUNT(*) FROM task WHERE status = 'on-hold' AND careplan IN ({marks}) GROUP BY careplan"  # noqa: S608, E501 - placeholders only
        return {str(p): int(n) for p, n in self._db().execute(sql, ids)}

    def counts(self, filters: Filters, me: str | None, now: datetime) -> dict[str, int]:
        """Tasks per status, with every filter but the status applied: an index-only scan,
        kept in this process until a row changes (or, with "overdue", the minute turns)."""
        minute = int(now.timestamp() // 60) if filters.overdue else 0
        key = (self._generation(), filters.key(), me, minute)
        cached = self._counts.get(key)
        if cached is not None:
            return dict(cached)
        where, args = _where(filters, me, now, with_status=False)
        sql = f"SELECT status, COUNT(*) FROM task WHERE {' AND '.join(where)} GROUP BY status"  # noqa: S608 - fixed fragments, values bound
        counts = dict.fromkeys(COUNTED, 0)
        counts.update({str(s): int(n) for s, n in self._db().execute(sql, args)})
        if len(self._counts) > 256:
            self._counts.clear()
        self._counts[key] = counts
        return dict(counts)

    def _generation(self) -> int:
        row = self._db().execute("SELECT v FROM meta WHERE k = 'generation'").fetchone()
        return int(json.loads(str(row[0]))) if row else 0


def _where(
    filters: Filters, me: str | None, now: datetime, *, with_status: bool
) -> tuple[list[str], list[Any]]:
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if with_status:
        statuses = OPEN if filters.status == "open" else (filters.status,)
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    if filters.stage is not None:
        where.append("stage = ?")
        args.append(filters.stage)
    if filters.owner == "me":
        where.append("owner = ?")
        args.append(me or "Practitioner/-")  # no fhirUser: nothing is "mine"
    elif filters.owner == "unassigned":
        where.append("owner IS NULL")
    if filters.priority:
        where.append("priority = ?")
        args.append(filters.priority)
    if filters.overdue:
        where.append("due < ?")
        args.append(now.timestamp())
    return where, args
