"""Batched greedy and beam decoding, k-best lists, and teacher-forced scores of given targets.

Inputs are sorted by length for batching and outputs restored to input order. `translate` (Hugging Face generate)
is the reference decoder and `score` the reference scorer; `Decoder` translates and scores with a saved model and
the configured engine, CTranslate2 by default (memkd.ct2), which gives the same outputs faster
(tests/unit/test_ct2.py). With CTranslate2 and a converted folder, nothing here imports torch or transformers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from memkd.data import IGNORE_INDEX, collate, encode, make_batches
from memkd.model import EOS_ID, PAD_ID, TOKENIZER_FILE, load, pick_device, teacher_forced_logits
from memkd.tokenizer import load as load_tokenizer

ENGINES = ("ctranslate2", "memkd")
# decoding.precision: auto is bf16 on CUDA (tensor cores; the README's GPU check) and fp32 elsewhere, where it keeps
# every output identical to the reference decoder and most CPUs have no fast bf16 (CTranslate2 offers none on them).
PRECISIONS = ("auto", "fp32", "bf16")
# Translations of training (and probe) sources are what the memorization metrics read: they get a fixed, generous
# length limit (memorization_max_len) so that oscillations are not cut short; test-set decoding keeps a * src + b.
MEMORIZATION_SPLITS = ("study_train", "train", "probe")


def parse_decoding(name: str) -> int:
    """The beam size a decoding name means: "greedy" is 1, "beam<k>" is k."""
    if name == "greedy":
        return 1
    if name.startswith("beam") and name[4:].isdigit() and int(name[4:]) >= 1:
        return int(name[4:])
    raise ValueError(f"decoding {name!r}: expected 'greedy' or 'beam<k>' (e.g. beam5)")


def engine_name(engine: str) -> str:
    """The engine with its version, as the decoding signature names it."""
    if engine == "ctranslate2":
        from memkd.ct2 import ENGINE

        return ENGINE
    if engine == "memkd":
        import transformers

        return f"memkd-transformers-{transformers.__version__}"
    raise ValueError(f"decoding engine {engine!r}: expected one of {', '.join(ENGINES)}")


def decoding_signature(beam: int, n_best: int, max_len_a: float, max_len_b: int, engine: str,
                       precision: str = "fp32") -> str:
    """States every decoding setting behind a number, sacreBLEU-style; max_len_a 0 is a fixed limit of max_len_b.
    The precision is named when it is not fp32 (signatures without it are fp32)."""
    kind = "greedy" if beam == 1 else f"beam{beam}"
    limit = f"{max_len_b}" if max_len_a == 0 else f"{max_len_a:g}*src+{max_len_b}"
    signature = f"decode:{kind}|nbest:{n_best}|maxlen:{limit}|lenpen:1.0|engine:{engine_name(engine)}"
    return signature if precision == "fp32" else f"{signature}|precision:{precision}"


def resolve_precision(setting: str, device: str) -> str:
    """fp32 or bf16, what decoding.precision `setting` means on `device` (PRECISIONS)."""
    if setting not in PRECISIONS:
        raise ValueError(f"decoding.precision {setting!r}: expected one of {', '.join(PRECISIONS)}")
    if setting == "auto":
        return "bf16" if str(device).startswith("cuda") else "fp32"
    return setting


def default_device(engine: str) -> str:
    """The device `Decoder` picks for `engine` when given none: the GPU when the engine sees one, else the CPU."""
    if engine == "ctranslate2":
        from memkd import ct2

        return ct2.pick_device()
    return pick_device()


def _autocast(device: str, precision: str):
    """bf16 autocast for `precision` bf16 (matrix products in bf16, softmax and sums in fp32), else nothing."""
    import torch

    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")


def length_limit(settings: dict, split: str, max_positions: int) -> tuple[float, int]:
    """(max_len_a, max_len_b) for translating `split`: training and probe sources get the fixed memorization limit
    (as a = 0, b = limit), bounded by what the model's positions allow; other splits a * source length + b."""
    if split in MEMORIZATION_SPLITS:
        return 0, min(settings["memorization_max_len"], max_positions - 1)
    return settings["max_len_a"], settings["max_len_b"]


def strip_ids(ids: list[int]) -> list[int]:
    """A hypothesis's token ids up to its </s>, without padding."""
    out = []
    for i in ids:
        if i == EOS_ID:
            break
        if i != PAD_ID:
            out.append(i)
    return out


