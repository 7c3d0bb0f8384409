"""CTranslate2 as the decoding engine: a model converted to CTranslate2's format, and translate() returning exactly
what memkd.decode.translate returns (the same batches, length limits, beam settings and post-processing).

CTranslate2's stock Marian converter assumes Opus-MT's layout: pad as the *last* vocabulary entry (which it drops)
and a decoder that starts from a zero embedding. Our models have pad at id 0 and start the decoder from the pad
token, whose tied embedding is trained (the output projection updates it), so the conversion keeps every
vocabulary row and starts the decoder from the pad token's own embedding.

A study model is converted once (rule convert_model, `convert`) and every decoding or scoring job loads that folder
(`load`): such a job imports ctranslate2 and sentencepiece only, not torch or transformers (~5 s per job). The
converter itself needs torch, so it is imported only by `save`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import ctranslate2

from memkd.data import encode, make_batches
from memkd.decode import strip_ids
from memkd.model import BOS_ID, EOS_ID, PAD_ID, TOKENIZER_FILE, UNK_ID

ENGINE = f"ctranslate2-{ctranslate2.__version__}"
MODEL_FILE = "model.bin"


def _converter(model, processor):
    """CTranslate2's converter for a loaded model; its module imports torch, hence defined on use."""
    from ctranslate2.converters.converter import Converter
    from ctranslate2.converters.transformers import BartLoader

    class _MarianLoader(BartLoader):
        """CTranslate2's Bart/Marian weight mapping (post-norm, no embedding layer norm), our vocabulary and start."""

        def get_model_spec(self, model):
            model.config.normalize_before = False
            model.config.normalize_embedding = False
            return super().get_model_spec(model)

        def get_vocabulary(self, model, processor):
            pieces = [processor.id_to_piece(i) for i in range(processor.vocab_size())]
            if len(pieces) != model.config.vocab_size:
                raise ValueError(f"the tokenizer has {len(pieces)} pieces, the model {model.config.vocab_size} rows")
            return pieces

        def set_config(self, config, model, processor):
            config.bos_token = processor.id_to_piece(BOS_ID)
            config.eos_token = processor.id_to_piece(EOS_ID)
            config.unk_token = processor.id_to_piece(UNK_ID)
            # the decoder reads the pad token's embedding first, as in Hugging Face's generate (decoder_start_token_id)
            config.decoder_start_token = processor.id_to_piece(PAD_ID)

    class _LoadedModel(Converter):
        def __init__(self, model, processor):
            self.model, self.processor = model, processor

        def _load(self):
            return _MarianLoader()(self.model, self.processor)

    return _LoadedModel(model, processor)


def save(model, processor, output_dir: str | Path) -> Path:
    """Write a loaded model (memkd.model.load) as a CTranslate2 model folder (fp32, every vocabulary row), with its
    tokenizer, atomically: built in a temporary folder beside `output_dir`, then renamed into place."""
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    try:
        _converter(model, processor).convert(str(tmp / "model"), quantization="float32")
        (tmp / "model" / TOKENIZER_FILE).write_bytes(processor.serialized_model_proto())
        if output_dir.exists():
            shutil.rmtree(output_dir)
        (tmp / "model").rename(output_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return output_dir


def convert(model_dir: str | Path, output_dir: str | Path) -> Path:
    """A saved model folder (memkd.model.save) as a CTranslate2 model folder; see `save`."""
    from memkd.model import load as load_model
    from memkd.tokenizer import load as load_tokenizer

    return save(load_model(model_dir, "cpu"), load_tokenizer(Path(model_dir) / TOKENIZER_FILE), output_dir)


def load(ct2_dir: str | Path, threads: int = 1, device: str = "cpu") -> ctranslate2.Translator:
    if not (Path(ct2_dir) / MODEL_FILE).exists():
        raise FileNotFoundError(f"{ct2_dir}: no CTranslate2 model ({MODEL_FILE}); convert the model folder first")
    # fp32 as in training and memkd's decoder: other compute types change outputs
    return ctranslate2.Translator(str(ct2_dir), device=device, compute_type="float32", inter_threads=1,
                                  intra_threads=threads)


def translator(model, processor, threads: int = 1, device: str = "cpu") -> ctranslate2.Translator:
    """A loaded model as a CTranslate2 translator, converted in memory (its folder is removed straight away): for a
    model without a converted folder (tests, ad-hoc use). Study jobs load the folder of rule convert_model."""
    with tempfile.TemporaryDirectory(prefix="memkd-ct2-") as tmp:
        return load(save(model, processor, Path(tmp) / "model"), threads, device)


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
