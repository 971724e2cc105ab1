"""Strict reading of the root-cause analysis package's YAML configuration files.

The log source and knowledge-base files are edited by hand, so they are read with a
loader that rejects repeated keys and YAML 1.1 booleans such as ``yes``, and checked
for unknown keys and empty-matching patterns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

from risk_assets.rca.errors import LogSourceConfigError, RcaError


def compile_pattern(
    source: str, label: str, error_type: type[RcaError] = LogSourceConfigError, flags: int = 0
) -> re.Pattern[str]:
    """Compile a regular expression from a configuration file.

    Raises:
        RcaError: ``error_type`` naming ``label`` and the pattern when it does not compile.
    """
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise error_type(
            f"{label}: {source!r} is not a valid regular expression ({exc}). Fix the "
            "pattern in the file."
        ) from exc


def can_match_empty(compiled: re.Pattern[str]) -> bool:
    """Return whether the shortest possible match of a compiled pattern is empty."""
    # NOTE: re._parser is CPython's private regex parser (3.11 and later). getwidth()
    # returns the (minimum, maximum) match length, where anchors and lookarounds count 0.
    return re._parser.parse(compiled.pattern, compiled.flags).getwidth()[0] == 0


class StrictYamlLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects repeated keys and reads only true/false as booleans.

    PyYAML follows YAML 1.1, where yes, no, on and off are booleans as well.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
StrictYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml_file(
    file: Path | Traversable, label: str, error_type: type[RcaError] = LogSourceConfigError
) -> object:
    """Read a UTF-8 YAML file with ``StrictYamlLoader``.

    Args:
        file: File to read.
        label: What the file is, for messages, for example "Log source file".
        error_type: Exception raised for every failure.

    Returns:
        The parsed document, or None for an empty file.

    Raises:
        RcaError: ``error_type`` when the file cannot be read, is not UTF-8 or is not
            valid YAML, naming the file and, where known, the line.
    """
    origin = str(file)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise error_type(
            f"Cannot read {label.lower()} {origin!r}: {exc}. Pass an existing YAML file."
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error_type(
            f"{label} {origin!r} is not UTF-8 text: byte {raw[exc.start]:#04x} at offset "
            f"{exc.start} cannot be decoded. Save the file as UTF-8."
        ) from exc
    try:
        return yaml.load(text, Loader=StrictYamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error_type(
            f"{label} {origin!r} is not valid YAML{where}: {exc.problem or exc}. "
            "Fix the file at that position."
        ) from exc
    except yaml.reader.ReaderError as exc:
        raise error_type(
            f"{label} {origin!r} contains the control character U+{exc.character:04X} at "
            f"offset {exc.position}. Remove it."
        ) from exc


def describe(value: object) -> str:
    """Return a value with its type name, for messages."""
    return f"{value!r} ({type(value).__name__})"


def check_keys(
    mapping: dict,
    allowed: Sequence[str],
    where: str,
    error_type: type[RcaError] = LogSourceConfigError,
    note: str = "",
) -> None:
    """Raise ``error_type`` for the first key not in ``allowed``, suggesting a close one.

    ``note`` is appended to the message, for example the expected form of the mapping.
    """
    for key in mapping:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise error_type(
            f"{where}: unknown key {key!r}.{hint} Allowed keys: {', '.join(allowed)}.{note}"
        )