def translate(
    model,
    processor,
    sources: list[str],
    beam: int = 1,
    n_best: int = 1,
    max_tokens: int = 4000,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
    max_source_len: int = 256,
    device: str = "cpu",
    precision: str = "fp32",
) -> tuple[list[list[str]], float]:
    """n_best hypotheses per source (best first) and the wall time in seconds; `precision` fp32 or bf16. `model` is
    memkd's (memkd.model.load) or Hugging Face's MarianMTModel: decoding is the latter's generate()."""
    import torch
    from transformers import GenerationConfig

    if n_best > beam:
        raise ValueError(f"n_best ({n_best}) cannot exceed the beam size ({beam})")
    if not hasattr(model, "generate"):
        from memkd.marian import to_hugging_face

        model = to_hugging_face(model)
    model.eval().to(device)
    # generate() fills every option left unset from the model's own generation_config, whose forced_eos_token_id
    # (MarianConfig's) would force </s> at the length limit; a hypothesis that reaches the limit stays truncated
    model.generation_config.forced_eos_token_id = None
    encoded = encode(processor, sources, max_source_len)
    # beam search holds `beam` hypotheses per sentence: budget the batch accordingly
    batches = make_batches([len(s) for s in encoded], [len(s) for s in encoded], max(max_tokens // beam, 64))
    results: list[list[str]] = [[] for _ in sources]
    started = time.perf_counter()
    for indices in batches:
        batch = {k: v.to(device) for k, v in collate([encoded[i] for i in indices]).items()}
        longest = int(batch["attention_mask"].sum(1).max())
        config = GenerationConfig(
            num_beams=beam,
            num_return_sequences=n_best,
            do_sample=False,
            # the decoder start token takes one of the model's positions
            max_new_tokens=min(int(max_len_a * longest + max_len_b), model.config.max_position_embeddings - 1),
            length_penalty=1.0,
            early_stopping=True if beam > 1 else False,
            pad_token_id=PAD_ID,
            eos_token_id=EOS_ID,
            decoder_start_token_id=PAD_ID,
            forced_eos_token_id=None,
        )
        with torch.inference_mode(), _autocast(device, precision):
            output = model.generate(**batch, generation_config=config)
        # one device-to-host copy per batch (per row, on a GPU, each would wait for its own transfer)
        texts = [processor.decode(strip_ids(row)) for row in output.cpu().tolist()]
        for position, i in enumerate(indices):
            results[i] = texts[position * n_best : (position + 1) * n_best]
    return results, time.perf_counter() - started


class Decoder:
    """A saved model folder ready to translate and score with `engine`; `translate` and `score` return what
    memkd.decode's functions of those names return, whichever the engine.

    ctranslate2: the model converted by rule convert_model (`ct2_dir`, memkd.ct2.convert) is loaded, and torch is
    imported only if a source is empty (CTranslate2 does not decode one; memkd's decoder translates it from the
    model folder); without `ct2_dir` the model folder is converted on loading (memkd.ct2.converted, without torch
    either). memkd: Hugging Face generate and torch scoring, on `threads` torch threads.

    `precision` is decoding.precision (PRECISIONS), resolved for the device: CTranslate2's compute type float32 or
    bfloat16, or bf16 autocast in memkd's decoder and scorer."""

    def __init__(self, model_dir: str | Path, engine: str, threads: int = 1, device: str | None = None,
                 ct2_dir: str | Path | None = None, precision: str = "fp32"):
        engine_name(engine)  # an unknown engine fails here, before the model loads
        self.engine, self.model_dir = engine, Path(model_dir)
        self.processor = load_tokenizer(self.model_dir / TOKENIZER_FILE)
        # the positions the model was built with (memkd.model.build_model's max_positions), read without transformers
        self.max_positions = json.loads((self.model_dir / "config.json").read_text())["max_position_embeddings"]
        self._model, self._generator, self.translator = None, None, None
        if engine == "ctranslate2":
            from memkd import ct2

            self.device = device or default_device(engine)
            self.precision = resolve_precision(precision, self.device)
            if ct2_dir is not None:
                self.translator = ct2.load(ct2_dir, threads, self.device, self.precision)
            else:
                self.translator = ct2.converted(self.model_dir, threads, self.device, self.precision)
        else:
            import torch

            torch.set_num_threads(threads)
            self.device = device or default_device(engine)
            self.precision = resolve_precision(precision, self.device)
            self._model = load(self.model_dir, self.device)

    @property
    def model(self):
        """The torch model (memkd.model.load), loaded on first use (on the CPU with ctranslate2)."""
        if self._model is None:
            self._model = load(self.model_dir, "cpu")
        return self._model

    @property
    def generator(self):
        """The model as Hugging Face's MarianMTModel, for its generate() (memkd's reference decoder)."""
        if self._generator is None:
            from memkd.marian import to_hugging_face

            self._generator = to_hugging_face(self.model)
        return self._generator

    def translate(self, sources: list[str], beam: int = 1, n_best: int = 1, max_tokens: int = 4000,
                  max_len_a: float = 1.5, max_len_b: int = 10) -> tuple[list[list[str]], float]:
        if self.translator is not None:
            from memkd import ct2

            return ct2.translate(self.translator, self.processor, sources, beam=beam, n_best=n_best,
                                 max_tokens=max_tokens, max_len_a=max_len_a, max_len_b=max_len_b,
                                 max_source_len=self.max_positions, max_positions=self.max_positions,
                                 translate_empty=self._translate_empty)
        return translate(self.generator, self.processor, sources, beam=beam, n_best=n_best, max_tokens=max_tokens,
                         max_len_a=max_len_a, max_len_b=max_len_b, max_source_len=self.max_positions,
                         device=self.device, precision=self.precision)

    def score(self, sources: list[str], targets: list[str], max_tokens: int = 4000) -> list[tuple[int, float]]:
        """(target token count incl. </s>, summed natural-log probability) per pair, teacher-forced, sequences
        truncated to the model's positions."""
        if self.translator is not None:
            from memkd import ct2

            return ct2.score(self.translator, self.processor, sources, targets, max_tokens=max_tokens,
                             max_len=self.max_positions)
        return score(self.model, self.processor, sources, targets, max_tokens=max_tokens, max_len=self.max_positions,
                     device=self.device, precision=self.precision)

    def _translate_empty(self, beam: int, n_best: int, max_len: int) -> list[str]:
        """An empty source's hypotheses from memkd's decoder (CTranslate2 does not decode one)."""
        return translate(self.generator, self.processor, [""], beam=beam, n_best=n_best, max_len_a=0, max_len_b=max_len,
                         max_source_len=self.max_positions, device="cpu")[0][0]

    def signature(self, beam: int, n_best: int, max_len_a: float, max_len_b: int) -> str:
        return decoding_signature(beam, n_best, max_len_a, max_len_b, self.engine, self.precision)


def _sum_over_targets(processor, sources, targets, max_tokens, max_len, device, per_position,
                      precision: str = "fp32") -> list[tuple[int, float]]:
    """(target token count incl. </s>, sum of `per_position(batch)` over the target positions) per pair, teacher-forced
    on the reference prefix; `per_position` maps a batch to one value per (sentence, target position)."""
    import torch

    src, tgt = encode(processor, sources, max_len), encode(processor, targets, max_len)
    out: list[tuple[int, float]] = [(0, 0.0)] * len(sources)
    for indices in make_batches([len(s) for s in src], [len(t) for t in tgt], max_tokens):
        batch = {k: v.to(device) for k, v in collate([src[i] for i in indices], [tgt[i] for i in indices]).items()}
        mask = batch["labels"] != IGNORE_INDEX
        with torch.inference_mode(), _autocast(device, precision):
            sums, counts = (per_position(batch) * mask).sum(1), mask.sum(1)
        # one device-to-host copy per batch, not one per sentence and value
        for i, count, total in zip(indices, counts.tolist(), sums.tolist(), strict=True):
            out[i] = (count, total)
    return out


def score(
    model,
    processor,
    sources: list[str],
    targets: list[str],
    max_tokens: int = 4000,
    max_len: int = 256,
    device: str = "cpu",
    precision: str = "fp32",
) -> list[tuple[int, float]]:
    """(target token count incl. </s>, summed natural-log probability) per pair, teacher-forced; the logits in
    `precision` (fp32 or bf16), the log-softmax and sums in fp32."""
    import torch

    model.eval().to(device)

    def log_prob_of_reference(batch):
        log_probs = torch.log_softmax(teacher_forced_logits(model, batch).float(), dim=-1)
        return log_probs.gather(-1, batch["labels"].clamp(min=0).unsqueeze(-1)).squeeze(-1)

    return _sum_over_targets(processor, sources, targets, max_tokens, max_len, device, log_prob_of_reference,
                             precision)


def divergence(
    model_p,
    model_q,
    processor,
    sources: list[str],
    targets: list[str],
    max_tokens: int = 4000,
    max_len: int = 256,
    device: str = "cpu",
    precision: str = "fp32",
) -> list[tuple[int, float]]:
    """(target token count incl. </s>, summed KL(p || q) over the target positions) per pair: both models
    teacher-forced on the reference prefix, KL between their next-token distributions (natural log); the logits
    in `precision`, the rest in fp32."""
    import torch

    model_p.eval().to(device)
    model_q.eval().to(device)

    def kl(batch):
        logits_p = teacher_forced_logits(model_p, batch).float()
        log_p = torch.log_softmax(logits_p, dim=-1)
        log_q = torch.log_softmax(teacher_forced_logits(model_q, batch).float(), dim=-1)
        # softmax, not log_p.exp(): torch's own kernel gives the same bits in every process (MKL's exp may not)
        return (torch.softmax(logits_p, dim=-1) * (log_p - log_q)).sum(-1)

    return _sum_over_targets(processor, sources, targets, max_tokens, max_len, device, kl, precision)
