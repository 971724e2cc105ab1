"""Parsing of rule files: the shipped file, a hand-written good file and invalid files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from risk_assets.features.fraud_features import FEATURE_COLUMNS, ID_COLUMNS
from risk_assets.fraud.rules import (
    Action,
    Layer,
    RuleFileError,
    default_rules_path,
    load_rules,
    parse_rules,
)
from risk_assets.fraud.rules.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Membership,
    Not,
    NullCheck,
    Operator,
)

GOOD_FILE = textwrap.dedent(
    """\
    version: 1
    rules:
      - name: big_night_spend
        description: Big amounts at night.
        layer: hard
        action: decline
        reason_code: NIGHT_BIG
        priority: 1
        when:
          all:
            - {field: amount, op: ">", value: 500}
            - {field: hour, op: in, value: [0, 1, 2]}
            - not: {field: terminal_id, op: "==", value: "T-1"}
      - name: unknown_device
        layer: soft
        action: step_up
        reason_code: DEVICE_UNKNOWN
        priority: 5
        enabled: false
        when:
          any:
            - {field: device_id, op: is_null}
            - {field: customer_id, op: not_in, value: ["C-1", "C-2"]}
    """
)


def test_default_rules_file_parses():
    ruleset = load_rules(default_rules_path())

    assert len(ruleset.rules) >= 5
    assert ruleset.active(Layer.HARD)
    assert ruleset.active(Layer.SOFT)
    assert ruleset.source == str(default_rules_path())
    for rule in ruleset.rules:
        assert rule.reason_code
        assert rule.line is not None


def test_default_rules_use_feature_columns():
    scored_columns = [*ID_COLUMNS, *FEATURE_COLUMNS, "fraud_score"]

    ruleset = load_rules(default_rules_path(), known_fields=scored_columns)

    assert ruleset.fields() <= set(scored_columns)


def test_good_file_builds_expression_tree():
    ruleset = parse_rules(GOOD_FILE)

    night = ruleset.get("big_night_spend")
    assert night.layer == Layer.HARD
    assert night.action == Action.DECLINE
    assert night.reason_code == "NIGHT_BIG"
    assert night.priority == 1
    assert night.description == "Big amounts at night."
    assert night.line == 3
    assert isinstance(night.condition, AllOf)
    amount, hour, negation = night.condition.conditions
    assert amount == Comparison("amount", Operator.GT, 500, line=11)
    assert hour == Membership("hour", (0, 1, 2), negated=False, line=12)
    assert isinstance(negation, Not)
    assert negation.condition == Comparison("terminal_id", Operator.EQ, "T-1", line=13)

    device = ruleset.get("unknown_device")
    assert device.enabled is False
    assert isinstance(device.condition, AnyOf)
    null_check, membership = device.condition.conditions
    assert null_check == NullCheck("device_id", negated=False, line=22)
    assert membership.negated is True
    assert membership.values == ("C-1", "C-2")


def test_known_fields_without_timestamp_reject_hour():
    with pytest.raises(RuleFileError) as raised:
        parse_rules(GOOD_FILE, known_fields=["amount", "terminal_id"])

    assert raised.value.line == 12
    assert "unknown field 'hour'" in str(raised.value)


def test_fields_skip_disabled_rules():
    ruleset = parse_rules(GOOD_FILE)

    assert ruleset.fields() == {"amount", "hour", "terminal_id"}


def test_active_sorts_by_priority_then_order():
    text = textwrap.dedent(
        """\
        rules:
          - {name: c, layer: soft, action: review, reason_code: C, priority: 9,
             when: {field: amount, op: ">", value: 1}}
          - {name: a, layer: soft, action: review, reason_code: A, priority: 2,
             when: {field: amount, op: ">", value: 1}}
          - {name: b, layer: soft, action: review, reason_code: B, priority: 9,
             when: {field: amount, op: ">", value: 1}}
        """
    )
    ruleset = parse_rules(text)

    assert [rule.name for rule in ruleset.active(Layer.SOFT)] == ["a", "c", "b"]
    assert ruleset.active(Layer.HARD) == []


def test_known_fields_accept_derived_fields():
    ruleset = parse_rules(
        GOOD_FILE, known_fields=["timestamp", "amount", "terminal_id", "customer_id", "device_id"]
    )

    assert len(ruleset.rules) == 2


KNOWN_FIELDS = ["timestamp", "amount", "terminal_id", "device_id"]

RULE_HEAD = """\
rules:
  - name: r1
    layer: soft
