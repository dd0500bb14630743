"""Contract §4 "list": GET /v2/project/{apiKey}/archive, its order, paging and filter."""

from __future__ import annotations

import requests

from tests.support.opentok import archive_url, join, project_headers, routed_session


def recording_session(emu, ot) -> str:
    session_id = routed_session(ot)
    emu.publish(join(emu, ot, session_id))
    return session_id


def started_archives(emu, ot, session_id: str, how_many: int) -> list[str]:
    """Archives of one session, oldest first (distinct tags let them record at once)."""
    return [ot.start_archive(session_id, multi_archive_tag=f"t{n}").id for n in range(how_many)]


def listed(emu, query: str = "") -> dict:
    answer = requests.get(archive_url(emu, query), headers=project_headers())
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_newest_first_with_offset_zero_the_most_recent(emu, ot):
    """§4 list: newest first; offset 0 = most recent
    (SPEC; RUBY `when_many_archives_are_created`)."""
    made = started_archives(emu, ot, recording_session(emu, ot), 4)

    assert [a["id"] for a in listed(emu)["items"]] == made[::-1]
    assert [a.id for a in ot.get_archives()] == made[::-1]


def test_offset_and_count_page_through(emu, ot):
    """§4 list: `offset` and `count` page (SPEC; RUBY `when_many_archives_are_created/*`)."""
    newest_first = started_archives(emu, ot, recording_session(emu, ot), 6)[::-1]

    page = listed(emu, "?offset=3&count=2")["items"]
    sdk_page = ot.get_archives(offset=1, count=2)

    assert [a["id"] for a in page] == newest_first[3:5]
    assert [a.id for a in sdk_page] == newest_first[1:3]


def test_count_is_every_matching_archive_not_the_page(emu, ot):
    """§4 list `count` [conflict]: SPEC (and NODE's fixture: 149 with 5 items) say the total;
    2014 RUBY recordings show the page size. The emulator takes SPEC's reading: the number of
    archives matching the filter, whatever offset and count ask for."""
    started_archives(emu, ot, recording_session(emu, ot), 5)

    page = listed(emu, "?offset=1&count=2")

    assert len(page["items"]) == 2
    assert page["count"] == 5
    assert ot.get_archives(count=1).count == 5


def test_count_defaults_to_50_and_is_capped_at_1000(emu, ot):
    """§4 list: default count 50, max 1000 (SPEC)."""
    started_archives(emu, ot, recording_session(emu, ot), 52)

    assert len(listed(emu)["items"]) == 50
    assert len(listed(emu, "?count=5000")["items"]) == 52
    assert listed(emu, "?count=5000")["count"] == 52


def test_filter_by_session_under_both_names(emu, ot):
    """§4 list filter name [conflict]: every SDK sends `sessionId`, SPEC names it `session_id`;
    the emulator accepts both (PY; RUBYLIB; SPEC)."""
    first, second = recording_session(emu, ot), recording_session(emu, ot)
    of_first = ot.start_archive(first).id
    ot.start_archive(second)

    by_sdk = [a.id for a in ot.get_archives(session_id=first)]
    by_spec = listed(emu, f"?session_id={first}")
    by_camel = listed(emu, f"?sessionId={first}")

    assert by_sdk == [of_first]
    assert [a["id"] for a in by_spec["items"]] == [of_first]
    assert [a["id"] for a in by_camel["items"]] == [of_first]
    assert by_spec["count"] == by_camel["count"] == 1


def test_deleted_archives_are_left_out(emu, ot):
    """§4 list: deleted archives excluded; delete answers 204 (SPEC; RUBY
    `should_delete_an_archive_by_id.yml`)."""
    session_id = recording_session(emu, ot)
    gone = ot.start_archive(session_id, multi_archive_tag="gone")
    kept = ot.start_archive(session_id, multi_archive_tag="kept")
    ot.stop_archive(gone.id)
    emu.wait_for(lambda: ot.get_archive(gone.id).status == "available")

    deleted = requests.delete(archive_url(emu, f"/{gone.id}"), headers=project_headers())

    assert deleted.status_code == 204
    assert [a["id"] for a in listed(emu)["items"]] == [kept.id]
    assert listed(emu)["count"] == 1
