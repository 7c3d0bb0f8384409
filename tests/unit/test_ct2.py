"""CTranslate2 (memkd.ct2) against memkd's reference decoder and scorer: identical outputs, greedy, beam and k-best,
and teacher-forced scores within 1e-4, on a tiny model trained here for real on English-Spanish pairs, with both
length limits (outputs that end and outputs that run to the limit); and the CTranslate2 path without torch."""

import json
import subprocess
import sys
from pathlib import Path

import ctranslate2
import pytest
import torch

from memkd import ct2
from memkd import train as train_module
from memkd.data import encode
from memkd.decode import Decoder, decoding_signature
from memkd.model import PAD_ID, build_model, save
from memkd.model import load as load_model
from memkd.tokenizer import load as load_tokenizer
from memkd.tokenizer import train_sentencepiece

PAIRS = [
    ("In the beginning God created the heavens and the earth.", "En el principio creó Dios los cielos y la tierra."),
    ("And God said, Let there be light: and there was light.", "Y dijo Dios: Sea la luz: y fué la luz."),
    ("And God saw the light, that it was good.", "Y vió Dios que la luz era buena."),
    ("And God called the light Day, and the darkness he called Night.", "Y llamó Dios á la luz Día, y á las tinieblas llamó Noche."),
    ("And the evening and the morning were the first day.", "Y fué la tarde y la mañana un día."),
    ("Jesus wept.", "Y lloró Jesús."),
    ("Rejoice always.", "Estad siempre gozosos."),
    ("Pray without ceasing.", "Orad sin cesar."),
    ("The Lord is my shepherd; I shall not want.", "Jehová es mi pastor; nada me faltará."),
    ("He makes me lie down in green pastures.", "En lugares de delicados pastos me hará yacer."),
    ("Yahweh spoke to Moses, saying,", "Y habló Jehová á Moisés, diciendo:"),
    ("Speak to the children of Israel, and say to them,", "Habla á los hijos de Israel, y diles:"),
    ("Love is patient and is kind.", "La caridad es sufrida, es benigna."),
    ("Blessed are the meek, for they shall inherit the earth.", "Bienaventurados los mansos: porque ellos recibirán la tierra por heredad."),
    ("Blessed are the merciful, for they shall obtain mercy.", "Bienaventurados los misericordiosos: porque ellos alcanzarán misericordia."),
    ("You are the light of the world.", "Vosotros sois la luz del mundo."),
    ("The words of the Preacher, the son of David, king in Jerusalem.", "Palabras del Predicador, hijo de David, rey en Jerusalem."),
    ("One generation goes, and another generation comes.", "Generación va, y generación viene."),
    ("The sun also rises, and the sun goes down.", "Y sale el sol, y pónese el sol."),
    ("All the rivers run into the sea, yet the sea is not full.", "Los ríos todos van á la mar, y la mar no se hinche."),
    ("A good name is better than fine perfume.", "Mejor es la buena fama que el buen ungüento."),
    ("There is a time for everything.", "Todo tiene su tiempo."),
    ("A time to be born, and a time to die.", "Tiempo de nacer, y tiempo de morir."),
    ("A time to weep, and a time to laugh.", "Tiempo de llorar, y tiempo de reir."),
    ("Give us today our daily bread.", "Danos hoy nuestro pan cotidiano."),
    ("Your kingdom come. Your will be done.", "Venga tu reino. Sea hecha tu voluntad."),
    ("He who has ears to hear, let him hear.", "El que tiene oídos para oir, oiga."),
    ("The harvest indeed is plentiful, but the laborers are few.", "A la verdad la mies es mucha, mas los obreros pocos."),
    ("Ask, and it will be given you.", "Pedid, y se os dará."),
    ("Seek, and you will find.", "Buscad, y hallaréis."),
    ("Knock, and it will be opened for you.", "Llamad, y se os abrirá."),
    ("The grass withers, the flower fades.", "Sécase la hierba, cáese la flor."),
    ("Comfort, comfort my people, says your God.", "Consolaos, consolaos, pueblo mío, dice vuestro Dios."),
    ("Every valley shall be exalted.", "Todo valle sea alzado."),
    ("I am the vine. You are the branches.", "Yo soy la vid, vosotros los pámpanos."),
    ("I am the good shepherd.", "Yo soy el buen pastor."),
    ("The wind blows where it wants to.", "El viento de donde quiere sopla."),
    ("Peace I leave with you.", "La paz os dejo."),
    ("Don't let your heart be troubled.", "No se turbe vuestro corazón."),
    ("In my Father's house are many homes.", "En la casa de mi Padre muchas moradas hay."),
]
UNSEEN = ["And God said to Moses,", "The light of the sun.", "Blessed are the children.", "I am the light.",
          "A time to speak.", "the the the the the the", "Jesus", ""]
