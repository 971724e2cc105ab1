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
