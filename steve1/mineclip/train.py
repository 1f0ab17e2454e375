"""Train a MineCLIP of our own on (clip, caption) pairs from generated episodes (`steve1 train-mineclip`).

MineCLIP was trained contrastively on YouTube videos and their transcripts; that training code and data were
never released, and the released attn.pth cannot be downloaded inside the embedded world. Here the same
architecture (image ViT at 160x256 -> temporal attention pooling; CLIP text tower) learns from episodes
whose clips are captioned from what happened in them (`steve1.data.captions`):

- data: every captioned 16-frame clip of every episode under `--episodes`; its frames come from the
  episode's frames.mp4 (stored 128x128) and are resized to MineCLIP's 160x256 exactly as the embedder
  resizes any frame (`preprocess_frames`: OpenCV linear interpolation, aspect not kept), so training and
  embedding see the same pixels; each step draws `batch_size` clips, events uniformly then a clip of that
  event, and one *training* phrasing per clip (held-out phrasings are never seen);
- loss: CLIP's symmetric cross-entropy over cosine logits times exp(logit_scale) (learnable, initialised to
  1/0.07 and clamped at 100 as in CLIP). Clips of the same event in a batch are all positives of each
  other's captions (targets spread evenly over them); with distinct captions this is exactly CLIP's loss;
- the embeddings trained are the ones STEVE-1 uses: `encode_video` (no video adapter) and `encode_text`;
- AdamW, linear warm-up then cosine decay, seeded; bf16 autocast on GPU; `accelerate launch` for several
  GPUs when accelerate is installed (each process draws its own batches; negatives are per process).

Outputs: `--out` (default data/weights/mineclip/ours.pth) in attn.pth's layout plus `ours.config.json`
(sizes, settings, losses) which marks it as ours; `--mineclip data/weights/mineclip/ours.pth` then uses it
everywhere. A resume checkpoint `<out>.resume.pt` is written atomically every `save_every` steps; rerunning
continues from it, and refuses if the settings changed (`--restart` starts over).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from steve1 import paths
from steve1.cli_config import UsageError, check, report, run_verb
from steve1.data.captions import CLIP_FRAMES, EVENTS, LABEL_STRIDE, label_clips, sample_phrasing
from steve1.data.episode import FRAMES_FILE, Episode, find_episode_dirs
from steve1.mineclip.checkpoint import round_weights, save_mineclip
from steve1.mineclip.config import CONFIGS, get_config
from steve1.mineclip.model import MineCLIP
from steve1.mineclip.preprocess import preprocess_frames
from steve1.mineclip.tokenizer import get_tokenizer, tokenize
from steve1.mineclip.wordnet import relatives_table
from steve1.utils.atomic import atomic_path
from steve1.utils.video import read_video_chunks

log = logging.getLogger(__name__)

DEFAULT_OUT = paths.WEIGHTS_DIR / "mineclip" / "ours.pth"  # train-mineclip's default output
MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps the temperature at 1/100
RESUME_SUFFIX = ".resume.pt"
# Words of the captions that carry no event and are never swapped for WordNet relatives ("a" -> "vitamin A").
FUNCTION_WORDS = frozenset({"a", "an", "the", "at", "in", "into", "on", "to", "for", "from", "of", "with",
                            "and", "some", "your"})
# Settings that do not change the trained weights (may differ on resume).
_RUN_ONLY = ("out", "device", "save_every", "restart", "log_every", "save_dtype")
SAVE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


@dataclass
class TrainMineClipSettings:
    """Train a MineCLIP on captioned clips of generated episodes (contrastive, CLIP loss)."""

    episodes: str = str(paths.MIXED_AGENTS_DATASET_DIR)
    """folder(s) of episode directories with states.jsonl, comma-separated"""
    out: str = str(DEFAULT_OUT)
    """checkpoint to write (attn.pth layout); its sizes go to NAME.config.json beside it"""
    size: str = "tiny"
    """MineCLIP size: tiny (two CPU cores, minutes), reduced, attn (the released size, for a GPU)"""
    steps: int = 150
    """optimizer steps"""
    batch_size: int = 16
    """clips per step (per process)"""
    lr: float = 5e-4
    """AdamW peak learning rate"""
    weight_decay: float = 0.1
    """AdamW weight decay (not applied to gains, biases, embeddings or the temperature)"""
    warmup_steps: int = 20
    """linear warm-up steps before the cosine decay"""
    stride: int = LABEL_STRIDE
    """steps between the clips considered for the pose/motion captions"""
    grad_frames: int = CLIP_FRAMES
    """frames per clip whose image-tower pass keeps gradients (a random subset; the others are encoded
    without, which is cheaper: 4 of 16 nearly halves a CPU step; the forward pass is the same)"""
    word_noise: float = 0.0
    """probability of inserting one random vocabulary word into a training caption (teaches the text tower
    to rely on the words it knows when a prompt has words it never saw)"""
    word_dropout: float = 0.0
    """probability of dropping each word of a training caption, one word always kept (teaches the text
    tower that a single known word, "sky" or "up", carries the event: held-out wordings share few words)"""
    synonyms: float = 0.0
    """probability of replacing each content word of a training caption by a random WordNet relative of it
    (synonym, hypernym or hyponym: "look" -> "gaze"); needs the WordNet database (apt-get install
    wordnet-base, or $WORDNET_DIR)"""
    seed: int = 0
    """seed of the initial weights and of every batch"""
    device: str = "auto"
    """auto (cuda when available), cpu or cuda"""
    precision: str = "auto"
    """auto (bf16 on GPU, fp32 on CPU), fp32 or bf16"""
    save_every: int = 50
    """steps between resume checkpoints"""
    log_every: int = 10
    """steps between loss log lines"""
    restart: bool = False
    """ignore an existing resume checkpoint and start over"""
    save_dtype: str = "float32"
    """float32, or float16: the trained weights rounded to float16 values and stored so (half the file;
    it loads back to exactly the weights that embedded the data, as the shipped file)"""

    def __post_init__(self) -> None:
        names = ", ".join(sorted(CONFIGS))
        check(self.size in CONFIGS, f"size must be one of {names}, got {self.size!r}")
        check(self.steps >= 1 and self.batch_size >= 2, "steps must be >= 1 and batch_size >= 2")
        check(self.lr > 0 and self.warmup_steps >= 0 and self.save_every >= 1, "lr > 0, warmup_steps >= 0, "
              "save_every >= 1 needed")
        check(1 <= self.grad_frames <= CLIP_FRAMES, f"grad_frames must be 1..{CLIP_FRAMES}")
        check(0.0 <= self.word_noise <= 1.0, "word_noise must be in [0, 1]")
        check(0.0 <= self.word_dropout < 1.0, "word_dropout must be in [0, 1)")
        check(0.0 <= self.synonyms <= 1.0, "synonyms must be in [0, 1]")
        check(self.precision in ("auto", "fp32", "bf16"), f"precision must be auto, fp32 or bf16, "
              f"got {self.precision!r}")
        check(self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
              f"device must be auto, cpu or cuda, got {self.device!r}")
        check(self.save_dtype in SAVE_DTYPES, f"save_dtype must be one of {', '.join(SAVE_DTYPES)}, "
              f"got {self.save_dtype!r}")


# --------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class CaptionedClip:
    episode: int  # index into CaptionedClips.frames
    step: int  # last frame of the clip
    event: str


class CaptionedClips:
    """Every captioned clip of some episodes, with the episodes' frames in memory ((N, 128, 128, 3) uint8)."""

    def __init__(self, episode_dirs: list[Path], stride: int = LABEL_STRIDE):
        from steve1.data.states import read_states

        self.episode_dirs = list(episode_dirs)
        self.frames: list[np.ndarray] = []
        self.clips: list[CaptionedClip] = []
        for ep_dir in self.episode_dirs:
            n = len(Episode(ep_dir))
            labels = label_clips(read_states(ep_dir, n)[:n], stride)
            if not labels:
                self.frames.append(np.zeros((0, 1, 1, 3), np.uint8))  # keeps episode indices aligned
                continue
            frames = np.concatenate(list(read_video_chunks(ep_dir / FRAMES_FILE, 256, allow_empty=False)))
            if len(frames) < n:
                raise UsageError(f"{ep_dir}: frames.mp4 has {len(frames)} frames, len.txt says {n}")
            self.frames.append(frames[:n])
            self.clips += [CaptionedClip(len(self.frames) - 1, c.step, c.event) for c in labels]
        self.by_event: dict[str, np.ndarray] = {}
        for i, clip in enumerate(self.clips):
            self.by_event.setdefault(clip.event, []).append(i)
        self.by_event = {e: np.asarray(v) for e, v in sorted(self.by_event.items())}

    def __len__(self) -> int:
        return len(self.clips)

    def counts(self) -> dict[str, int]:
        return {e: len(v) for e, v in self.by_event.items()}

    def window(self, i: int) -> np.ndarray:
        """(16, 128, 128, 3) uint8: the frames of clip i."""
        clip = self.clips[i]
        return self.frames[clip.episode][clip.step - CLIP_FRAMES + 1 : clip.step + 1]

    def sample(self, rng: np.random.Generator, batch_size: int) -> tuple[list[int], list[str], list[str]]:
        """(clip indices, events, training phrasings): events drawn uniformly, then a clip of the event."""
        events = list(self.by_event)
        picked = [events[int(k)] for k in rng.integers(len(events), size=batch_size)]
        idx = [int(rng.choice(self.by_event[e])) for e in picked]
        return idx, picked, [sample_phrasing(e, rng) for e in picked]

    def video_batch(self, idx: list[int]) -> torch.Tensor:
        """(B, 16, 3, 160, 256) uint8: clips resized as MineClipEmbedder resizes frames."""
        windows = np.stack([self.window(i) for i in idx])  # (B, 16, 128, 128, 3)
        b = windows.shape[0]
        return preprocess_frames(windows.reshape(-1, *windows.shape[2:])).reshape(b, CLIP_FRAMES,
                                                                                  *_IMAGE_CHW)


