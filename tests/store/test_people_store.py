"""People in the store: incremental clustering at the stated threshold, appearances from the sampled times,
naming, merging, splitting and re-ingest, on embeddings whose distances are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from storedata import MEDIA, analysis

from cogvlm_media import records
from cogvlm_media.store.engine import get_engine, write_session
from cogvlm_media.store.models import Marker
from cogvlm_media.store.people import FaceRow, Person
from cogvlm_media.store.people_queries import appearances, face_strip, find_person, list_people
from cogvlm_media.store.people_writer import (PersonNotFound, merge_people, name_person, record_faces,
                                              split_person)
from cogvlm_media.store.writer import FileState, record_analysis

THRESHOLD = 0.5


def vector(axis: int, offset: float = 0.0) -> tuple[float, ...]:
    """A unit vector on ``axis`` moved ``offset`` along axis 127: distance between two is exact."""
    v = np.zeros(128)
    v[axis] = 1.0
    v[127] = offset
    return tuple(v)


def faces(person: tuple[float, ...], times, track: int, left: float = 0.1) -> list[records.Face]:
    return [records.Face(t, int(t * 10), (left, 0.1, 0.2, 0.3), 1.2, person, track) for t in times]


@pytest.fixture
def engine(tmp_path):
    return get_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")


def ingest(engine, tmp_path, key: str, detections) -> int:
    with write_session(engine) as s:
        asset = record_analysis(s, state=FileState(str(tmp_path / f"{key}.mov"), 1000, 1, 1), fingerprint=key * 64,
                                media=MEDIA, **analysis())
        record_faces(s, asset.id, detections, duration=MEDIA.duration, threshold=THRESHOLD)
        return asset.id


def test_cluster_across_files_at_the_threshold(engine, tmp_path):
    samples = tuple(float(t) for t in range(10))
    a = ingest(engine, tmp_path, "a", records.FaceDetections("m1", samples, tuple(faces(vector(0), [2, 3, 4], 1))))
    # same person 0.3 away (under 0.5), and someone 1.41 away; then one 0.51 from the first person's
    # centroid, which the two files moved to 0.12 along axis 127: just over the threshold, a new person
    b = ingest(engine, tmp_path, "b", records.FaceDetections("m1", samples, tuple(
        faces(vector(0, 0.3), [5, 6], 1) + faces(vector(1), [1, 2, 3, 8, 9], 2, left=0.6))))
    c = ingest(engine, tmp_path, "c", records.FaceDetections("m1", samples, tuple(faces(vector(0, 0.63), [0], 1))))
    with write_session(engine) as s:
        people = list_people(s)
        assert [(p.faces, p.assets, p.appearances) for p in people] == [(5, 2, 2), (5, 1, 2), (1, 1, 1)]
        first = people[0].id
        spans = [(x.asset_id, x.start, x.end, x.faces) for x in appearances(s, person_id=first)]
        assert spans == [(a, 2.0, 5.0, 3), (b, 5.0, 7.0, 2)]
        # an appearance runs to the first sample without the person, or the end of the file
        assert [(x.start, x.end) for x in appearances(s, person_id=people[1].id)] == [(1.0, 4.0), (8.0, 10.0)]
        assert appearances(s, asset_id=c)[0].person_id == people[2].id
        centroid = s.get(Person, first).centroid
        assert centroid[127] == pytest.approx(0.3 * 2 / 5)  # the running mean of the five faces
        assert [f["person_id"] for f in face_strip(s, b)] == [people[1].id, first]


def test_naming_reaches_every_marker_and_merge_split_keep_it(engine, tmp_path):
    samples = (0.0, 1.0, 2.0, 3.0)
    a = ingest(engine, tmp_path, "a", records.FaceDetections("m1", samples, tuple(faces(vector(0), [1], 1))))
    b = ingest(engine, tmp_path, "b", records.FaceDetections("m1", samples, tuple(faces(vector(0, 0.1), [2], 1))))
    with write_session(engine) as s:
        pid = list_people(s)[0].id
        assert name_person(s, pid, "Maria Keller") == {a, b}
        names = s.execute(select(Marker.asset_id, Marker.name, Marker.kind, Marker.time)
                          .where(Marker.kind == "person").order_by(Marker.asset_id)).all()
        assert names == [(a, "Maria Keller", "person", 1.0), (b, "Maria Keller", "person", 2.0)]
        assert find_person(s, "maria KELLER").id == pid
        new, changed = split_person(s, pid, [b])
        assert changed == {b} and s.get(Person, new).name is None
        assert s.scalar(select(Marker.name).where(Marker.kind == "person", Marker.asset_id == b)) == f"Person {new}"
        merge_people(s, new, [pid])  # the unnamed one kept: it takes the name of the one merged in
        assert s.get(Person, pid) is None and s.get(Person, new).name == "Maria Keller"
        assert [x.asset_id for x in appearances(s, person_id=new)] == [a, b]
        with pytest.raises(PersonNotFound):
            find_person(s, "Nobody")


def test_reingest_replaces_faces_and_drops_empty_unnamed_people(engine, tmp_path):
    samples = (0.0, 1.0)
    first = records.FaceDetections("m1", samples, tuple(faces(vector(3), [0, 1], 1)))
    a = ingest(engine, tmp_path, "a", first)
    ingest(engine, tmp_path, "a", records.FaceDetections("m1", samples, ()))  # re-analysed: nobody now
    with write_session(engine) as s:
        assert list_people(s) == [] and s.scalars(select(FaceRow)).all() == []
        assert s.scalars(select(Marker).where(Marker.kind == "person")).all() == []
        assert appearances(s, asset_id=a) == []
        record_faces(s, a, None, duration=10.0)  # the stage did not run (models missing): nothing, no error
        assert list_people(s) == []
