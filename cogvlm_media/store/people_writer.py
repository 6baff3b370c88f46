"""Record an asset's faces and keep the people current: incremental clustering across the archive,
appearances as time ranges, and the ``person`` markers that carry them into search and exports.

Clustering: the faces of one track (one person on consecutive samples of a shot) are averaged and
compared with every stored person's centroid; under ``threshold`` (Euclidean distance between dlib's
128-number embeddings, default 0.5) the track joins the nearest person, whose centroid becomes the
running mean; otherwise it starts a new person. Files are clustered as they arrive; nothing already
stored is re-clustered, so an editor's names, merges and splits stay as they are.

An appearance runs from the first sample a person is seen on to the first later sample they are not
seen on (or the end of the file). Naming, merging and splitting rewrite the affected appearances and
their markers in the same transaction; the caller emits ``asset_changed`` for the assets returned.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cogvlm_media import records
from cogvlm_media.store import models
from cogvlm_media.store.people import FaceRow, FaceScan, Person, PersonAppearance

SOURCE = "faces"  # the markers' source


class PersonNotFound(LookupError):
    pass


def _recentre(session: Session, person_ids) -> None:
    """Recompute the centroids of these people from their faces; drop unnamed people left with none."""
    for person in session.scalars(select(Person).where(Person.id.in_(list(person_ids)))):
        rows = list(session.scalars(select(FaceRow.embedding).where(FaceRow.person_id == person.id)))
        if rows:
            person.centroid, person.faces = np.mean(np.asarray(rows), axis=0).tolist(), len(rows)
        elif person.name:
            person.faces = 0
        else:
            session.delete(person)
    session.flush()


def clear_faces(session: Session, asset_id: int) -> set[int]:
    """Remove an asset's faces and appearances (re-ingest). Returns the people that lost faces."""
    touched = set(session.scalars(select(FaceRow.person_id).where(FaceRow.asset_id == asset_id,
                                                                   FaceRow.person_id.is_not(None))))
    markers = select(PersonAppearance.marker_id).where(PersonAppearance.asset_id == asset_id)
    session.execute(delete(models.Marker).where(models.Marker.id.in_(markers), models.Marker.verified.is_(False)))
    session.execute(delete(PersonAppearance).where(PersonAppearance.asset_id == asset_id))
    session.execute(delete(FaceRow).where(FaceRow.asset_id == asset_id))
    session.execute(delete(FaceScan).where(FaceScan.asset_id == asset_id))
    session.flush()
    _recentre(session, touched)
    return touched


def _nearest(people: list[Person], embedding: np.ndarray) -> tuple[Person | None, float]:
    if not people:
        return None, float("inf")
    distances = np.linalg.norm(np.asarray([p.centroid for p in people]) - embedding, axis=1)
    best = int(np.argmin(distances))
    return people[best], float(distances[best])


def record_faces(session: Session, asset_id: int, detections: records.FaceDetections | None, *, duration: float,
                 threshold: float = 0.5, colour: str = "PURPLE") -> list[int]:
    """Store one asset's faces, cluster them into people and write its appearances. Returns the ids of
    the people seen in it."""
    clear_faces(session, asset_id)
    if detections is None:
        return []
    session.add(FaceScan(asset_id=asset_id, model_version=detections.model_version,
                         sample_times=list(detections.sample_times), skipped=list(detections.skipped)))
    people = list(session.scalars(select(Person).order_by(Person.id)))
    tracks: dict[int, list[records.Face]] = defaultdict(list)
    for face in detections.faces:
        tracks[face.track].append(face)
    seen: list[int] = []
    for track in sorted(tracks):
        faces = tracks[track]
        embeddings = np.asarray([f.embedding for f in faces], dtype=np.float64)
        mean = embeddings.mean(axis=0)
        person, distance = _nearest(people, mean)
        if person is None or distance >= threshold:
            person = Person(centroid=mean.tolist(), faces=0, model_version=detections.model_version)
            session.add(person)
            session.flush()
            people.append(person)
        total = person.faces + len(faces)
        person.centroid = ((np.asarray(person.centroid) * person.faces + embeddings.sum(axis=0)) / total).tolist()
        person.faces = total
        session.add_all(FaceRow(asset_id=asset_id, person_id=person.id, time=f.time, frame=f.frame,
                                left=f.box[0], top=f.box[1], width=f.box[2], height=f.box[3], score=f.score,
                                track=f.track, embedding=list(f.embedding)) for f in faces)
        if person.id not in seen:
            seen.append(person.id)
    session.flush()
    rebuild_appearances(session, asset_id, duration=duration, colour=colour)
    return seen


