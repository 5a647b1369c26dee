"""Writing many rows fast: ids handed out before the rows exist, COPY, and fresh statistics.

The obvious tool, an executemany of ``insert().returning(..., sort_by_parameter_order=True)``
(SQLAlchemy's insertmanyvalues), was measured at 340 rows/s end to end on PostgreSQL and
2,500 on SQLite for the bulk import: psycopg 3 re-parses, in Python, every multi-row
statement tens of thousands of placeholders long, and on SQLite SQLAlchemy keeps parameter
order only by sending one row per statement. So ids are reserved first (``reserve_*``), which
lets a caller build every row of a case (case, voice, contact, events) before writing any,
and the rows go in with binary COPY on PostgreSQL and one plain executemany on SQLite
(``insert_rows``). These are database mechanics; what the rows *are* is the services' concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from civicpulse.storage.tables import Voice

_IN_CHUNK = 900  # stays under SQLite's smallest bind-parameter limit (999)


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ---- ids ---------------------------------------------------------------------------------


def id_sequences(engine: Engine, tables: Sequence[Table]) -> tuple[str, ...]:
    """The PostgreSQL sequences that hand out ``tables``' ids, looked up once per run."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT "
                + ", ".join(f"pg_get_serial_sequence('{t.name}', 'id')" for t in tables)
            )
        ).one()
    return tuple(str(name) for name in found)


def reserve_from_sequences(
    engine: Engine, sequences: Sequence[str], n: int
) -> tuple[list[int], ...]:
    """``n`` ids from each sequence, in one round trip and outside any transaction.

    Sequence values are not transactional, so taking them ahead of the transaction that
    uses them costs at most a gap in the ids should it never commit; in exchange the rows
    can be built before the writer gets to them.
    """
    columns = ", ".join(f"nextval(%(s{i})s::regclass)" for i in range(len(sequences)))
    params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(sequences)}
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {columns} FROM generate_series(1, %(n)s)", {**params, "n": n}
        ).all()
        conn.commit()
    return tuple([r[i] for r in rows] for i in range(len(sequences)))


def reserve_in_transaction(
    session: Session, tables: Sequence[Table], n: int
) -> tuple[list[int], ...]:
    """``n`` ids for each of ``tables``, from inside the writing transaction.

    On SQLite these are the ids after each table's largest, which is safe because a write
    transaction holds the database's only write lock from its ``BEGIN IMMEDIATE`` and these
    tables' ids are plain rowids: exactly the ids SQLite itself would hand out, and later
    reservations in the same transaction see the rows written before them. On PostgreSQL
    they come from the tables' own sequences, one statement for all tables.
    """
    if not n:
        return tuple([] for _ in tables)
    if is_postgresql(session):
        sequence = "nextval(pg_get_serial_sequence('{}', 'id'))"
        columns = ", ".join(sequence.format(t.name) for t in tables)
        rows = session.execute(
            text(f"SELECT {columns} FROM generate_series(1, :n)"), {"n": n}
        ).all()
        return tuple([r[i] for r in rows] for i in range(len(tables)))
    out = []
    for table in tables:
        start = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        out.append(list(range(start + 1, start + 1 + n)))
    return tuple(out)


# ---- rows --------------------------------------------------------------------------------


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows whose ids, where they need one, are already known.

    Every row must have the same keys (the first row's are the columns written), which is
    what lets PostgreSQL take them all in one COPY.
    """
    if not rows:
        return
    if is_postgresql(session):
        columns = tuple(rows[0])
        as_tuple = itemgetter(*columns)
        tuples = [as_tuple(r) for r in rows] if len(columns) > 1 else [(as_tuple(r),) for r in rows]
        _copy_postgresql(session, table, columns, tuples)
    else:
        session.execute(insert(table), list(rows))


def _copy_postgresql(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Binary COPY of ``rows`` into ``table``.

    Values go to psycopg as they are: the services pass timezone-aware datetimes only,
    which is all ``UTCDateTime`` would ensure, and JSON is dumped by psycopg with
    ``json.dumps``, like SQLAlchemy's JSON type.
    """
    from psycopg import sql

    # COPY bypasses SQLAlchemy, so its client-side column defaults are applied here
    defaults: dict[str, Any] = {}
    for column in table.c:
        if column.name in columns or column.primary_key or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name} needs a value for COPY")
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    names = [*columns, *defaults]
    fill = tuple(defaults.values())
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            copy.set_types([_pg_wire_type(table.c[name]) for name in names])
            write = copy.write_row
            for row in rows:
                write((*row, *fill) if fill else row)
    finally:
        cursor.close()


def _pg_wire_type(column: Column[Any]) -> str:
    """The PostgreSQL type whose binary format a column's values are sent in."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, String):
        return "text"  # varchar and text share their binary format
    raise TypeError(f"no COPY type for {column.table.name}.{column.name}: {kind!r}")


# ---- lookups and statistics ----------------------------------------------------------------


def stored_external_ids(session: Session, channel: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` a voice of ``channel`` already has as its external id."""
    id_list = sorted(set(ids))
    postgresql = is_postgresql(session)
    step = max(len(id_list), 1) if postgresql else _IN_CHUNK
    stored: set[str] = set()
    for i in range(0, len(id_list), step):
        chunk = id_list[i : i + step]
        # PostgreSQL gets one array parameter rather than thousands of placeholders: a
        # short statement for psycopg to parse, and a test the executor can hash
        match = (
            Voice.external_id == any_(bindparam("ids", chunk, type_=ARRAY(String(200))))
            if postgresql
            else Voice.external_id.in_(chunk)
        )
        found = session.scalars(select(Voice.external_id).where(Voice.channel == channel, match))
        stored.update(e for e in found if e is not None)
    return stored


def analyze(session: Session, table: Table) -> int:
    """Refresh PostgreSQL's statistics of ``table``; returns its row count.

    A table that grew from nothing within minutes has no statistics yet, and the planner
    then picks plans for an empty table (see the import's use of this for the measured
    effect). The PostgreSQL manual's advice after a bulk load is to ANALYZE.
    """
    session.execute(text(f'ANALYZE "{table.name}"'))
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())
