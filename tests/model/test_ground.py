"""vision.ground (used by `search --refine`): one window around a hit, the answer's first time reference
mapped to an absolute time in the file."""

from __future__ import annotations

import pytest

from cogvlm_media.analysis.vision_analyser import ground
from cogvlm_media.config import AnalysisSettings, Settings


class ScriptedChat:
    """Stands in for the model's answers (the tiny random model's words are gibberish); records frames."""

    def __init__(self, answer: str) -> None:
        self.reply, self.seen = answer, []

    def answer(self, requests, max_new_tokens=None):
        self.seen += [r.frames.shape for r in requests]
        return [self.reply for _ in requests]


def test_ground_maps_the_answer_into_the_file(cut_clip, tmp_path):
    settings = Settings(home=tmp_path, analysis=AnalysisSettings(window_seconds=24.0))
    chat = ScriptedChat("The person stands up at 3s.")
    found = ground(settings, str(cut_clip.path), 6.0, 14.0, "when?", chat=chat)
    assert found == pytest.approx(9.0, abs=1 / 25)
    assert chat.seen[0][0] == 9  # 6.0 … 13.96 s at 25 fps: ordinals 0..8
    assert ground(settings, str(cut_clip.path), 6.0, 14.0, "when?", chat=ScriptedChat("It never happens.")) is None
    assert ground(settings, str(cut_clip.path), 500.0, 510.0, "when?", chat=chat) is None


def test_ground_runs_the_real_tiny_model(cut_clip, checkpoint, tmp_path):
    from cogvlm_media.config import ModelSettings

    settings = Settings(home=tmp_path, model=ModelSettings(path=str(checkpoint), max_new_tokens=4))
    result = ground(settings, str(cut_clip.path), 2.0, 8.0, "when does it change?")
    assert result is None or 2.0 <= result <= 8.0


def test_search_refine_reaches_the_model_through_configuration(cut_clip, checkpoint, tmp_path):
    from types import SimpleNamespace

    from cogvlm_media.config import ModelSettings
    from cogvlm_media.search.refine import get_refiner, refine_hits

    settings = Settings(home=tmp_path, model=ModelSettings(path=str(checkpoint), max_new_tokens=4))
    hit = SimpleNamespace(file=str(cut_clip.path), time=5.0, end=5.0, refined=None)
    refine_hits(get_refiner(settings), [hit], "when does it change?")
    assert hit.refined["window"] == [0.0, 11.0]
    assert hit.refined["time"] is None or 0.0 <= hit.refined["time"] <= 11.0
