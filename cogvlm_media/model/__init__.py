"""Native CogVLM2-Video: the official checkpoints on current PyTorch and transformers, no remote code.

- ``config``: the published configuration (and ``tiny()`` for tests),
- ``vision_tower`` / ``language``: the model, with the checkpoint's parameter names,
- ``inputs``: preprocessing, token layout and position ids as the reference builds them,
- ``generation``: batched greedy decoding (static cache, CUDA graphs) and the reference flow,
- ``loading`` / ``quantize`` / ``fp8``: strict safetensors loading, hub fetching, optional bitsandbytes,
  opt-in FP8 (e4m3) vision tower on Ada/Hopper GPUs,
- ``engine``: ``VideoChat``, batched questions over clips or text; ``prefix_sharing``: several questions
  over one clip on one vision pass and one prefill of their common prefix,
- ``window_batcher``: one GPU thread answering the windows of many files together,
- ``batch_size``: the automatic batch size from free GPU memory; ``prompts``: the analyser's questions.
"""

from cogvlm_media.model.config import CogVLMVideoConfig, VisionConfig, tiny
from cogvlm_media.model.engine import Questions, Request, VideoChat, resolve_device, resolve_dtype
from cogvlm_media.model.language import CogVLMVideoForCausalLM
from cogvlm_media.model.loading import CheckpointMismatch, ModelLoadError, load_model, save_model

__all__ = [
    "CheckpointMismatch", "CogVLMVideoConfig", "CogVLMVideoForCausalLM", "ModelLoadError", "Questions", "Request",
    "VideoChat",
    "VisionConfig", "load_model", "resolve_device", "resolve_dtype", "save_model", "tiny",
]
