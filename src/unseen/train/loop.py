"""The training loop every task shares: epochs, time limit, checkpoints, resume, logs, curves, DDP.

A task (``SegmenterTrainer``, later the inpainter and the flow completer) subclasses :class:`Trainer` and
overrides what differs: :meth:`~Trainer.build_model`, :meth:`~Trainer.build_datasets`,
:meth:`~Trainer.compute_loss`, :meth:`~Trainer.validate` and :meth:`~Trainer.model_card`. The loop
writes into the run folder:

- ``best.pt`` (the model that scored best on validation: usable as ``--model RUN/best.pt``),
- ``last.pt`` (the same plus optimiser, scheduler, random generators and position: ``--resume RUN``),
- ``metrics.csv`` (one row per epoch) and ``curves.png`` (loss and scores per epoch).

Randomness is a function of the seed, the epoch and the sample alone (the sampler hands every sample its
own seed), so a resumed run, with any number of data workers, continues exactly as the uninterrupted run
would have. Under ``torchrun`` the batches are split between the processes (DistributedDataParallel);
only the first process validates and writes.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from unseen.errors import InputError
from unseen.progress import redraw_interval
from unseen.train.checkpoint import BEST, LAST, load_checkpoint, rng_state, save_checkpoint, set_rng_state

SCHEDULES = ("plateau", "cosine")
MAX_EPOCHS = 1000  # without --epochs, a run ends by the time limit or patience long before this
GPU_WORKERS = 4
PLATEAU_FACTOR, PLATEAU_PATIENCE = 0.5, 3
PLATEAU_STOP = 10  # epochs without a better score before a plateau-scheduled run stops
# Validation takes a while too: a time limit stops training early enough for one more validation.
VALIDATION_MARGIN = 1.2


@dataclass
class TrainOptions:
    """How to train (the model and data are the task's business).

    Attributes
    ----------
    epochs : int or None
        Passes over the training split; None: until the time limit or early stopping (at most 1000).
    time_limit : float or None
        Minutes; training stops in time for a last validation and keeps the best checkpoint.
    batch : int
        Samples per step (per process under torchrun).
    lr, weight_decay : float
        AdamW's learning rate and decoupled weight decay.
    schedule : str or None
        ``plateau``: halve the rate after 3 epochs without a better score; ``cosine``: decay to zero over
        the run: over ``epochs``, or else over the time limit (by the clock: the rate reaches zero when
        the time is up, however fast the steps turn out to be). None: cosine when the run has a length
        (``epochs`` or ``time_limit``), plateau otherwise.
    patience : int or None
        Stop after this many epochs without a better score (0: never). None: 10 with the plateau
        schedule; never with cosine, whose run has a planned length (stopped early, it would leave the
        rate high and the model unsettled).
    workers : int or None
        Data-loading processes (augmentation runs in them); 0 loads in the training process. None: 0 on
        the CPU (augmenting a batch takes ~5 % of a training step there, and a worker would take a core
        from the network), :data:`GPU_WORKERS` on CUDA.
    device : str
        ``cpu``, ``cuda`` or ``cuda:N``.
    seed : int
        Seeds the split-independent randomness: weights, order, augmentation.
    amp : bool
        Mixed precision on CUDA (ignored on the CPU).
    threads : int or None
        CPU threads for torch in the training process; None: torch's default.
    show_progress : bool
        A progress bar with the live loss, and one line per epoch, on stderr.
    """

    epochs: int | None = None
    time_limit: float | None = None
    batch: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str | None = None
    patience: int | None = None
    workers: int | None = None
    device: str = "cpu"
    seed: int = 0
    amp: bool = True
    threads: int | None = None
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.schedule is None:
            self.schedule = "cosine" if self.epochs is not None or self.time_limit is not None else "plateau"

    def check(self) -> None:
        """Raise :class:`InputError` for values that cannot work."""
        for name in ("epochs", "batch", "patience", "workers", "threads"):
            value = getattr(self, name)
            if value is not None and value < (0 if name in ("patience", "workers") else 1):
                raise InputError(f"{name} must be {'0 or more' if name in ('patience', 'workers') else 'positive'}, "
                                 f"got {value}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise InputError(f"time limit must be positive minutes, got {self.time_limit}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise InputError(f"learning rate must be positive and weight decay 0 or more, got {self.lr}, "
                             f"{self.weight_decay}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
        if self.schedule == "cosine" and self.epochs is None and self.time_limit is None:
            raise InputError("the cosine schedule needs a length: give --epochs or --time-limit")




class SeededBatches(Sampler):
    """Batches of ``(index, seed)`` pairs: a fresh order per epoch, every sample with its own seed.

    Both come from (seed, epoch) alone, so the run can stop anywhere and resume from ``start`` batches
    into an epoch. Under DDP each process takes every ``world``-th batch of the same order.
    """

    def __init__(self, size: int, batch: int, seed: int, epoch: int, start: int = 0, rank: int = 0,
                 world: int = 1) -> None:
        self.size, self.batch, self.seed, self.epoch = size, batch, seed, epoch
        self.start, self.rank, self.world = start, rank, world

    def batches(self) -> list[list[tuple[int, int]]]:
        """Every batch of the epoch (the last one dropped if short, so batch norm never sees one sample)."""
        generator = np.random.default_rng([self.seed, self.epoch])
        order = generator.permutation(self.size)
        seeds = generator.integers(0, 2 ** 31, self.size)
        pairs = [(int(i), int(s)) for i, s in zip(order, seeds, strict=True)]
        count = max(1, len(pairs) // self.batch) if len(pairs) >= 2 else 1
        all_batches = [pairs[b * self.batch:(b + 1) * self.batch] for b in range(count)]
        usable = len(all_batches) // self.world * self.world or len(all_batches)
        return all_batches[:usable][self.rank::self.world]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        yield from self.batches()[self.start:]

    def __len__(self) -> int:
        return max(0, len(self.batches()) - self.start)


@dataclass
class _Progress:
    """Where the run is: saved in ``last.pt`` so that ``--resume`` picks up from here."""

    epoch: int = 0          # the epoch in progress (0-based)
    batch: int = 0          # batches of it already done
    step: int = 0           # optimiser steps since the start
    best: float = -math.inf
    bad_epochs: int = 0
    seconds: float = 0.0    # training time spent before this process started


class Trainer:
    """Trains one task's model into a run folder; subclasses say what the model, data and loss are."""

    task = "base"
    score_key = "score"  # the validation metric that picks best.pt (higher is better)
    max_grad_norm: float | None = None  # gradients are clipped to this norm (None: not clipped)

    def __init__(self, run: str | os.PathLike, options: TrainOptions, resume: bool = False) -> None:
        options.check()
        self.run, self.options, self.resume = Path(run), options, resume
        self.rank, self.world = _distributed_rank()
        self.device = _device(options.device, self.rank)
        self.state = _Progress()
        self.stop_requested: Callable[[], bool] = lambda: False  # tests stop a run mid-epoch through this

    # What a task overrides ------------------------------------------------------------------------------

    def build_model(self) -> nn.Module:
        """The network to train, on the CPU, with its starting weights."""
        raise NotImplementedError

    def build_datasets(self) -> tuple[Dataset, Dataset]:
        """Training and validation datasets; training items are fetched by ``(index, seed)``."""
        raise NotImplementedError

    def compute_loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        """The training loss of one batch (already on the device)."""
        raise NotImplementedError

    def validate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """Scores on the validation split; must hold :attr:`score_key` and ``loss``."""
        raise NotImplementedError

    def model_card(self) -> dict[str, Any]:
        """What a checkpoint needs besides the weights to be used (architecture, classes, input)."""
        raise NotImplementedError

    # The loop ---------------------------------------------------------------------------------------------

    def fit(self) -> dict[str, float]:
        """Train until the epochs, the time limit or the patience run out; return the best scores.

        Ctrl-C saves ``last.pt`` at the batch reached (``--resume`` goes on from there) and re-raises.
        """
        self._started = time.monotonic()
        if self.options.threads:
            torch.set_num_threads(self.options.threads)
        resumed = self._load_resume() if self.resume else None
        if resumed is None:
            torch.manual_seed(self.options.seed)
        train_set, val_set = self.build_datasets()
        # Channels-last runs the grouped and depth-wise convolutions of these networks ~10-25 % faster.
        model = self.build_model().to(self.device, memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.options.lr, weight_decay=self.options.weight_decay)
        self._epoch_batches = len(SeededBatches(len(train_set), self.options.batch, 0, 0, 0, self.rank, self.world))
        if self._epoch_batches == 0:
            raise InputError(f"{len(train_set)} training samples make fewer batches of {self.options.batch} than "
                             f"there are processes ({self.world}); use a smaller --batch or fewer processes")
        scheduler = self._scheduler(optimizer)
        if resumed is not None:  # after the scheduler, which sets the rate when it is made
            model.load_state_dict(resumed["model"])
            optimizer.load_state_dict(resumed["trainer"]["optimizer"])
            scheduler.load_state_dict(resumed["trainer"]["scheduler"])
            set_rng_state(resumed["trainer"]["rng"])
        trained = nn.parallel.DistributedDataParallel(model) if self.world > 1 else model
        scaler = torch.amp.GradScaler("cuda", enabled=self._amp)
        val_loader = DataLoader(val_set, batch_size=1, generator=_own_generator())
        train_loader = self._loader(train_set)
        if self.rank == 0:
            self.run.mkdir(parents=True, exist_ok=True)
        best: dict[str, float] = {}
        try:
            while self.state.epoch < self._epochs():
                finished = self._train_epoch(trained, optimizer, scheduler, scaler, train_loader)
                scores = self._end_epoch(model, optimizer, scheduler, val_loader, finished)
                best = scores if scores["best"] or not best else best
                if not finished or self._patience_out():
                    break
            if self.world > 1:
                # Every process is past its last collective before any of them tears the group down: gloo
                # aborts (SIGABRT) a process whose peer has already gone (seen in 2 of ~20 CI runs).
                dist.barrier()
        except KeyboardInterrupt:
            if self.rank == 0 and self.run.is_dir():  # a run folder deleted under the run: nothing to resume
                save_checkpoint(self.run / LAST, self._last_payload(model, optimizer, scheduler, {}))
            raise
        finally:
            if self.world > 1:
                dist.destroy_process_group()
        return best

    def _loader(self, train_set: Dataset) -> DataLoader:
        """One loader for the whole run; each epoch sets its sampler's epoch and start before iterating.

        Workers persist between epochs and are started by a fork server: forked straight from a
        process that runs threads (torch's, a progress bar's), a worker can inherit a held lock and hang.
        """
        sampler = SeededBatches(len(train_set), self.options.batch, self.options.seed, 0, 0, self.rank, self.world)
        workers = self.options.workers
        if workers is None:
            workers = GPU_WORKERS if self.device.type == "cuda" else 0
        context = None
        if workers:
            methods = multiprocessing.get_all_start_methods()
            context = "forkserver" if "forkserver" in methods else "spawn"
        return DataLoader(train_set, batch_sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                          multiprocessing_context=context, pin_memory=self.device.type == "cuda",
                          worker_init_fn=_one_thread, generator=_own_generator())

    def _train_epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                     scaler: torch.amp.GradScaler, loader: DataLoader) -> bool:
        """One epoch from the saved position; False if it was cut short by the time limit or a stop."""
        sampler = loader.batch_sampler
        sampler.epoch, sampler.start = self.state.epoch, self.state.batch
        model.train()
        bar = tqdm(total=len(sampler) + self.state.batch, initial=self.state.batch, leave=False,
                   desc=f"epoch {self.state.epoch + 1}/{self._epochs_text()}", unit="batch", dynamic_ncols=True,
                   disable=not (self.options.show_progress and self.rank == 0), file=sys.stderr,
                   mininterval=redraw_interval())
        losses = []
        try:
            for batch in loader:
                loss = self._step(model, optimizer, scaler, _to(batch, self.device))
                if self.options.schedule == "cosine":
                    scheduler.step()
                losses.append(loss)
                self.state.batch += 1
                self.state.step += 1
                bar.update()
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                if self._should_stop():
                    return False
        finally:
            bar.close()
            self._epoch_loss = float(np.mean(losses)) if losses else math.nan
        return True

    def _step(self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
              batch: Any) -> float:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=self._amp):
            loss = self.compute_loss(model, batch)
        if not torch.isfinite(loss):  # the settings diverge: say so in one line rather than train on NaN
            raise InputError(f"the loss became {loss.item()} at step {self.state.step}; try a lower --lr "
                             f"(last.pt in {self.run} holds the last finished epoch)")
        scaler.scale(loss).backward()
        if self.max_grad_norm is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), self.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        return float(loss.item())

    def _end_epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                   val_loader: DataLoader, finished: bool) -> dict[str, Any]:
        """Validate, log, checkpoint; on a finished epoch also step the plateau schedule and patience.

        A cut-short epoch changes nothing a continuation depends on, so ``--resume`` goes on as if
        the run had never stopped.
        """
        epoch_done = self.state.epoch + (1.0 if finished else self.state.batch / max(1, self._epoch_batches))
        scores = self._validate(model, val_loader)
        improved = scores[self.score_key] > self.state.best
        if finished:
            if self.options.schedule == "plateau":
                scheduler.step(scores[self.score_key])
            self.state.bad_epochs = 0 if improved else self.state.bad_epochs + 1
            self.state.epoch, self.state.batch = self.state.epoch + 1, 0
        if improved:
            self.state.best = scores[self.score_key]
        if self.rank == 0:
            self._write(model, optimizer, scheduler, scores, epoch_done, improved)
        return {**scores, "epoch": epoch_done, "best": improved}

    def _write(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, scores: dict[str, float],
               epoch_done: float, improved: bool) -> None:
        """Checkpoints, the metrics row, the curves and the epoch's line."""
        last = self._last_payload(model, optimizer, scheduler, scores, epoch_done)
        if improved:
            save_checkpoint(self.run / BEST, {k: v for k, v in last.items() if k != "trainer"})
        save_checkpoint(self.run / LAST, last)
        row = {"epoch": round(epoch_done, 3), "seconds": round(self._spent(), 1),
               "lr": optimizer.param_groups[0]["lr"], "train_loss": self._epoch_loss,
               **{f"val_{k}": v for k, v in scores.items()}}
        _append_row(self.run / "metrics.csv", row)
        _plot_curves(self.run / "metrics.csv", self.run / "curves.png", self.score_key)
        if self.options.show_progress:
            mark = " (best)" if improved else ""
            tqdm.write(f"epoch {round(epoch_done, 2):g}: loss {self._epoch_loss:.4f}, val {self.score_key} "
                       f"{scores[self.score_key]:.4f}{mark}, {self._spent():.0f} s", file=sys.stderr)

    def _last_payload(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                      scores: dict[str, float], epoch_done: float | None = None) -> dict[str, Any]:
        """The model card and weights, plus everything ``--resume`` needs."""
        if epoch_done is None:
            epoch_done = self.state.epoch + self.state.batch / max(1, self._epoch_batches)
        trainer = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
                   "progress": {**asdict(self.state), "seconds": self._spent()}, "options": asdict(self.options)}
        return {**self.model_card(), "task": self.task, "model": _cpu_state(model), "epoch": epoch_done,
                "metrics": scores, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "trainer": trainer}

    def _validate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """The task's scores, computed by the first process and shared with the others."""
        began = time.monotonic()
        model.eval()
        with torch.inference_mode():
            scores = self.validate(model, loader) if self.rank == 0 else {}
        model.train()
        if self.world > 1:
            shared = [scores]
            dist.broadcast_object_list(shared, src=0)
            scores = shared[0]
        self._validation_seconds = time.monotonic() - began
        return scores

    # Pieces ---------------------------------------------------------------------------------------------

    @property
    def _amp(self) -> bool:
        return self.options.amp and self.device.type == "cuda"

    def _spent(self) -> float:
        """Seconds of training so far, over every resumed part of the run."""
        return self.state.seconds + time.monotonic() - self._started

    def _epochs(self) -> int:
        if self.options.epochs is not None:
            return self.options.epochs
        return MAX_EPOCHS

    def _epochs_text(self) -> str:
        return str(self.options.epochs) if self.options.epochs else "?"

    def _should_stop(self) -> bool:
        """The time limit (with room for a validation) or a requested stop, agreed by every process."""
        stop = self.stop_requested()
        if self.options.time_limit is not None:
            reserve = VALIDATION_MARGIN * getattr(self, "_validation_seconds", 0.0)
            stop = stop or self._spent() + reserve >= self.options.time_limit * 60
        if self.world > 1:
            flag = torch.tensor([float(stop)], device=self.device)
            dist.all_reduce(flag)
            stop = bool(flag.item())
        return stop

    def _patience_out(self) -> bool:
        patience = self.options.patience
        if patience is None:
            patience = PLATEAU_STOP if self.options.schedule == "plateau" else 0
        return patience > 0 and self.state.bad_epochs >= patience

    def _scheduler(self, optimizer: torch.optim.Optimizer) -> Any:
        if self.options.schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "max", PLATEAU_FACTOR, PLATEAU_PATIENCE)

        def cosine(step: int) -> float:
            if self.options.epochs is not None:
                progress = step / (self.options.epochs * self._epoch_batches)
            else:  # the time limit: check() made sure there is one
                progress = self._spent() / (self.options.time_limit * 60)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)

    def _load_resume(self) -> dict[str, Any]:
        """``last.pt`` of the run folder, its position restored (the caller merged its options)."""
        saved = load_checkpoint(self.run, LAST)
        trainer = saved.get("trainer")
        if not trainer or saved.get("task") != self.task:
            raise InputError(f"{self.run / LAST} is not a resumable {self.task} run")
        self.state = _Progress(**trainer["progress"])
        return saved