def _runs(samples: list[float], seen: set[float], duration: float) -> list[tuple[float, float, int]]:
    runs: list[tuple[float, float, int]] = []
    start, count = None, 0
    for i, t in enumerate(samples):
        if t in seen:
            if start is None:
                start, count = t, 0
            count += 1
            continue
        if start is not None:
            runs.append((start, t, count))
            start = None
    if start is not None:
        runs.append((start, max(duration, start), count))
    return runs


def rebuild_appearances(session: Session, asset_id: int, *, duration: float | None = None,
                        colour: str = "PURPLE") -> None:
    """Rewrite one asset's appearances and their markers from its faces."""
    if duration is None:
        duration = session.get(models.Asset, asset_id).duration
    old = select(PersonAppearance.marker_id).where(PersonAppearance.asset_id == asset_id)
    session.execute(delete(models.Marker).where(models.Marker.id.in_(old), models.Marker.verified.is_(False)))
    session.execute(delete(PersonAppearance).where(PersonAppearance.asset_id == asset_id))
    scan = session.get(FaceScan, asset_id)
    rows = session.execute(select(FaceRow.person_id, FaceRow.time).where(FaceRow.asset_id == asset_id,
                                                                         FaceRow.person_id.is_not(None)))
    times: dict[int, set[float]] = defaultdict(set)
    for person_id, t in rows:
        times[person_id].add(t)
    samples = sorted(set(scan.sample_times if scan else []) | {t for ts in times.values() for t in ts})
    for person_id in sorted(times):
        label = session.get(Person, person_id).label
        for start, end, count in _runs(samples, times[person_id], duration):
            marker = models.Marker(asset_id=asset_id, time=start, duration=end - start, name=label,
                                   note=f"{label} on screen", kind="person", colour=colour, source=SOURCE)
            session.add(marker)
            session.flush()
            session.add(PersonAppearance(asset_id=asset_id, person_id=person_id, start=start, end=end,
                                         faces=count, marker_id=marker.id))
    session.flush()


def _assets_of(session: Session, person_ids) -> set[int]:
    return set(session.scalars(select(FaceRow.asset_id).where(FaceRow.person_id.in_(list(person_ids))).distinct()))


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"no person {person_id} (see `cogvlm-media people`)")
    return person


def name_person(session: Session, person_id: int, name: str) -> set[int]:
    """Name a person; every appearance in every file takes the name. Returns the assets changed."""
    person = get_person(session, person_id)
    person.name = name.strip() or None
    session.flush()
    label = person.label
    markers = select(PersonAppearance.marker_id).where(PersonAppearance.person_id == person_id)
    for marker in session.scalars(select(models.Marker).where(models.Marker.id.in_(markers))):
        marker.name, marker.note = label, f"{label} on screen"
    session.flush()
    return _assets_of(session, [person_id])


def merge_people(session: Session, keep_id: int, other_ids: list[int], colour: str = "PURPLE") -> set[int]:
    """Move the faces of ``other_ids`` to ``keep_id`` (which takes a name from them if it has none)."""
    keep = get_person(session, keep_id)
    others = [get_person(session, i) for i in other_ids if i != keep_id]
    assets = _assets_of(session, [keep_id, *(o.id for o in others)])
    for other in others:
        keep.name = keep.name or other.name
        session.execute(FaceRow.__table__.update().where(FaceRow.person_id == other.id).values(person_id=keep.id))
        session.execute(delete(PersonAppearance).where(PersonAppearance.person_id == other.id))
        session.delete(other)
    session.flush()
    _recentre(session, [keep.id])
    for asset_id in sorted(assets):
        rebuild_appearances(session, asset_id, colour=colour)
    return assets


def split_person(session: Session, person_id: int, asset_ids: list[int], colour: str = "PURPLE") -> tuple[int, set[int]]:
    """Move this person's faces in ``asset_ids`` to a new, unnamed person. Returns its id and the assets."""
    person = get_person(session, person_id)
    moving = select(FaceRow.id).where(FaceRow.person_id == person_id, FaceRow.asset_id.in_(asset_ids))
    count = session.scalar(select(func.count()).select_from(moving.subquery()))
    if not count:
        raise PersonNotFound(f"person {person_id} is not seen in asset(s) {', '.join(map(str, asset_ids))}")
    if count == person.faces and not person.name:
        raise ValueError(f"every face of person {person_id} is in those assets: nothing to split off")
    new = Person(centroid=person.centroid, faces=0, model_version=person.model_version)
    session.add(new)
    session.flush()
    session.execute(FaceRow.__table__.update().where(FaceRow.id.in_(moving)).values(person_id=new.id))
    session.flush()
    _recentre(session, [person_id, new.id])
    for asset_id in sorted(asset_ids):
        rebuild_appearances(session, asset_id, colour=colour)
    return new.id, set(asset_ids)
