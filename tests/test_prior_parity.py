"""The prior reproduces the original TranslatorVAE on the golden fixture (random weights, real size)."""
import pytest
import torch

from steve1.prior.loss import prior_loss
from steve1.prior.model import TranslatorVAE
from tests.conftest import load_parity

TOL = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def golden():
    g = load_parity("steve1_prior_vae.pt")
    model = TranslatorVAE(**g["config"])
    model.load_state_dict(g["state_dict"], strict=True)
    return model.eval(), g["inputs"], g["outputs"]


def test_keys_match_release(golden):
    model, _, _ = golden
    g = load_parity("steve1_prior_vae.pt")["state_dict"]
    assert list(model.state_dict()) == list(g) and len(g) == 20
    assert all(model.state_dict()[k].shape == v.shape for k, v in g.items())
    assert sum(p.numel() for p in model.parameters()) == 2_366_976  # ~2.37 M


@torch.no_grad()
def test_encoder_and_posterior(golden):
    model, inp, out = golden
    enc = model.encode(inp["visual_embeddings"], inp["text_embeddings"])
    torch.testing.assert_close(enc, out["encoder_out"], **TOL)
    mu, logvar = model.posterior(inp["visual_embeddings"], inp["text_embeddings"])
    torch.testing.assert_close(mu, out["mu"], **TOL)
    torch.testing.assert_close(logvar, out["logvar"], **TOL)


@torch.no_grad()
def test_reparameterize_with_stored_and_seeded_eps(golden):
    model, _, out = golden
    z = model.reparameterize(out["mu"], out["logvar"], eps=out["eps"])
    torch.testing.assert_close(z, out["z_sampled"], **TOL)
    g = torch.Generator().manual_seed(out["sample_seed"])  # the original drew randn_like under this seed
    z_seeded = model.reparameterize(out["mu"], out["logvar"], generator=g)
    torch.testing.assert_close(z_seeded, out["z_sampled"], **TOL)


@torch.no_grad()
def test_decode(golden):
    model, inp, out = golden
    text = inp["text_embeddings"]
    torch.testing.assert_close(model.decode(inp["z_given"], text), out["decode_given"], **TOL)
    torch.testing.assert_close(model.decode(out["z_sampled"], inp["text_embeddings"]), out["decode_sampled"],
                               **TOL)


@torch.no_grad()
def test_forward_deterministic_and_stochastic(golden):
    model, inp, out = golden
    text = inp["text_embeddings"]
    torch.testing.assert_close(model(text, deterministic=True), out["forward_deterministic"], **TOL)
    torch.testing.assert_close(model.sample(text, deterministic=True), out["forward_deterministic"], **TOL)
    torch.testing.assert_close(model.decode(out["forward_eps"], text), out["forward_stochastic"], **TOL)
    g = torch.Generator().manual_seed(out["forward_seed"])
    torch.testing.assert_close(model.sample(text, generator=g), out["forward_stochastic"], **TOL)
    torch.manual_seed(out["forward_seed"])  # the original's call: global RNG
    torch.testing.assert_close(model(text), out["forward_stochastic"], **TOL)


def test_sample_is_stochastic_by_default_and_seedable(golden):
    model, inp, _ = golden
    text = inp["text_embeddings"]
    with torch.no_grad():
        a, b = model.sample(text), model.sample(text)
        c = model.sample(text, generator=torch.Generator().manual_seed(3))
        d = model.sample(text, generator=torch.Generator().manual_seed(3))
    assert not torch.allclose(a, b)
    torch.testing.assert_close(c, d, atol=0, rtol=0)


@torch.no_grad()
def test_loss_matches_reference_val_step(golden):
    model, inp, out = golden
    ref = out["loss"]
    terms = prior_loss(model, inp["text_embeddings"], inp["visual_embeddings"], beta=ref["beta"],
                       eps=ref["loss_eps"])
    for k in ("kl_loss", "recon_loss", "loss"):
        assert terms[k].item() == pytest.approx(ref[k], rel=1e-5, abs=1e-5), k
    g = torch.Generator().manual_seed(ref["loss_seed"])
    seeded = prior_loss(model, inp["text_embeddings"], inp["visual_embeddings"], beta=ref["beta"],
                        generator=g)
    assert seeded["loss"].item() == pytest.approx(ref["loss"], rel=1e-5)
    per_sample = prior_loss(model, inp["text_embeddings"], inp["visual_embeddings"], eps=ref["loss_eps"],
                            kl_reduction="batchmean")
    assert per_sample["kl_loss"].item() == pytest.approx(ref["kl_loss"] / 8, rel=1e-5)


def test_sample_accepts_numpy_and_single_vector(golden):
    model, inp, out = golden
    text = inp["text_embeddings"]
    with torch.no_grad():
        a = model.sample(text.numpy(), deterministic=True)
        b = model.sample(text[0], deterministic=True)
    torch.testing.assert_close(a, out["forward_deterministic"], **TOL)
    torch.testing.assert_close(b, out["forward_deterministic"][:1], **TOL)
    with pytest.raises(ValueError, match="float"):
        model.sample(torch.zeros(1, 512, dtype=torch.long))
