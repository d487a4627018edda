"""YAML configuration with errors that point at ``file:line``.

``load_yaml`` keeps the line of every mapping key, and ``from_dict`` builds a dataclass from a
mapping, refusing unknown keys (with a "did you mean" hint) and values of the wrong type.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Type, TypeVar

import yaml

from serkit.errors import ConfigError
from serkit.utils.atomic import atomic_write_text

T = TypeVar("T")


class Located(dict):
    """A mapping loaded from YAML that knows the file and the line of each key."""

    def __init__(self, source: str, line: int = 0) -> None:
        super().__init__()
        self.source = source
        self.line = line
        self.key_lines: Dict[str, int] = {}

    def where(self, key: Optional[str] = None) -> str:
        line = self.key_lines.get(key, self.line) if key is not None else self.line
        return f"{self.source}:{line}" if line else self.source


def _construct(node: yaml.Node, source: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = Located(source, node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            if key in out:
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}: duplicate key '{key}'")
            out[key] = _construct(value_node, source)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(n, source) for n in node.value]
    return yaml.safe_load(yaml.serialize(node))


def load_yaml(path) -> Located:
    """Parse a YAML file whose top level is a mapping."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise ConfigError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if node is None:
        return Located(path, 1)
    data = _construct(node, path)
    if not isinstance(data, Located):
        raise ConfigError(f"{path}: the top level must be a mapping of 'key: value' lines")
    return data


def _where(data: Mapping, key: Optional[str]) -> str:
    return data.where(key) if isinstance(data, Located) else "config"


def _coerce(value: Any, hint: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where, key)
    if hint is Any:
        return value
    if origin in (list, tuple, typing.List, typing.Tuple, typing.Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: '{key}' must be a list, got {value!r}")
        item = args[0] if args else Any
        return [_coerce(v, item, where, key) for v in value]
    if origin in (dict, typing.Dict):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: '{key}' must be a mapping, got {value!r}")
        return value if isinstance(value, Located) else dict(value)  # keep line numbers
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be true or false, got {value!r}")
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_dict(hint, value, section=key)
    raise ConfigError(f"{where}: '{key}' must be {getattr(hint, '__name__', hint)}, got {value!r}")


def from_dict(cls: Type[T], data: Optional[Mapping[str, Any]], section: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and bad types raise ``ConfigError``."""
    data = data or {}
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    prefix = f"{section}." if section else ""
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"{_where(data, key)}: unknown option '{prefix}{key}'; {hint}valid options: {', '.join(names)}"
            )
        kwargs[key] = _coerce(value, hints[key], _where(data, key), f"{prefix}{key}")
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{_where(data, None)}: {section or cls.__name__}: {err}") from None
    return obj


def to_dict(obj: Any) -> Any:
    """Dataclasses, mappings and lists as plain builtins (for YAML/JSON and checkpoints)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def dump_yaml(data: Any, path) -> None:
    atomic_write_text(path, yaml.safe_dump(to_dict(data), sort_keys=False, default_flow_style=False))


def split_override(text: str) -> Tuple[str, Any]:
    """``a.b=3`` -> ``("a.b", 3)`` (value parsed as YAML) for command-line overrides."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key=value (e.g. optim.lr=0.001)")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)
