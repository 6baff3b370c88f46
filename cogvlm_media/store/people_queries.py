"""Read-side queries for people: the list, one person by id or name, appearances and an asset's faces."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cogvlm_media.store.models import Asset, AssetPath
from cogvlm_media.store.people import FaceRow, FaceScan, Person, PersonAppearance
from cogvlm_media.store.people_writer import PersonNotFound


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str | None
    label: str
    faces: int
    assets: int
    appearances: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Appearance:
    person_id: int
    label: str
    asset_id: int
    file: str
    start: float
    end: float
    faces: int
    marker_id: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def list_people(session: Session) -> list[PersonSummary]:
    counts = (select(PersonAppearance.person_id, func.count().label("n"),
                     func.count(func.distinct(PersonAppearance.asset_id)).label("assets"))
              .group_by(PersonAppearance.person_id).subquery())
    rows = session.execute(select(Person, func.coalesce(counts.c.n, 0), func.coalesce(counts.c.assets, 0))
                           .outerjoin(counts, counts.c.person_id == Person.id).order_by(Person.id))
    return [PersonSummary(p.id, p.name, p.label, p.faces, int(a), int(n)) for p, n, a in rows]


def find_person(session: Session, ref: str | int) -> Person:
    """A person by id or by name (case-insensitive, exact)."""
    text = str(ref).strip()
    if text.isdigit():
        person = session.get(Person, int(text))
        if person is not None:
            return person
    matches = list(session.scalars(select(Person).where(func.lower(Person.name) == text.lower())))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise PersonNotFound(f"{len(matches)} people are named {text!r}: use an id (see `cogvlm-media people`)")
    raise PersonNotFound(f"no person {text!r} (see `cogvlm-media people`)")


def _first_path(session: Session, asset_id: int) -> str:
    return session.scalar(select(AssetPath.path).where(AssetPath.asset_id == asset_id).order_by(AssetPath.id)) or ""


def appearances(session: Session, person_id: int | None = None, asset_id: int | None = None) -> list[Appearance]:
    """Appearances of one person and/or in one asset, by asset then time."""
    query = select(PersonAppearance, Person).join(Person, Person.id == PersonAppearance.person_id)
    if person_id is not None:
        query = query.where(PersonAppearance.person_id == person_id)
    if asset_id is not None:
        query = query.where(PersonAppearance.asset_id == asset_id)
    rows = session.execute(query.order_by(PersonAppearance.asset_id, PersonAppearance.start))
    paths: dict[int, str] = {}
    out = []
    for app, person in rows:
        if app.asset_id not in paths:
            paths[app.asset_id] = _first_path(session, app.asset_id)
        out.append(Appearance(person.id, person.label, app.asset_id, paths[app.asset_id], app.start, app.end,
                              app.faces, app.marker_id))
    return out


def appearance_spans(session: Session, asset_id: int) -> list[dict]:
    """The asset's appearances in time order: ``person_id``, ``name`` (null until an editor names the
    person), ``start``, ``end`` (seconds from the file's first frame); for exports."""
    rows = session.execute(select(PersonAppearance.person_id, Person.name, PersonAppearance.start,
                                  PersonAppearance.end).join(Person, Person.id == PersonAppearance.person_id)
                           .where(PersonAppearance.asset_id == asset_id)
                           .order_by(PersonAppearance.start, PersonAppearance.person_id))
    return [{"person_id": pid, "name": name, "start": a, "end": b} for pid, name, a, b in rows]


def face_strip(session: Session, asset_id: int) -> list[dict]:
    """One entry per person seen in the asset: the first time and the box of their best face there."""
    best: dict[int, FaceRow] = {}
    for face in session.scalars(select(FaceRow).where(FaceRow.asset_id == asset_id, FaceRow.person_id.is_not(None))
                                .order_by(FaceRow.time)):
        kept = best.get(face.person_id)
        if kept is None or face.score > kept.score:
            best[face.person_id] = face
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(list(best))))}
    strip = [{"person_id": pid, "label": people[pid].label, "time": f.time, "frame": f.frame,
              "box": [f.left, f.top, f.width, f.height]} for pid, f in best.items()]
    return sorted(strip, key=lambda s: s["time"])


def best_faces(session: Session, person_ids) -> dict[int, dict]:
    """Each person's best face anywhere (asset, time, box), for the people page's pictures."""
    best: dict[int, FaceRow] = {}
    for face in session.scalars(select(FaceRow).where(FaceRow.person_id.in_(list(person_ids)))):
        if face.person_id not in best or face.score > best[face.person_id].score:
            best[face.person_id] = face
    return {pid: {"asset_id": f.asset_id, "time": f.time, "box": [f.left, f.top, f.width, f.height]}
            for pid, f in best.items()}


def scan_of(session: Session, asset_id: int) -> FaceScan | None:
    return session.get(FaceScan, asset_id)


def asset_exists(session: Session, asset_id: int) -> bool:
    return session.get(Asset, asset_id) is not None
