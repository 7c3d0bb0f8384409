"""Marian as plain torch modules, in Hugging Face's layout: built, saved and loaded without importing transformers.

A training job used transformers' MarianMTModel only to hold its parameters (it trains through
memkd.model.decoder_hidden), and importing those classes cost about 2 s per job (bench/fixed_cost.py). The modules
here have Hugging Face's parameter names and attributes, `build` draws the same initial weights as
`MarianMTModel(config)` after the same `torch.manual_seed` (the same random draws in the same order), and `save`
writes the files `save_pretrained` writes (config.json, generation_config.json, model.safetensors), so a saved
folder loads with `MarianMTModel.from_pretrained` and every other tool that reads Marian (tests/unit/test_marian.py).

Post-norm layers, scaled token embeddings shared by encoder, decoder and output projection, fixed sinusoidal
positions; the forward pass is memkd.model.decoder_hidden.
"""

from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path

import torch
from torch import nn

from memkd.model import sinusoidal_positions

INIT_STD = 0.02  # MarianConfig's init_std
# activations as Hugging Face's ACT2FN names them, for checkpoints made elsewhere (Opus-MT uses swish)
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "swish": nn.SiLU, "silu": nn.SiLU}
# what save_pretrained leaves out: the tied copies of model.shared.weight and the fixed position tables
_TIED = ("lm_head.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight")
_NOT_SAVED = _TIED + ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight")
WEIGHTS_FILE, CONFIG_FILE, GENERATION_CONFIG_FILE = "model.safetensors", "config.json", "generation_config.json"


class MarianConfig:
    """The fields of Hugging Face's MarianConfig that config.json stores, as attributes."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def make_config(vocab_size: int, d_model: int, encoder_layers: int, decoder_layers: int, heads: int, ffn_dim: int,
                dropout: float, max_positions: int, attention_dropout: float = 0.0, activation_dropout: float = 0.0,
                *, pad_id: int, bos_id: int, eos_id: int) -> MarianConfig:
    """config.json's fields as MarianConfig(...) with these settings writes them (save_pretrained)."""
    fields = {
        "activation_dropout": activation_dropout, "activation_function": "relu", "architectures": ["MarianMTModel"],
        "attention_dropout": attention_dropout, "bos_token_id": bos_id, "d_model": d_model,
        "decoder_attention_heads": heads, "decoder_ffn_dim": ffn_dim, "decoder_layerdrop": 0.0,
        "decoder_layers": decoder_layers, "decoder_start_token_id": pad_id, "decoder_vocab_size": vocab_size,
        "dropout": dropout, "dtype": "float32", "encoder_attention_heads": heads, "encoder_ffn_dim": ffn_dim,
        "encoder_layerdrop": 0.0, "encoder_layers": encoder_layers, "eos_token_id": eos_id,
        "forced_eos_token_id": eos_id, "init_std": INIT_STD, "is_decoder": False, "is_encoder_decoder": True,
        "max_position_embeddings": max_positions, "model_type": "marian", "pad_token_id": pad_id,
        "scale_embedding": True, "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True,
        "use_cache": True, "vocab_size": vocab_size,
    }
    try:  # informational, as save_pretrained writes it; reading the installed version imports nothing
        fields["transformers_version"] = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        pass
    return MarianConfig(**fields)


def check_config(config: MarianConfig, where: str) -> None:
    """Refuse, by field, a Marian config whose model these modules do not compute as Hugging Face would."""
    problems = []
    if config.model_type != "marian":
        problems.append(f"model_type {config.model_type!r} (expected 'marian')")
    if not getattr(config, "share_encoder_decoder_embeddings", True):
        problems.append("share_encoder_decoder_embeddings false (separate source and target vocabularies)")
    if not getattr(config, "scale_embedding", False):
        problems.append("scale_embedding false")
    if config.activation_function not in ACTIVATIONS:
        problems.append(f"activation_function {config.activation_function!r} (one of {', '.join(ACTIVATIONS)})")
    if config.encoder_layerdrop or config.decoder_layerdrop:
        problems.append("encoder_layerdrop/decoder_layerdrop non-zero (layerdrop is not implemented)")
    if getattr(config, "decoder_vocab_size", None) not in (None, config.vocab_size):
        problems.append(f"decoder_vocab_size {config.decoder_vocab_size} != vocab_size {config.vocab_size}")
    if problems:
        raise ValueError(f"{where}: unsupported Marian config: {'; '.join(problems)}")