ROOT = Path(__file__).resolve().parents[2]
PRESET = {"d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "heads": 4, "ffn_dim": 128, "dropout": 0.1,
          "max_positions": 48}


def _train(folder, steps, seed):
    sources, targets = [s for s, _ in PAIRS], [t for _, t in PAIRS]
    train_sentencepiece(sources + targets, folder / "spm.model",
                        {"vocab_size": 200, "model_type": "unigram", "character_coverage": 1.0}, seed=1)
    processor = load_tokenizer(folder / "spm.model")
    model = build_model(PRESET, vocab_size=200, seed=seed)
    settings = {"seed": seed, "max_tokens": 300, "epochs": 1000, "max_steps": steps, "lr": 3e-3, "warmup_steps": 30,
                "label_smoothing": 0.1, "grad_accumulation": 1, "clip_norm": 1.0, "precision": "fp32",
                "log_every": 1000, "checkpoint_every": 10**9}
    train_module.train(model, encode(processor, sources, 48), encode(processor, targets, 48), settings,
                       folder / "checkpoint.pt")
    save(model, folder / "model", folder / "spm.model")
    return folder / "model"


@pytest.fixture(scope="module", params=[(120, 1), (400, 2)], ids=["120_steps", "400_steps"])
def model_dir(request, tmp_path_factory):
    """A model early in training (oscillating outputs, "la la la ...", that run to the length limit) and one that
    has learnt most pairs (outputs that end, k-best lists of real alternatives)."""
    torch.set_num_threads(1)
    steps, seed = request.param
    return _train(tmp_path_factory.mktemp(f"ct2_{steps}_steps"), steps, seed)


@pytest.fixture(scope="module")
def ct2_dir(model_dir):
    """The model converted as rule convert_model converts it."""
    return ct2.convert(model_dir, model_dir.parent / "ct2")


@pytest.fixture(scope="module")
def decoders(model_dir, ct2_dir):
    """memkd's decoder and CTranslate2 from the converted folder, as the study's jobs load it."""
    return (Decoder(model_dir, "memkd", device="cpu"),
            Decoder(model_dir, "ctranslate2", threads=1, device="cpu", ct2_dir=ct2_dir))


def _sources():
    prefixes = [" ".join(s.split()[:n]) for s, _ in PAIRS[:10] for n in range(1, len(s.split()) - 1)]
    return [s for s, _ in PAIRS] + UNSEEN + prefixes


@pytest.mark.parametrize("beam,n_best", [(1, 1), (2, 2), (5, 1), (5, 5)])
@pytest.mark.parametrize("limit", [(1.5, 10), (1.2, 5), (0, 47)], ids=["a1.5b10", "a1.2b5", "fixed47"])
def test_ctranslate2_gives_memkds_outputs(decoders, beam, n_best, limit):
    memkd, ctranslate2 = decoders
    sources = _sources()
    expected, _ = memkd.translate(sources, beam=beam, n_best=n_best, max_tokens=400, max_len_a=limit[0],
                                  max_len_b=limit[1])
    got, seconds = ctranslate2.translate(sources, beam=beam, n_best=n_best, max_tokens=400, max_len_a=limit[0],
                                         max_len_b=limit[1])
    assert seconds > 0 and all(len(h) == n_best for h in got)
    differing = [(s, e, g) for s, e, g in zip(sources, expected, got) if e != g]
    assert not differing, f"{len(differing)}/{len(sources)} differ, e.g. {differing[:2]}"


def test_the_comparison_covers_ended_and_truncated_outputs(model_dir, decoders):
    """Not vacuous: the trained model reproduces training targets, the early one runs outputs to the limit."""
    memkd, _ = decoders
    sources = [s for s, _ in PAIRS]
    outputs = [h[0] for h in memkd.translate(sources, max_len_a=0, max_len_b=47)[0]]
    lengths = [len(memkd.processor.encode(o)) for o in outputs]
    if model_dir.parent.name.startswith("ct2_400_steps"):
        assert sum(o == t for o, (_, t) in zip(outputs, PAIRS)) >= len(PAIRS) // 4
    else:
        # "la la la ...": re-encoding the text can merge a piece or two
        assert sum(n >= 47 - 4 for n in lengths) >= 3


