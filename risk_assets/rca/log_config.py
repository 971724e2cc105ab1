"""Per-source settings for log template mining, read from a YAML file.

Each log source names a line pattern (a regular expression whose named group
``content`` is the free-text message after the header), masking rules applied
before clustering, and drain3 parser settings. The shipped file
``log_sources.yaml`` contains a ``defaults`` block and one entry per source. A user
adds a new source by adding an entry there or by passing their own file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from risk_assets.rca.errors import LogSourceConfigError

DEFAULT_SOURCE = "default"
_DRAIN_KEYS = {"sim_th", "depth", "max_children", "extra_delimiters", "parametrize_numeric_tokens"}


@dataclass(frozen=True)
class MaskingRule:
    """A regular expression whose matches are replaced by ``<mask_with>`` before clustering."""

    pattern: str
    mask_with: str


@dataclass(frozen=True)
class LogSourceConfig:
    """Parsing and clustering settings for one log source.

    Attributes:
        name: Source name, the key in the YAML file.
        line_pattern: Regular expression with a named group ``content``; None means the
            whole line is the message.
        masking: Rules applied in order to the message before clustering.
        sim_th: Drain similarity threshold: the share of equal tokens a message needs to
            join an existing cluster.
        depth: Drain prefix-tree depth (3 or more; depth 4 routes on the first two tokens
            after the token count).
        max_children: Maximum children of one prefix-tree node.
        extra_delimiters: Characters split like whitespace when tokenising.
        parametrize_numeric_tokens: Whether tokens with a digit route to the wildcard node
            of the prefix tree.
    """

    name: str
    line_pattern: str | None = None
    masking: tuple[MaskingRule, ...] = ()
    sim_th: float = 0.4
    depth: int = 4
    max_children: int = 100
    extra_delimiters: tuple[str, ...] = ()
    parametrize_numeric_tokens: bool = True
    description: str = ""
    _compiled: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.sim_th <= 1.0:
            raise LogSourceConfigError(
                f"Log source {self.name!r}: sim_th={self.sim_th} is invalid; use a value in (0, 1]."
            )
        if self.depth < 3:
            raise LogSourceConfigError(
                f"Log source {self.name!r}: depth={self.depth} is invalid; drain3 needs depth >= 3."
            )
        if self.line_pattern is not None:
            try:
                compiled = re.compile(self.line_pattern)
            except re.error as exc:
                raise LogSourceConfigError(
                    f"Log source {self.name!r}: line_pattern is not a valid regular "
                    f"expression ({exc}). Fix the pattern in the log source file."
                ) from exc
            if "content" not in compiled.groupindex:
                raise LogSourceConfigError(
                    f"Log source {self.name!r}: line_pattern has no named group 'content'. "
                    "Add (?P<content>...) around the message part of the line."
                )
            object.__setattr__(self, "_compiled", compiled)
        for rule in self.masking:
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                raise LogSourceConfigError(
                    f"Log source {self.name!r}: masking pattern {rule.pattern!r} is not a "
                    f"valid regular expression ({exc})."
                ) from exc

    def extract_content(self, line: str) -> str | None:
        """Return the message part of a raw log line, or None when the header does not match.

        Args:
            line: One raw log line, with or without its line ending.

        Returns:
            The ``content`` group of ``line_pattern`` (the whole stripped line when the
            source has no pattern), or None when the line does not match the pattern.
        """
        line = line.rstrip("\r\n")
        if self._compiled is None:
            return line.strip()
        match = self._compiled.match(line)
        if match is None:
            return None
        return match.group("content")

    def to_miner_config(self) -> TemplateMinerConfig:
        """Build the drain3 ``TemplateMinerConfig`` for this source."""
        config = TemplateMinerConfig()
        # NOTE: drain3-improved 0.10.0 builds a Drain miner even for engine "JaccardDrain"
        # (TemplateMiner compares against "Jaccarddrain"), so only Drain is offered here.
        config.engine = "Drain"
        config.drain_sim_th = self.sim_th
        config.drain_depth = self.depth
        config.drain_max_children = self.max_children
        config.drain_extra_delimiters = list(self.extra_delimiters)
        config.parametrize_numeric_tokens = self.parametrize_numeric_tokens
        config.masking_instructions = [
            MaskingInstruction(rule.pattern, rule.mask_with) for rule in self.masking
        ]
        config.profiling_enabled = False
        return config

    def with_settings_of(self, other: LogSourceConfig) -> LogSourceConfig:
        """Return this source's line pattern combined with another config's masking and parser."""
        return LogSourceConfig(
            name=self.name,
            line_pattern=self.line_pattern,
            masking=other.masking,
            sim_th=other.sim_th,
            depth=other.depth,
            max_children=other.max_children,
            extra_delimiters=other.extra_delimiters,
            parametrize_numeric_tokens=other.parametrize_numeric_tokens,
            description=f"{self.description} (settings of {other.name!r})".strip(),
        )


def _parse_masking(name: str, raw: Any) -> tuple[MaskingRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LogSourceConfigError(
            f"Log source {name!r}: 'masking' must be a list of {{pattern, mask_with}} entries, "
            f"got {type(raw).__name__}."
        )
    rules = []
    for entry in raw:
        if not isinstance(entry, dict) or "pattern" not in entry or "mask_with" not in entry:
            raise LogSourceConfigError(
                f"Log source {name!r}: masking entry {entry!r} needs the keys "
                "'pattern' and 'mask_with'."
            )
        rules.append(MaskingRule(pattern=str(entry["pattern"]), mask_with=str(entry["mask_with"])))
    return tuple(rules)


def _build_source(name: str, entry: dict[str, Any], defaults: dict[str, Any]) -> LogSourceConfig:
    drain = dict(defaults.get("drain") or {})
    drain.update(entry.get("drain") or {})
    unknown = set(drain) - _DRAIN_KEYS
    if unknown:
        raise LogSourceConfigError(
            f"Log source {name!r}: unknown drain settings {sorted(unknown)}; "
            f"allowed keys are {sorted(_DRAIN_KEYS)}."
        )
    masking_raw = entry["masking"] if "masking" in entry else defaults.get("masking")
    return LogSourceConfig(
        name=name,
        line_pattern=entry.get("line_pattern"),
        masking=_parse_masking(name, masking_raw),
        sim_th=float(drain.get("sim_th", 0.4)),
        depth=int(drain.get("depth", 4)),
        max_children=int(drain.get("max_children", 100)),
        extra_delimiters=tuple(drain.get("extra_delimiters") or ()),
        parametrize_numeric_tokens=bool(drain.get("parametrize_numeric_tokens", True)),
        description=str(entry.get("description", "")),
    )


def load_log_sources(path: str | Path | None = None) -> dict[str, LogSourceConfig]:
    """Read log source settings from a YAML file.

    Args:
        path: YAML file with ``defaults`` and ``sources`` keys. None reads the
            ``log_sources.yaml`` shipped in this package.

    Returns:
        Settings by source name. The key ``"default"`` contains the defaults block as a
        source of its own (no line pattern), used for logs without a dedicated entry.

    Raises:
        LogSourceConfigError: The file is missing or malformed.
    """
    if path is None:
        text = resources.files("risk_assets.rca").joinpath("log_sources.yaml").read_text("utf-8")
        origin = "the shipped log_sources.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise LogSourceConfigError(
                f"Cannot read log source file {str(path)!r}: {exc}. Pass an existing YAML file."
            ) from exc
        origin = str(path)
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not isinstance(data.get("sources", {}), dict):
        raise LogSourceConfigError(
            f"{origin} must be a mapping with 'defaults' and 'sources' keys."
        )
    defaults = data.get("defaults") or {}
    sources = {DEFAULT_SOURCE: _build_source(DEFAULT_SOURCE, defaults, {})}
    for name, entry in (data.get("sources") or {}).items():
        if not isinstance(entry, dict):
            raise LogSourceConfigError(f"{origin}: source {name!r} must be a mapping.")
        sources[str(name)] = _build_source(str(name), entry, defaults)
    return sources


def get_log_source(name: str, path: str | Path | None = None) -> LogSourceConfig:
    """Return the settings of one log source.

    Args:
        name: Source name as written in the YAML file (case-insensitive).
        path: Optional YAML file; None reads the shipped one.

    Raises:
        LogSourceConfigError: No source of that name exists.
    """
    sources = load_log_sources(path)
    by_lower = {key.lower(): value for key, value in sources.items()}
    if name.lower() not in by_lower:
        raise LogSourceConfigError(
            f"Unknown log source {name!r}. Configured sources: {sorted(sources)}. "
            "Add an entry under 'sources' in the log source file."
        )
    return by_lower[name.lower()]
