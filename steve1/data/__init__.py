"""Episodes on disk, contractor conversion, mixed-agent generation, samplings, hindsight datasets."""
from steve1.data.episode import (
    Episode,
    EpisodeError,
    EpisodeWriter,
    list_episode_dirs,
    min_frames_for_training,
    save_episode,
)
from steve1.data.sampling import load_sampling

__all__ = [
    "Episode", "EpisodeError", "EpisodeWriter", "list_episode_dirs", "load_sampling",
    "min_frames_for_training", "save_episode",
]
