"""Retention policies: how long each source or camera is kept, hot and in total; quotas per backend.

The file (``VIDEOLAKE_RETENTION``, default ``$VIDEOLAKE_HOME/retention.yaml``)::

    default: {keep_hot_days: 30, keep_days: 365}     # null (or absent) = keep forever
    sources: {uploads: {keep_days: 90}}               # per source name; unset fields inherit the default,
                                                      # an explicit null keeps forever
    cameras: {cam1: {keep_hot_days: 7, keep_days: 30}} # per camera (recording segments); wins over sources
    quotas: {"file:///srv/videolake/storage": 500GB}  # bytes per backend URL: 500GB, 1.5TiB, 123456
    max_delete_share: 0.2                              # refuse a sweep deleting more than 20% of the videos

A file with any error is rejected whole (never half-applied), with the line and the reason.
No file means no age limits and no quotas (exports still expire at their ``expires_at``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_DELETE_SHARE = 0.2
MAX_POLICY_BYTES = 256 * 1024
TOP_LEVEL = ("default", "sources", "cameras", "quotas", "max_delete_share")
POLICY_FIELDS = ("keep_hot_days", "keep_days")
_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class PolicyError(ValueError):
    """The retention file is invalid; nothing of it is applied."""


@dataclass(frozen=True)
class Keep:
    keep_hot_days: int | None = None  # None: forever
    keep_days: int | None = None
    given: frozenset[str] = field(default=frozenset(), compare=False)  # fields the file sets, ``null`` (forever) too

    def over(self, base: "Keep") -> "Keep":
        """These fields where the file gives them (``null`` = forever wins too), ``base``'s otherwise."""
        def pick(name: str) -> int | None:
            mine = getattr(self, name)
            return mine if mine is not None or name in self.given else getattr(base, name)

        return Keep(pick("keep_hot_days"), pick("keep_days"), self.given | base.given)


@dataclass(frozen=True)
class RetentionPolicy:
    default: Keep = Keep()
    sources: dict[str, Keep] = field(default_factory=dict)
    cameras: dict[str, Keep] = field(default_factory=dict)
    quotas: dict[str, int] = field(default_factory=dict)
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    origin: str = "(built-in: keep everything)"

    def for_video(self, source: str | None, camera: str | None) -> tuple[Keep, str]:
        """The effective policy and its name (for audit rows): camera, else source, over the default."""
        if camera is not None and camera in self.cameras:
            base = self.sources.get(source or "", Keep()).over(self.default)
            return self.cameras[camera].over(base), f"cameras.{camera}"
        if source is not None and source in self.sources:
            return self.sources[source].over(self.default), f"sources.{source}"
        return self.default, "default"


def parse_size(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a size, not true/false")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    match = _SIZE.match(str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{value!r} is not a size (examples: 500GB, 1.5TiB, 1000000)")
    number = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is too large")
    return int(number)


