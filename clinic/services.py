"""Helpers shared by the apps' services."""

from __future__ import annotations

from typing import Any


def apply_fields(instance, fields: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Set ``fields`` on ``instance``; a name outside ``allowed`` is a programming error."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unexpected fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)
