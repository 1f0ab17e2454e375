"""Goals for the agent: a 512-d MineCLIP-visual-space embedding from a text prompt (MineCLIP text tower ->
prior), a visual prompt, or none (the all-zero goal, i.e. the unconditional policy).

A visual prompt (`visual_goal(source, embedder)`) is any of:
- a name: `<directory>/<name>.pkl` (the released prompts `wood`, `dirt`, ...; the Minetest ones `chop_tree`,
  `dig_dirt`, ... in the shipped `visual_prompts/` folder, see steve1.eval.visual_prompts);
- a `.pkl` file holding a (1, D) embedding (the released visual prompts' format);
- a video file (.mp4, ...) or a folder of image files of at least 16 frames: the MineCLIP embedding of its
  last 16 frames;
- `EPISODE_DIR@STEP`: the embedding an episode stored for the clip of frames STEP-15..STEP (its
  `embeds_attn.pkl` entry; with the same MineCLIP it equals the clip's embedding from the frames).

As the original, a text goal is one prior sample (stochastic; pass a seeded generator to repeat it) and no
embedding is normalised. Differences (fixes): empty prompts are refused with a clear error; the visual
prompt pickles are opened with the restricted unpickler and their shape/dtype is checked.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from steve1 import paths
from steve1.mineclip import VIDEO_FRAMES, MineClipEmbedder
from steve1.prior.model import TranslatorVAE
from steve1.utils.safe_pickle import safe_load

# steve1/run_agent/paper_prompts.py of the original: name -> text prompt, in the paper's order.
PAPER_TEXT_PROMPTS: dict[str, str] = {
    "dig": "dig as far as possible",
    "dirt": "get dirt, dig hole, dig dirt, gather a ton of dirt, collect dirt",
    "sky": "look at the sky",
    "leaves": "break leaves",
    "wood": "chop down the tree, gather wood, pick up wood, chop it down, break tree",
    "seeds": "break tall grass, break grass, collect seeds, punch the ground, run around in circles getting "
             "seeds from bushes",
    "flower": "break a flower",
    "explore": "go explore",
    "swim": "go swimming",
    "underwater": "go underwater",
    "inventory": "open inventory",
}
SHIPPED_VISUAL_PROMPTS_DIR = paths.SHIPPED_DIR / "visual_prompts"  # <skill>.pkl + <skill>.mp4 (16 frames)
EPISODE_STEP_SEP = "@"  # EPISODE_DIR@STEP names an episode's stored clip embedding
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
TEXT_COND_SCALE = 6.0  # run_agent.py --text_cond_scale, run_interactive.py --cond_scale
VISUAL_COND_SCALE = 7.0  # run_agent.py --visual_cond_scale


class GoalError(ValueError):
    """A prompt or visual goal that cannot be used."""


MAX_PROMPT_CHARS = 1000  # far beyond MineCLIP's 77-token context


def check_prompt(text: object) -> str:
    """The prompt unchanged if it is a non-empty string; a clear error otherwise."""
    if not isinstance(text, str):
        raise GoalError(f"a text prompt must be a str, got {type(text).__name__}")
    if not text.strip():
        raise GoalError("empty text prompt: give an instruction such as 'chop down the tree' "
                        "(or use the unconditional agent for no goal)")
    if len(text) > MAX_PROMPT_CHARS:
        raise GoalError(f"the text prompt has {len(text)} characters; MineCLIP reads only its first 77 "
                        f"tokens, so at most {MAX_PROMPT_CHARS} characters are accepted")
    return text


def normalize_interactive_prompt(text: str) -> str:
    """Interactive prompts are stripped and lower-cased before embedding, as the original."""
    return check_prompt(text).strip().lower()


def zero_goal(dim: int = 512) -> np.ndarray:
    """(1, dim) zeros: the unconditional goal (the policy's goal layer then adds only its bias)."""
    return np.zeros((1, dim), np.float32)


def check_goal(goal: object, dim: int, source: str = "goal") -> np.ndarray:
    """(dim,) or (1, dim) finite float array -> (1, dim) float32."""
    if isinstance(goal, torch.Tensor):
        goal = goal.detach().cpu().numpy()
    if not isinstance(goal, np.ndarray):
        raise GoalError(f"{source} must be a numpy array of shape (1, {dim}), got {type(goal).__name__}")
    if goal.size != dim or goal.ndim > 2 or (goal.ndim == 2 and goal.shape[0] != 1):
        raise GoalError(f"{source} has shape {goal.shape}; expected (1, {dim}) "
                        f"(a MineCLIP embedding of size {dim})")
    if not np.issubdtype(goal.dtype, np.floating):
        raise GoalError(f"{source} has dtype {goal.dtype}; expected a float embedding")
    goal = goal.astype(np.float32).reshape(1, dim)
    if not np.all(np.isfinite(goal)):
        raise GoalError(f"{source} holds NaN or inf values")
    return goal


def text_goals(texts: Sequence[str], embedder: MineClipEmbedder, prior: TranslatorVAE,
               generator: torch.Generator | None = None) -> np.ndarray:
    """(N, D) goals, one prior sample per prompt: prior(MineCLIP text embedding)."""
    texts = [check_prompt(t) for t in texts]
    if not texts:
        raise GoalError("no text prompts given")
    text_embeds = torch.from_numpy(embedder.embed_texts(texts))  # (N, D) float32
    if prior.input_dim != text_embeds.shape[1]:
        raise GoalError(f"the prior takes {prior.input_dim}-d text embeddings but MineCLIP gives "
                        f"{text_embeds.shape[1]}-d ones: models of different sizes")
    with torch.inference_mode():
        return prior.sample(text_embeds, generator=generator).float().cpu().numpy()


def text_goal(text: str, embedder: MineClipEmbedder, prior: TranslatorVAE,
              generator: torch.Generator | None = None) -> np.ndarray:
    """(1, D) goal for one prompt."""
    return text_goals([text], embedder, prior, generator)


def visual_prompt_path(name_or_path: str | Path,
                       directory: str | Path = paths.VISUAL_PROMPT_EMBEDS_DIR) -> Path:
    """A paper prompt name (e.g. 'wood') -> `<directory>/<name>.pkl`; a path is returned as is."""
    p = Path(name_or_path)
    if p.suffix == ".pkl" or p.parent != Path("."):
        return p
    return Path(directory) / f"{p.name}.pkl"


def visual_goal_from_pickle(name_or_path: str | Path, dim: int = 512,
                            directory: str | Path = paths.VISUAL_PROMPT_EMBEDS_DIR) -> np.ndarray:
    """(1, D) goal from a released visual-prompt pickle (`data/visual_prompt_embeds/<name>.pkl`)."""
    path = visual_prompt_path(name_or_path, directory)
    if not path.is_file():
        shipped = Path(directory) == SHIPPED_VISUAL_PROMPTS_DIR
        hint = ("make the Minetest ones with `steve1 visual-prompts`" if shipped
                else "run ./download_weights.sh (it unzips visual_prompt_embeds.zip into data/)")
        raise FileNotFoundError(f"visual prompt {path} not found: {hint}, or pass a .pkl path, a clip or "
                                f"EPISODE_DIR{EPISODE_STEP_SEP}STEP")
    return check_goal(safe_load(path), dim, source=f"visual prompt {path}")


def visual_goal_from_frames(frames: np.ndarray, embedder: MineClipEmbedder) -> np.ndarray:
    """(1, D) goal: MineCLIP embedding of the last 16 frames of a clip ((N, H, W, 3) uint8 RGB, N >= 16)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) < VIDEO_FRAMES:
        raise GoalError(f"a visual prompt clip needs at least {VIDEO_FRAMES} frames (N, H, W, 3), "
                        f"got shape {frames.shape}")
    return embedder.embed_windows(frames[-VIDEO_FRAMES:])  # (1, D)


def read_clip_frames(source: str | Path) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB frames of a video file or of a folder of image files (sorted by name)."""
    from steve1.eval.video import read_video

    source = Path(source)
    if source.is_dir():
        import cv2

        files = sorted(f for f in source.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
        frames = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files]
        bad = [f.name for f, im in zip(files, frames, strict=True) if im is None]
        if bad or not files:
            raise GoalError(f"{source}: {'unreadable images ' + str(bad[:3]) if bad else 'no image files'} "
                            f"({', '.join(IMAGE_EXTENSIONS)})")
        if len({im.shape for im in frames}) > 1:
            raise GoalError(f"{source}: the images differ in size")
        return np.stack([im[..., ::-1] for im in frames])  # BGR -> RGB
    return read_video(source)


def visual_goal_from_episode(episode_dir: str | Path, step: int, dim: int = 512) -> np.ndarray:
    """(1, D) goal: the embedding an episode stored for the 16-frame clip ending at frame `step`."""
    from steve1.data.episode import Episode

    episode = Episode(episode_dir)
    if not VIDEO_FRAMES - 1 <= step < len(episode):
        raise GoalError(f"{episode_dir}: step {step} has no stored clip embedding; choose a step in "
                        f"{VIDEO_FRAMES - 1}..{len(episode) - 1} (the clip is frames step-15..step)")
    embed = episode.embeds()[step]
    if embed is None:
        raise GoalError(f"{episode_dir}: no stored embedding at step {step}")
    return check_goal(np.asarray(embed), dim, source=f"{episode_dir}{EPISODE_STEP_SEP}{step}")


def _episode_step(source: str) -> tuple[Path, int] | None:
    """EPISODE_DIR@STEP -> (dir, step); None when `source` is not of that form."""
    head, sep, tail = str(source).rpartition(EPISODE_STEP_SEP)
    if not sep or not head or not tail.strip().lstrip("-").isdigit():
        return None
    return Path(head), int(tail)


def visual_goal(source: str | Path, embedder: MineClipEmbedder,
                directory: str | Path = paths.VISUAL_PROMPT_EMBEDS_DIR) -> np.ndarray:
    """(1, D) goal from a visual prompt source (a name, a .pkl, a clip, a frames folder, EPISODE_DIR@STEP;
    see the module docstring)."""
    dim = embedder.embed_dim
    at = _episode_step(str(source))
    if at is not None:
        return visual_goal_from_episode(at[0], at[1], dim)
    path = Path(source)
    if path.suffix.lower() in VIDEO_EXTENSIONS or path.is_dir():
        if path.is_dir() and (path / "frames.mp4").is_file():
            raise GoalError(f"{path} is an episode: name the clip's last frame, {path}{EPISODE_STEP_SEP}STEP")
        return visual_goal_from_frames(read_clip_frames(path), embedder)
    return visual_goal_from_pickle(source, dim, directory)


def visual_prompt_name(source: str | Path) -> str:
    """A short name for a visual prompt source (its file or episode name, without suffix)."""
    at = _episode_step(str(source))
    if at is not None:
        return f"{at[0].name[:40]}{EPISODE_STEP_SEP}{at[1]}"
    return Path(source).stem or str(source)
