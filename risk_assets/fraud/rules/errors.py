"""Exceptions raised while loading rule files and applying rules."""

from __future__ import annotations


class RuleFileError(ValueError):
    """Invalid rule file: malformed YAML or a rule that breaks the schema.

    Attributes:
        source: File path or ``"<string>"`` for text parsed from memory.
        line: 1-based line of the offending node, or None when no line applies.
        problem: What is wrong and how to fix it, without the location prefix.
    """

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        location = f"{source}, line {line}" if line is not None else source
        super().__init__(f"Invalid rule file {location}: {problem}")


class UnknownFieldError(ValueError):
    """Rule condition that names a field missing from the scored transactions.

    Attributes:
        rule_name: Name of the rule that contains the condition.
        field: The unknown field name.
        line: 1-based line of the condition in the rule file, if known.
    """

    def __init__(
        self,
        rule_name: str,
        field: str,
        line: int | None,
        available: list[str],
    ) -> None:
        self.rule_name = rule_name
        self.field = field
        self.line = line
        where = f" (line {line})" if line is not None else ""
        columns = ", ".join(sorted(available))
        super().__init__(
            f"Rule {rule_name!r}{where} uses unknown field {field!r}. "
            f"Use one of the available columns: {columns}."
        )
