"""Per-source settings for log template mining, read from a YAML file.

Each log source names a line pattern (a regular expression whose named group
``content`` is the free-text message after the header), masking rules applied
before clustering, and drain3 parser settings. The shipped file
``log_sources.yaml`` contains a ``defaults`` block and one entry per source. A user
adds a new source by adding an entry there or by passing their own file.

The file is checked strictly: an unknown key, a value of the wrong type or a value that
drain3 cannot use raises ``LogSourceConfigError`` naming the file, the source, the key
and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from risk_assets.rca.errors import LogSourceConfigError
from risk_assets.rca.yaml_config import (
    can_match_empty,
    check_keys,
    compile_pattern,
    describe,
    read_yaml_file,
)

DEFAULT_SOURCE = "default"
_TOP_LEVEL_KEYS = ("defaults", "sources")
_DEFAULTS_KEYS = ("masking", "drain")
_SOURCE_KEYS = ("description", "line_pattern", "masking", "drain")
_DRAIN_KEYS = ("sim_th", "depth", "max_children", "extra_delimiters", "parametrize_numeric_tokens")
_MASKING_KEYS = ("pattern", "mask_with")


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
        max_children: Maximum children of one prefix-tree node (1 or more).
        extra_delimiters: Strings split like whitespace when tokenising.
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
        self._check_drain_settings()
        if not isinstance(self.description, str):
            raise self._invalid("description", self.description, "Use a string")
        if self.line_pattern is not None:
            object.__setattr__(self, "_compiled", self._compile_line_pattern())
        for index, rule in enumerate(self.masking):
            self._check_masking_rule(index, rule)

    def _invalid(self, key: str, value: object, fix: str) -> LogSourceConfigError:
        return LogSourceConfigError(f"Log source {self.name!r}: {key}={value!r} is invalid. {fix}.")

    def _check_drain_settings(self) -> None:
        sim_th = self.sim_th
        if isinstance(sim_th, bool) or not isinstance(sim_th, Real) or not 0.0 < sim_th <= 1.0:
            raise self._invalid("sim_th", sim_th, "Use a number in (0, 1], for example 0.4")

        depth = self.depth
        if isinstance(depth, bool) or not isinstance(depth, Integral) or depth < 3:
            raise self._invalid(
                "depth", depth, "Use an integer >= 3, the minimum drain3 accepts, for example 4"
            )

        # drain3-improved 0.10.0 (Drain.add_seq_to_prefix_tree) adds the wildcard child
        # once a node has max_children - 1 other children. With max_children <= 0 it
        # never adds it and then looks it up, raising KeyError '<*>' while mining.
        max_children = self.max_children
        if (
            isinstance(max_children, bool)
            or not isinstance(max_children, Integral)
            or max_children < 1
        ):
            raise self._invalid(
                "max_children", max_children, "Use an integer >= 1, for example 100"
            )

        delimiters = self.extra_delimiters
        if not isinstance(delimiters, tuple) or not all(
            isinstance(delimiter, str) and delimiter for delimiter in delimiters
        ):
            raise self._invalid(
                "extra_delimiters",
                delimiters,
                "Use a list of non-empty strings, for example [',', ';']",
            )

        if not isinstance(self.parametrize_numeric_tokens, bool):
            raise self._invalid(
                "parametrize_numeric_tokens",
                self.parametrize_numeric_tokens,
                "Use true or false without quotes",
            )

    def _compile_line_pattern(self) -> re.Pattern[str]:
        if not isinstance(self.line_pattern, str):
            raise self._invalid(
                "line_pattern", self.line_pattern, "Use a regular expression in quotes"
            )
        compiled = compile_pattern(self.line_pattern, f"Log source {self.name!r}: line_pattern")
        if "content" not in compiled.groupindex:
            raise LogSourceConfigError(
                f"Log source {self.name!r}: line_pattern has no named group 'content'. "
                "Add (?P<content>...) around the message part of the line."
            )
        return compiled

    def _check_masking_rule(self, index: int, rule: MaskingRule) -> None:
        key = f"masking[{index}]"
        if not isinstance(rule.pattern, str) or not rule.pattern:
            raise self._invalid(
                f"{key}.pattern", rule.pattern, "Use a non-empty regular expression in quotes"
            )
        compiled = compile_pattern(rule.pattern, f"Log source {self.name!r}: {key}.pattern")
        if can_match_empty(compiled):
            raise self._invalid(
                f"{key}.pattern",
                rule.pattern,
                "It can match an empty string, so drain3 would insert the mask between "
                "characters. Make it match at least one character, for example with + in "
                "place of *",
            )
        mask = rule.mask_with
        if not isinstance(mask, str) or not mask or re.search(r"[\s<>]", mask):
            raise self._invalid(
                f"{key}.mask_with",
                mask,
                "Use a non-empty name without spaces or angle brackets, for example NUM",
            )
        if mask == "*":
            raise self._invalid(
                f"{key}.mask_with",
                mask,
                "drain3 writes its wildcard as <*>, so choose another name, for example VAR",
            )

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


def _optional_mapping(parent: dict, key: str, where: str, example: str) -> dict:
    """Return ``parent[key]`` when it is a mapping, {} when the key is absent."""
    if key not in parent:
        return {}
    value = parent[key]
    if not isinstance(value, dict):
        raise LogSourceConfigError(
            f"{where}: {key!r} must be a mapping such as {example}, got {describe(value)}."
        )
    return value


def _drain_settings(block: dict, where: str) -> dict[str, Any]:
    drain = _optional_mapping(block, "drain", where, "{sim_th: 0.5, depth: 4}")
    check_keys(drain, _DRAIN_KEYS, f"{where}, drain")
    delimiters = drain.get("extra_delimiters", [])
    if not isinstance(delimiters, list):
        raise LogSourceConfigError(
            f"{where}, drain: 'extra_delimiters' must be a list of strings such as "
            f"[',', ';'], got {describe(delimiters)}."
        )
    return drain


def _parse_masking(raw: object, where: str) -> tuple[MaskingRule, ...]:
    if not isinstance(raw, list):
        raise LogSourceConfigError(
            f"{where}: 'masking' must be a list of {{pattern, mask_with}} entries (use [] for "
            f"no masking), got {describe(raw)}."
        )
    rules = []
    for index, entry in enumerate(raw):
        entry_where = f"{where}, masking[{index}]"
        if not isinstance(entry, dict):
            raise LogSourceConfigError(
                f"{entry_where}: must be a mapping such as {{pattern: '\\d+', mask_with: NUM}}, "
                f"got {describe(entry)}."
            )
        check_keys(entry, _MASKING_KEYS, entry_where)
        missing = [key for key in _MASKING_KEYS if key not in entry]
        if missing:
            raise LogSourceConfigError(
                f"{entry_where}: the key {missing[0]!r} is missing. Every masking entry needs "
                "'pattern' and 'mask_with'."
            )
        rules.append(MaskingRule(pattern=entry["pattern"], mask_with=entry["mask_with"]))
    return tuple(rules)


def _build_source(name: str, entry: dict, defaults: dict, where: str) -> LogSourceConfig:
    drain = {**_drain_settings(defaults, "defaults"), **_drain_settings(entry, where)}
    if "masking" in entry:
        masking = _parse_masking(entry["masking"], where)
    elif "masking" in defaults:
        masking = _parse_masking(defaults["masking"], "defaults")
    else:
        masking = ()
    return LogSourceConfig(
        name=name,
        line_pattern=entry.get("line_pattern"),
        masking=masking,
        sim_th=drain.get("sim_th", 0.4),
        depth=drain.get("depth", 4),
        max_children=drain.get("max_children", 100),
        extra_delimiters=tuple(drain.get("extra_delimiters", ())),
        parametrize_numeric_tokens=drain.get("parametrize_numeric_tokens", True),
        description=entry.get("description", ""),
    )


def _build_sources(data: object) -> dict[str, LogSourceConfig]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LogSourceConfigError(
            f"the file must be a mapping with 'defaults' and 'sources' keys, got {describe(data)}."
        )
    check_keys(data, _TOP_LEVEL_KEYS, "top level")
    defaults = _optional_mapping(data, "defaults", "top level", "{masking: [...], drain: {...}}")
    check_keys(defaults, _DEFAULTS_KEYS, "defaults")
    entries = _optional_mapping(data, "sources", "top level", "{hdfs: {line_pattern: ...}}")

    sources = {DEFAULT_SOURCE: _build_source(DEFAULT_SOURCE, defaults, {}, "defaults")}
    names_by_lower: dict[str, str] = {}
    for name, entry in entries.items():
        if not isinstance(name, str) or not name:
            raise LogSourceConfigError(
                f"sources: the source name {describe(name)} is invalid. Use a non-empty "
                "name in quotes."
            )
        where = f"source {name!r}"
        if name.lower() == DEFAULT_SOURCE:
            raise LogSourceConfigError(
                f"{where}: the name {DEFAULT_SOURCE!r} is reserved for the defaults block. "
                "Rename the source."
            )
        # get_log_source looks names up case-insensitively, so a second spelling would
        # hide the first one.
        if name.lower() in names_by_lower:
            raise LogSourceConfigError(
                f"{where}: the name differs from source {names_by_lower[name.lower()]!r} only "
                "in case, and source names are case-insensitive. Rename one of them."
            )
        names_by_lower[name.lower()] = name
        if not isinstance(entry, dict):
            raise LogSourceConfigError(
                f"{where}: must be a mapping with the keys {', '.join(_SOURCE_KEYS)}, got "
                f"{describe(entry)}."
            )
        check_keys(entry, _SOURCE_KEYS, where)
        sources[name] = _build_source(name, entry, defaults, where)
    return sources


def load_log_sources(path: str | Path | None = None) -> dict[str, LogSourceConfig]:
    """Read log source settings from a YAML file.

    Args:
        path: YAML file with ``defaults`` and ``sources`` keys. None reads the
            ``log_sources.yaml`` shipped in this package.

    Returns:
        Settings by source name. The key ``"default"`` contains the defaults block as a
        source of its own (no line pattern), used for logs without a dedicated entry.

    Raises:
        LogSourceConfigError: The file is missing, is not UTF-8 YAML, contains an unknown
            key, or contains a value of the wrong type or out of range.
    """
    if path is None:
        file = resources.files("risk_assets.rca").joinpath("log_sources.yaml")
    else:
        file = Path(path)
    data = read_yaml_file(file, "Log source file")
    try:
        return _build_sources(data)
    except LogSourceConfigError as exc:
        raise LogSourceConfigError(f"{file}: {exc}") from exc


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
