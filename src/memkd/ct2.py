"""CTranslate2 as the decoding engine: a model converted to CTranslate2's format, and translate() returning exactly
what memkd.decode.translate returns (the same batches, length limits, beam settings and post-processing).

CTranslate2's stock Marian converter assumes Opus-MT's layout: pad as the *last* vocabulary entry (which it drops)
and a decoder that starts from a zero embedding. Our models have pad at id 0 and start the decoder from the pad
token, whose tied embedding is trained (the output projection updates it), so the conversion keeps every
vocabulary row and starts the decoder from the pad token's own embedding.

A study model is converted once (rule convert_model, `convert`) and every decoding or scoring job loads that folder
(`load`): such a job imports ctranslate2 and sentencepiece only, not torch or transformers (~5 s per job). The
conversion itself reads the saved weights with numpy (`convert`), so it does not import them either; `save`
converts a model already loaded with torch (ad-hoc use, and the tests' reference).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import ctranslate2
import numpy as np

from memkd.data import encode, make_batches
from memkd.decode import strip_ids
from memkd.model import BOS_ID, EOS_ID, PAD_ID, TOKENIZER_FILE, UNK_ID, sinusoidal_positions

ENGINE = f"ctranslate2-{ctranslate2.__version__}"
MODEL_FILE = "model.bin"


# Hugging Face's activation names, as CTranslate2's Transformers converter maps them
_ACTIVATIONS = {"relu": "RELU", "gelu": "GELU", "gelu_python": "GELU", "gelu_new": "GELUTanh",
                "gelu_fast": "GELUTanh", "gelu_pytorch_tanh": "GELUTanh", "silu": "SWISH", "swish": "SWISH"}


def _specs():
    """CTranslate2's model specs (ctranslate2.specs). Its model_spec module imports torch where it can, only to
    accept torch tensors (~2 s); the specs built here hold numpy arrays only, so a process that has not imported
    torch imports the specs with torch hidden (import torch raising ImportError meanwhile)."""
    if "ctranslate2.specs" not in sys.modules and "torch" not in sys.modules:
        sys.modules["torch"] = None
        try:
            import ctranslate2.specs  # noqa: F401
        finally:
            del sys.modules["torch"]
    from ctranslate2.specs import common_spec, transformer_spec

    return common_spec, transformer_spec


def _spec(weights: dict[str, np.ndarray], config: dict, processor):
    """The CTranslate2 model spec of a Marian model given as its state dict (numpy arrays, Hugging Face's names) and
    config: CTranslate2's Bart/Marian weight mapping (post-norm, no embedding layer norm), with our vocabulary (every
    row) and start token. Numpy only, so that a saved model converts without torch and transformers."""
    common_spec, transformer_spec = _specs()
    if config["activation_function"] not in _ACTIVATIONS:
        raise ValueError(f"activation {config['activation_function']!r}: no CTranslate2 equivalent")
    spec = transformer_spec.TransformerSpec.from_config(
        (config["encoder_layers"], config["decoder_layers"]),
        config["encoder_attention_heads"],
        pre_norm=False,
        activation=getattr(common_spec.Activation, _ACTIVATIONS[config["activation_function"]]),
        layernorm_embedding=False,
    )
    shared = weights.get("model.shared.weight")

    def tensor(name: str) -> np.ndarray:
        if name in weights:
            return weights[name]
        if name.endswith("embed_tokens.weight") or name == "lm_head.weight":  # tied to the shared embedding
            if shared is None:
                raise ValueError(f"the model has no {name} and no shared embedding")
            return shared
        raise KeyError(f"the model has no {name}")

    def linear(layer_spec, prefix: str):
        layer_spec.weight = tensor(f"{prefix}.weight")
        if f"{prefix}.bias" in weights:
            layer_spec.bias = weights[f"{prefix}.bias"]

    def layer_norm(layer_spec, prefix: str):
        layer_spec.gamma, layer_spec.beta = tensor(f"{prefix}.weight"), tensor(f"{prefix}.bias")

    def fused(layer_spec, prefixes: list[str]):  # ctranslate2.converters.utils.fuse_linear, every layer with a bias
        layer_spec.weight = np.concatenate([tensor(f"{p}.weight") for p in prefixes])
        layer_spec.bias = np.concatenate([tensor(f"{p}.bias") for p in prefixes])

    def attention(attention_spec, prefix: str, self_attention: bool):
        q, k, v = (f"{prefix}.{name}" for name in ("q_proj", "k_proj", "v_proj"))
        if self_attention:
            fused(attention_spec.linear[0], [q, k, v])
        else:
            fused(attention_spec.linear[0], [q])
            fused(attention_spec.linear[1], [k, v])
        linear(attention_spec.linear[-1], f"{prefix}.out_proj")

    for stack in ("encoder", "decoder"):
        stack_spec, prefix = getattr(spec, stack), f"model.{stack}"
        stack_spec.scale_embeddings = math.sqrt(config["d_model"]) if config["scale_embedding"] else 1.0
        positions = weights.get(f"{prefix}.embed_positions.weight")
        stack_spec.position_encodings.encodings = (
            positions if positions is not None
            else sinusoidal_positions(config["max_position_embeddings"], config["d_model"])
        )
        embeddings = stack_spec.embeddings[0] if isinstance(stack_spec.embeddings, list) else stack_spec.embeddings
        embeddings.weight = tensor(f"{prefix}.embed_tokens.weight")
        for i, layer_spec in enumerate(stack_spec.layer):
            layer = f"{prefix}.layers.{i}"
            attention(layer_spec.self_attention, f"{layer}.self_attn", self_attention=True)
            layer_norm(layer_spec.self_attention.layer_norm, f"{layer}.self_attn_layer_norm")
            if stack == "decoder":
                attention(layer_spec.attention, f"{layer}.encoder_attn", self_attention=False)
                layer_norm(layer_spec.attention.layer_norm, f"{layer}.encoder_attn_layer_norm")
            linear(layer_spec.ffn.linear_0, f"{layer}.fc1")
            linear(layer_spec.ffn.linear_1, f"{layer}.fc2")
            layer_norm(layer_spec.ffn.layer_norm, f"{layer}.final_layer_norm")
    linear(spec.decoder.projection, "lm_head")
    final_logits_bias = weights.get("final_logits_bias")
    if final_logits_bias is not None and np.count_nonzero(final_logits_bias) != 0:
        spec.decoder.projection.bias = final_logits_bias.squeeze()

    spec.config.bos_token = processor.id_to_piece(BOS_ID)
    spec.config.eos_token = processor.id_to_piece(EOS_ID)
    spec.config.unk_token = processor.id_to_piece(UNK_ID)
    # the decoder reads the pad token's embedding first, as in Hugging Face's generate (decoder_start_token_id)
    spec.config.decoder_start_token = processor.id_to_piece(PAD_ID)
    pieces = [processor.id_to_piece(i) for i in range(processor.vocab_size())]
    if len(pieces) != config["vocab_size"]:
        raise ValueError(f"the tokenizer has {len(pieces)} pieces, the model {config['vocab_size']} rows")
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    return spec


def _write(spec, processor, output_dir: str | Path) -> Path:
    """Write a spec as a CTranslate2 model folder (fp32), with its tokenizer, atomically: built in a temporary folder
    beside `output_dir`, then renamed into place. The steps of ctranslate2.converters.Converter.convert."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        spec.validate()
        spec.optimize(quantization="float32")
        (tmp / "model").mkdir()
        spec.save(str(tmp / "model"))
        (tmp / "model" / TOKENIZER_FILE).write_bytes(processor.serialized_model_proto())
        if output_dir.exists():
            shutil.rmtree(output_dir)
        (tmp / "model").rename(output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output_dir


def save(model, processor, output_dir: str | Path) -> Path:
    """Write a loaded model (memkd.model.load) as a CTranslate2 model folder (fp32, every vocabulary row), with its
    tokenizer, atomically (see `_write`)."""
    weights = {name: tensor.detach().cpu().numpy() for name, tensor in model.state_dict().items()}
    return _write(_spec(weights, model.config.to_dict(), processor), processor, output_dir)


def convert(model_dir: str | Path, output_dir: str | Path) -> Path:
    """A saved model folder (memkd.model.save: config.json, model.safetensors, the tokenizer) as a CTranslate2 model
    folder, read with numpy: the same folder as `save` writes from the loaded model, without importing torch or
    transformers (~5 s per job)."""
    from safetensors.numpy import load_file

    from memkd.tokenizer import load as load_tokenizer

    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    processor = load_tokenizer(model_dir / TOKENIZER_FILE)
    return _write(_spec(load_file(model_dir / "model.safetensors"), config, processor), processor, output_dir)


# memkd.decode's precisions as CTranslate2 compute types
COMPUTE_TYPES = {"fp32": "float32", "bf16": "bfloat16"}


def load(ct2_dir: str | Path, threads: int = 1, device: str = "cpu", precision: str = "fp32") -> ctranslate2.Translator:
    """The converted model in `precision` (fp32, as training and memkd's decoder, gives their outputs exactly;
    bf16 is for GPUs)."""
    if not (Path(ct2_dir) / MODEL_FILE).exists():
        raise FileNotFoundError(f"{ct2_dir}: no CTranslate2 model ({MODEL_FILE}); convert the model folder first")
    compute_type = COMPUTE_TYPES[precision]
    supported = ctranslate2.get_supported_compute_types(device)
    if compute_type not in supported:
        raise ValueError(f"decoding.precision {precision}: CTranslate2 {ctranslate2.__version__} on {device} offers "
                         f"{', '.join(sorted(supported))}, not {compute_type}; set decoding.precision to auto or fp32")
    return ctranslate2.Translator(str(ct2_dir), device=device, compute_type=compute_type, inter_threads=1,
                                  intra_threads=threads)


def converted(
    model_dir: str | Path, threads: int = 1, device: str = "cpu", precision: str = "fp32"
) -> ctranslate2.Translator:
    """A saved model folder as a CTranslate2 translator, converted (`convert`, no torch) into a temporary folder that
    is removed straight away: for a model without a folder of rule convert_model (score_cm_references' CM models)."""
    with tempfile.TemporaryDirectory(prefix="memkd-ct2-") as tmp:
        return load(convert(model_dir, Path(tmp) / "model"), threads, device, precision)


def pick_device() -> str:
    """The GPU when CTranslate2 sees one, else the CPU (as memkd.model.pick_device, without importing torch)."""
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def _pieces(processor, ids: list[int]) -> list[str]:
    return [processor.id_to_piece(t) for t in ids]


def translate(
    translator: ctranslate2.Translator,
    processor,
    sources: list[str],
    beam: int = 1,
    n_best: int = 1,
    max_tokens: int = 4000,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
    max_source_len: int = 256,
    max_positions: int = 256,
    translate_empty: Callable[[int, int, int], list[str]] | None = None,
) -> tuple[list[list[str]], float]:
    """n_best hypotheses per source (best first) and the wall time in seconds, as memkd.decode.translate gives
    them. Its batches are kept, one call each, because its length limit is per batch (a * the batch's longest
    source + b, below the model's positions).

    CTranslate2 answers a source with no tokens (only </s>) with an empty output, without decoding, where the model
    does translate </s> alone: `translate_empty(beam, n_best, max_len)` gives those sources' hypotheses."""
    if n_best > beam:
        raise ValueError(f"n_best ({n_best}) cannot exceed the beam size ({beam})")
    encoded = encode(processor, sources, max_source_len)
    batches = make_batches([len(s) for s in encoded], [len(s) for s in encoded], max(max_tokens // beam, 64))
    results: list[list[str]] = [[] for _ in sources]
    started = time.perf_counter()
    for indices in batches:
        max_len = min(int(max_len_a * max(len(encoded[i]) for i in indices) + max_len_b), max_positions - 1)
        empty = [i for i in indices if len(encoded[i]) == 1]
        if empty:
            if translate_empty is None:
                raise ValueError(f"{len(empty)} empty source(s): CTranslate2 does not translate an empty source")
            hypotheses = translate_empty(beam, n_best, max_len)
            for i in empty:
                results[i] = list(hypotheses)
        indices = [i for i in indices if len(encoded[i]) > 1]
        output = translator.translate_batch(
            [_pieces(processor, encoded[i]) for i in indices],
            beam_size=beam,
            num_hypotheses=n_best,
            length_penalty=1.0,
            max_decoding_length=max_len,
            min_decoding_length=0,  # as generate(): </s> may come first (an empty output)
            max_input_length=0,  # sources are already truncated to the model's positions, as for memkd's decoder
        ) if indices else []
        for i, result in zip(indices, output, strict=True):
            results[i] = [processor.decode(strip_ids([processor.piece_to_id(p) for p in h])) for h in result.hypotheses]
    return results, time.perf_counter() - started


def score(
    translator: ctranslate2.Translator,
    processor,
    sources: list[str],
    targets: list[str],
    max_tokens: int = 4000,
    max_len: int = 256,
) -> list[tuple[int, float]]:
    """(target token count incl. </s>, summed natural-log probability) per pair, teacher-forced: what
    memkd.decode.score returns, with its truncation (max_len tokens with </s>) and batches; the sums agree to ~1e-5
    (tests/unit/test_ct2.py)."""
    src, tgt = encode(processor, sources, max_len), encode(processor, targets, max_len)
    out: list[tuple[int, float]] = [(0, 0.0)] * len(sources)
    for indices in make_batches([len(s) for s in src], [len(t) for t in tgt], max_tokens):
        results = translator.score_batch(
            [_pieces(processor, src[i]) for i in indices],
            [_pieces(processor, tgt[i][:-1]) for i in indices],  # CTranslate2 appends </s> and scores it
            max_input_length=0,  # already truncated to the model's positions, as for memkd's scoring
        )
        for i, result in zip(indices, results, strict=True):
            if len(result.log_probs) != len(tgt[i]):
                raise RuntimeError(f"CTranslate2 scored {len(result.log_probs)} tokens of a {len(tgt[i])}-token target")
            out[i] = (len(result.log_probs), float(sum(result.log_probs)))
    return out
