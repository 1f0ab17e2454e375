"""MineCLIP (attn variant): image ViT, temporal pooling, text tower, offline tokenizer, cached embedding;
training one of our own: `steve1.mineclip.train`."""
from steve1.mineclip.checkpoint import (
    ATTN_MD5,
    MineClipCheckpointError,
    extract_state_dict,
    load_mineclip,
    mineclip_from_state_dict,
    random_mineclip,
    resolve_mineclip,
    save_mineclip,
)
from steve1.mineclip.config import (
    ATTN,
    MC_IMAGE_MEAN,
    MC_IMAGE_STD,
    REDUCED,
    TINY,
    VIDEO_FRAMES,
    MineClipConfig,
    get_config,
)
from steve1.mineclip.embedder import FrameStream, MineClipEmbedder
from steve1.mineclip.model import MineCLIP
from steve1.mineclip.preprocess import preprocess_frames
from steve1.mineclip.tokenizer import ClipBPETokenizer, get_tokenizer, tokenize

__all__ = [
    "random_mineclip", "resolve_mineclip", "save_mineclip",
    "ATTN", "ATTN_MD5", "MC_IMAGE_MEAN", "MC_IMAGE_STD", "REDUCED", "TINY", "VIDEO_FRAMES",
    "ClipBPETokenizer", "FrameStream", "MineCLIP", "MineClipCheckpointError", "MineClipConfig",
    "MineClipEmbedder", "extract_state_dict", "get_config", "get_tokenizer", "load_mineclip",
    "mineclip_from_state_dict", "preprocess_frames", "tokenize",
]
