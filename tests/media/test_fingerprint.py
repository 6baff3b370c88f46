"""The pinned content key: SHA-256 over decimal size text + first 1 MiB + last 1 MiB."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from cogvlm_media.media.fingerprint import fingerprint

MIB = 1024 * 1024


def independent(path) -> str:
    data = open(path, "rb").read()
    return hashlib.sha256(str(len(data)).encode() + data[:MIB] + data[-MIB:]).hexdigest()


@pytest.mark.parametrize("size", [1, 1000, MIB, MIB + 1, 2 * MIB, 2 * MIB + 12345, 5 * MIB + 7])
def test_matches_independent_formula(tmp_path, size):
    path = tmp_path / f"f{size}.bin"
    path.write_bytes(os.urandom(size))
    key = fingerprint(path)
    assert key == independent(path)
    assert len(key) == 64 and key == key.lower()


def test_known_value_small_file(tmp_path):
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    # size "3", then the whole file as first and as last MiB
    assert fingerprint(path) == hashlib.sha256(b"3abcabc").hexdigest()


def test_renamed_copy_same_key_modified_different(tmp_path, cut_clip):
    assert cut_clip.path.stat().st_size > MIB  # the rendered clip exercises both chunks
    copy = tmp_path / "renamed copy.mov"
    shutil.copyfile(cut_clip.path, copy)
    assert fingerprint(copy) == fingerprint(cut_clip.path) == independent(copy)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MIB))
    before = fingerprint(big)
    with open(big, "r+b") as fh:  # change one byte in the last MiB
        fh.seek(3 * MIB - 10)
        fh.write(b"\x00" if fh.read(1) != b"\x00" else b"\x01")
    assert fingerprint(big) != before
    big.write_bytes(big.read_bytes() + b"x")  # one byte appended
    assert fingerprint(big) != before
