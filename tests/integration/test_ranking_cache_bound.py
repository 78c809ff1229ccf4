"""The ranking cache holds at most RANKING_CACHE_MAX_ENTRIES rankings, however many distinct
months are asked for (24,000 distinct `period` values grew it by 20 MB)."""

from __future__ import annotations

from movievote.config import get_settings
from movievote.root import get_root


async def test_asking_for_many_months_keeps_the_cache_bounded(api, movies):
    bound = get_settings().ranking_cache_max_entries
    assert bound == 256  # the default
    cache = get_root().cache
    months = [f"{year}-{month:02d}" for year in range(1990, 2020) for month in range(1, 13)]
    assert len(months) > bound
    for month in months:
        response = await api.get("/api/ranking", params={"period": month})
        assert response.status_code == 200
        await api.get("/api/ranking", params={"period": "all"})  # read often: stays cached
    assert len(cache.entries) == bound
    kept = set(cache.entries.keys())
    assert "all" in kept  # the most recently used stay
    assert set(months[-(bound - 1) :]) <= kept
    assert months[0] not in kept  # the least recently used went first
