"""Rule, action and layer types shared by the parser, the decisions and the backtest."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from risk_assets.fraud.rules.conditions import Condition


class Action(StrEnum):
    """Decision outcomes, from least to most severe."""

    APPROVE = "approve"
    STEP_UP = "step_up"
    REVIEW = "review"
    DECLINE = "decline"

    @property
    def severity(self) -> int:
        """Rank used to escalate: approve 0, step_up 1, review 2, decline 3."""
        return _SEVERITY[self]


_SEVERITY = {Action.APPROVE: 0, Action.STEP_UP: 1, Action.REVIEW: 2, Action.DECLINE: 3}
ACTIONS_BY_SEVERITY = sorted(Action, key=lambda action: action.severity)

# Reason codes of the score layer. Rule files may not use them, so a reason code
# always tells whether the score or a rule produced it.
SCORE_REASON_CODES = {
    Action.DECLINE: "SCORE_DECLINE",
    Action.REVIEW: "SCORE_REVIEW",
    Action.STEP_UP: "SCORE_STEP_UP",
}


class Layer(StrEnum):
    """Rule layers.

    A matching hard rule decides the transaction on its own, so the score and the soft
    rules are ignored. Soft rules run after the score thresholds and can only escalate
    the action.
    """

    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True)
class Rule:
    """One analyst rule: when ``condition`` holds, propose ``action`` with ``reason_code``.

    Attributes:
        name: Unique identifier within the rule file.
        condition: Expression tree evaluated on the scored transactions.
        action: Action proposed when the condition holds.
        reason_code: Code attached to every decision the rule contributes to.
        priority: 1 is the highest. Among matching hard rules the one with the smallest
            number decides. Ties go to the rule that comes first in the file.
        layer: Hard or soft, see ``Layer``.
        description: Free text for analysts.
        enabled: Disabled rules are parsed and validated but never evaluated.
        line: 1-based line where the rule starts in its file.
    """

    name: str
    condition: Condition
    action: Action
    reason_code: str
    priority: int
    layer: Layer
    description: str = ""
    enabled: bool = True
    line: int | None = None


@dataclass(frozen=True)
class RuleSet:
    """Ordered rules from one file, with the file path for error messages.

    Attributes:
        rules: Rules in file order.
        source: Path of the rule file, or ``"<string>"``.
    """

    rules: tuple[Rule, ...]
    source: str = "<string>"
    _by_name: dict[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {rule.name: rule for rule in self.rules})

    def active(self, layer: Layer) -> list[Rule]:
        """Return the enabled rules of one layer, sorted by priority, then file order."""
        selected = [rule for rule in self.rules if rule.enabled and rule.layer == layer]
        return sorted(selected, key=lambda rule: rule.priority)

    def get(self, name: str) -> Rule:
        """Return the rule called ``name``.

        Raises:
            KeyError: If no rule has that name.
        """
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            message = f"No rule named {name!r} in {self.source}. Known rules: {known}."
            raise KeyError(message) from None

    def fields(self) -> set[str]:
        """Return every field name that an enabled rule reads."""
        names: set[str] = set()
        for rule in self.rules:
            if rule.enabled:
                names.update(field for field, _ in rule.condition.field_lines())
        return names