class Attention(nn.Module):
    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by {heads} heads")
        self.num_heads, self.head_dim, self.dropout = heads, d_model // heads, dropout
        self.scaling = self.head_dim**-0.5
        # created in Hugging Face's order: their default initialisation draws random numbers
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.q_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)


class EncoderLayer(nn.Module):
    def __init__(self, config: MarianConfig):
        super().__init__()
        d = config.d_model
        self.self_attn = Attention(d, config.encoder_attention_heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.activation_fn = ACTIVATIONS[config.activation_function]()
        self.fc1 = nn.Linear(d, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)


class DecoderLayer(nn.Module):
    def __init__(self, config: MarianConfig):
        super().__init__()
        d = config.d_model
        self.self_attn = Attention(d, config.decoder_attention_heads, config.attention_dropout)
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.activation_fn = ACTIVATIONS[config.activation_function]()
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = Attention(d, config.decoder_attention_heads, config.attention_dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, config.decoder_ffn_dim)
        self.fc2 = nn.Linear(config.decoder_ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)


class Stack(nn.Module):
    """The encoder or the decoder: token and position embeddings, then the layers."""

    def __init__(self, config: MarianConfig, layer: type, n_layers: int):
        super().__init__()
        d = config.d_model
        self.dropout = config.dropout
        self.embed_scale = math.sqrt(d) if config.scale_embedding else 1.0
        self.embed_tokens = nn.Embedding(config.vocab_size, d, config.pad_token_id)  # tied to model.shared
        self.embed_positions = nn.Embedding(config.max_position_embeddings, d, _freeze=True)
        self.layers = nn.ModuleList([layer(config) for _ in range(n_layers)])


class EncoderDecoder(nn.Module):
    """Hugging Face's MarianModel: `shared` token embeddings, `encoder`, `decoder`."""

    def __init__(self, config: MarianConfig, initialise: bool):
        super().__init__()
        self.shared = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        # each of Hugging Face's sub-models initialises its weights as soon as it is built (post_init)
        self.encoder = Stack(config, EncoderLayer, config.encoder_layers)
        if initialise:
            _initialise(self.encoder, config)
        self.decoder = Stack(config, DecoderLayer, config.decoder_layers)
        if initialise:
            _initialise(self.decoder, config)
            _initialise(self.shared, config)


class Marian(nn.Module):
    """Hugging Face's MarianMTModel's parameters and buffers, under its names; `config` is a MarianConfig."""

    def __init__(self, config: MarianConfig, initialise: bool = True):
        super().__init__()
        self.config = config
        self.model = EncoderDecoder(config, initialise)
        self.register_buffer("final_logits_bias", torch.zeros((1, config.vocab_size)))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if initialise:
            _initialise(self.lm_head, config)
        self.tie_weights()

    def tie_weights(self) -> None:
        """One token-embedding matrix for the encoder, the decoder and the output projection."""
        shared = self.model.shared.weight
        self.model.encoder.embed_tokens.weight = shared
        self.model.decoder.embed_tokens.weight = shared
        self.lm_head.weight = shared


@torch.no_grad()
def _initialise(module: nn.Module, config: MarianConfig) -> None:
    """Hugging Face's _init_weights over `module`, children first (as post_init applies it): normal(0, init_std)
    weights and zero biases in linear and embedding layers (the padding row zeroed), unit layer norms, the position
    tables overwritten with the sinusoids (after a normal draw, which Hugging Face makes too)."""
    for child in module.children():
        _initialise(child, config)
    if isinstance(module, nn.Linear):
        module.weight.normal_(0.0, config.init_std)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(0.0, config.init_std)
        if module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.weight.fill_(1.0)
        module.bias.zero_()
    elif isinstance(module, Stack):
        _set_positions(module)


@torch.no_grad()
def _set_positions(stack: Stack) -> None:
    table = stack.embed_positions.weight
    table.copy_(torch.from_numpy(sinusoidal_positions(*table.shape)))
    table.requires_grad_(False)


def build(config: MarianConfig, seed: int) -> Marian:
    """A freshly initialised model, equal to Hugging Face's MarianMTModel(config) after torch.manual_seed(seed)."""
    check_config(config, "memkd.marian.build")
    torch.manual_seed(seed)
    return Marian(config)


def save(model: Marian, directory: str | Path) -> None:
    """config.json, generation_config.json and model.safetensors, as save_pretrained writes them (the tied
    embedding copies and the position tables left out; from_pretrained and `load` restore them)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    generation = {"_from_model_config": True, "output_attentions": False, "output_hidden_states": False}
    generation |= {key: config[key] for key in ("bos_token_id", "decoder_start_token_id", "eos_token_id",
                                                "forced_eos_token_id", "pad_token_id", "transformers_version",
                                                "use_cache") if key in config}
    (directory / GENERATION_CONFIG_FILE).write_text(json.dumps(generation, indent=2, sort_keys=True) + "\n")
    tensors = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()
               if name not in _NOT_SAVED}
    save_file(tensors, directory / WEIGHTS_FILE, metadata={"format": "pt"})


def load(directory: str | Path) -> Marian:
    """A saved model folder (this module's `save`, or save_pretrained of a shared-vocabulary Marian model) on the
    CPU, in training mode as torch builds modules; the position tables are recomputed and stay fixed."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config = MarianConfig(**json.loads((directory / CONFIG_FILE).read_text()))
    check_config(config, str(directory / CONFIG_FILE))
    with torch.device("meta"):  # no initial draws: every tensor comes from the file
        model = Marian(config, initialise=False)
    model = model.to_empty(device="cpu")
    model.tie_weights()
    weights = load_file(directory / WEIGHTS_FILE)
    if "final_logits_bias" not in weights:  # save_pretrained keeps it; older tools may not
        weights["final_logits_bias"] = torch.zeros((1, config.vocab_size))
    expected = set(model.state_dict()) - set(_NOT_SAVED)
    missing, unexpected = expected - set(weights), set(weights) - set(model.state_dict())
    if missing or unexpected:
        raise ValueError(f"{directory / WEIGHTS_FILE}: not this config's Marian model: "
                         f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
    # a checkpoint that stores the tied copies too (some converters do) must store the same matrix
    for name in set(weights) & set(_TIED):
        if not torch.equal(weights.pop(name), weights["model.shared.weight"]):
            raise ValueError(f"{directory / WEIGHTS_FILE}: {name} differs from model.shared.weight; these "
                             "modules tie them")
    model.load_state_dict(weights, strict=False)
    for stack in (model.model.encoder, model.model.decoder):
        _set_positions(stack)
    return model


def to_hugging_face(model: Marian):
    """The same model as transformers' MarianMTModel (its generate() is memkd's reference decoder)."""
    from transformers import MarianConfig as HFMarianConfig
    from transformers import MarianMTModel

    config = {key: value for key, value in model.config.to_dict().items()
              if key not in ("architectures", "transformers_version", "model_type")}
    with torch.random.fork_rng(devices=[]):  # its throwaway initialisation leaves the caller's draws alone
        hf_model = MarianMTModel(HFMarianConfig(**config))
    hf_model.load_state_dict(model.state_dict())  # its position tables stay fixed, as built
    return hf_model.to(next(model.parameters()).device).train(model.training)
