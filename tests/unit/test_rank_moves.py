"""What the live pages say when the ranking moves: only the change, short, in each language."""

from __future__ import annotations

from movievote.services.rank_moves import Move, describe, moves

TITLES = {1: "Jaws", 2: "Alien", 3: "Heat", 4: "Up", 5: "Rocky"}
PT = {1: "Tubarão", 2: "Alien", 3: "Fogo contra Fogo", 4: "Up", 5: "Rocky"}


def say(before: dict[int, int], after: dict[int, int], language: str = "en") -> str:
    titles = PT if language == "pt-BR" else TITLES
    return describe(moves(before, after), titles, language=language, top=10)


def test_a_rise_names_the_movie_and_its_new_place():
    assert say({2: 1, 1: 2}, {2: 1, 3: 2, 1: 3}) == "Heat enters the top 10 at second."
    assert say({2: 1, 3: 2, 1: 3}, {2: 1, 1: 2, 3: 3}) == "Jaws moves up to second."
    assert say({2: 1, 3: 2, 1: 3}, {2: 1, 1: 2, 3: 3}, "pt-BR") == (
        "Tubarão sobe para o segundo lugar."
    )


def test_the_new_leader_is_now_first_whether_it_rose_or_came_in():
    assert say({2: 1, 1: 2}, {1: 1, 2: 2}) == "Jaws is now first."
    assert say({}, {1: 1}) == "Jaws is now first."
    assert say({}, {1: 1}, "pt-BR") == "Tubarão agora está em primeiro lugar."


def test_an_entry_lower_down_says_where_it_came_in():
    before = {n: n for n in range(1, 5)}
    assert say(before, {**before, 5: 5}) == "Rocky enters the top 10 at fifth."
    assert say(before, {**before, 5: 5}, "pt-BR") == "Rocky entra no top 10 em quinto lugar."


def test_nothing_moved_says_nothing_and_falls_are_left_unsaid():
    same = {1: 1, 2: 2}
    assert moves(same, same) == []
    assert say(same, same) == ""
    assert say({1: 1, 2: 2, 3: 3}, {1: 1, 2: 2}) == ""  # the last one voided away: none rose


def test_several_moves_best_place_first_and_no_more_than_three_named():
    before = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    after = {5: 1, 4: 2, 3: 3, 2: 4, 1: 5}  # upside down: two rose
    assert moves(before, after) == [Move(5, 1, False), Move(4, 2, False)]
    assert say(before, after) == "Rocky is now first. Up moves up to second."
    crowd = {10 + n: n for n in range(1, 6)}  # five newcomers take every place
    found = moves(after, crowd)
    assert [m.rank for m in found] == [1, 2, 3, 4, 5]
    names = {11: "Ran", 12: "Coco", 13: "Her", 14: "Big", 15: "Elf"}
    assert describe(found, names, language="en", top=10) == (
        "Ran is now first. Coco enters the top 10 at second. Her enters the top 10 at third. "
        "2 other movies moved up."
    )
    assert describe(found, names, language="pt-BR", top=10).endswith("Mais 2 filmes subiram.")


def _row(movie_id: int, rank: int, en: str, pt: str) -> dict[str, object]:
    return {"id": movie_id, "rank": rank, "title": en, "titles": {"en": en, "pt-BR": pt}}


def test_the_feed_words_each_ranking_in_each_language_the_top_3_its_own_moves():
    from movievote.live import announcement

    jaws, heat = ("Jaws", "Tubarão"), ("Heat", "Fogo contra Fogo")
    told = {"month_rows": {1: 2, 3: 1}, "all_rows": {1: 1, 3: 2}}
    values = {
        "month_rows": [_row(1, 1, *jaws), _row(3, 2, *heat), _row(5, 4, "Rocky", "")],
        "all_rows": [_row(1, 1, *jaws), _row(3, 2, *heat)],
    }
    said = announcement(told, values)
    assert said["month"] == {
        "en": "Jaws is now first. Rocky enters the top 10 at fourth.",
        "pt-BR": "Tubarão agora está em primeiro lugar. Rocky entra no top 10 em quarto lugar.",
    }  # a title missing in a language: the catalogue's
    assert said["podium"] == {
        "en": "Jaws is now first.",
        "pt-BR": "Tubarão agora está em primeiro lugar.",
    }  # fourth is below the top 3 the movies page shows
    assert "all" not in said  # all time: nothing moved
    assert announcement(told, {**values, "month_rows": values["all_rows"]}) == {
        "month": said["podium"],
        "podium": said["podium"],
    }
