"""The schema and check_config stop bad configs with a message that names the key."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from memkd.config import check_config, corpus_inputs, download_name, fine_tuning_rate, wmt20_download_url
from memkd.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_embedded_default_is_valid(config):
    validate(copy.deepcopy(config), schema=SCHEMA)
    check_config(config)


@pytest.mark.parametrize(
    "mutate,named",
    [
        (lambda c: c["tokenizer"].update(vocab_size="4000"), "vocab_size"),  # wrong type
        (lambda c: c["preprocess"].update(max_wrods=3), "max_wrods"),  # unknown key
        (lambda c: c["preprocess"].pop("split_salt"), "split_salt"),  # missing key
        (lambda c: c.pop("seed"), "seed"),
        (lambda c: c["corpora"]["bible"].update(english="nrsv"), "nrsv"),
        (lambda c: c["corpora"]["bible"].update(languages=["en", "de"]), "languages"),
        (lambda c: c.update(directions=["english-spanish"]), "english-spanish"),
        (lambda c: c["adaptive_seqkd"].update(lr="last"), "last"),  # 'final' or a number
        (lambda c: c["adaptive_seqkd"].update(rank_by="bleu"), "bleu"),
        (lambda c: c["adaptive_seqkd"].update(confidence_of="source"), "source"),
        (lambda c: c["adaptive_seqkd"].pop("min_steps"), "min_steps"),
        (lambda c: c["variants"]["seq_inter"]["finetune"].update(lr="last"), "last"),
        (lambda c: c["variants"]["student_pruned50"]["prune"].update(schedule="linear"), "linear"),
        (lambda c: c["variants"].update(teacher_quality={"data": "corpus"}), "teacher_quality"),  # a reserved role
    ],
)
def test_schema_errors_name_the_key(config, mutate, named):
    mutate(config)
    with pytest.raises(WorkflowError, match=named):
        validate(config, schema=SCHEMA)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c.update(corpus="nope"), "config key corpus: 'nope'"),
        (lambda c: c.update(directions=["en-de"]), "config key directions: 'en-de'"),
        (lambda c: c["preprocess"]["split_permille"].update(dev=990), "split_permille"),
        (
            lambda c: c.update(corpus="mine", corpora={"mine": {"kind": "tsv", "languages": ["en", "es"], "path": "/no/such.tsv"}}),
            "corpora.mine.path",
        ),
        (
            lambda c: c["variants"].update(beam={"data": "corpus", "seqkd_decoding": "beam5"}),
            "variants.beam.seqkd_decoding",
        ),
        (lambda c: c["variants"].update(si={"data": "seq_inter"}), "variants.si.seq_inter_k"),
        (lambda c: c["variants"].update(ad={"data": "adaptive_seqkd"}), "variants.ad.selection"),
        (lambda c: c["variants"].update(ad={"data": "seqkd", "selection": "random"}), "variants.ad.selection"),
        (
            lambda c: c["variants"].update(both={"data": "seqkd", "prune": {"from": "student", "sparsity": 0.5, "epochs": 1},
                                                 "finetune": {"from": "student", "epochs": 1}}),
            "variants.both: prune and finetune",
        ),
        # the start model's final rate is meant to be held, not to be a peak
        (lambda c: c["variants"]["seq_inter"]["finetune"].update(schedule="inverse_sqrt"),
         "variants.seq_inter.finetune.lr: 'final'"),
        (lambda c: c["adaptive_seqkd"].update(min_pairs=50), "adaptive_seqkd.min_pairs: 50 is above max_pairs 40"),
        # equal-budget controls: switched on, plain fine-tuning of the same start model, same epochs, lr and schedule
        (lambda c: c["variants"].update(student_more_epochs=None),
         "variants.student_pruned50.control: 'student_more_epochs' is not a variant that is switched on"),
        (lambda c: c["variants"]["seq_inter"].update(control="seq_inter"), "variants.seq_inter.control: 'seq_inter'"),
        (lambda c: c["variants"]["seq_inter"]["finetune"].update(epochs=20),
         "variants.seq_inter.control: 'student_more_epochs' is not an equal-budget control: its finetune.epochs is 10, "
         "this variant's finetune.epochs is 20"),
        (lambda c: c["variants"]["student_pruned50"]["prune"].update(lr=1e-4),
         "its finetune.lr is 'final', this variant's prune.lr is 0.0001"),
        (lambda c: c["variants"]["student_more_epochs"].update(data="corpus"),
         "must train student on its own data \\(data: seqkd"),
        (lambda c: c["variants"]["student_more_epochs"].update(distillation={"method": "word_kd", "alpha": 0.5,
                                                                           "temperature": 1.0}),
         "must be plain fine-tuning"),
        (lambda c: c["variants"]["word_kd"].update(control="student_more_epochs"),
         "variants.word_kd.control: only a variant with prune or finetune"),
    ],
)
def test_check_config_names_the_key(config, mutate, message):
    mutate(config)
    with pytest.raises(InputError, match=message):
        check_config(config)


def test_corpus_inputs_per_kind(config):
    assert corpus_inputs("bible", config) == [
        "resources/debian/sword-text-web",
        "resources/debian/sword-text-sparv",
        "resources/debian/sword-text-kjv",
    ]
    assert corpus_inputs("libreoffice_help_en_de", config) == [
        "resources/debian/libreoffice-help-en-us",
        "resources/debian/libreoffice-help-de",
    ]
    config["corpora"]["w"] = {
        "kind": "wmt20",
        "languages": ["en", "de"],
        "files": [
            {"url": "https://example.org/a/nc.tsv.gz", "format": "tsv"},
            {"url": "file:///x/src.en", "target_url": "file:///x/ref.de", "format": "plain"},
        ],
    }
    names = [download_name(u) for u in ("https://example.org/a/nc.tsv.gz", "file:///x/src.en", "file:///x/ref.de")]
    assert corpus_inputs("w", config) == [f"resources/downloads/w/{n}" for n in names]
    assert names[0].endswith("-nc.tsv.gz")
    assert wmt20_download_url("w", names[2], config) == "file:///x/ref.de"
    # same basename at two addresses: two files
    assert download_name("https://a.org/wmt19/test.tgz") != download_name("https://a.org/wmt20/test.tgz")
    with pytest.raises(InputError, match="no download named 'zz'"):
        wmt20_download_url("w", "zz", config)


def merged(base: dict, extra: dict) -> dict:
    """Snakemake's layering of --configfile files: nested mappings update, other values replace."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("preset", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_the_larger_presets_are_valid_over_the_default(config, preset):
    layered = merged(config, yaml.safe_load((ROOT / "configs" / preset).read_text()))
    validate(layered, schema=SCHEMA)
    check_config(layered)