def test_the_converted_model_keeps_every_vocabulary_row_and_starts_from_pad(model_dir, tmp_path):
    out = ct2.convert(model_dir, tmp_path / "ct2")
    assert (out / ct2.MODEL_FILE).exists() and (out / "spm.model").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ct2"]  # the temporary build folder is gone
    vocabulary = json.loads((out / "shared_vocabulary.json").read_text())
    processor = load_tokenizer(model_dir / "spm.model")
    assert vocabulary == [processor.id_to_piece(i) for i in range(processor.vocab_size())]
    config = json.loads((out / "config.json").read_text())
    assert config["decoder_start_token"] == processor.id_to_piece(PAD_ID) == vocabulary[0]
    # converting again replaces the folder in place
    assert ct2.convert(model_dir, out) == out and (out / ct2.MODEL_FILE).exists()


def test_decoder_signatures_name_their_engine(decoders):
    memkd, ctranslate2 = decoders
    assert memkd.signature(1, 1, 0, 47) == decoding_signature(1, 1, 0, 47, "memkd")
    assert ctranslate2.signature(5, 5, 1.5, 10).endswith(f"|engine:{ct2.ENGINE}")
    with pytest.raises(ValueError, match="decoding engine 'fairseq'"):
        Decoder("unused", "fairseq")


def test_a_model_converted_in_memory_translates_as_the_converted_folder(model_dir, decoders):
    _, converted = decoders
    in_memory = Decoder(model_dir, "ctranslate2", threads=1, device="cpu")
    sources = [s for s, _ in PAIRS] + UNSEEN
    assert in_memory.translate(sources, beam=2, n_best=2)[0] == converted.translate(sources, beam=2, n_best=2)[0]


def _scored_pairs():
    """Training pairs and unseen ones, swapped sides, empty sources and targets, and a target and a source longer
    than the model's 48 positions (both engines truncate them to 48 tokens with </s>)."""
    pairs = PAIRS + [(t, s) for s, t in PAIRS[:10]] + list(zip(UNSEEN, reversed(UNSEEN)))
    long = " ".join(t for _, t in PAIRS[:6])
    return pairs + [("", "Y"), ("Jesus wept.", ""), (PAIRS[0][0], long), (long, PAIRS[0][1])]


def test_ctranslate2_scores_as_memkd(decoders):
    """Teacher-forced scores: the same token counts (</s> included, truncation to the positions) and summed
    log-probabilities within 1e-4 per pair, batch by batch as memkd.decode.score batches them."""
    memkd, ctranslate2 = decoders
    sources, targets = [s for s, _ in _scored_pairs()], [t for _, t in _scored_pairs()]
    for max_tokens in (400, 64):
        expected = memkd.score(sources, targets, max_tokens=max_tokens)
        got = ctranslate2.score(sources, targets, max_tokens=max_tokens)
        assert [n for n, _ in got] == [n for n, _ in expected]
        assert max(n for n, _ in got) == 48 and min(n for n, _ in got) == 1  # truncated and empty targets
        worst = max(abs(g - e) for (_, g), (_, e) in zip(got, expected))
        assert worst <= 1e-4, f"largest difference {worst:.2e}"
        assert len({round(lp, 3) for _, lp in got}) > len(got) // 2  # real, varied scores


def test_the_ctranslate2_path_imports_no_torch(model_dir, ct2_dir):
    """A job that decodes and scores from the converted folder (translate, score_references, quality_estimate,
    memorization_examples, adaptive_selection) loads neither torch nor transformers, which cost ~5 s per job;
    only an empty source brings torch in (memkd's decoder translates it)."""
    code = f"""
import sys
import memkd.adaptive, memkd.metrics.quality, memkd.metrics.extractive, memkd.langid, memkd.rulerun
from memkd.decode import Decoder
decoder = Decoder({str(model_dir)!r}, "ctranslate2", ct2_dir={str(ct2_dir)!r})
decoder.translate(["Jesus wept.", "I am the light."], beam=2, n_best=2)
decoder.score(["Jesus wept."], ["Y lloró Jesús."])
decoder.signature(1, 1, 0, 47)
print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
decoder.translate([""])
print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "['torch', 'transformers']"], result.stderr[-2000:]


def test_a_model_without_a_converted_folder_is_converted_without_torch(model_dir, decoders):
    """score_cm_references' CM models have no folder of rule convert_model: their Decoder converts the model
    folder on loading, without torch, and translates as the converted folder does."""
    _, converted = decoders
    code = f"""
