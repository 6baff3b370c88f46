"""Fill an archive database (SQLite or PostgreSQL, migrated by ``get_engine``) with synthetic assets and
markers in bulk, for the search benchmarks: marker ``i`` (1-based) has ``texts[i - 1]`` as its name, sits
at ``((i - 1) % per_asset) * 24`` s of asset ``(i - 1) // per_asset + 1``. The change-log triggers are
bypassed (the index under test is built directly, not caught up), as a restore from a dump would."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Sequence

ASSET_COLUMNS = ("id, fingerprint, size, duration, fps_num, fps_den, frame_count, width, height, rotation, "
                 "has_audio, variable_frame_rate, video_codec, container, analyser, analyser_version, "
                 "model_version, created_at, analysed_at")
PATH_COLUMNS = "id, asset_id, path, size, mtime_ns, inode, first_seen, last_seen"
MARKER_COLUMNS = "id, asset_id, time, duration, name, note, kind, colour, source, verified, superseded, created_at, updated_at"


def _assets(count: int) -> list[tuple]:
    return [(a, f"{a:064x}", 1, 3600.0, 25, 1, 90000, 1920, 1080, 0, True, False, "h264", "mov", "bench", "1", "m",
             "2026-01-01 00:00:00", "2026-01-01 00:00:00") for a in range(1, count + 1)]


def _paths(count: int) -> list[tuple]:
    return [(a, a, f"/archive/reel{a // 100:03d}/clip{a:05d}.mov", 1, 1, 0, "2026-01-01 00:00:00",
             "2026-01-01 00:00:00") for a in range(1, count + 1)]


def _markers(texts: Sequence[str], per_asset: int):
    for i, name in enumerate(texts, start=1):
        yield (i, (i - 1) // per_asset + 1, ((i - 1) % per_asset) * 24.0, 0.0, name, "", "moment", "BLUE", "bench",
               False, False, "2026-01-01 00:00:00", "2026-01-01 00:00:00")


def fill(engine, texts: Sequence[str], per_asset: int) -> None:
    """Insert ``ceil(len(texts) / per_asset)`` assets (one path each) and one marker per text (see the module docstring)."""
    assets = _assets(-(-len(texts) // per_asset))
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SET session_replication_role = replica")  # no change-log triggers for the bulk load

            def copy(table: str, columns: str, rows) -> None:
                buf = io.StringIO("".join("\t".join("t" if v is True else "f" if v is False else str(v) for v in row)
                                          + "\n" for row in rows))
                cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)

            copy("assets", ASSET_COLUMNS, assets)
            copy("asset_paths", PATH_COLUMNS, _paths(len(assets)))
            copy("markers", MARKER_COLUMNS, _markers(texts, per_asset))
            cur.execute("ANALYZE assets")
            cur.execute("ANALYZE asset_paths")
            cur.execute("ANALYZE markers")
            raw.commit()
        finally:
            raw.close()
        return
    db = sqlite3.connect(engine.url.database)
    try:
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                              "AND tbl_name IN ('assets', 'asset_paths', 'markers')").fetchall()
        for name, _sql in triggers:
            db.execute(f"DROP TRIGGER {name}")
        marks = ", ".join("?" * 19)
        db.executemany(f"INSERT INTO assets ({ASSET_COLUMNS}) VALUES ({marks})", assets)
        db.executemany(f"INSERT INTO asset_paths ({PATH_COLUMNS}) VALUES ({', '.join('?' * 8)})",
                       _paths(len(assets)))
        db.executemany(f"INSERT INTO markers ({MARKER_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                       _markers(texts, per_asset))
        for _name, sql in triggers:
            db.execute(sql)
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()
