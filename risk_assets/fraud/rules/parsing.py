"""Load rule files written in YAML into ``RuleSet`` objects.

The file is composed into a YAML node tree (``yaml.SafeLoader``) before any value is
built, so every error can name the line of the offending node. File layout::

    version: 1
    rules:
      - name: high_amount_new_terminal
        description: Large amount on a terminal with recent fraud.
        layer: hard            # hard | soft
        action: decline        # approve | step_up | review | decline
        reason_code: AMT_RISKY_TERMINAL
        priority: 10           # 1 is the highest
        enabled: true          # optional, default true
        when:
          all:
            - {field: amount, op: ">=", value: 1000}
            - {field: terminal_fraud_rate_7d, op: ">", value: 0.2}

A condition is a mapping with exactly one of ``all`` (list), ``any`` (list), ``not``
(one condition), or a leaf ``{field, op, value}``. Leaf operators are ``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``in`` and ``not_in`` (value is a list), ``is_null`` and
``not_null`` (no value).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from risk_assets.fraud.rules.conditions import (
    MEMBERSHIP_OPERATORS,
    NULL_OPERATORS,
    ORDERING_OPERATORS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Membership,
    Not,
    NullCheck,
    Operator,
    is_number,
)
from risk_assets.fraud.rules.errors import RuleFileError
from risk_assets.fraud.rules.fields import available_fields
from risk_assets.fraud.rules.ruleset import SCORE_REASON_CODES, Action, Layer, Rule, RuleSet

SUPPORTED_VERSIONS = (1,)
DEFAULT_RULES_FILE = "default_rules.yaml"

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_REASON_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")
_RULE_KEYS = {"name", "description", "layer", "action", "reason_code", "priority", "enabled"}
_REQUIRED_RULE_KEYS = ("name", "layer", "action", "reason_code", "priority", "when")
_LEAF_KEYS = {"field", "op", "value"}

_Choice = TypeVar("_Choice", Action, Layer)


def default_rules_path() -> Path:
    """Return the path of the rule file shipped with the package."""
    return Path(str(resources.files("risk_assets.fraud.rules") / DEFAULT_RULES_FILE))


def load_rules(path: str | Path, known_fields: Collection[str] | None = None) -> RuleSet:
    """Read and validate a rule file.

    Args:
        path: Local path of the YAML rule file.
        known_fields: Column names of the transactions the rules will run on. When
            given, a condition on any other field is rejected with its line. When None,
            fields are checked later, when ``decide`` receives the transactions.

    Returns:
        The parsed rules in file order.

    Raises:
        RuleFileError: If the file cannot be read, is not valid YAML or breaks the
            rule schema. The message names the file, the line and the fix.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RuleFileError(source, None, f"cannot read the file ({error}).") from error
    return parse_rules(text, source=source, known_fields=known_fields)


def parse_rules(
    text: str,
    source: str = "<string>",
    known_fields: Collection[str] | None = None,
) -> RuleSet:
    """Validate rule-file text and build a ``RuleSet``; see ``load_rules`` for details.

    Args:
        text: YAML text of a rule file.
        source: Name used in error messages, usually the file path.
        known_fields: Optional column names to check fields against.

    Returns:
        The parsed rules in file order.

    Raises:
        RuleFileError: If the text is not valid YAML or breaks the rule schema.
    """
    parser = _RuleFileParser(text, source, known_fields)
    return parser.parse()


