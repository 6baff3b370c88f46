"""Effective settings: defaults < TOML file < environment.

The TOML file lives at ``$XDG_CONFIG_HOME/cogvlm-media/config.toml`` (``~/.config/...`` when unset)
unless ``--config`` names another. ``COGVLM_MEDIA_HOME`` moves the data folder and
``COGVLM_MEDIA_DB`` replaces the database URL.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_HOME = "COGVLM_MEDIA_HOME"
ENV_DB = "COGVLM_MEDIA_DB"
ENV_CONFIG = "COGVLM_MEDIA_CONFIG"

VIDEO_EXTENSIONS = (
    ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".mts", ".m2ts", ".ts", ".mpg", ".mpeg",
    ".wmv", ".flv", ".3gp", ".ogv", ".dv",
)

# Default marker colour per kind, as OpenTimelineIO colour names.
DEFAULT_COLOURS = {
    "scene": "BLUE",
    "speech": "GREEN",
    "moment": "YELLOW",
    "editor": "RED",
    "person": "PURPLE",
    "text": "CYAN",  # on-screen text (slates, lower thirds, title cards)
}


class ConfigError(ValueError):
    """The configuration file or an override cannot be used."""


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_config_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "cogvlm-media" / "config.toml"


def default_home() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "cogvlm-media"


@dataclass(frozen=True)
class AnalysisSettings:
    analyser: str = "auto"  # "auto" (vision when model.path is set, else embedded), "embedded", "vision"
    window_seconds: float = 24.0
    scene_min_seconds: float = 8.0  # the embedded analyser merges shorter shots into scenes
    speech_language: str = "en"
    whisper_model: str = ""  # empty: the bundled tiny.en
    vad: bool = True
    speech_workers: int = 1  # files transcribed at once (faster-whisper workers); the CPU threads are shared out
    shot_threshold: float = 0.5
    shot_device: str = "auto"  # where TransNetV2 runs: "auto" (the first CUDA device if any, else "cpu"), "cpu", "cuda:0"
    faces: bool = True  # the faces stage (needs the [see] extra; skipped with one line when missing)
    face_interval: float = 3.0  # seconds between sampled frames within a shot (shot starts always)
    face_detect_width: int = 640  # frames are scaled to this width for detection and embedding
    face_min_score: float = 0.5  # dlib HOG detector score below which a box is not taken as a face
    face_threshold: float = 0.5  # embedding distance under which a face joins a person
    speakers: bool = True  # the speakers stage (needs the [see] extra's voice encoder)
    speaker_threshold: float = 0.27  # cosine distance: windows closer than this are one speaker
    speaker_match: float = 0.25  # cosine distance: a file's voice this close to a named voice takes its name


@dataclass(frozen=True)
class ModelSettings:
    path: str = ""  # local checkpoint folder or hub id; empty disables the vision analyser
    revision: str = ""
    device: str = "auto"
    dtype: str = "auto"
    quantization: str = ""  # "", "4bit", "8bit" or "fp8" (vision tower in e4m3; compute capability >= 8.9)
    fused: bool = True  # on CUDA with Triton: compile the language model's norms, MLP and rotary (model/fused.py)
    batch_size: int = 0  # sequences (questions) per batch; 0: from free GPU memory on CUDA, 8 on the CPU
    max_new_tokens: int = 256
    adapter: str = ""  # a LoRA adapter folder (cogvlm-media finetune, peft or ms-swift); empty: none
    adapter_merge: bool = True  # merge it into the weights at load (fused layers, CUDA graphs unchanged)
    # the cross-file window batcher (ingest/batched.py): "auto" = on when path is set and CUDA is present,
    # "on" forces it (also on the CPU), "off" keeps one file at a time
    batched: str = "auto"
    # decoder of the window frames (media/frame_source.py): "auto" = NVDEC (decoding each file once, on the
    # GPU, for shots and windows) when CUDA and PyNvVideoCodec are there, else "decord"
    frame_source: str = "auto"
    # GPU memory kept from PyTorch for each file NVDEC decodes (the decoders allocate outside its cache)
    decoder_reserve_gib: float = 1.0
    files_in_flight: int = 0  # files analysed at once by the batched path; 0: one per CPU core, 4-16
    queue_windows: int = 0  # decoded windows waiting for the model at most; 0: one batch's worth
    linger_seconds: float = 0.5  # how long a part-filled batch waits for files still in their CPU stages


@dataclass(frozen=True)
class WatchSettings:
    stable_seconds: float = 5.0
    stable_seconds_network: float = 15.0
    reconcile_seconds: float = 300.0
    lease_seconds: float = 120.0
    max_attempts: int = 3
    backoff_seconds: float = 15.0
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS
    # added for the watch daemon (README: Watch folders)
    close_hint_seconds: float = 1.0  # shorter stability window after a close-after-write event (local only)
    poll_seconds: float = 2.0  # interval of the polling observer (network mounts, --poll)
    probe_check: bool = True  # ffprobe must read a stable file before it is queued
    probe_workers: int = 4  # ffprobe checks at once, beside the daemon's loop
    workers: int = 1
    shutdown_seconds: float = 30.0  # on SIGTERM/SIGINT: how long a running job may finish before release


@dataclass(frozen=True)
class ExportSettings:
    start_timecode: str = "01:00:00:00"
    colours: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLOURS))


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = ""  # required (here, --token or COGVLM_MEDIA_TOKEN) when binding to a non-loopback address
    max_body_bytes: int = 65536


@dataclass(frozen=True)
class ClusterSettings:
    """The Ray cluster (cogvlm_media/cluster, docs/deploy.md); ``path_map`` is read on each node from its own
    config file: {prefix as the driver names files: the same folder as this node mounts it}."""

    ray_address: str = ""  # host:port of the Ray head (ingest/watch --ray); empty: run locally
    fallback: str = ""  # "local": run here when the head cannot be reached (--ray-fallback local)
    path_map: dict[str, str] = field(default_factory=dict)
    same_paths: bool = True  # this node sees the driver's paths as they are (false: path_map or streaming only)
    files_in_flight: int = 0  # files analysed at once across the cluster; 0: the cluster's CPU count
    gpus: int = 0  # model replicas (one actor each); 0: one per GPU in the cluster (vision analyser only)
    gpu_resource: str = "GPU"  # the Ray resource a replica takes one of ("GPU": num_gpus=1)
    queue_windows: int = 4  # windows of one file in flight to its replica at most (backpressure)
    stream_chunk_bytes: int = 8 << 20  # bytes per read when a node copies a file it cannot see


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    database_url: str = ""
    config_path: Path | None = None
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    # [plugins.NAME] tables, read by the plugin of that name (docs/plugins.md); not checked here
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'cogvlm-media.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["home"] = str(self.home)
        data["config_path"] = str(self.config_path) if self.config_path else None
        data["database_url"] = self.db_url
        data["watch"]["extensions"] = list(self.watch.extensions)
        if self.server.token:
            data["server"]["token"] = "(set)"  # never printed
        if not self.plugins:
            del data["plugins"]  # printed only when a plugin has settings
        return data


_SECTIONS = {"analysis": AnalysisSettings, "model": ModelSettings, "watch": WatchSettings,
             "export": ExportSettings, "server": ServerSettings, "cluster": ClusterSettings}


def _section(cls: type, raw: Any, name: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(unknown)}")
    values = dict(raw)
    if "extensions" in values:
        values["extensions"] = tuple(e if e.startswith(".") else "." + e for e in values["extensions"])
    if "colours" in values:
        values["colours"] = {**DEFAULT_COLOURS, **{k: str(v).upper() for k, v in values["colours"].items()}}
    return cls(**values)


def load_settings(config_path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the effective settings. An explicitly named config file must exist."""
    explicit = config_path or os.environ.get(ENV_CONFIG)
    path = Path(explicit).expanduser() if explicit else default_config_path()
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    elif explicit:
        raise ConfigError(f"{path}: config file not found")

    settings = Settings(config_path=path if path.exists() else None)
    top = {k: v for k, v in raw.items() if k not in _SECTIONS}
    unknown = sorted(set(top) - {"home", "database_url", "plugins"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    if "home" in top:
        changes["home"] = Path(str(top["home"])).expanduser()
    if "database_url" in top:
        changes["database_url"] = str(top["database_url"])
    if "plugins" in top:
        tables = top["plugins"]
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise ConfigError(f"{path}: [plugins] holds one table per plugin, e.g. [plugins.NAME]")
        changes["plugins"] = tables
    for name, cls in _SECTIONS.items():
        if name in raw:
            changes[name] = _section(cls, raw[name], name)

    if os.environ.get(ENV_HOME):
        changes["home"] = Path(os.environ[ENV_HOME]).expanduser()
    if os.environ.get(ENV_DB):
        changes["database_url"] = os.environ[ENV_DB]
    return replace(settings, **changes)