def _node_to_python(node, path: str, errors: list[str]):  # type: ignore[no-untyped-def]
    """YAML node → Python, keeping each value's line for error messages; duplicate keys are errors."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        out: dict[str, tuple[Any, int]] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in out:
                errors.append(f"line {line}: {path}{key} is given twice")
                continue
            out[key] = (_node_to_python(value_node, f"{path}{key}.", errors), line)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [(_node_to_python(v, path, errors), v.start_mark.line + 1) for v in node.value]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _keep(value: Any, line: int, where: str, errors: list[str]) -> Keep:
    if value is None:
        return Keep()
    if not isinstance(value, dict):
        errors.append(f"line {line}: {where} must be a mapping like {{keep_hot_days: 7, keep_days: 30}}")
        return Keep()
    days: dict[str, int | None] = {}
    for key, (raw, key_line) in value.items():
        if key not in POLICY_FIELDS:
            errors.append(f"line {key_line}: {where}.{key} is not a policy field (use keep_hot_days, keep_days)")
            continue
        if raw is None:
            days[key] = None
        elif isinstance(raw, bool) or not isinstance(raw, int):
            errors.append(f"line {key_line}: {where}.{key} must be a whole number of days or null, not {raw!r}")
        elif raw < 0:
            errors.append(f"line {key_line}: {where}.{key} cannot be negative ({raw})")
        else:
            days[key] = raw
    keep = Keep(days.get("keep_hot_days"), days.get("keep_days"), frozenset(days))
    if keep.keep_hot_days is not None and keep.keep_days is not None and keep.keep_hot_days > keep.keep_days:
        errors.append(f"line {line}: {where}: keep_hot_days ({keep.keep_hot_days}) is longer than keep_days "
                      f"({keep.keep_days})")
    return keep


def _loader():  # type: ignore[no-untyped-def]
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_policy(text: str, origin: str = "<retention>") -> RetentionPolicy:
    """Parse and validate a whole retention file; raises PolicyError listing every problem."""
    import yaml

    from videolake.storage.factory import UnsupportedStorageUrl, open_backend

    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(f"{origin}: the file is {len(text)} characters long; a retention file is at most "
                          f"{MAX_POLICY_BYTES} (it holds a few policies)")
    try:
        for event in yaml.parse(text, Loader=_loader()):
            # An alias repeats a node by reference; nested aliases expand exponentially ("billion laughs").
            if isinstance(event, yaml.AliasEvent):
                raise PolicyError(f"{origin}: line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are "
                                  "not allowed in a retention file; write the values out")
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise PolicyError(f"{origin}: {where}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if root is None:
        return RetentionPolicy(origin=origin)
    if not isinstance(root, yaml.MappingNode):
        raise PolicyError(f"{origin}: line {root.start_mark.line + 1}: the file must be a mapping (default:, sources:, …)")
    errors: list[str] = []
    data = _node_to_python(root, "", errors)
    for key, (_, line) in data.items():
        if key not in TOP_LEVEL:
            errors.append(f"line {line}: unknown setting {key!r} (known: {', '.join(TOP_LEVEL)})")
    default = _keep(*data.get("default", (None, 1)), "default", errors)
    groups: dict[str, dict[str, Keep]] = {}
    for group in ("sources", "cameras"):
        value, line = data.get(group, ({}, 1))
        groups[group] = {}
        if value is None:
            continue
        if not isinstance(value, dict):
            errors.append(f"line {line}: {group} must map names to policies")
            continue
        for name, (policy, name_line) in value.items():
            groups[group][str(name)] = _keep(policy, name_line, f"{group}.{name}", errors)
    quotas: dict[str, int] = {}
    value, line = data.get("quotas", ({}, 1))
    if value is not None and not isinstance(value, dict):
        errors.append(f"line {line}: quotas must map backend URLs to sizes")
    for url, (size, url_line) in (value or {}).items() if isinstance(value, dict) else ():
        try:
            open_backend(url)
        except (UnsupportedStorageUrl, ValueError) as exc:
            errors.append(f"line {url_line}: quotas: {exc}")
            continue
        try:
            quotas[open_backend(url).url] = parse_size(size)
        except ValueError as exc:
            errors.append(f"line {url_line}: quotas.{url}: {exc}")
    share, line = data.get("max_delete_share", (DEFAULT_MAX_DELETE_SHARE, 1))
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        errors.append(f"line {line}: max_delete_share must be a number above 0 and at most 1, not {share!r}")
        share = DEFAULT_MAX_DELETE_SHARE
    if errors:
        raise PolicyError(f"{origin} is not applied; fix:\n  " + "\n  ".join(errors))
    return RetentionPolicy(default=default, sources=groups["sources"], cameras=groups["cameras"], quotas=quotas,
                           max_delete_share=float(share), origin=origin)


def load_policy(path: str | Path) -> RetentionPolicy:
    """The policy in ``path``; no file means keep everything (and the built-in delete share)."""
    path = Path(path)
    if not path.exists():
        return RetentionPolicy(origin=f"{path} (absent: keep everything)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            raise PolicyError(f"{path}: the file is larger than {MAX_POLICY_BYTES} bytes; a retention file holds a "
                              "few policies")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read: {exc}") from exc
    return parse_policy(text, str(path))
