"""Path mapping and worker ids of the cluster path (no Ray needed)."""

from __future__ import annotations

import pytest

from cogvlm_media.cluster.connect import RayUnavailable, connect, node_of, node_worker_id
from cogvlm_media.cluster.files import mapped_path, open_for_node
from cogvlm_media.store.jobs import _worker_dead


def test_the_longest_prefix_maps_on_whole_path_components():
    path_map = {"/mnt/nas": "/Volumes/NAS", "/mnt/nas/proxies/": "/fast/proxies", "/": "/root-of-all"}
    assert mapped_path("/mnt/nas/day1/a.mov", path_map) == "/Volumes/NAS/day1/a.mov"
    assert mapped_path("/mnt/nas/proxies/a.mov", path_map) == "/fast/proxies/a.mov"
    assert mapped_path("/mnt/nasty/a.mov", {"/mnt/nas": "/x"}) == "/mnt/nasty/a.mov"  # not a component
    assert mapped_path("/mnt/nas", {"/mnt/nas": "/x"}) == "/x"
    assert mapped_path("/srv/a.mov", path_map) == "/root-of-all/srv/a.mov"
    assert mapped_path("/srv/a.mov", {}) == "/srv/a.mov"


def test_a_node_reads_through_its_own_mapping(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.mp4").write_bytes(b"12345")
    conf = tmp_path / "node.toml"
    conf.write_text(f'[cluster]\npath_map = {{ "/nowhere/share" = "{mirror}" }}\n')
    monkeypatch.setenv("COGVLM_MEDIA_CONFIG", str(conf))
    access = open_for_node("/nowhere/share/a.mp4", 5, None, 1 << 20)
    assert (access.path, access.how) == (str(mirror / "a.mp4"), "mapped")
    # a different size under the mapped name is not the same file: nothing to stream from here
    with pytest.raises(FileNotFoundError, match="not visible on this node"):
        open_for_node("/nowhere/share/a.mp4", 6, None, 1 << 20)


def test_cluster_worker_ids_name_their_node_and_are_not_local_pids():
    worker = node_worker_id("0123456789abcdef" * 3)
    assert node_of(worker) == "0123456789ab"
    assert node_of("host:12:34") is None
    import socket

    assert _worker_dead(worker, socket.gethostname()) is False  # only its node's fate (or lease) tells


def test_an_unreachable_head_is_one_line():
    with pytest.raises(RayUnavailable) as caught:
        connect("127.0.0.1:9", timeout=2)
    assert str(caught.value) == ("cannot reach the Ray head at 127.0.0.1:9 (Connection refused); start it "
                                 "with `ray start --head` or pass --ray-fallback local")
