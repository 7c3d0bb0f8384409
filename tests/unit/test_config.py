"""The schema and check_config stop bad configs with a message that names the key."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from memkd.config import check_config, corpus_inputs, download_name, wmt20_download_url
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