def _distributed_rank() -> tuple[int, int]:
    """(rank, world size): under torchrun the process group is started here; alone, (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _device(name: str, rank: int) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {name!r}: PyTorch sees no CUDA GPU on this machine; use --device cpu")
        if "LOCAL_RANK" in os.environ:
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise InputError(f"device {name!r} is not supported; use cpu, cuda or cuda:N")
    return device


def _own_generator() -> torch.Generator:
    """A generator for a data loader's own draw (its workers' base seed): drawn from the global one, it would
    shift the dropout masks of every later step by how often loaders were started, so a run that stopped
    and resumed would drift from one that did not."""
    return torch.Generator().manual_seed(0)


def _one_thread(_worker: int) -> None:
    """Data workers augment one sample at a time: their own thread pools would only fight the trainer's."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        layout = torch.channels_last if batch.ndim == 4 else torch.contiguous_format
        return batch.to(device, non_blocking=True, memory_format=layout)
    if isinstance(batch, list | tuple):
        return type(batch)(_to(item, device) for item in batch)
    return batch


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}


def _append_row(path: Path, row: dict[str, float]) -> None:
    """One CSV row; the header comes from the first row (a resumed run appends under it)."""
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(row), extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_metrics(path: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of a run's ``metrics.csv`` as numbers (empty cells as NaN)."""
    with Path(path).open(newline="") as file:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
                for row in csv.DictReader(file)]


def _plot_curves(metrics: Path, out: Path, score_key: str) -> None:
    """Loss (train and validation) and the validation means against the epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = read_metrics(metrics)
    epochs = [row["epoch"] for row in rows]
    figure, (losses, scores) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if key in rows[0]:
            losses.plot(epochs, [row[key] for row in rows], marker=".", label=label)
    losses.set(title="loss", xlabel="epoch")
    losses.legend()
    for key in dict.fromkeys([f"val_{score_key}", "val_miou", "val_mdice"]):
        if key in rows[0]:
            scores.plot(epochs, [row[key] for row in rows], marker=".", label=key.removeprefix("val_"))
    scores.set(title="validation", xlabel="epoch", ylim=(0, 1))
    scores.legend()
    figure.tight_layout()
    from unseen.media.atomic import atomic_file

    with atomic_file(out) as tmp:
        figure.savefig(tmp, dpi=80, format="png")
    plt.close(figure)

