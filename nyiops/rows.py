"""Model instances read with plain SQL: for the look-ups every request makes.

Each request reads its session, its user (with the user's role groups) and its 2FA device
before any view runs, a live widget's unchanged refresh (the 204) included. Through the ORM
each of those reads cost more CPU to compile than the database took to answer it (0.4-1.0
ms against 0.13 ms for the same statement sent as text, BENCHMARKS.md, issue 12), and on
two cores shared with the poller every millisecond of CPU is waited for again. So these
reads are built once per model from its table and column names, quoted by the backend, with
every value a parameter, and their rows become model instances the way the ORM makes them
(`Model.from_db`, each column through the backend's and the field's converters).

Must not: take a value into the SQL text, or be used for anything but one row by key (the
ORM stays the way to query)."""

from __future__ import annotations

import functools

from django.db import connections


def quote(using: str):
    return connections[using].ops.quote_name


@functools.cache
def columns(model, using: str, alias: str) -> str:
    """The model's concrete columns as `alias.column, ...`, in `concrete_fields` order."""
    q = quote(using)
    return ", ".join(f"{alias}.{q(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def _converters(model, using: str) -> tuple:
    connection = connections[using]
    out = []
    for field in model._meta.concrete_fields:
        col = field.cached_col
        out.append(tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return tuple(out)


def instance(model, row, using: str):
    """A model instance from a row of `columns(model, ...)`, as the ORM would build it."""
    connection = connections[using]
    values = list(row)
    for i, converters in enumerate(_converters(model, using)):
        for convert in converters:
            values[i] = convert(values[i], model._meta.concrete_fields[i].cached_col, connection)
    return model.from_db(using, [f.attname for f in model._meta.concrete_fields], values)


def fetch_one(using: str, sql: str, params: list):
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
