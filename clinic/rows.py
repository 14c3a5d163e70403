"""Links for the panels that list rows read as plain values (a written-out statement, no
model instances): each row's link at the cost of one URL reversal. Their dates are written by
clinic/dateformats.py."""

from __future__ import annotations

from collections.abc import Callable

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
