"""Links for the panels that list rows read as plain values (a written-out statement, no
model instances): each row's link at the cost of one URL reversal. Their dates are written by
clinic/dateformats.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.db import connection
from django.http import Http404
from django.urls import reverse

from clinic.prepared import PreparedStatement

# Stand-ins for the ids, numbers no row has and that no other part of a URL contains.
_MARKERS = (918273645546372819, 928374655647382910, 938475665748392011)


def link_maker(viewname: str, arity: int = 1) -> Callable[..., str]:
    """A function of ``arity`` ids giving what ``reverse(viewname, args=ids)`` gives, for the
    rows of a list: one reversal for all of them. Make it within the request (the URL prefix
    is the request's)."""
    markers = _MARKERS[:arity]
    url = reverse(viewname, args=markers)
    parts = []
    for marker in markers:
        head, url = url.split(str(marker), 1)
        parts.append(head)
    parts.append(url)
    if arity == 1:
        head, tail = parts
        return lambda pk: f"{head}{pk}{tail}"

    def link(*ids) -> str:
        return "".join(part + str(pk) for part, pk in zip(parts, ids, strict=False)) + parts[-1]

    return link


# The largest id a row can have (a PostgreSQL bigint): a URL may name any number.
MAX_ID = 2**63 - 1


def columns(model, alias: str) -> str:
    """Every column of ``model`` (its concrete fields, in order, as the ORM reads them), each
    prefixed with the table's ``alias``: for a written-out SELECT whose rows ``split_row`` turns
    back into instances."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@cache
def _attnames(model) -> tuple[tuple[str, ...], int]:
    """The attnames of ``model``'s columns, and where its id is among them."""
    names = tuple(field.attname for field in model._meta.concrete_fields)
    return names, names.index(model._meta.pk.attname)


def split_row(row, models) -> list:
    """The instances of ``models`` whose ``columns`` a row holds one after the other, as the
    ORM builds them; None for a part whose id is NULL (a LEFT JOIN that found nothing)."""
    instances, start = [], 0
    for model in models:
        names, at_id = _attnames(model)
        values = row[start : start + len(names)]
        start += len(names)
        instances.append(None if values[at_id] is None else model.from_db(connection.alias, names, values))
    return instances


@cache
def _one_statement(model, related: tuple[str, ...]) -> tuple[PreparedStatement, tuple]:
    """The statement ``one_or_404`` runs for ``model`` and its foreign keys ``related``: every
    column of each (as the ORM reads them with select_related), written once; and the models
    read, with the foreign key each hangs from (None for ``model``). Prepared once per
    connection (clinic/prepared.py)."""
    meta = model._meta
    keys = [None] + [meta.get_field(name) for name in related]
    parts = [(model if key is None else key.related_model, key) for key in keys]
    joins = [
        f'{"LEFT JOIN" if key.null else "JOIN"} "{part._meta.db_table}" t{index}'
        f' ON t{index}."{part._meta.get_field(key.target_field.name).column}" = t0."{key.column}"'
        for index, (part, key) in enumerate(parts)
        if key is not None
    ]
    selected = ", ".join(columns(part, f"t{index}") for index, (part, _) in enumerate(parts))
    sql = f'SELECT {selected} FROM "{meta.db_table}" t0 {" ".join(joins)} WHERE t0."{meta.pk.column}" = %s::bigint'  # noqa: S608 - the models' own names
    return PreparedStatement(f"one_{meta.db_table}"[:31], sql), tuple(parts)


def one_or_404(model, pk: int, related: tuple[str, ...] = ()):
    """The row ``pk`` of ``model`` as an instance, with the instances its foreign keys
    ``related`` point to already in place: what ``get_object_or_404(model.objects
    .select_related(*related), pk=pk)`` gives (and the same 404), from a statement written once
    rather than built by the ORM on every request. For the records nearly every page reads."""
    if not 0 < pk <= MAX_ID:  # no row has such an id (and PostgreSQL would refuse the number)
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    statement, parts = _one_statement(model, tuple(related))
    with connection.cursor() as cursor:
        statement.execute(cursor, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    instance, *others = split_row(row, [part for part, _ in parts])
    for (_, key), other in zip(parts[1:], others, strict=True):
        key.set_cached_value(instance, other)
    return instance
