"""Rule conditions: a small expression tree evaluated column-wise on the transactions.

A condition is built from parsed YAML, never from a string passed to ``eval``. Leaves
compare one column with a literal (``Comparison``), test membership in a literal list
(``Membership``) or test for a missing value (``NullCheck``). ``AllOf``, ``AnyOf`` and
``Not`` combine them.

Missing values: a comparison or membership test on a missing value is False for every
operator, ``!=`` and ``not_in`` included, so a rule never fires because a feature is
absent. ``Not`` inverts the result as computed, so ``not: {amount > 100}`` is True
when the amount is missing. Use ``is_null`` to target missing values explicitly.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from risk_assets.fraud.rules.fields import FieldValues


class Operator(StrEnum):
    """Operators a leaf condition can use, spelled as in the rule file."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


COMPARISON_OPERATORS = frozenset(
    {Operator.EQ, Operator.NE, Operator.LT, Operator.LE, Operator.GT, Operator.GE}
)
ORDERING_OPERATORS = frozenset({Operator.LT, Operator.LE, Operator.GT, Operator.GE})
MEMBERSHIP_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
NULL_OPERATORS = frozenset({Operator.IS_NULL, Operator.NOT_NULL})

_COMPARE: dict[Operator, Callable[[object, object], object]] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}

# Literal value of a rule condition, as YAML parsed it.
ScalarValue = bool | int | float | str


def is_number(value: object) -> bool:
    """Return True for int and float literals, but not for bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Comparison:
    """Leaf condition ``field <op> value`` with op one of ==, !=, <, <=, >, >=."""

    field: str
    op: Operator
    value: ScalarValue
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the comparison on every row and return a boolean array."""
        present = ~fields.missing(self.field)
        if isinstance(self.value, str):
            values = fields.text(self.field)
            target: object = self.value
        else:
            values = fields.numeric(self.field)
            target = float(self.value)

        result = np.zeros(len(fields), dtype=bool)
        compare = _COMPARE[self.op]
        result[present] = np.asarray(compare(values[present], target), dtype=bool)
        return result

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of this leaf."""
        yield self.field, self.line


@dataclass(frozen=True)
class Membership:
    """Leaf condition ``field in [values]``, or ``not_in`` when ``negated``."""

    field: str
    values: tuple[int | float | str, ...]
    negated: bool = False
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the membership test on every row and return a boolean array."""
        present = ~fields.missing(self.field)
        if all(isinstance(value, str) for value in self.values):
            targets = set(self.values)
            values = fields.text(self.field)
            found = np.fromiter((value in targets for value in values), bool, len(values))
        else:
            targets = np.array([float(value) for value in self.values])
            found = np.isin(fields.numeric(self.field), targets)

        if self.negated:
            found = ~found
        return found & present

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of this leaf."""
        yield self.field, self.line


@dataclass(frozen=True)
class NullCheck:
    """Leaf condition that is True where the field is missing (or present, if negated)."""

    field: str
    negated: bool = False
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the null check on every row and return a boolean array."""
        missing = fields.missing(self.field)
        return ~missing if self.negated else missing.copy()

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of this leaf."""
        yield self.field, self.line


@dataclass(frozen=True)
class AllOf:
    """Conjunction: True where every child condition is True."""

    conditions: tuple[Condition, ...]
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the children and combine them with logical AND."""
        result = np.ones(len(fields), dtype=bool)
        for condition in self.conditions:
            result &= condition.evaluate(fields)
        return result

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of every leaf below this node."""
        for condition in self.conditions:
            yield from condition.field_lines()


@dataclass(frozen=True)
class AnyOf:
    """Disjunction: True where at least one child condition is True."""

    conditions: tuple[Condition, ...]
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the children and combine them with logical OR."""
        result = np.zeros(len(fields), dtype=bool)
        for condition in self.conditions:
            result |= condition.evaluate(fields)
        return result

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of every leaf below this node."""
        for condition in self.conditions:
            yield from condition.field_lines()


@dataclass(frozen=True)
class Not:
    """Negation of one child condition."""

    condition: Condition
    line: int | None = None

    def evaluate(self, fields: FieldValues) -> np.ndarray:
        """Evaluate the child and invert the result."""
        return ~self.condition.evaluate(fields)

    def field_lines(self) -> Iterator[tuple[str, int | None]]:
        """Yield the field name and line of every leaf below this node."""
        yield from self.condition.field_lines()


Condition = Comparison | Membership | NullCheck | AllOf | AnyOf | Not
