"""`cogvlm-media finetune`: LoRA on the editors' verified markers; `finetune eval` and `finetune merge`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from cogvlm_media.cli.context import console, err_console, fail, state

finetune_app = typer.Typer(help="Fine-tune CogVLM2-Video (LoRA) on the archive's editor-verified markers.",
                           invoke_without_command=True, no_args_is_help=False)


def _dataset(ctx: typer.Context, assets: list[int], jsonl: Optional[Path], validation: float, seed: int):
    from cogvlm_media.finetune.data import DataError, build_dataset
    from cogvlm_media.store.engine import read_session

    try:
        if jsonl is not None and not assets:
            return build_dataset(None, jsonl=jsonl, validation=validation, seed=seed)
        with read_session(state(ctx).engine) as session:
            return build_dataset(session, assets, jsonl, validation, seed)
    except DataError as exc:
        raise fail(str(exc)) from None


def _errors():
    from cogvlm_media.finetune.train import TrainError
    from cogvlm_media.model.adapter import AdapterError
    from cogvlm_media.model.loading import ModelLoadError

    return (TrainError, AdapterError, ModelLoadError)


def _counts(data) -> str:
    c = data.counts()
    return (f"{c['train_examples']} training example(s) from {c['train_assets']} asset(s), "
            f"{c['validation_examples']} validation from {c['validation_assets']}")


@finetune_app.callback()
def train(
    ctx: typer.Context,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder for the adapter (PEFT layout)."),
    asset: List[int] = typer.Option([], "--asset", help="Train on these assets only (repeatable)."),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help="Also train on an ms-swift JSONL file."),
    target: str = typer.Option("qkv", "--target", help="qkv (attention qkv, the default) or all (every linear layer)."),
    train_glu: bool = typer.Option(False, "--train-glu", help="Also train the vision tower's GLU adapter."),
    epochs: int = typer.Option(3, "--epochs", min=1),
    max_steps: int = typer.Option(0, "--max-steps", min=0, help="Stop after this many optimizer steps (0: epochs)."),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    schedule: str = typer.Option("cosine", "--schedule", help="cosine, linear or constant."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="Warm-up steps."),
    accumulate: int = typer.Option(1, "--accumulate", min=1, help="Examples per optimizer step."),
    rank: int = typer.Option(16, "--rank", min=1),
    alpha: int = typer.Option(32, "--alpha", min=1),
    dropout: float = typer.Option(0.05, "--dropout", min=0.0, max=0.9),
    frames: int = typer.Option(24, "--frames", min=1, max=24, help="At most this many frames per window."),
    validation: float = typer.Option(0.2, "--validation", min=0.0, max=0.9, help="Share of assets held out."),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --output."),
    save_every: int = typer.Option(0, "--save-every", min=0, help="Also checkpoint every N steps (0: each epoch)."),
    checkpointing: bool = typer.Option(True, "--gradient-checkpointing/--no-gradient-checkpointing"),
) -> None:
    """Train a LoRA adapter on the verified markers ([model] path is the base model)."""
    if ctx.invoked_subcommand is not None:
        return
    if output is None:
        raise fail("finetune needs -o/--output FOLDER for the adapter")
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cogvlm_media.finetune.train import TrainSettings
    from cogvlm_media.finetune.workflow import train_adapter

    settings = state(ctx).settings
    data = _dataset(ctx, asset, jsonl, validation, seed)
    err_console.print(_counts(data) + "".join(f"; {n}" for n in data.notes), soft_wrap=True, markup=False)
    options = TrainSettings(target=target, train_glu=train_glu, rank=rank, alpha=alpha, dropout=dropout,
                            epochs=epochs, max_steps=max_steps, learning_rate=lr, warmup_steps=warmup,
                            schedule=schedule, accumulate=accumulate, seed=seed,
                            gradient_checkpointing=checkpointing, frames=frames,
                            save_every=save_every)
    bar = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err_console)
    task = bar.add_task("train", total=None, info="")

    def show(event: dict) -> None:
        info = f"loss {event['loss']:.4f}" if "loss" in event else ""
        if event.get("validation_loss") is not None:
            err_console.print(f"epoch {event['epoch_done']}: validation loss {event['validation_loss']:.4f}",
                              soft_wrap=True, markup=False)
        bar.update(task, total=event["total_steps"], completed=event["step"], **({"info": info} if info else {}))

    try:
        with bar:
            record = train_adapter(settings, data, options, output, resume=resume, progress=show)
    except _errors() as exc:
        raise fail(str(exc)) from None
    final = record["validation_losses"][-1] if record["validation_losses"] else None
    console.print(f"adapter {record['adapter']} written to {output} ({record['steps']} steps"
                  + (f", validation loss {final:.4f}" if final is not None and final == final else "") + ")",
                  soft_wrap=True, markup=False)
    console.print(f'use it: set [model] adapter = "{Path(output).resolve()}"', soft_wrap=True, markup=False)


@finetune_app.command("eval")
def evaluate(
    ctx: typer.Context,
    adapter: Path = typer.Argument(..., help="The adapter folder."),
    asset: List[int] = typer.Option([], "--asset"),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl"),
    validation: float = typer.Option(0.2, "--validation", min=0.0, max=0.9),
    seed: int = typer.Option(0, "--seed", help="The split's seed (the one used for training)."),
    frames: int = typer.Option(24, "--frames", min=1, max=24),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Validation loss and key-moment time error, base model beside the adapted one."""
    from cogvlm_media.finetune.workflow import evaluate_adapter

    data = _dataset(ctx, asset, jsonl, validation, seed)
    try:
        scores = evaluate_adapter(state(ctx).settings, data, adapter, frames)
    except _errors() as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({k: vars(v) for k, v in scores.items()}, indent=2))
        return
    fmt = lambda v, unit="": "–" if v is None else f"{v:.4f}{unit}"  # noqa: E731
    console.print(f"{'':10} {'loss':>10} {'time error':>12} {'moments':>8} {'missed':>7}")
    for name, s in scores.items():
        console.print(f"{name:10} {fmt(s.loss):>10} {fmt(s.time_error, ' s'):>12} {s.moments:>8} {s.missed:>7}")


@finetune_app.command("merge")
def merge(
    ctx: typer.Context,
    adapter: Path = typer.Argument(..., help="The adapter folder."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the merged checkpoint."),
) -> None:
    """Write the base model with the adapter merged in, as a checkpoint the strict loader accepts."""
    from cogvlm_media.finetune.workflow import merge_adapter

    try:
        folder = merge_adapter(state(ctx).settings, adapter, output)
    except _errors() as exc:
        raise fail(str(exc)) from None
    console.print(f"merged checkpoint written to {folder}", soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(finetune_app, name="finetune")
