"""The speakers routes: list an asset's speakers and name a voice (then shown on its transcript)."""

from __future__ import annotations

API = "/api/v1"


def test_list_and_name_a_speaker(client, archive):
    listed = client.get(f"{API}/assets/{archive.speech}/speakers")
    assert listed.status_code == 200
    speakers = listed.json()["speakers"]
    assert [(s["label"], s["name"]) for s in speakers] == [("Speaker 1", None)]  # the one espeak-ng voice
    assert speakers[0]["turns"] >= 1 and speakers[0]["model_version"].startswith("resemblyzer-")

    named = client.put(f"{API}/assets/{archive.speech}/speakers/Speaker 1", json={"name": "Narrator"})
    assert named.status_code == 200, named.text
    assert named.json()["assets_changed"] == [archive.speech]
    assert named.json()["speakers"][0]["name"] == "Narrator"
    doc = client.get(f"{API}/assets/{archive.speech}").json()
    assert doc["transcript"]["segments"] and {s["speaker"] for s in doc["transcript"]["segments"]} == {"Narrator"}
    assert {t["speaker"] for t in doc["speaker_turns"]} == {"Narrator"}
    # the name is searchable: every segment of that voice, and nothing else
    found = client.get(f"{API}/search", params={"q": "Narrator", "mode": "lexical", "limit": 100}).json()
    ids = [h["id"] for h in found["hits"]] + [c["id"] for h in found["hits"] for c in h["collapsed"]]  # 5 s apart
    assert sorted(ids) == sorted(s["id"] for s in doc["transcript"]["segments"])
    assert {h["source"] for h in found["hits"]} == {"segment"}
    texts = {f"Narrator: {s['text']}" for s in doc["transcript"]["segments"]}
    assert found["hits"] and all(h["text"] in texts for h in found["hits"])


def test_bad_speaker_requests(client, archive):
    missing = client.put(f"{API}/assets/{archive.speech}/speakers/Speaker 9", json={"name": "X"})
    assert missing.status_code == 404 and "Speaker 9" in missing.json()["error"]["message"]
    blank = client.put(f"{API}/assets/{archive.speech}/speakers/Speaker 1", json={"name": "   "})
    assert blank.status_code == 422
    assert client.get(f"{API}/assets/999999/speakers").status_code == 404