def test_a_variant_may_be_null_or_plain_seqkd_from_beam_search(config):
    config["variants"] = {"word_kd": None, "seqkd_beam5": {"data": "seqkd", "seqkd_decoding": "beam5"}}
    validate(copy.deepcopy(config), schema=SCHEMA)
    check_config(config)
    config["variants"]["seqkd_beam5"]["seqkd_decoding"] = "beam-5"
    with pytest.raises(WorkflowError, match="beam-5"):
        validate(copy.deepcopy(config), schema=SCHEMA)
    config["variants"]["seqkd_beam5"]["seqkd_decoding"] = "beam5"
    config["variants"]["pruned"] = {"data": "seqkd", "prune": {"from": "teacher", "sparsity": 0.5, "epochs": 2}}
    with pytest.raises(WorkflowError, match="teacher"):  # a pruned variant keeps the student architecture
        validate(copy.deepcopy(config), schema=SCHEMA)


def test_fine_tuning_and_retraining_default_to_the_start_models_final_rate_held_constant(config):
    assert fine_tuning_rate({"from": "student", "epochs": 10}) == {"lr": "final", "schedule": "constant"}
    assert fine_tuning_rate({"from": "student", "epochs": 10, "lr": 1e-4, "schedule": "inverse_sqrt"}) == {
        "lr": 1e-4, "schedule": "inverse_sqrt"}
    variants = config["variants"]
    # the default's pruned and Seq-Inter students each name the equal-budget control, which trains as long
    for name in ("student_pruned50", "seq_inter", "seq_inter_word_kd"):
        start = variants[name].get("prune") or variants[name]["finetune"]
        assert variants[name]["control"] == "student_more_epochs"
        assert start["epochs"] == variants["student_more_epochs"]["finetune"]["epochs"]
        assert fine_tuning_rate(start) == {"lr": "final", "schedule": "constant"}
    # a number with the student's warm-up and decay is a consistent choice too
    for name in ("seq_inter", "student_more_epochs"):
        variants[name]["finetune"].update(lr=2e-4, schedule="inverse_sqrt")
    variants["student_pruned50"]["prune"].update(lr=2e-4, schedule="inverse_sqrt")
    variants["seq_inter_word_kd"]["finetune"].update(lr=2e-4, schedule="inverse_sqrt")
    validate(copy.deepcopy(config), schema=SCHEMA)
    check_config(config)


def test_variant_seeds_must_be_chain_seeds_and_default_to_every_seed(config):
    from memkd.config import variant_seeds

    assert config["seeds"] == [1, 2, 3] and variant_seeds(config) == [1]
    assert variant_seeds({**config, "variant_seeds": None}) == [1, 2, 3]
    assert variant_seeds({**config, "variant_seeds": [3, 1]}) == [1, 3]  # in the order of seeds
    with pytest.raises(InputError, match=r"variant_seeds: \[4\] not in seeds"):
        check_config({**config, "variant_seeds": [1, 4]})


def test_a_variant_trains_at_its_own_seeds_and_is_compared_only_with_variants_trained_there():
    from memkd.config import check_config, variant_seeds

    config = yaml.safe_load(open("config.yaml"))
    config["seeds"], config["variant_seeds"] = [1, 2, 3], [1]
    assert variant_seeds(config) == [1]
    assert variant_seeds(config, config["variants"]["word_kd"]) == [1]  # variant_seeds
    assert variant_seeds(config, {**config["variants"]["word_kd"], "seeds": "all"}) == [1, 2, 3]
    assert variant_seeds(config, {**config["variants"]["word_kd"], "seeds": [2]}) == [2]
    check_config(config)
    config["variants"]["self_evolution"]["seeds"] = "all"  # compared with word_kd, which trains at seed 1 only
    with pytest.raises(InputError, match=r"variants.self_evolution.compare_with: 'word_kd' is not trained at seeds \[2, 3\]"):
        check_config(config)
    config["variants"]["word_kd"]["seeds"] = "all"
    check_config(config)
    config["variants"]["word_kd"]["seeds"] = [4]
    with pytest.raises(InputError, match=r"variants.word_kd.seeds: \[4\] not in seeds"):
        check_config(config)
