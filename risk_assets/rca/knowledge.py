"""Knowledge base of recommended fixes by service kind and symptom.

The shipped ``knowledge_base.yaml`` lists entries with a service kind (or ``*``), a
symptom (a metric-name prefix or a regular expression over log templates) and the
fixes to try. Incident reports cite matching entries by id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from risk_assets.rca.errors import RcaError
from risk_assets.rca.yaml_config import (
    can_match_empty,
    check_keys,
    compile_pattern,
    read_yaml_file,
)

ANY_KIND = "*"
_TOP_LEVEL_KEYS = ("entries",)
_ENTRY_KEYS = ("id", "kind", "symptom", "fixes")
_SYMPTOM_KEYS = ("metric", "log")


@dataclass(frozen=True)
class KnowledgeEntry:
    """One symptom of one kind of service and the fixes for it."""

    entry_id: str
    kind: str
    fixes: tuple[str, ...]
    metric_prefix: str | None = None
    log_pattern: re.Pattern[str] | None = None

    def matches(self, kind: str | None, metric: str | None, templates: Iterable[str]) -> bool:
        """Return whether this entry applies to a service of ``kind`` with these symptoms."""
        # Kinds come from the user's topology, so "Database" matches "database".
        if self.kind != ANY_KIND and (kind is None or self.kind.lower() != kind.lower()):
            return False
        if self.metric_prefix is not None:
            return metric is not None and metric.lower().startswith(self.metric_prefix)
        if self.log_pattern is None:
            return False
        return any(self.log_pattern.search(template) for template in templates)


class KnowledgeBase:
    """Ordered knowledge-base entries with a lookup by kind and symptom."""

    def __init__(self, entries: Iterable[KnowledgeEntry]) -> None:
        self.entries = tuple(entries)

    def lookup(
        self, kind: str | None, metric: str | None = None, templates: Iterable[str] = ()
    ) -> list[KnowledgeEntry]:
        """Return the entries that match a service's kind, top metric and log templates.

        Args:
            kind: Service kind, or None when the topology does not give one (then only
                ``*`` entries match).
            metric: Name of the metric that deviated most, or None.
            templates: New or spiking log templates of the service.

        Returns:
            Matching entries; entries for the named kind come before ``*`` entries, and
            log matches before metric matches, each in file order.
        """
        templates = list(templates)
        matched = [entry for entry in self.entries if entry.matches(kind, metric, templates)]
        return sorted(
            matched,
            key=lambda entry: (entry.kind == ANY_KIND, entry.metric_prefix is not None),
        )


def _entry_label(index: int, raw: dict) -> str:
    entry_id = raw.get("id")
    if isinstance(entry_id, str) and entry_id:
        return f"entries[{index}] (id {entry_id!r})"
    return f"entries[{index}]"


def _non_empty_string(value: object, where: str, example: str) -> str:
    if isinstance(value, str) and value.strip():
        return value
    # YAML reads unquoted 1, 2.5 or true as a number or a boolean.
    hint = " Put the value in quotes." if isinstance(value, bool | int | float) else ""
    raise RcaError(
        f"{where} must be a non-empty string such as {example}, got {value!r} "
        f"({type(value).__name__}).{hint}"
    )


def _parse_symptom(symptom: object, label: str) -> tuple[str | None, re.Pattern[str] | None]:
    """Return the metric prefix (lower-cased) and the compiled log pattern of a symptom."""
    form = "{metric: PREFIX} or {log: REGEX}"
    if not isinstance(symptom, dict):
        raise RcaError(f"{label} needs a symptom of the form {form}, got {symptom!r}.")
    note = f" An entry needs a symptom of the form {form}."
    check_keys(symptom, _SYMPTOM_KEYS, f"{label}, symptom", RcaError, note)
    if len(symptom) != 1:
        raise RcaError(
            f"{label} needs a symptom of the form {form} with exactly one key, got {symptom!r}."
        )
    if "metric" in symptom:
        prefix = _non_empty_string(symptom["metric"], f"{label}: symptom.metric", "latency")
        return prefix.lower(), None
    source = _non_empty_string(symptom["log"], f"{label}: symptom.log", "'timed out'")
    pattern = compile_pattern(source, f"{label}: symptom.log", RcaError, re.IGNORECASE)
    if can_match_empty(pattern):
        raise RcaError(
            f"{label}: symptom.log {source!r} can match an empty string, so it would match "
            "log templates that contain none of its text. Make every alternative match at "
            "least one character."
        )
    return None, pattern


def _parse_entry(raw: object, index: int) -> KnowledgeEntry:
    if not isinstance(raw, dict):
        raise RcaError(
            f"entries[{index}] must be a mapping with the keys {', '.join(_ENTRY_KEYS)}, "
            f"got {raw!r}."
        )
    label = _entry_label(index, raw)
    check_keys(raw, _ENTRY_KEYS, label, RcaError)
    missing = [key for key in _ENTRY_KEYS if key not in raw]
    if missing:
        raise RcaError(
            f"{label} is missing the key {missing[0]!r}. Every entry needs the keys "
            f"{', '.join(_ENTRY_KEYS)}."
        )
    entry_id = _non_empty_string(raw["id"], f"{label}: id", "database-latency")
    kind = _non_empty_string(raw["kind"], f"{label}: kind", f"database or '{ANY_KIND}'")
    metric_prefix, log_pattern = _parse_symptom(raw["symptom"], label)
    fixes = raw["fixes"]
    if not isinstance(fixes, list) or not fixes:
        raise RcaError(
            f"{label} needs a non-empty list of fixes such as ['Restart the service.'], "
            f"got {fixes!r}."
        )
    for position, fix in enumerate(fixes):
        _non_empty_string(fix, f"{label}: fixes[{position}]", "'Restart the service.'")
    return KnowledgeEntry(
        entry_id=entry_id,
        kind=kind,
        fixes=tuple(fixes),
        metric_prefix=metric_prefix,
        log_pattern=log_pattern,
    )


def _parse_entries(data: object) -> list[KnowledgeEntry]:
    if isinstance(data, dict):
        check_keys(data, _TOP_LEVEL_KEYS, "top level", RcaError)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise RcaError(f"the file must have a top-level 'entries' list, got {data!r:.200}.")
    entries = [_parse_entry(raw, index) for index, raw in enumerate(data["entries"])]
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.entry_id in first_index:
            raise RcaError(
                f"entries[{index}]: entry id {entry.entry_id!r} appears more than once "
                f"(first in entries[{first_index[entry.entry_id]}]). Give each entry its own id."
            )
        first_index[entry.entry_id] = index
    return entries


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read a knowledge base YAML file.

    Args:
        path: UTF-8 file with a top-level ``entries`` list; None reads the shipped
            ``knowledge_base.yaml``.

    Raises:
        RcaError: The file is missing, is not UTF-8 YAML, contains an unknown key or a
            value of the wrong type, or repeats an entry id.
    """
    if path is None:
        file = resources.files("risk_assets.rca").joinpath("knowledge_base.yaml")
    else:
        file = Path(path)
    data = read_yaml_file(file, "Knowledge base", RcaError)
    try:
        return KnowledgeBase(_parse_entries(data))
    except RcaError as exc:
        raise RcaError(f"{file}: {exc}") from exc