class _RuleFileParser:
    def __init__(self, text: str, source: str, known_fields: Collection[str] | None) -> None:
        self.text = text
        self.source = source
        self.known_fields = None
        if known_fields is not None:
            self.known_fields = available_fields(list(known_fields))

    def parse(self) -> RuleSet:
        try:
            # The reader checks the whole text for control characters up front.
            loader = yaml.SafeLoader(self.text)
        except yaml.reader.ReaderError as error:
            raise self._reader_error(error) from error
        try:
            root = self._compose(loader)
            if root is None:
                raise RuleFileError(self.source, 1, "the file is empty. Add a 'rules:' list.")
            rules = self._parse_root(root, loader)
        finally:
            loader.dispose()
        return RuleSet(rules=tuple(rules), source=self.source)

    def _compose(self, loader: yaml.SafeLoader) -> Node | None:
        try:
            return loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = error.problem or str(error)
            raise RuleFileError(self.source, line, f"malformed YAML: {problem}.") from error
        except yaml.reader.ReaderError as error:
            raise self._reader_error(error) from error

    def _reader_error(self, error: yaml.reader.ReaderError) -> RuleFileError:
        line = self.text.count("\n", 0, error.position) + 1
        return RuleFileError(
            self.source,
            line,
            f"unreadable character {chr(error.character)!r} (code {error.character:#x}). "
            "Remove control characters from the file.",
        )

    def _fail(self, node: Node, problem: str) -> RuleFileError:
        return RuleFileError(self.source, node.start_mark.line + 1, problem)

    def _mapping(self, node: Node, subject: str) -> dict[str, tuple[Node, Node]]:
        """Return the mapping's entries by key, rejecting non-string and duplicate keys."""
        if not isinstance(node, MappingNode):
            raise self._fail(node, f"{subject} must be a mapping of keys to values.")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise self._fail(key_node, f"{subject} has a key that is not a plain name.")
            key = key_node.value
            if key in entries:
                first_line = entries[key][0].start_mark.line + 1
                raise self._fail(key_node, f"duplicate key {key!r} (first on line {first_line}).")
            entries[key] = (key_node, value_node)
        return entries

    def _scalar(self, node: Node, loader: yaml.SafeLoader, subject: str) -> object:
        if not isinstance(node, ScalarNode):
            raise self._fail(node, f"{subject} must be a single value, not a list or mapping.")
        return loader.construct_object(node, deep=True)

    def _string(self, node: Node, loader: yaml.SafeLoader, subject: str) -> str:
        value = self._scalar(node, loader, subject)
        if isinstance(value, bool):
            raise self._fail(
                node,
                f"{subject} must be a string, but YAML read {node.value!r} as {value}. "
                "Quote it, for example 'off'.",
            )
        if not isinstance(value, str) or not value.strip():
            raise self._fail(node, f"{subject} must be a non-empty string, got {value!r}.")
        return value

    def _parse_root(self, root: Node, loader: yaml.SafeLoader) -> list[Rule]:
        entries = self._mapping(root, "The rule file")
        unknown = sorted(set(entries) - {"version", "rules"})
        if unknown:
            key_node = entries[unknown[0]][0]
            raise self._fail(
                key_node, f"unknown top-level key {unknown[0]!r}. Allowed: version, rules."
            )

        if "version" in entries:
            version_node = entries["version"][1]
            version = self._scalar(version_node, loader, "version")
            if version not in SUPPORTED_VERSIONS:
                raise self._fail(
                    version_node,
                    f"unsupported version {version!r}. Supported versions: {SUPPORTED_VERSIONS}.",
                )

        if "rules" not in entries:
            raise self._fail(root, "missing the 'rules:' list.")
        rules_node = entries["rules"][1]
        if not isinstance(rules_node, SequenceNode):
            raise self._fail(rules_node, "'rules' must be a list of rules (items start with -).")

        rules: list[Rule] = []
        first_line_by_name: dict[str, int] = {}
        for rule_node in rules_node.value:
            rule = self._parse_rule(rule_node, loader)
            if rule.name in first_line_by_name:
                raise self._fail(
                    rule_node,
                    f"duplicate rule name {rule.name!r} (first on line "
                    f"{first_line_by_name[rule.name]}). Give each rule a unique name.",
                )
            first_line_by_name[rule.name] = rule_node.start_mark.line + 1
            rules.append(rule)
        return rules

    def _parse_rule(self, node: Node, loader: yaml.SafeLoader) -> Rule:
        entries = self._mapping(node, "A rule")
        unknown = sorted(set(entries) - _RULE_KEYS - {"when"})
        if unknown:
            allowed = ", ".join(sorted(_RULE_KEYS | {"when"}))
            raise self._fail(
                entries[unknown[0]][0], f"unknown rule key {unknown[0]!r}. Allowed: {allowed}."
            )

        label = "a rule"
        if "name" in entries:
            name = self._string(entries["name"][1], loader, "Rule name")
            if not _NAME_PATTERN.match(name):
                raise self._fail(
                    entries["name"][1],
                    f"invalid rule name {name!r}. Use letters, digits, '_', '.' or '-', "
                    "starting with a letter.",
                )
            label = f"rule {name!r}"
        for key in _REQUIRED_RULE_KEYS:
            if key not in entries:
                raise self._fail(node, f"{label} is missing the required key {key!r}.")

        action = self._parse_choice(entries["action"][1], loader, Action, "action")
        layer = self._parse_choice(entries["layer"][1], loader, Layer, "layer")
        if layer == Layer.SOFT and action == Action.APPROVE:
            raise self._fail(
                entries["action"][1],
                f"{label} is a soft rule with action 'approve', but soft rules can only "
                "escalate. Use layer 'hard' to force an approval.",
            )

        reason_code = self._parse_reason_code(entries["reason_code"][1], loader, label)
        priority = self._parse_priority(entries["priority"][1], loader, label)

        description = ""
        if "description" in entries:
            description = self._string(entries["description"][1], loader, "description")
        enabled = True
        if "enabled" in entries:
            enabled_value = self._scalar(entries["enabled"][1], loader, "enabled")
            if not isinstance(enabled_value, bool):
                raise self._fail(
                    entries["enabled"][1],
                    f"'enabled' must be true or false, got {enabled_value!r}.",
                )
            enabled = enabled_value

        return Rule(
            name=name,
            condition=self._parse_condition(entries["when"][1], loader),
            action=action,
            reason_code=reason_code,
            priority=priority,
            layer=layer,
            description=description,
            enabled=enabled,
            line=node.start_mark.line + 1,
        )

    def _parse_choice(
        self, node: Node, loader: yaml.SafeLoader, choices: type[_Choice], key: str
    ) -> _Choice:
        value = self._scalar(node, loader, key)
        allowed = [choice.value for choice in choices]
        if value not in allowed:
            raise self._fail(node, f"unknown {key} {value!r}. Use one of: {', '.join(allowed)}.")
        return choices(value)

    def _parse_reason_code(self, node: Node, loader: yaml.SafeLoader, label: str) -> str:
        code = self._string(node, loader, "reason_code")
        if not _REASON_CODE_PATTERN.match(code):
            raise self._fail(
                node,
                f"invalid reason_code {code!r} in {label}. Use upper-case letters, digits "
                "and '_', starting with a letter, for example AMT_OVER_LIMIT.",
            )
        if code in SCORE_REASON_CODES.values():
            raise self._fail(
                node, f"reason_code {code!r} is reserved for the score thresholds. Pick another."
            )
        return code

    def _parse_priority(self, node: Node, loader: yaml.SafeLoader, label: str) -> int:
        priority = self._scalar(node, loader, "priority")
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            raise self._fail(
                node, f"invalid priority {priority!r} in {label}. Use a whole number >= 1."
            )
        return priority

    def _parse_condition(self, node: Node, loader: yaml.SafeLoader) -> Condition:
        entries = self._mapping(node, "A condition")
        line = node.start_mark.line + 1
        combinators = [key for key in ("all", "any", "not") if key in entries]
        if combinators:
            if len(entries) != 1:
                raise self._fail(
                    node,
                    f"a condition with {combinators[0]!r} must have no other keys, found "
                    f"{sorted(entries)}. Nest the other parts inside it.",
                )
            key = combinators[0]
            child_node = entries[key][1]
            if key == "not":
                return Not(self._parse_condition(child_node, loader), line=line)
            if not isinstance(child_node, SequenceNode) or not child_node.value:
                raise self._fail(child_node, f"{key!r} must be a non-empty list of conditions.")
            children = tuple(self._parse_condition(child, loader) for child in child_node.value)
            return AllOf(children, line=line) if key == "all" else AnyOf(children, line=line)
        return self._parse_leaf(node, entries, loader)

    def _parse_leaf(
        self, node: Node, entries: dict[str, tuple[Node, Node]], loader: yaml.SafeLoader
    ) -> Condition:
        line = node.start_mark.line + 1
        unknown = sorted(set(entries) - _LEAF_KEYS)
        if unknown:
            raise self._fail(
                entries[unknown[0]][0],
                f"unknown condition key {unknown[0]!r}. A condition is either all/any/not "
                "or a leaf with field, op and value.",
            )
        for key in ("field", "op"):
            if key not in entries:
                raise self._fail(node, f"condition is missing the required key {key!r}.")

        field = self._string(entries["field"][1], loader, "field")
        if self.known_fields is not None and field not in self.known_fields:
            known = ", ".join(sorted(self.known_fields))
            raise self._fail(
                entries["field"][1], f"unknown field {field!r}. Available fields: {known}."
            )

        op_node = entries["op"][1]
        op_value = self._scalar(op_node, loader, "op")
        allowed_ops = [op.value for op in Operator]
        if op_value not in allowed_ops:
            raise self._fail(
                op_node, f"unknown operator {op_value!r}. Use one of: {', '.join(allowed_ops)}."
            )
        op = Operator(op_value)

        if op in NULL_OPERATORS:
            if "value" in entries:
                raise self._fail(entries["value"][1], f"operator {op.value!r} takes no value.")
            return NullCheck(field, negated=op == Operator.NOT_NULL, line=line)

        if "value" not in entries:
            raise self._fail(node, f"condition on {field!r} is missing the required key 'value'.")
        value_node = entries["value"][1]
        if op in MEMBERSHIP_OPERATORS:
            values = self._parse_value_list(value_node, loader, op)
            return Membership(field, values, negated=op == Operator.NOT_IN, line=line)

        value = self._parse_literal(value_node, loader)
        if op in ORDERING_OPERATORS and not is_number(value):
            raise self._fail(value_node, f"operator {op.value!r} needs a number, got {value!r}.")
        return Comparison(field, op, value, line=line)

    def _parse_literal(self, node: Node, loader: yaml.SafeLoader) -> bool | int | float | str:
        value = self._scalar(node, loader, "value")
        if value is None:
            raise self._fail(node, "value is missing (null). Use op 'is_null' to test for nulls.")
        if not isinstance(value, bool | int | float | str):
            raise self._fail(
                node, f"unsupported value {value!r}. Use a number, a string, true or false."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise self._fail(node, f"value must be a finite number, got {value!r}.")
        return value

    def _parse_value_list(
        self, node: Node, loader: yaml.SafeLoader, op: Operator
    ) -> tuple[int | float | str, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            raise self._fail(node, f"operator {op.value!r} needs a non-empty list as value.")
        values = tuple(self._parse_literal(item, loader) for item in node.value)
        all_text = all(isinstance(value, str) for value in values)
        all_numbers = all(is_number(value) for value in values)
        if not (all_text or all_numbers):
            raise self._fail(
                node,
                f"list for {op.value!r} mixes types {values!r}. Use all numbers or all strings.",
            )
        return values
