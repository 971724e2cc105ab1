"""Strict checks of the log source YAML file: keys, value types, ranges and file errors."""

from pathlib import Path

import pytest

from risk_assets.rca.errors import LogSourceConfigError
from risk_assets.rca.log_config import LogSourceConfig, MaskingRule, load_log_sources
from risk_assets.rca.log_templates import mine_templates


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(tmp_path: Path, text: str) -> str:
    """Return the message of the error that loading ``text`` raises."""
    path = _write(tmp_path, text)
    with pytest.raises(LogSourceConfigError) as caught:
        load_log_sources(path)
    return str(caught.value)


def test_misspelt_key_suggests_name(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    line_patern: '^(?P<content>.*)$'\n")
    assert str(tmp_path / "sources.yaml") in message
    assert "source 'x'" in message
    assert "unknown key 'line_patern'" in message
    assert "Did you mean 'line_pattern'?" in message


def test_misspelt_drain_key_in_defaults(tmp_path: Path):
    message = _load_error(tmp_path, "defaults:\n  drain: {simth: 0.3}\n")
    assert "defaults, drain" in message
    assert "unknown key 'simth'" in message
    assert "Did you mean 'sim_th'?" in message


def test_unknown_top_level_key(tmp_path: Path):
    message = _load_error(tmp_path, "source:\n  x: {}\n")
    assert "unknown key 'source'" in message
    assert "Did you mean 'sources'?" in message


def test_quoted_false_rejected(tmp_path: Path):
    text = "sources:\n  x:\n    drain: {parametrize_numeric_tokens: 'false'}\n"
    message = _load_error(tmp_path, text)
    assert "Log source 'x'" in message
    assert "parametrize_numeric_tokens='false' is invalid" in message
    assert "Use true or false" in message


def test_yes_is_not_a_boolean(tmp_path: Path):
    # YAML 1.1 reads yes as true, but the loader accepts only true and false.
    text = "sources:\n  x:\n    drain: {parametrize_numeric_tokens: yes}\n"
    message = _load_error(tmp_path, text)
    assert "parametrize_numeric_tokens='yes' is invalid" in message


def test_unquoted_false_accepted(tmp_path: Path):
    path = _write(tmp_path, "sources:\n  x:\n    drain: {parametrize_numeric_tokens: false}\n")
    assert load_log_sources(path)["x"].parametrize_numeric_tokens is False


def test_sim_th_word_names_source(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: {sim_th: high}\n")
    assert str(tmp_path / "sources.yaml") in message
    assert "Log source 'x'" in message
    assert "sim_th='high' is invalid" in message
    assert "(0, 1]" in message


def test_max_children_zero_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: {max_children: 0}\n")
    assert "Log source 'x'" in message
    assert "max_children=0 is invalid" in message
    assert ">= 1" in message


def test_max_children_one_mines(tmp_path: Path):
    # 1 is the smallest value drain3 0.10.0 mines with: every token takes the wildcard child.
    path = _write(tmp_path, "sources:\n  x:\n    drain: {max_children: 1}\n")
    source = load_log_sources(path)["x"]
    mined = mine_templates(["a b c", "d e f", "a b x"], source)
    assert len(mined) == 3


def test_fractional_depth_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: {depth: 3.9}\n")
    assert "depth=3.9 is invalid" in message
    assert "integer >= 3" in message


def test_drain_list_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: [1, 2]\n")
    assert "source 'x'" in message
    assert "'drain' must be a mapping" in message
    assert "[1, 2] (list)" in message


def test_defaults_list_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "defaults: [1]\nsources: {}\n")
    assert "'defaults' must be a mapping" in message
    assert "[1] (list)" in message


def test_top_level_list_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "- a\n")
    assert "must be a mapping with 'defaults' and 'sources'" in message


def test_delimiter_string_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: {extra_delimiters: ',;'}\n")
    assert "'extra_delimiters' must be a list of strings" in message
    assert "',;' (str)" in message


def test_empty_delimiter_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x:\n    drain: {extra_delimiters: ['']}\n")
    assert "extra_delimiters=('',) is invalid" in message


