"""What other apps do when a treatment plan is cancelled, without treatments knowing them.

Imports run clinic <- patients <- messaging <- treatments <- scheduling, so treatments cannot
call scheduling, yet cancelling a plan must cancel the sessions booked for it. The way
messaging's email builders are registered by the apps that own them, scheduling registers
here what it does when a plan is cancelled (from SchedulingConfig.ready), and plan_cancel
calls every registered action inside its own transaction: the plan and its appointments are
cancelled together or not at all, and an action's refusal reaches the caller.

A registry rather than a signal: cancelling the booked sessions is part of the rule "a
cancelled plan has no booked sessions", so it is called explicitly, in order, with its
errors; a signal would hide the rule behind a dispatch that anyone may connect to or not.
"""

from __future__ import annotations

from collections.abc import Callable

PlanCancelledAction = Callable[..., object]
_ON_PLAN_CANCELLED: dict[str, PlanCancelledAction] = {}


def on_plan_cancelled(action: PlanCancelledAction) -> PlanCancelledAction:
    """Register ``action(plan=..., actor=...)`` to run when a plan is cancelled (once per
    function, however often the registering app is made ready)."""
    _ON_PLAN_CANCELLED[f"{action.__module__}.{action.__qualname__}"] = action
    return action


def plan_cancelled(*, plan, actor) -> None:
    """Run every registered action for a plan just cancelled, in the caller's transaction."""
    for action in _ON_PLAN_CANCELLED.values():
        action(plan=plan, actor=actor)