_IMAGE_CHW = (3, get_config("attn").image_height, get_config("attn").image_width)


def episodes_fingerprint(episode_dirs: list[Path]) -> str:
    """sha256 over the episodes' names and lengths (a rerun on other data is a changed setting)."""
    h = hashlib.sha256()
    for d in episode_dirs:
        h.update(f"{d.name}:{len(Episode(d))}\n".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def noise_words() -> tuple[str, ...]:
    """Whole lower-case words of the CLIP vocabulary, minus every word of every phrasing (training and
    held-out: a noise word must carry no event's meaning)."""
    held = {w for e in EVENTS.values() for p in e.train_phrasings + e.heldout_phrasings for w in p.split()}
    words = (s[: -len("</w>")] for s in get_tokenizer().encoder if s.endswith("</w>"))
    return tuple(sorted(w for w in words if len(w) >= 3 and w.isascii() and w.isalpha() and w.islower()
                        and w not in held))


def add_word_noise(texts: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Each caption, with probability p, gets one random vocabulary word inserted at a random place."""
    if p <= 0.0:
        return texts
    vocab = noise_words()
    out = []
    for text in texts:
        words = text.split()
        if rng.random() < p:
            words.insert(int(rng.integers(len(words) + 1)), vocab[int(rng.integers(len(vocab)))])
        out.append(" ".join(words))
    return out


def drop_words(texts: list[str], p: float, rng: np.random.Generator) -> list[str]:
    """Each word of each caption is dropped with probability p; a caption keeps at least one word (a random
    one when all would go)."""
    if p <= 0.0:
        return texts
    out = []
    for text in texts:
        words = text.split()
        kept = [w for w in words if rng.random() >= p]
        out.append(" ".join(kept) if kept else words[int(rng.integers(len(words)))])
    return out


def training_words() -> tuple[str, ...]:
    """The content words of all training phrasings (the words `replace_synonyms` may swap), sorted."""
    words = {w for e in EVENTS.values() for p in e.train_phrasings for w in p.split()}
    return tuple(sorted(words - FUNCTION_WORDS))


def replace_synonyms(texts: list[str], p: float, rng: np.random.Generator,
                     relatives: dict[str, tuple[str, ...]]) -> list[str]:
    """Each word of each caption that has relatives is, with probability p, replaced by one of them
    (uniformly); other words are kept."""
    if p <= 0.0:
        return texts
    out = []
    for text in texts:
        words = []
        for w in text.split():
            options = relatives.get(w, ())
            words.append(options[int(rng.integers(len(options)))] if options and rng.random() < p else w)
        out.append(" ".join(words))
    return out


def encode_video_grad_subset(model: MineCLIP, video: torch.Tensor, grad_frames: int,
                             rng: np.random.Generator) -> torch.Tensor:
    """model.encode_video(video) ((B, 16, 3, H, W) -> (B, D)) with gradients through the image tower for
    `grad_frames` random frames per clip only; the other frames' features are computed without."""
    b, n = video.shape[:2]
    if grad_frames >= n:
        return model.encode_video(video)
    keep = np.zeros((b, n), dtype=bool)
    for row in keep:
        row[rng.choice(n, size=grad_frames, replace=False)] = True
    flat = video.reshape(b * n, *video.shape[2:])  # (B*16, 3, H, W)
    with_grad = torch.from_numpy(np.flatnonzero(keep.ravel())).to(video.device)
    without = torch.from_numpy(np.flatnonzero(~keep.ravel())).to(video.device)
    features_grad = model.forward_image_features(flat[with_grad])  # (B*g, D)
    with torch.no_grad():
        features_rest = model.forward_image_features(flat[without])  # (B*(16-g), D)
    features = features_grad.new_zeros(b * n, features_grad.shape[-1])
    features = features.index_copy(0, without, features_rest).index_copy(0, with_grad, features_grad)
    return model.forward_video_features(features.reshape(b, n, -1))


# --------------------------------------------------------------------------------------------- loss
def contrastive_loss(video: torch.Tensor, text: torch.Tensor, events: list[str],
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric loss. video, text: (B, D) unnormalised; row i of each is clip i / its caption.

    Clips of the same event are positives of each other's captions (targets uniform over them)."""
    v = F.normalize(video.float(), dim=-1)
    t = F.normalize(text.float(), dim=-1)
    logits = logit_scale.float().exp() * v @ t.t()  # (B, B): video i vs caption j
    index = {e: i for i, e in enumerate(sorted(set(events)))}
    ids = torch.tensor([index[e] for e in events], device=logits.device)
    same = (ids[:, None] == ids[None, :]).float()  # (B, B), symmetric
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices only (as CLIP: no decay on gains, biases, embeddings, temperature)."""
    decay, rest = [], []
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        is_matrix = p.ndim >= 2 and "embed" not in name and "token" not in name
        (decay if is_matrix else rest).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def learning_rate(step: int, s: TrainMineClipSettings) -> float:
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps)
    return s.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


# --------------------------------------------------------------------------------------------- train
def _fingerprint(s: TrainMineClipSettings, data: str) -> dict:
    out = {k: v for k, v in dataclasses.asdict(s).items() if k not in _RUN_ONLY and k != "episodes"}
    out["episodes_sha256"] = data
    return out


def _accelerator(device: str, bf16: bool):
    """An accelerate.Accelerator when accelerate is installed, else None (single process)."""
    try:
        from accelerate import Accelerator
    except ImportError:
        return None
    return Accelerator(cpu=device == "cpu", mixed_precision="bf16" if bf16 else "no")


def train_mineclip(s: TrainMineClipSettings) -> dict:
    """Train (or continue training) and write the checkpoint; returns a summary."""
    out = Path(s.out)
    resume_path = out.with_name(out.name + RESUME_SUFFIX)
    episode_dirs = find_episode_dirs(s.episodes)
    fingerprint = _fingerprint(s, episodes_fingerprint(episode_dirs))
    resume = None
    if resume_path.is_file() and not s.restart:
        resume = torch.load(resume_path, map_location="cpu", weights_only=False)
        changed = {k: (resume["settings"].get(k), v) for k, v in fingerprint.items()
                   if resume["settings"].get(k) != v}
        if changed:
            what = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in changed.items())
            raise UsageError(f"{resume_path} was trained with other settings ({what}); restore them to "
                             f"continue, or pass --restart to start over")
        if resume["step"] >= s.steps and out.is_file():
            log.info("%s is already trained (%d steps)", out, resume["step"])
            return {"out": str(out), "steps": resume["step"], "losses": resume["losses"], "resumed": True}

    device = s.device if s.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = s.precision == "bf16" or (s.precision == "auto" and device.startswith("cuda"))
    accel = _accelerator(device, bf16)
    rank = accel.process_index if accel else 0
    main_process = accel.is_main_process if accel else True
    torch_device = accel.device if accel else torch.device(device)

    relatives = relatives_table(training_words()) if s.synonyms > 0 else {}
    clips = CaptionedClips(episode_dirs, s.stride)
    if len(clips.by_event) < 2:
        raise UsageError(f"the episodes under {s.episodes} have captions of {len(clips.by_event)} event(s) "
                         f"({clips.counts()}); contrastive training needs at least 2")
    log.info("%d captioned clips from %d episodes: %s", len(clips), len(episode_dirs), clips.counts())

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        model = MineCLIP(get_config(s.size))
    optimizer = torch.optim.AdamW(_param_groups(model, s.weight_decay), lr=s.lr, betas=(0.9, 0.98), eps=1e-6)
    step, losses = 0, []
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        step, losses = resume["step"], list(resume["losses"])
        log.info("resuming %s at step %d of %d", resume_path, step, s.steps)
    model.to(torch_device).train()
    if accel:
        model, optimizer = accel.prepare(model, optimizer)
    core: MineCLIP = accel.unwrap_model(model) if accel else model
    if not bf16:
        autocast = contextlib.nullcontext()
    elif accel is not None:
        autocast = accel.autocast()
    else:
        autocast = torch.autocast(device_type=torch_device.type, dtype=torch.bfloat16)

    def save_resume() -> None:
        if not main_process:
            return
        state = {"model": core.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                 "losses": losses, "settings": fingerprint}
        with atomic_path(resume_path) as tmp:
            torch.save(state, tmp)

    bar = tqdm(total=s.steps, initial=step, desc="train-mineclip", disable=not main_process, unit="step")
    while step < s.steps:
        rng = np.random.default_rng([s.seed, step, rank])  # batch t is the same on every (re)run
        idx, events, texts = clips.sample(rng, s.batch_size)
        video = clips.video_batch(idx).to(torch_device)  # (B, 16, 3, 160, 256) uint8
        texts = replace_synonyms(texts, s.synonyms, rng, relatives)
        texts = add_word_noise(drop_words(texts, s.word_dropout, rng), s.word_noise, rng)
        tokens = tokenize(texts).to(torch_device)  # (B, 77)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, s)
        with autocast:
            v = encode_video_grad_subset(core, video, s.grad_frames, rng)  # (B, D)
            t = core.encode_text(tokens)  # (B, D)
            loss = contrastive_loss(v, t, events, core.clip_model.logit_scale)
        optimizer.zero_grad(set_to_none=True)
        accel.backward(loss) if accel else loss.backward()
        optimizer.step()
        with torch.no_grad():
            core.clip_model.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)
        step += 1
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if step % s.log_every == 0:
            log.info("step %d loss %.4f temperature %.4f", step, np.mean(losses[-s.log_every:]),
                     1.0 / core.clip_model.logit_scale.detach().exp().item())
        if step % s.save_every == 0 or step == s.steps:
            save_resume()
    bar.close()
    if main_process:
        core.eval()
        if s.save_dtype != "float32":
            round_weights(core, SAVE_DTYPES[s.save_dtype])
        save_mineclip(core, out, dtype=SAVE_DTYPES[s.save_dtype], extra={
            "trained": {"steps": step, "settings": fingerprint, "episodes": s.episodes,
                        "clips": clips.counts(), "first_loss": losses[0], "last_loss": losses[-1]}})
    return {"out": str(out), "steps": step, "losses": losses, "resumed": resume is not None,
            "clips": clips.counts()}


def run(s: TrainMineClipSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    summary = train_mineclip(s)
    k = max(1, len(summary["losses"]) // 10)
    first, last = np.mean(summary["losses"][:k]), np.mean(summary["losses"][-k:])
    report(json.dumps({"out": summary["out"], "steps": summary["steps"], "first_loss": round(float(first), 4),
                       "last_loss": round(float(last), 4)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(TrainMineClipSettings, run, argv, verb="train-mineclip", config_prefix="mineclip")


if __name__ == "__main__":
    raise SystemExit(main())
