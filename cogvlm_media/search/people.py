"""Search within a person's appearances: `search "QUERY" --person NAME` keeps the hits that overlap one."""

from __future__ import annotations

from collections.abc import Iterable

from cogvlm_media.search.query import Hit


def overlapping(hits: Iterable[Hit], spans: Iterable[tuple[int, float, float]]) -> list[Hit]:
    """The hits (in their order) whose time range meets one of the ``(asset_id, start, end)`` spans."""
    by_asset: dict[int, list[tuple[float, float]]] = {}
    for asset_id, start, end in spans:
        by_asset.setdefault(asset_id, []).append((start, end))
    return [h for h in hits
            if any(h.time <= end and max(h.end, h.time) >= start for start, end in by_asset.get(h.asset_id, ()))]


def search_within(service, request, spans: list[tuple[int, float, float]]):
    """Run ``request`` on ``service`` (a SearchService) and keep the hits inside the spans: the search runs
    over the spans' assets with a wider limit, so that hits outside the spans do not crowd them out."""
    from dataclasses import replace

    assets = {s[0] for s in spans}
    if request.asset_ids:
        assets &= set(request.asset_ids)
    if not assets:
        return replace(service.search(replace(request, limit=1)), hits=[])
    wide = service.search(replace(request, asset_ids=tuple(sorted(assets)), limit=max(request.limit * 10, 100)))
    return replace(wide, hits=overlapping(wide.hits, spans)[:request.limit])
