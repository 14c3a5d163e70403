"""Links for the panels that list rows read as plain values (a written-out statement, no
model instances): each row's link at the cost of one URL reversal. Their dates are written by
clinic/dateformats.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.db import connection
from django.http import Http404
from django.urls import reverse

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


@cache
def _one_statement(model, related: tuple[str, ...]) -> tuple[str, tuple[tuple, ...]]:
    """The statement ``one_or_404`` runs for ``model`` and its foreign keys ``related``: every
    column of each (as the ORM reads them with select_related), written once; and, for each
    model read, its field names and the foreign key it hangs from (None for ``model``)."""
    meta = model._meta
    parts = [(model, None)] + [(meta.get_field(name).related_model, meta.get_field(name)) for name in related]
    columns, joins = [], []
    for index, (part, key) in enumerate(parts):
        columns += [f't{index}."{field.column}"' for field in part._meta.concrete_fields]
        if key is not None:
            kind = "LEFT JOIN" if key.null else "JOIN"
            target = part._meta.get_field(key.target_field.name).column
            joins.append(f'{kind} "{part._meta.db_table}" t{index} ON t{index}."{target}" = t0."{key.column}"')
    sql = f'SELECT {", ".join(columns)} FROM "{meta.db_table}" t0 {" ".join(joins)} WHERE t0."{meta.pk.column}" = %s'  # noqa: S608 - the models' own names
    layout = tuple((part, key, tuple(f.attname for f in part._meta.concrete_fields)) for part, key in parts)
    return sql, layout


def one_or_404(model, pk: int, related: tuple[str, ...] = ()):
    """The row ``pk`` of ``model`` as an instance, with the instances its foreign keys
    ``related`` point to already in place: what ``get_object_or_404(model.objects
    .select_related(*related), pk=pk)`` gives (and the same 404), from a statement written once
    rather than built by the ORM on every request. For the records nearly every page reads."""
    if not 0 < pk <= MAX_ID:  # no row has such an id (and PostgreSQL would refuse the number)
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    sql, layout = _one_statement(model, tuple(related))
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404(f"No {model._meta.object_name} matches the given query.")
    values = iter(row)
    instance = None
    for part, key, names in layout:
        read = part.from_db(connection.alias, names, [next(values) for _ in names])
        if key is None:
            instance = read
        else:
            key.set_cached_value(instance, read if getattr(instance, key.attname) is not None else None)
    return instance
