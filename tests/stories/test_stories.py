"""Stories: write-ups of one event are grouped, other events are not, boilerplate does not glue."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from monitor.stories import ArticleRecord, StoryConfig, StoryIndex, write_state
from tests.stories._texts import (
    FERRY,
    FERRY_TITLE,
    SIGN_OFF,
    STRIKE_ELSEWHERE,
    STRIKE_ELSEWHERE_TITLE,
    STRIKE_OTHER,
    STRIKE_OTHER_TITLE,
    STRIKE_TITLE,
    STRIKE_WIRE,
    T0,
    UNRELATED,
    article,
)


def test_two_write_ups_of_one_event_form_one_story() -> None:
    index = StoryIndex()
    first = index.add(article(1, STRIKE_TITLE, STRIKE_WIRE, source="wire.example"))
    second = index.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=3, source="herald.example"))
    assert first.is_new_story and first.story_id == 1
    assert second.copy_of is None
    assert second.story_id == 1 and not second.is_new_story
    story = index.story(1)
    assert story is not None
    assert story.representative_id == 1
    assert story.first_seen == T0
    assert story.sources == ("wire.example", "herald.example")
    assert index.members(1) == [1, 2]


def test_other_events_on_the_same_topic_are_separate_stories() -> None:
    index = StoryIndex()
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    index.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=3))
    ferry = index.add(article(3, FERRY_TITLE, FERRY, hours=34))
    rail = index.add(article(4, STRIKE_ELSEWHERE_TITLE, STRIKE_ELSEWHERE, hours=5))
    assert ferry.is_new_story and ferry.story_id == 3
    assert rail.is_new_story and rail.story_id == 4
    assert index.story_count == 3


WARM_UP = [(STRIKE_TITLE, STRIKE_WIRE), (FERRY_TITLE, FERRY), (STRIKE_ELSEWHERE_TITLE, STRIKE_ELSEWHERE)]


def _with_sign_off(config: StoryConfig) -> tuple[list[int], list[int | None]]:
    """Stories and copy_of of six short unrelated items that share a wire sign-off.

    The stop-list first sees the sign-off in three longer, unrelated stories (days apart).
    """
    index = StoryIndex(config=config)
    for n, (title, body) in enumerate(WARM_UP):
        index.add(article(100 + n, title, [*body, SIGN_OFF], hours=24 * 5 * n))
    stories, copies = [], []
    for n, (title, body) in enumerate(UNRELATED):
        a = index.add(article(n + 1, title, [*body, SIGN_OFF], hours=24 * 20 + n))
        stories.append(a.story_id)
        copies.append(a.copy_of)
    return stories, copies


def test_stop_listed_sign_off_does_not_glue_unrelated_stories() -> None:
    stories, copies = _with_sign_off(StoryConfig())
    assert len(set(stories)) == len(stories)
    assert copies == [None] * len(copies)


def test_without_the_stop_list_the_same_sign_off_would_glue_them() -> None:
    # the control for the test above: with the stop-list disabled the shared sign-off (names, places,
    # a long sentence) is enough to pull some of these short items together
    stories, _ = _with_sign_off(replace(StoryConfig(), stoplist_min_stories=10_000))
    assert len(set(stories)) < len(stories)


def test_story_threshold_can_be_raised() -> None:
    index = StoryIndex(story_threshold=0.99)
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    assert index.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=1)).is_new_story


def test_prune_forgets_old_articles_but_keeps_the_story_id() -> None:
    index = StoryIndex()
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    index.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=50))
    assert index.prune(before=T0 + timedelta(hours=10)) == 1
    assert 1 not in index and 2 in index
    assert index.members(1) == [2]
    story = index.story(1)
    assert story is not None and story.first_seen == T0
    # a third write-up still joins story 1 through article 2
    third = index.add(article(3, "Trellmouth strike enters third day", STRIKE_OTHER[:4], hours=60))
    assert third.story_id == 1
    assert index.prune(before=T0 + timedelta(days=30)) == 2
    assert index.story(1) is None and index.members(1) == [] and len(index) == 0


def test_duplicate_article_id_is_refused() -> None:
    index = StoryIndex()
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    with pytest.raises(ValueError, match="already"):
        index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))


def test_title_only_items_still_get_matched() -> None:
    index = StoryIndex()
    title = "Dockers walk out at the Port of Trellmouth over cranes"
    first = index.add(ArticleRecord(1, title, "", T0, "a"))
    again = index.add(ArticleRecord(2, title, " ", T0, "b"))
    assert first.is_new_story and again.copy_of == 1


def test_naive_datetimes_are_read_as_utc() -> None:
    index = StoryIndex()
    index.add(ArticleRecord(1, STRIKE_TITLE, " ".join(STRIKE_WIRE), T0.replace(tzinfo=None), "a"))
    a = index.add(ArticleRecord(2, STRIKE_OTHER_TITLE, " ".join(STRIKE_OTHER), T0.replace(tzinfo=None), "b"))
    assert a.story_id == 1


def test_save_and_load_keep_window_idf_and_stop_list() -> None:
    config = StoryConfig(stoplist_width_bits=12)
    index = StoryIndex(config=config)
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    index.add(article(2, FERRY_TITLE, FERRY, hours=30))
    buf = io.BytesIO()
    index.save(buf)
    buf.seek(0)
    loaded = StoryIndex.load(buf)
    assert loaded.config == config
    assert len(loaded) == 2 and loaded.members(1) == [1] and loaded.members(2) == [2]
    for idx in (index, loaded):
        a = idx.add(article(3, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=31))
        b = idx.add(article(4, "Cranes spark Trellmouth walkout", STRIKE_WIRE[:6], hours=32))
        assert (a.story_id, a.copy_of, b.story_id, b.copy_of) == (1, None, 1, 1)
    assert index.to_state()["df_values"].tolist() == loaded.to_state()["df_values"].tolist()


def test_a_state_file_reads_back_as_numpy_wrote_it_and_costs_no_copy_of_its_arrays(tmp_path: Path) -> None:
    """``write_state`` writes the ``.npz`` itself: ``numpy.savez`` copied a 16 MB array whole on the way
    (a 16 MB jump of the daemon's RSS at every save). Every kind of array the index holds reads back."""
    tags = np.arange(2 * (1 << 22), dtype=np.uint16).reshape(2, -1)  # the stop-list's tags, 16 MB
    state: dict[str, npt.NDArray[Any]] = {
        "tags": tags,
        "ids": np.array([3, -1, 7], dtype=np.int64),
        "scores": np.linspace(0, 1, 5, dtype=np.float32),
        "meta": np.frombuffer(b'{"format": 1}', dtype=np.uint8),
        "names": np.array([b"a", b"bc"]),
        "empty": np.zeros((0, 4), dtype=np.int32),
        "one": np.array(5, dtype=np.int64),
        "column": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
    }
    path = tmp_path / "state.npz"  # a file: a BytesIO would itself be a 16 MB allocation
    tracemalloc.start()
    try:
        write_state(path, state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak  # the arrays were written from themselves, not from 16 MB copies
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(state)
        for key, value in state.items():
            assert data[key].dtype == value.dtype and data[key].shape == value.shape, key
            assert np.array_equal(data[key], value), key
    with pytest.raises(ValueError, match="'objects'"):
        write_state(io.BytesIO(), {"objects": np.array([{"a": 1}], dtype=object)})


def test_restore_keeps_stored_assignments() -> None:
    index = StoryIndex()
    index.restore(article(10, STRIKE_TITLE, STRIKE_WIRE), story_id=7, copy_of=None)
    index.restore(article(11, "Cranes spark walkout", STRIKE_WIRE, hours=1), story_id=7, copy_of=10)
    assert index.members(7) == [10, 11]
    a = index.add(article(12, "Trellmouth strike", STRIKE_WIRE[:6], hours=2))
    assert a.copy_of == 10 and a.story_id == 7


def test_state_is_written_uncompressed_and_a_compressed_file_still_loads() -> None:
    """Deflating the hashes and the stop-list cost seconds per save and saved little (``write_state``);
    files written compressed by earlier versions must still load."""
    index = StoryIndex(config=StoryConfig(stoplist_width_bits=12))
    index.add(article(1, STRIKE_TITLE, STRIKE_WIRE))
    buf = io.BytesIO()
    index.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    old = io.BytesIO()
    np.savez_compressed(old, **index.to_state())  # type: ignore[arg-type]
    old.seek(0)
    loaded = StoryIndex.load(old)
    assert loaded.members(1) == [1]
    assert loaded.add(article(2, STRIKE_OTHER_TITLE, STRIKE_OTHER, hours=1)).story_id == 1