def test_invalid_yaml_names_path(tmp_path: Path):
    message = _load_error(tmp_path, "sources: {x: [\n")
    assert str(tmp_path / "sources.yaml") in message
    assert "is not valid YAML at line 2" in message
    assert "<unicode string>" not in message


def test_repeated_key_rejected(tmp_path: Path):
    message = _load_error(tmp_path, "sources:\n  x: {}\n  x: {}\n")
    assert "found the key 'x' twice" in message
    assert "line 3" in message


def test_latin1_file_rejected(tmp_path: Path):
    path = tmp_path / "sources.yaml"
    path.write_bytes("sources:\n  x: {description: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(LogSourceConfigError) as caught:
        load_log_sources(path)
    message = str(caught.value)
    assert str(path) in message
    assert "is not UTF-8 text" in message
    assert "0xe9" in message


def test_empty_match_mask_rejected(tmp_path: Path):
    text = "sources:\n  x:\n    masking: [{pattern: 'z*', mask_with: Z}]\n"
    message = _load_error(tmp_path, text)
    assert "Log source 'x'" in message
    assert "masking[0].pattern='z*' is invalid" in message
    assert "can match an empty string" in message


def test_zero_width_mask_rejected():
    rule = MaskingRule(pattern=r"\b", mask_with="EDGE")
    with pytest.raises(LogSourceConfigError, match="can match an empty string"):
        LogSourceConfig(name="x", masking=(rule,))


def test_empty_mask_name_rejected(tmp_path: Path):
    text = "sources:\n  x:\n    masking: [{pattern: '\\d+', mask_with: ''}]\n"
    message = _load_error(tmp_path, text)
    assert "masking[0].mask_with='' is invalid" in message


def test_wildcard_mask_name_rejected():
    rule = MaskingRule(pattern=r"\d+", mask_with="*")
    with pytest.raises(LogSourceConfigError, match="wildcard"):
        LogSourceConfig(name="x", masking=(rule,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  x:\n    masking:\n", "'masking' must be a list"),
        ("sources:\n  x:\n    masking: [{pattern: a}]\n", "the key 'mask_with' is missing"),
        ("sources:\n  x:\n    masking: [{pattern: a, mask_with: A, flags: i}]\n", "'flags'"),
        ("sources:\n  x:\n    masking: [{pattern: 1, mask_with: A}]\n", "pattern=1 is invalid"),
        ("sources:\n  x:\n    drain:\n", "'drain' must be a mapping"),
        ("sources:\n  x:\n    drain: {depth: true}\n", "depth=True is invalid"),
        ("sources:\n  x:\n    description: [a]\n", "description=['a'] is invalid"),
        ("sources:\n  x:\n    line_pattern: 5\n", "line_pattern=5 is invalid"),
        ("sources:\n  x: [a]\n", "source 'x': must be a mapping"),
        ("sources:\n  1: {}\n", "source name 1 (int) is invalid"),
        ("sources:\n  x: {}\n  X: {}\n", "differs from source 'x' only in case"),
        ("sources:\n  Default: {}\n", "reserved for the defaults block"),
        ("defaults:\n  line_pattern: '(?P<content>.*)'\n", "unknown key 'line_pattern'"),
    ],
)
def test_malformed_source_rejected(tmp_path: Path, text: str, expected: str):
    message = _load_error(tmp_path, text)
    assert str(tmp_path / "sources.yaml") in message
    assert expected in message


def test_shipped_zookeeper_mask_kept():
    sources = load_log_sources()
    message = "Server environment:java.version=1.7.0_79"
    mined = mine_templates([message], sources["zookeeper"])
    assert mined["template"].iloc[0] == "Server environment:<ENV>"


@pytest.mark.parametrize(
    ("block", "label"),
    [
        ("line_pattern: '^(?P<content>.*'", "line_pattern"),
        ("masking: [{pattern: '[0-9', mask_with: NUM}]", "masking[0].pattern"),
    ],
)
def test_broken_regex_named(tmp_path: Path, block: str, label: str):
    message = _load_error(tmp_path, f"sources:\n  x:\n    {block}\n")
    assert f"Log source 'x': {label}" in message
    assert "is not a valid regular expression" in message
