"""Knowledge-base lookup of recommended fixes."""

from pathlib import Path

import pytest

from risk_assets.rca.errors import RcaError
from risk_assets.rca.knowledge import load_knowledge_base


def test_lookup_database_slow_queries():
    knowledge = load_knowledge_base()
    entries = knowledge.lookup(
        "database", "latency_ms", ["slow query took <VAR> ms: select from table <VAR>"]
    )
    ids = [entry.entry_id for entry in entries]
    # The kind-specific log match comes first, then kind-specific metric matches.
    assert ids[0] == "database-slow-queries"
    assert ids.index("database-latency") < ids.index("generic-latency")
    assert all(entry.fixes for entry in entries)


def test_lookup_kind_ignores_case():
    ids = [entry.entry_id for entry in load_knowledge_base().lookup("Database", "latency_ms")]
    assert "database-latency" in ids


def test_lookup_unknown_kind_uses_generic():
    knowledge = load_knowledge_base()
    ids = [entry.entry_id for entry in knowledge.lookup(None, "latency_Average")]
    assert ids == ["generic-latency"]


def test_lookup_without_symptoms_is_empty():
    assert load_knowledge_base().lookup("cache", None, []) == []


def test_duplicate_ids_rejected(tmp_path: Path):
    entry = "  - {id: a, kind: '*', symptom: {metric: cpu}, fixes: [scale out]}\n"
    path = tmp_path / "kb.yaml"
    path.write_text("entries:\n" + entry + entry, encoding="utf-8")
    with pytest.raises(RcaError, match="'a' appears more than once"):
        load_knowledge_base(path)


def test_invalid_symptom_rejected(tmp_path: Path):
    path = tmp_path / "kb.yaml"
    path.write_text(
        "entries:\n  - {id: a, kind: '*', symptom: {trace: x}, fixes: [retry]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RcaError, match="needs a symptom"):
        load_knowledge_base(path)


GOOD_ENTRY = (
    "entries:\n"
    "  - id: x\n"
    "    kind: database\n"
    "    symptom: {metric: latency}\n"
    "    fixes: [Restart the database.]\n"
)


def _load_error(tmp_path: Path, text: str) -> str:
    """Return the message of the error that loading ``text`` raises."""
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RcaError) as caught:
        load_knowledge_base(path)
    return str(caught.value)


def test_good_entry_loads(tmp_path: Path):
    path = tmp_path / "kb.yaml"
    path.write_text(GOOD_ENTRY, encoding="utf-8")
    entry = load_knowledge_base(path).entries[0]
    assert entry.kind == "database"
    assert entry.metric_prefix == "latency"
    assert entry.fixes == ("Restart the database.",)


def test_latin1_file_rejected(tmp_path: Path):
    path = tmp_path / "kb.yaml"
    path.write_bytes(GOOD_ENTRY.replace("Restart", "Red\xe9marrer").encode("latin-1"))
    with pytest.raises(RcaError) as caught:
        load_knowledge_base(path)
    message = str(caught.value)
    assert str(path) in message
    assert "is not UTF-8 text" in message


def test_invalid_yaml_names_path(tmp_path: Path):
    message = _load_error(tmp_path, "entries:\n  - id: x\n   kind: y\n")
    assert str(tmp_path / "kb.yaml") in message
    assert "is not valid YAML at line 3" in message
    assert "<unicode string>" not in message


def test_repeated_key_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY + "    kind: cache\n")
    assert "found the key 'kind' twice" in message


def test_kind_list_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("kind: database", "kind: [a, b]"))
    assert str(tmp_path / "kb.yaml") in message
    assert "entries[0] (id 'x')" in message
    assert "kind must be a non-empty string" in message
    assert "['a', 'b'] (list)" in message


def test_kind_null_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("kind: database", "kind:"))
    assert "kind must be a non-empty string" in message
    assert "None (NoneType)" in message


def test_metric_null_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("{metric: latency}", "{metric: null}"))
    assert "symptom.metric must be a non-empty string" in message


def test_empty_metric_prefix_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("{metric: latency}", "{metric: ''}"))
    assert "symptom.metric must be a non-empty string" in message


def test_empty_log_pattern_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("{metric: latency}", "{log: ''}"))
    assert "symptom.log must be a non-empty string" in message


def test_empty_match_log_pattern_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("{metric: latency}", "{log: 'error|'}"))
    assert "symptom.log 'error|' can match an empty string" in message


def test_null_fix_rejected(tmp_path: Path):
    text = GOOD_ENTRY.replace("[Restart the database.]", "[Restart., null]")
    message = _load_error(tmp_path, text)
    assert "fixes[1] must be a non-empty string" in message


def test_fixes_string_rejected(tmp_path: Path):
    text = GOOD_ENTRY.replace("[Restart the database.]", "Restart the database.")
    message = _load_error(tmp_path, text)
    assert "needs a non-empty list of fixes" in message


def test_numeric_id_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("id: x", "id: 1"))
    assert "id must be a non-empty string" in message
    assert "Put the value in quotes" in message


def test_misspelt_entry_key_suggests(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("fixes:", "fixess:"))
    assert "entries[0] (id 'x')" in message
    assert "unknown key 'fixess'" in message
    assert "Did you mean 'fixes'?" in message


def test_extra_entry_key_rejected(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY + "    severity: high\n")
    assert "unknown key 'severity'" in message


def test_misspelt_symptom_key_suggests(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("metric:", "metrc:"))
    assert "unknown key 'metrc'" in message
    assert "Did you mean 'metric'?" in message


def test_misspelt_entries_key_suggests(tmp_path: Path):
    message = _load_error(tmp_path, GOOD_ENTRY.replace("entries:", "entrys:"))
    assert "Did you mean 'entries'?" in message


def test_broken_log_regex_named(tmp_path: Path):
    text = GOOD_ENTRY.replace("{metric: latency}", "{log: 'timed (out'}")
    message = _load_error(tmp_path, text)
    assert "symptom.log: 'timed (out' is not a valid regular expression" in message
    assert "entries[0]" in message
