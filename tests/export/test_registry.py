"""The export format registry: one record per format, and which format a marker file is read as."""

from __future__ import annotations

import pytest

from cogvlm_media.export.formats import all_formats, detect, format_names, get_format
from cogvlm_media.export.markers_import import ImportFailed


def test_records_name_their_files_and_say_what_they_do():
    names = format_names()
    assert names == ["otio", "edl-resolve", "edl", "fcp7xml", "fcpxml", "ffmetadata", "vtt", "youtube", "mkvxml",
                     "srt", "vtt-captions", "json", "csv"]
    assert format_names(readable=True) == ["otio", "edl-resolve", "edl", "fcp7xml", "fcpxml", "json"]
    for fmt in all_formats():
        assert get_format(fmt.name) is fmt
        assert fmt.suffix.startswith(".") and fmt.description
        assert (fmt.write is None) != (fmt.chapter_writer is None), fmt.name  # one kind of writer
        assert (fmt.read is None) == (fmt.detect is None), fmt.name
    assert get_format("aaf") is None
    assert get_format("json").suffixes == (".markers.json", ".json")


OTIO = '{"OTIO_SCHEMA": "Timeline.1", "name": "x"}'
RESOLVE = "TITLE: t\r\nFCM: NON-DROP FRAME\r\n\r\n001  001      V     C        01:00:00:00 01:00:00:01 " \
          "01:00:00:00 01:00:00:01  \r\n |C:ResolveColorBlue |M:m |D:1\r\n"


@pytest.mark.parametrize("name,text,expected", [
    ("a.otio", "{}", "otio"),
    ("a.json", OTIO, "otio"),  # the schema wins over the suffix, as the registry lists otio first
    ("a.txt", OTIO, "otio"),
    ("a.json", "<xmeml>", "json"),  # a suffix is surer than a root element
    ("a.xml", '<?xml version="1.0"?>\n<!DOCTYPE xmeml>\n<xmeml version="5">', "fcp7xml"),
    ("a.xml", '<?xml version="1.0"?>\n<fcpxml version="1.9">', "fcpxml"),
    ("a.xml", "<xmeml>\n001 |C: |M:", "fcp7xml"),  # a root element is surer than a text pattern
    ("a.edl", RESOLVE, "edl-resolve"),
    ("a.edl", RESOLVE.replace("|C:ResolveColorBlue |M:m |D:1", "* LOC: 01:00:00:00 RED M"), "edl"),
])
def test_detect_picks_the_surest_format(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect(path).name == expected
    assert detect(path, text).name == expected


def test_detect_refuses_other_files_in_one_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        detect(path)
    assert str(info.value) == f"{path}: not a marker file cogvlm-media can read (otio, edl-resolve, edl, fcp7xml, " \
                              "fcpxml, json)"
