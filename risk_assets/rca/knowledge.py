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

import yaml

from risk_assets.rca.errors import RcaError

ANY_KIND = "*"


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
        if self.kind != ANY_KIND and self.kind != kind:
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


def _parse_entry(raw: object, origin: str) -> KnowledgeEntry:
    if not isinstance(raw, dict) or not {"id", "kind", "symptom", "fixes"} <= set(raw):
        raise RcaError(
            f"{origin}: every entry needs the keys id, kind, symptom and fixes; got {raw!r}."
        )
    symptom = raw["symptom"]
    if not isinstance(symptom, dict) or len(symptom) != 1 or not {"metric", "log"} & set(symptom):
        raise RcaError(
            f"{origin}: entry {raw['id']!r} needs a symptom of the form "
            "{metric: PREFIX} or {log: REGEX}."
        )
    fixes = raw["fixes"]
    if not isinstance(fixes, list) or not fixes:
        raise RcaError(f"{origin}: entry {raw['id']!r} needs a non-empty list of fixes.")
    pattern = None
    if "log" in symptom:
        try:
            pattern = re.compile(str(symptom["log"]), re.IGNORECASE)
        except re.error as exc:
            raise RcaError(
                f"{origin}: entry {raw['id']!r} has an invalid log pattern "
                f"{symptom['log']!r} ({exc})."
            ) from exc
    return KnowledgeEntry(
        entry_id=str(raw["id"]),
        kind=str(raw["kind"]),
        fixes=tuple(str(fix) for fix in fixes),
        metric_prefix=str(symptom["metric"]).lower() if "metric" in symptom else None,
        log_pattern=pattern,
    )


def load_knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """Read a knowledge base YAML file.

    Args:
        path: File with a top-level ``entries`` list; None reads the shipped
            ``knowledge_base.yaml``.

    Raises:
        RcaError: The file is missing, malformed, or repeats an entry id.
    """
    if path is None:
        text = resources.files("risk_assets.rca").joinpath("knowledge_base.yaml").read_text("utf-8")
        origin = "the shipped knowledge_base.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RcaError(
                f"Cannot read knowledge base {str(path)!r}: {exc}. Pass an existing YAML file."
            ) from exc
        origin = str(path)
    data = yaml.safe_load(text) or {}
    raw_entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(raw_entries, list):
        raise RcaError(f"{origin} must have a top-level 'entries' list.")
    entries = [_parse_entry(raw, origin) for raw in raw_entries]
    seen: set[str] = set()
    for entry in entries:
        if entry.entry_id in seen:
            raise RcaError(f"{origin}: entry id {entry.entry_id!r} appears more than once.")
        seen.add(entry.entry_id)
    return KnowledgeBase(entries)
