from __future__ import annotations

import datetime as dt
import shutil

import pytest

from tests.conftest import materialize_day
from assets import ingest_lineage, landing_zone
from videolake.media.samples import make_clip

UTC = dt.timezone.utc


def at(hms: str, day: int = 20) -> dt.datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return dt.datetime(2026, 11, day, h, m, s, tzinfo=UTC)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A small site: cam3 has 4 s segments 10:00:00, :04, :12 (a gap 08-12) and one 640x360 at :16;
    cam7 one segment at 10:00:00."""
    folder = tmp_path_factory.mktemp("site")
    files = {
        "cam3/20261120T100000Z.ts": make_clip(folder / "a.ts", duration=4, size="320x180", frequency=300),
        "cam3/20261120T100004Z.ts": make_clip(folder / "b.ts", duration=4, size="320x180", frequency=400),
        "cam3/20261120T100012Z.ts": make_clip(folder / "c.ts", duration=4, size="320x180", frequency=500),
        "cam3/20261120T100016Z.ts": make_clip(folder / "d.ts", duration=4, size="640x360", frequency=600),
        "cam7/20261120T100000Z.ts": make_clip(folder / "e.ts", duration=4, size="320x180", pattern="smptebars"),
    }
    return files


@pytest.fixture
def site(sqlite_lake, recorded):
    lake = sqlite_lake
    for key, src in recorded.items():
        dest = lake.segments / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    materialize_day([landing_zone, ingest_lineage], "2026-11-20", resources=lake.resources(),
                   run_config={"ops": {"ingest_lineage": {"config": {"zone": "segments"}}}})
    return lake


