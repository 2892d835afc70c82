"""What the two direct paths share (storage.sqlite_direct, storage.pg_direct): a statement
this process runs a second time, as the same object (the repositories keep theirs as module
constants), is compiled once by SQLAlchemy for the parameter keys it is given; its values
then go through the type processors SQLAlchemy would use, straight to the driver.

Why: SQLAlchemy's execution around each statement (the compiled cache's key, the parameters'
dictionary, the execution context, the result) costs more of the bot's CPU than the
database's own work on a small statement, and in a burst of customers that CPU is what the
last of them waits for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import Dialect, Executable

Processor = Callable[[Any], Any] | None
MISSING = object()
# statement objects run once (kept, so that their ids cannot be taken by another) and plans;
# the repositories keep a few dozen statements; the statements built per call come and go
LIMIT = 256

P = TypeVar("P")


class Slot:
    """Where a position's value comes from: the caller's parameter, or the statement's own."""

    __slots__ = ("default", "key", "name", "process")

    def __init__(self, key: str, name: str, default: Any, process: Processor) -> None:
        self.key, self.name, self.default, self.process = key, name, default, process


def slots_of(compiled: Any, dialect: Dialect) -> list[Slot] | None:
    """The positions of a compiled statement's parameters; None when a value is computed
    when the statement runs (a callable), which SQLAlchemy must do."""
    if (
        compiled.positiontup is None
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
    ):
        return None
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    slots = []
    for name in compiled.positiontup:
        bind = binds[name]
        if bind.callable is not None:
            return None
        default = MISSING if bind.required else bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        slots.append(Slot(bind.key, name, default, process))
    return slots


def values_for(slots: list[Slot], parameters: Mapping[str, Any]) -> list[Any] | None:
    """The values in their positions; None when one is missing or will not convert (a naive
    datetime, say): SQLAlchemy then runs the statement and says what is wrong."""
    row = []
    for slot in slots:
        value = parameters.get(slot.key, MISSING)
        if value is MISSING:
            value = parameters.get(slot.name, slot.default)
            if value is MISSING:
                return None
        if slot.process is not None:
            try:
                value = slot.process(value)
            except Exception:
                return None
        row.append(value)
    return row


class Habits(Generic[P]):
    """Plans for the statements this process repeats, per statement and set of keys; a
    statement seen once gets none, so one built for a single call costs no extra compile."""

    def __init__(self, build: Callable[[Executable, list[str], bool], P | None]) -> None:
        self._build = build
        self._seen: dict[int, Executable] = {}
        self._plans: dict[tuple[int, tuple[str, ...], bool], tuple[Executable, P | None]] = {}

    def plan(self, statement: Executable, parameters: Any) -> P | None:
        many = parameters is not None and not isinstance(parameters, Mapping)
        first = (parameters[0] if parameters else None) if many else (parameters or {})
        if not isinstance(first, Mapping):
            return None
        key = (id(statement), tuple(first), many)
        found = self._plans.get(key)
        if found is not None:
            assert found[0] is statement
            return found[1]
        if self._seen.get(id(statement)) is not statement:
            if len(self._seen) >= LIMIT:
                self._seen.clear()
            self._seen[id(statement)] = statement
            return None
        if len(self._plans) >= LIMIT:
            self._plans.clear()
        plan = self._build(statement, sorted(first), many)
        self._plans[key] = (statement, plan)
        return plan
