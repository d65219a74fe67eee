"""The SQLite index: the embedded default (standard library only, works in Pyodide).

Tables ``instances`` (one row per file, ``path`` the key, plus ``removed``: 1 for a file
gone since it was indexed) and ``frames`` (one row per frame of enhanced multi-frame files);
views ``series``, ``studies``, ``patients``. Lists are stored as JSON text
(``json_extract(image_position_patient, '$[2]')``). A path that is not UTF-8 is stored
quoted (:mod:`rawdicom.index.path_text`). Rows are written in batches, each one
transaction, so an interrupted build leaves whole rows only, and a re-run — which reads only
files whose path, size or mtime differ from their row — resumes where it stopped.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from .path_text import path_from_store, storable_text, stored_path
from .schema import FRAME_COLUMNS, instance_columns
from .views import view_statements

__all__ = ["SQLiteSink", "Batch", "stored_batch", "read_sqlite"]

_TYPES = {"text": "TEXT", "int": "INTEGER", "float": "REAL"}


def _sql_type(kind: str) -> str:
    return _TYPES.get(kind, "TEXT")  # lists: JSON text


def _number_list(value: list[Any]) -> str:
    """A list of a number column (all float, or all int, after schema.convert) as JSON,
    as json.dumps writes it (float.__repr__ / int.__repr__ per item), without its
    per-call overhead; a list with a null item through json.dumps."""
    if None in value:
        return json.dumps(value)
    return "[" + ", ".join(map(repr, value)) + "]"


def _rows_values(columns: list[tuple[str, str]], rows: Iterable[dict[str, Any]]
                 ) -> list[list[Any]]:
    """The values of ``rows`` as stored, in the order of ``columns`` (the first is the
    path: stored lossless, see path_text; lists as JSON text, ASCII: a lone surrogate is
    written \\udcxx). A text list is encoded once per distinct value in a batch (a series
    repeats its Image Type, character set, sequence names)."""
    names = [n for n, _ in columns]
    numbers = [i for i, (_, kind) in enumerate(columns) if kind in ("list_float", "list_int")]
    texts = [i for i, (_, kind) in enumerate(columns) if kind == "list_text"]
    known: dict[tuple[str, ...], str] = {}
    out = []
    for row in rows:
        values = list(map(row.get, names))
        for i in numbers:
            if values[i] is not None:
                values[i] = _number_list(values[i])
        for i in texts:
            value = values[i]
            if value is not None:
                key = tuple(value)
                text = known.get(key)
                if text is None:
                    text = known[key] = json.dumps(value)
                values[i] = text
        values[0] = stored_path(values[0])
        out.append(values)
    return out


# A partition's rows as SQLite stores them: (instances' values, frames' values), each a
# list of rows in column order. What a worker sends back: no dict per file, no key per
# value, lists already JSON; the writing process only inserts them.
Batch = tuple[list[list[Any]], list[list[Any]]]


def stored_batch(rows: list[dict[str, Any]], extra: tuple[str, ...] = ()) -> Batch:
    """The values of ``rows`` (and of their frames) as :meth:`SQLiteSink.write` takes them."""
    return (_rows_values(list(instance_columns(extra)), rows),
            _rows_values(list(FRAME_COLUMNS), (f for r in rows for f in (r.get("frames") or ()))))


def _insert(db: sqlite3.Connection, sql: str, rows: list[list[Any]]) -> None:
    """``executemany``; rows with text SQLite's binding refuses (a lone surrogate: a
    file name that is not UTF-8, quoted in an error message) are written again with such
    characters as ``\\xHH`` (``sql`` replaces rows: the rows written before are kept)."""
    try:
        db.executemany(sql, rows)
    except UnicodeEncodeError:
        db.executemany(sql, [[storable_text(v) for v in values] for values in rows])


def _decode(kind: str, value: Any) -> Any:
    if value is not None and kind.startswith("list_"):
        return json.loads(value)
    return value


class SQLiteSink:
    """Writes rows into an SQLite index; knows which files it already holds."""

    def __init__(self, path: str, extra: tuple[str, ...] = ()) -> None:
        self.path = path
        self.columns = instance_columns(extra)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")  # readers go on while a build writes
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS index_meta "
                            "(key TEXT PRIMARY KEY, value TEXT)")
            found = self.db.execute("SELECT value FROM index_meta WHERE key = 'columns'").fetchone()
            wanted = json.dumps(self.columns)
            if found is not None and found[0] != wanted:
                raise ValueError(f"{self.path} was built with other columns (tags=); "
                                 "index into a new file")
            if found is None:
                cols = ", ".join(f'"{n}" {_sql_type(k)}' for n, k in self.columns)
                self.db.execute(f"CREATE TABLE instances ({cols}, removed INTEGER NOT NULL "
                                "DEFAULT 0, PRIMARY KEY (path))")
                fcols = ", ".join(f'"{n}" {_sql_type(k)}' for n, k in FRAME_COLUMNS)
                self.db.execute(f"CREATE TABLE frames ({fcols}, PRIMARY KEY (path, frame_index))")
                for statement in view_statements("removed = 0"):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO index_meta VALUES ('columns', ?)", (wanted,))

    def known(self) -> dict[str, tuple[Any, Any, int]]:
        """path -> (size, mtime, removed) of every row."""
        return {path_from_store(p): (s, m, r) for p, s, m, r in
                self.db.execute("SELECT path, size, mtime, removed FROM instances")}

    def mark_removed(self, paths: Iterable[str]) -> int:
        """Mark rows of files that are gone; their rows stay, out of the views."""
        with self.db:
            cur = self.db.executemany("UPDATE instances SET removed = 1 WHERE path = ?",
                                      ((stored_path(p),) for p in paths))
        return cur.rowcount

    def write(self, batch: Batch) -> None:
        """Insert or replace a batch of rows (:func:`stored_batch`) and their frames in one
        transaction."""
        instances, frames = batch
        names = [n for n, _ in self.columns]
        marks = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        fnames = [n for n, _ in FRAME_COLUMNS]
        fquoted = ", ".join(f'"{n}"' for n in fnames)
        fmarks = ", ".join("?" for _ in fnames)
        with self.db:
            self.db.executemany("DELETE FROM frames WHERE path = ?",
                                ((values[0],) for values in instances))
            _insert(self.db,
                    f"INSERT OR REPLACE INTO instances ({quoted}, removed) VALUES ({marks}, 0)",
                    instances)
            _insert(self.db, f"INSERT OR REPLACE INTO frames ({fquoted}) VALUES ({fmarks})",
                    frames)

    def close(self) -> None:
        self.db.close()


def read_sqlite(path: str, table: str = "instances") -> list[dict[str, Any]]:
    """The rows of ``table`` (``instances`` without removed files, or ``frames``) as dicts
    with lists decoded, ordered by path (and frame)."""
    db = sqlite3.connect(path)
    try:
        if table == "instances":
            extra = db.execute("SELECT value FROM index_meta WHERE key = 'columns'").fetchone()
            columns = [tuple(c) for c in json.loads(extra[0])]
            sql = "SELECT * FROM instances WHERE removed = 0 ORDER BY path"
        else:
            columns = list(FRAME_COLUMNS)
            sql = "SELECT * FROM frames ORDER BY path, frame_index"
        kinds = dict(columns)
        cur = db.execute(sql)
        names = [d[0] for d in cur.description]
        rows = [{n: path_from_store(v) if n == "path" else _decode(kinds[n], v)
                 for n, v in zip(names, values) if n in kinds} for values in cur]
        # (SQL ordered the stored text, in which a quoted path comes first)
        rows.sort(key=(lambda r: r["path"] or "") if table == "instances" else
                  (lambda r: (r["path"] or "", r["frame_index"])))
        return rows
    finally:
        db.close()
