"""Camera and start time of a recording segment, from its path or from a JSON sidecar.

A template such as ``{camera}/{start:%Y/%m/%d/%H%M%S}.ts`` or the default
``{camera}/{start:%Y%m%dT%H%M%SZ}.<ext>`` is turned into a regular expression; ``{start:FMT}``
accepts the strftime directives below. Times without an offset are UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from videolake.inputs import parse_instant

DEFAULT_TEMPLATE = "{camera}/{start:%Y%m%dT%H%M%SZ}.<ext>"

_DIRECTIVES = {
    "Y": r"\d{4}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "f": r"\d{1,6}",
    "j": r"\d{3}",
    "y": r"\d{2}",
    "z": r"(?:[+-]\d{2}:?\d{2}|Z)",
    "%": "%",
}
_FIELD = re.compile(r"\{camera\}|\{start:([^}]+)\}|<ext>|\{ext\}")


class SegmentNameError(ValueError):
    """The path does not match the template, or its time is not a real time."""


@dataclass(frozen=True)
class SegmentTimes:
    camera_id: str
    start: dt.datetime  # UTC
    end: dt.datetime | None  # UTC; None until the probe gives the duration
    source: str  # "template" or "sidecar"


def _format_regex(fmt: str) -> str:
    out = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _DIRECTIVES:
                raise ValueError(f"segment template: %{directive} is not supported in {{start:{fmt}}}")
            out.append(_DIRECTIVES[directive])
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


class SegmentTemplate:
    def __init__(self, template: str = DEFAULT_TEMPLATE) -> None:
        self.template = template
        pattern: list[str] = []
        self.start_format: str | None = None
        pos = 0
        has_camera = False
        for match in _FIELD.finditer(template):
            pattern.append(re.escape(template[pos : match.start()]))
            token = match.group(0)
            if token == "{camera}":
                if has_camera:
                    raise ValueError("segment template: {camera} may appear once")
                has_camera = True
                pattern.append(r"(?P<camera>[^/]+?)")
            elif token in ("<ext>", "{ext}"):
                pattern.append(r"(?P<ext>[A-Za-z0-9]{1,8})")
            else:
                if self.start_format is not None:
                    raise ValueError("segment template: {start:...} may appear once")
                self.start_format = match.group(1)
                pattern.append(f"(?P<start>{_format_regex(self.start_format)})")
            pos = match.end()
        pattern.append(re.escape(template[pos:]))
        if not has_camera or self.start_format is None:
            raise ValueError(f"segment template {template!r} needs {{camera}} and {{start:FORMAT}}")
        self.regex = re.compile("".join(pattern))

    def parse(self, key: str) -> SegmentTimes:
        match = self.regex.fullmatch(key)
        if match is None:
            raise SegmentNameError(f"{key!r} does not match the segment template {self.template!r}")
        raw = match.group("start")
        fmt = self.start_format or ""
        try:
            start = dt.datetime.strptime(raw.replace("Z", "+0000") if "%z" in fmt else raw, fmt)
        except ValueError as exc:
            raise SegmentNameError(f"{key!r}: {raw!r} is not a valid time for {fmt!r} ({exc})") from exc
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        return SegmentTimes(match.group("camera"), start.astimezone(dt.timezone.utc), None, "template")


def parse_time(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 time from a sidecar (``Z`` or an offset; none means UTC)."""
    if not isinstance(value, str):
        raise SegmentNameError(f"sidecar {field} must be an ISO 8601 string, not {value!r}")
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise SegmentNameError(f"sidecar {field}: {exc}") from exc


def times_from_sidecar(data: dict[str, Any]) -> SegmentTimes:
    camera = data.get("camera_id")
    if not isinstance(camera, (str, int)) or str(camera).strip() == "" or "/" in str(camera):
        raise SegmentNameError(f"sidecar camera_id {camera!r} is missing or not a plain name")
    start = parse_time(data.get("start_time"), "start_time")
    end = parse_time(data["end_time"], "end_time") if data.get("end_time") is not None else None
    if end is not None and end <= start:
        raise SegmentNameError(f"sidecar end_time {end.isoformat()} is not after start_time {start.isoformat()}")
    return SegmentTimes(str(camera), start, end, "sidecar")


def segment_times(template: SegmentTemplate, key: str, sidecar: dict[str, Any] | None) -> SegmentTimes:
    """The sidecar wins when it carries camera_id and start_time; else the path template."""
    if sidecar and "camera_id" in sidecar and "start_time" in sidecar:
        return times_from_sidecar(sidecar)
    return template.parse(key)