import json, sys
from memkd.decode import Decoder
decoder = Decoder({str(model_dir)!r}, "ctranslate2", threads=1, device="cpu")
hypotheses = decoder.translate({[s for s, _ in PAIRS] + UNSEEN[:-1]!r}, beam=2, n_best=2)[0]
print(json.dumps([sorted(m for m in ("torch", "transformers") if m in sys.modules), hypotheses]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported, hypotheses = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported == []
    assert hypotheses == converted.translate([s for s, _ in PAIRS] + UNSEEN[:-1], beam=2, n_best=2)[0]


def _stock_loader_conversion(model_dir, out):
    """The conversion as memkd.ct2 made it up to ce18c64: CTranslate2's own Bart/Marian loader on the model loaded
    with transformers, with our vocabulary (every row) and start token. The reference of the numpy conversion."""
    from ctranslate2.converters.converter import Converter
    from ctranslate2.converters.transformers import BartLoader

    from memkd.model import BOS_ID, EOS_ID, UNK_ID, load

    class MarianLoader(BartLoader):
        def get_model_spec(self, model):
            model.config.normalize_before = False
            model.config.normalize_embedding = False
            return super().get_model_spec(model)

        def get_vocabulary(self, model, processor):
            return [processor.id_to_piece(i) for i in range(processor.vocab_size())]

        def set_config(self, config, model, processor):
            config.bos_token, config.eos_token = processor.id_to_piece(BOS_ID), processor.id_to_piece(EOS_ID)
            config.unk_token, config.decoder_start_token = processor.id_to_piece(UNK_ID), processor.id_to_piece(PAD_ID)

    class Loaded(Converter):
        def _load(self):
            return MarianLoader()(load(model_dir), load_tokenizer(model_dir / "spm.model"))

    return Path(Loaded().convert(str(out), quantization="float32"))


def test_the_numpy_conversion_writes_ctranslate2s_own_model(model_dir, ct2_dir, tmp_path):
    """convert reads the saved weights with numpy (Marian's sinusoidal position table computed as transformers
    computes it) and writes, byte for byte, the model CTranslate2's Transformers loader writes from the loaded
    model; save (a model in memory) writes the same."""
    reference = _stock_loader_conversion(model_dir, tmp_path / "stock")
    in_memory = ct2.save(load_model(model_dir), load_tokenizer(model_dir / "spm.model"), tmp_path / "in_memory")
    for name in ("model.bin", "config.json", "shared_vocabulary.json"):
        assert (ct2_dir / name).read_bytes() == (reference / name).read_bytes() == (in_memory / name).read_bytes()
    positions = load_model(model_dir).model.encoder.embed_positions.weight.detach().numpy()
    assert ct2.sinusoidal_positions(48, 64).tobytes() == positions.tobytes()


def test_converting_a_model_imports_no_torch(model_dir, ct2_dir, tmp_path):
    """Rule convert_model's job converts without torch and transformers (their import cost ~6 s per job), into the
    same folder as the fixture's conversion in this (torch-importing) process."""
    code = f"""
import runpy, sys, types
snakemake = types.SimpleNamespace(input=types.SimpleNamespace(model={str(model_dir)!r}), output=[{str(tmp_path / "ct2")!r}],
                                  log=[{str(tmp_path / "convert.log")!r}], threads=1)
runpy.run_path("scripts/convert_model.py", init_globals={{"snakemake": snakemake}}, run_name="__main__")
print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.split("\n")[0] == "[]", (result.stdout, result.stderr[-2000:])
    for name in ("model.bin", "config.json", "shared_vocabulary.json", "spm.model"):
        assert (tmp_path / "ct2" / name).read_bytes() == (ct2_dir / name).read_bytes()


def test_auto_precision_is_fp32_on_the_cpu_and_keeps_the_fp32_outputs(model_dir, ct2_dir, decoders):
    """decoding.precision auto on a CPU decodes in fp32: the same outputs and signature as an explicit fp32."""
    auto = Decoder(model_dir, "ctranslate2", threads=1, device="cpu", ct2_dir=ct2_dir, precision="auto")
    _, fp32 = decoders
    assert auto.precision == fp32.precision == "fp32"
    sources = [s for s, _ in PAIRS] + UNSEEN
    assert auto.translate(sources)[0] == fp32.translate(sources)[0]
    assert auto.signature(1, 1, 1.5, 10) == fp32.signature(1, 1, 1.5, 10)


@pytest.mark.skipif("bfloat16" in ctranslate2.get_supported_compute_types("cpu"),
                    reason="this CPU build of CTranslate2 offers bfloat16")
def test_bf16_where_ctranslate2_has_no_bf16_is_refused_naming_the_setting(ct2_dir):
    with pytest.raises(ValueError, match=r"decoding.precision bf16: .* offers .*float32.*not bfloat16"):
        ct2.load(ct2_dir, device="cpu", precision="bf16")
