"""MineCLIP against the original's outputs on random weights (tests/fixtures/parity/mineclip_reduced.pt)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import load_parity

from steve1.mineclip import ATTN, REDUCED, MineCLIP, MineClipEmbedder, load_mineclip, mineclip_from_state_dict

ATOL = 1e-4


@pytest.fixture(scope="module")
def golden():
    return load_parity("mineclip_reduced.pt")


@pytest.fixture(scope="module")
def model(golden):
    return mineclip_from_state_dict(golden["state_dict"], REDUCED, source="fixture")


def test_reduced_config_is_the_fixtures(golden):
    arch = golden["config"]["arch"]
    assert REDUCED.embed_dim == arch["embed_dim"]
    assert (REDUCED.vision_width, REDUCED.vision_layers, REDUCED.vision_heads) == (
        arch["vision"]["width"], arch["vision"]["layers"], arch["vision"]["heads"])
    assert REDUCED.num_patches + 1 == arch["vision"]["tokens"]
    assert (REDUCED.text_width, REDUCED.text_layers, REDUCED.text_heads) == (
        arch["text"]["width"], arch["text"]["layers"], arch["text"]["heads"])
    t = arch["temporal"]
    assert (REDUCED.temporal_depth, REDUCED.temporal_heads, REDUCED.temporal_head_dim) == (
        t["depth"], t["heads"], t["dim_head"])
    assert REDUCED.embed_dim * REDUCED.temporal_ff_mult == t["ff_inner"]


def test_state_dict_keys_and_shapes_match_the_original(golden):
    ours = MineCLIP(REDUCED).state_dict()
    assert list(ours) == list(golden["state_dict"])  # same names, same order
    assert all(ours[k].shape == v.shape for k, v in golden["state_dict"].items())


def test_attn_has_the_released_checkpoint_layout():
    with torch.device("meta"):
        model = MineCLIP(ATTN)
    state = model.state_dict()
    assert len(state) == 788
    assert sum(p.numel() for p in model.parameters()) == 158_537_730  # unique parameters
    assert sum(v.numel() for v in state.values()) == 394_295_811  # with the tied copies
    assert state["image_encoder.pos_embed"].shape == (161, 768)
    assert state["temporal_encoder.attn.model.attn_layers.layers.1.1.net.0.proj.weight"].shape == (4096, 512)
    assert state["clip_model.text_model.token_embedding.weight"].shape == (49408, 512)
    assert model.image_encoder is model.clip_model.vision_model is model.reward_head.clip_model.vision_model


def test_outputs_match_the_original(model, golden):
    x, y = golden["inputs"], golden["outputs"]
    videos = x["videos"].contiguous()
    with torch.no_grad():
        image_features = model.forward_image_features(videos)
        torch.testing.assert_close(image_features, y["image_features"], atol=ATOL, rtol=0)
        single = model.forward_image_features(videos[0, 0:1])
        torch.testing.assert_close(single, y["single_frame_feature"], atol=ATOL, rtol=0)
        video = model.encode_video(videos)
        torch.testing.assert_close(video, y["video_features"], atol=ATOL, rtol=0)
        torch.testing.assert_close(model.encode_video(videos.float()), y["video_features"], atol=ATOL, rtol=0)
        text = model.encode_text(x["token_ids"])
        torch.testing.assert_close(text, y["text_features"], atol=ATOL, rtol=0)
        padded = model.encode_text(x["token_ids_eot_padded"])
        torch.testing.assert_close(padded, y["text_features_eot_padded"], atol=ATOL, rtol=0)
        per_video, per_text = model.forward_reward_head(video, x["token_ids"])
        torch.testing.assert_close(per_video, y["logits_per_video"], atol=1e-3, rtol=0)
        torch.testing.assert_close(per_text, y["logits_per_text"], atol=1e-3, rtol=0)
        torch.testing.assert_close(model.reward_head.adapt_video(video), y["adapted_video_features"],
                                   atol=ATOL, rtol=0)
        torch.testing.assert_close(model.clip_model.logit_scale.exp(), y["logit_scale_exp"])
        # strings are tokenised internally, as the original's reward head does
        by_string, _ = model.forward_reward_head(video, list(x["texts"]))
        torch.testing.assert_close(by_string, y["logits_per_video"], atol=1e-3, rtol=0)


def test_released_wrapper_loads_through_load_mineclip(golden, tmp_path):
    path = tmp_path / "attn_reduced.pth"
    torch.save({"state_dict": {"model." + k: v for k, v in golden["state_dict"].items()}}, path)
    model = load_mineclip(path, config="reduced", check_md5=False)
    with torch.no_grad():
        video = model.encode_video(golden["inputs"]["videos"].contiguous())
    torch.testing.assert_close(video, golden["outputs"]["video_features"], atol=ATOL, rtol=0)


def test_episode_embeddings_match_the_original_windows(model, golden):
    frames = golden["inputs"]["frames"].permute(0, 2, 3, 1).numpy()  # (17, 160, 256, 3) RGB
    embeds = MineClipEmbedder(model, batch_size=5).embed_frames(frames)
    assert len(embeds) == 17 and all(e is None for e in embeds[:15])
    got = np.concatenate(embeds[15:])
    np.testing.assert_allclose(got, golden["outputs"]["video_features"].numpy(), atol=ATOL, rtol=0)
