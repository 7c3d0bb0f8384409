"""memkd.marian against Hugging Face's MarianMTModel: the same initial weights from the same seed, the same saved
files, folders that load both ways, and clear refusals of checkpoints it cannot compute."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import MarianConfig as HFMarianConfig
from transformers import MarianMTModel

from memkd import marian
from memkd.model import build_model, load, save

PRESETS = [
    {"d_model": 16, "encoder_layers": 1, "decoder_layers": 2, "heads": 2, "ffn_dim": 32, "dropout": 0.1,
     "max_positions": 64},
    {"d_model": 32, "encoder_layers": 2, "decoder_layers": 1, "heads": 4, "ffn_dim": 48, "dropout": 0.1,
     "max_positions": 40, "activation_dropout": 0.1, "attention_dropout": 0.05},
]
VOCAB = 50


def _hugging_face(model: marian.Marian, seed: int) -> MarianMTModel:
    """MarianMTModel built from the same config after the same seed, as memkd built it before memkd.marian."""
    fields = {k: v for k, v in model.config.to_dict().items()
              if k not in ("architectures", "transformers_version", "model_type")}
    torch.manual_seed(seed)
    return MarianMTModel(HFMarianConfig(**fields))


@pytest.fixture
def tokenizer_file(tmp_path):
    path = tmp_path / "spm.model"
    path.write_bytes(b"a tokenizer")
    return path


@pytest.mark.parametrize("preset", PRESETS)
def test_build_draws_hugging_faces_initial_weights_from_the_same_seed(preset):
    ours = build_model(preset, VOCAB, seed=3)
    after_ours = torch.rand(4)  # the same draws consumed: training's next draw is the same too
    theirs = _hugging_face(ours, seed=3)
    after_theirs = torch.rand(4)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert torch.equal(after_ours, after_theirs)
    assert ({n for n, p in ours.named_parameters() if not p.requires_grad}
            == {n for n, p in theirs.named_parameters() if not p.requires_grad}
            == {"model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"})
    assert ours.lm_head.weight is ours.model.shared.weight is ours.model.encoder.embed_tokens.weight
    assert not torch.equal(build_model(preset, VOCAB, seed=4).model.shared.weight, ours.model.shared.weight)


@pytest.mark.parametrize("preset", PRESETS)
def test_saved_files_are_those_save_pretrained_writes(preset, tmp_path, tokenizer_file):
    ours = build_model(preset, VOCAB, seed=3)
    save(ours, tmp_path / "ours", tokenizer_file)
    _hugging_face(ours, seed=3).save_pretrained(tmp_path / "theirs")
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes(), name
    assert (tmp_path / "ours" / "spm.model").read_bytes() == b"a tokenizer"


def test_a_saved_folder_loads_both_ways_with_the_same_weights(tmp_path, tokenizer_file):
    model = build_model(PRESETS[0], VOCAB, seed=3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p))  # as if trained
        model.final_logits_bias.normal_()
    save(model, tmp_path / "m", tokenizer_file)
    state = torch.random.get_rng_state()
    loaded = load(tmp_path / "m")
    assert torch.equal(torch.random.get_rng_state(), state)  # loading draws nothing
    theirs = MarianMTModel.from_pretrained(tmp_path / "m")
    expected = model.state_dict()
    for other in (loaded.state_dict(), theirs.state_dict()):
        assert set(other) == set(expected)
        assert all(torch.equal(other[name], expected[name]) for name in expected)
    assert not loaded.training
    assert loaded.lm_head.weight is loaded.model.shared.weight is loaded.model.decoder.embed_tokens.weight
    assert not loaded.model.encoder.embed_positions.weight.requires_grad
    # and a folder that Hugging Face wrote loads here
    theirs.save_pretrained(tmp_path / "hf")
    again = marian.load(tmp_path / "hf").state_dict()
    assert all(torch.equal(again[name], expected[name]) for name in expected)


def _saved(tmp_path, tokenizer_file):
    save(build_model(PRESETS[0], VOCAB, seed=3), tmp_path / "m", tokenizer_file)
    return tmp_path / "m"


def test_a_config_these_modules_do_not_compute_is_refused_by_field(tmp_path, tokenizer_file):
    folder = _saved(tmp_path, tokenizer_file)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "share_encoder_decoder_embeddings": False,
                                                     "activation_function": "tanh"}))
    with pytest.raises(ValueError, match=r"config.json: unsupported Marian config: share_encoder_decoder_embeddings "
                                         r"false .*activation_function 'tanh'"):
        load(folder)


def test_a_checkpoint_missing_a_tensor_is_refused_naming_it(tmp_path, tokenizer_file):
    folder = _saved(tmp_path, tokenizer_file)
    weights = load_file(folder / "model.safetensors")
    del weights["model.decoder.layers.0.fc1.bias"]
    save_file(weights, folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"model.safetensors: not this config's Marian model: missing "
                                         r"\['model.decoder.layers.0.fc1.bias'\]"):
        load(folder)


def test_stored_tied_copies_must_equal_the_shared_embeddings(tmp_path, tokenizer_file):
    folder = _saved(tmp_path, tokenizer_file)
    weights = load_file(folder / "model.safetensors")
    save_file({**weights, "lm_head.weight": weights["model.shared.weight"].clone()}, folder / "model.safetensors")
    assert torch.equal(load(folder).lm_head.weight, weights["model.shared.weight"])
    save_file({**weights, "lm_head.weight": weights["model.shared.weight"] + 1}, folder / "model.safetensors")
    with pytest.raises(ValueError, match="lm_head.weight differs from model.shared.weight"):
        load(folder)


def test_building_training_saving_and_loading_do_not_import_transformers(tmp_path, tokenizer_file):
    """What a training job does, in a fresh interpreter: transformers' import (~2 s) is the fixed cost this module
    removes."""
    script = f"""
import sys
from memkd import train
from memkd.model import build_model, load, save
preset = {PRESETS[0]!r}
model = build_model(preset, {VOCAB}, seed=0)
sources = [[5, 6, 7, 3], [8, 9, 3], [10, 11, 12, 13, 3]] * 4
settings = {{"seed": 1, "max_tokens": 64, "epochs": 1, "max_steps": 2, "lr": 1e-3, "warmup_steps": 1,
            "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
            "log_every": 1, "checkpoint_every": 10**9}}
train.train(model, sources, sources, settings, {str(tmp_path / "ckpt.pt")!r})
save(model, {str(tmp_path / "m")!r}, {str(tokenizer_file)!r})
load({str(tmp_path / "m")!r})
print(sorted(m for m in sys.modules if m.split(".")[0] == "transformers"))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_to_hugging_face_is_the_same_model_and_draws_nothing():
    model = build_model(PRESETS[1], VOCAB, seed=3).eval()
    state = torch.random.get_rng_state()
    theirs = marian.to_hugging_face(model)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert type(theirs).__name__ == "MarianMTModel" and not theirs.training
    expected = model.state_dict()
    assert all(torch.equal(theirs.state_dict()[name], expected[name]) for name in expected)
    assert {n for n, p in theirs.named_parameters() if not p.requires_grad} == {
        "model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"}