"""

BAD_FILES = [
    pytest.param(
        RULE_HEAD + "    action: block\n    reason_code: X\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        4,
        "unknown action 'block'",
        id="unknown-action",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        2,
        "missing the required key 'reason_code'",
        id="missing-reason-code",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when:\n      field: amount\n      op: '=>'\n      value: 1\n",
        9,
        "unknown operator '=>'",
        id="bad-operator",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when:\n      all:\n        - {field: amount, op: '>', value: 1}\n"
        "        - {field: amount_usd, op: '>', value: 1}\n",
        10,
        "unknown field 'amount_usd'",
        id="unknown-field",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1\n",
        8,
        "malformed YAML",
        id="malformed-yaml",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n     reason_code: X\n",
        5,
        "malformed YAML",
        id="bad-indentation",
    ),
    pytest.param(
        RULE_HEAD + "    action: approve\n    reason_code: X\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        4,
        "soft rules can only escalate",
        id="soft-approve",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {field: terminal_id, op: '>', value: T-1}\n",
        7,
        "needs a number",
        id="ordering-on-string",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: SCORE_REVIEW\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        5,
        "reserved for the score thresholds",
        id="reserved-reason-code",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: lower_case\n    priority: 1\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        5,
        "invalid reason_code 'lower_case'",
        id="lower-case-reason-code",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 0\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        6,
        "invalid priority 0",
        id="zero-priority",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    action: decline\n",
        5,
        "duplicate key 'action' (first on line 4)",
        id="duplicate-key",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {field: hour, op: in, value: [1, 'two']}\n",
        7,
        "mixes types",
        id="mixed-membership-list",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {field: device_id, op: '==', value: null}\n",
        7,
        "Use op 'is_null'",
        id="null-value",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {all: [], field: amount}\n",
        7,
        "must have no other keys",
        id="combinator-with-leaf-keys",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    when: {any: []}\n",
        7,
        "non-empty list of conditions",
        id="empty-any",
    ),
    pytest.param(
        RULE_HEAD + "    action: review\n    reason_code: X\n    priority: 1\n"
        "    threshold: 3\n"
        "    when: {field: amount, op: '>', value: 1}\n",
        7,
        "unknown rule key 'threshold'",
        id="unknown-rule-key",
    ),
    pytest.param(
        "rules:\n"
        "  - {name: a, layer: soft, action: review, reason_code: A, priority: 1,\n"
        "     when: {field: amount, op: '>', value: 1}}\n"
        "  - {name: a, layer: soft, action: review, reason_code: B, priority: 1,\n"
        "     when: {field: amount, op: '>', value: 2}}\n",
        4,
        "duplicate rule name 'a' (first on line 2)",
        id="duplicate-rule-name",
    ),
    pytest.param(
        "rules:\n  - name: off\n",
        2,
        "YAML read 'off' as False. Quote it",
        id="boolean-name",
    ),
    pytest.param("version: 2\nrules: []\n", 1, "unsupported version 2", id="bad-version"),
    pytest.param("rule:\n  - name: a\n", 1, "unknown top-level key 'rule'", id="misspelt-rules"),
    pytest.param("rules: {name: a}\n", 1, "must be a list of rules", id="rules-not-list"),
    pytest.param("# only a comment\n", 1, "the file is empty", id="empty-file"),
    pytest.param(
        "rules:\n  - name: a\n    layer: soft\x07\n",
        3,
        "unreadable character '\\x07' (code 0x7)",
        id="control-character",
    ),
    pytest.param(
        "rules:\n  - name: a\n    when: *undefined\n",
        3,
        "malformed YAML: found undefined alias 'undefined'",
        id="undefined-alias",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BAD_FILES)
def test_invalid_file_names_line(text, line, fragment):
    with pytest.raises(RuleFileError) as raised:
        parse_rules(text, source="rules.yaml", known_fields=KNOWN_FIELDS)

    assert raised.value.line == line, str(raised.value)
    assert fragment in str(raised.value)
    assert f"rules.yaml, line {line}" in str(raised.value)


def test_missing_file_is_rule_file_error(tmp_path: Path):
    missing = tmp_path / "absent.yaml"

    with pytest.raises(RuleFileError) as raised:
        load_rules(missing)

    assert str(missing) in str(raised.value)
    assert "cannot read the file" in str(raised.value)


def test_load_rules_reads_path(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD_FILE, encoding="utf-8")

    ruleset = load_rules(path)

    assert ruleset.source == str(path)
    assert [rule.name for rule in ruleset.rules] == ["big_night_spend", "unknown_device"]
