"""The other corpus kinds through the real workflow: LibreOffice help (real Debian packages) and
WMT20 (download code exercised on files this test makes, served by file:// addresses)."""

import gzip
import json
import re
import tarfile

import pandas as pd
import pytest

from .conftest import ROOT, run_snakemake, write_config

pytestmark = pytest.mark.integration


def test_libreoffice_help_en_de(tmp_path):
    config = write_config(tmp_path / "c.yaml", {"corpus": "libreoffice_help_en_de", "directions": ["en-de", "de-en"]})
    workdir = tmp_path / "work"
    workdir.mkdir()
    run_snakemake(workdir, "results/corpus/libreoffice_help_en_de/aligned.tsv", configs=[config])
    aligned = pd.read_csv(workdir / "results/corpus/libreoffice_help_en_de/aligned.tsv", sep="\t", dtype=str, keep_default_na=False)
    # every aligned segment is kept (duplicates matter for memorization): ~61k segments, ~39k unique pairs
    assert 55000 < len(aligned) < 70000
    assert 35000 < len(aligned[["en", "de"]].drop_duplicates()) < 45000
    assert aligned["flags"].str.contains("dup_pair").any()
    assert list(aligned.columns) == ["id", "en", "de", "flags"]
    assert aligned["id"].str.contains(r"\.html#(?:par|hd|tit|bm)_id").all()
    assert (workdir / "resources/debian/libreoffice-help-de/DEBIAN_PACKAGE").exists()


def test_wmt20_downloads_and_official_test_set(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with gzip.open(served / "news-commentary-v15.de-en.tsv.gz", "wt", encoding="utf-8") as handle:
        for i in range(80):
            handle.write(f"Satz Nummer {i} ist hier.\tSentence number {i} is here.\n")
        handle.write("Ein Testsatz.\tA test sentence.\n")  # also in the test set: must leave training
    # two of the formats WMT20's en-de list adds: WikiMatrix (a score column first) and Rapid (XLIFF)
    with gzip.open(served / "WikiMatrix.v1.de-en.langid.tsv.gz", "wt", encoding="utf-8") as handle:
        handle.write("1.07\tDas Wiki sagt dies.\tThe wiki says this.\n")
    with gzip.open(served / "RAPID_2019.de-en.xlf.gz", "wt", encoding="utf-8") as handle:
        handle.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<xliff version="1.2"><file source-language="de" target-language="en">'
            '<body>\n<trans-unit id="1"><source>Die Kommission teilt mit.</source>'
            "<target>The Commission announces.</target></trans-unit>\n</body></file></xliff>\n"
        )
    # WMT ships its test sets inside test.tgz: serve one made here, laid out the same way
    sgm = served / "sgm"
    sgm.mkdir()
    (sgm / "newstest2020-ende-src.en.sgm").write_text(
        '<srcset>\n<doc docid="d">\n<seg id="1">A test sentence.</seg>\n<seg id="2">Another one.</seg>\n</doc>\n</srcset>\n'
    )
    (sgm / "newstest2020-ende-ref.de.sgm").write_text(
        '<refset>\n<doc docid="d">\n<seg id="1">Ein Testsatz.</seg>\n<seg id="2">Noch einer.</seg>\n</doc>\n</refset>\n'
    )
    with tarfile.open(served / "test.tgz", "w:gz") as archive:
        archive.add(sgm, arcname="sgm")
    config = write_config(
        tmp_path / "c.yaml",
        {
            "corpus": "wmt",
            "directions": ["en-de"],
            # 81 pairs and a 2-segment test set: the data stage only, so the split-size check is off
            "preprocess": {"min_split_pairs": {"test": 0, "probe": 0}},
            "corpora": {
                "wmt": {
                    "kind": "wmt20",
                    "languages": ["en", "de"],
                    "files": [
                        {"url": (served / "news-commentary-v15.de-en.tsv.gz").as_uri(), "format": "tsv"},
                        {
                            "url": (served / "WikiMatrix.v1.de-en.langid.tsv.gz").as_uri(),
                            "format": "tsv",
                            "columns": ["score", "de", "en"],
                        },
                        {"url": (served / "RAPID_2019.de-en.xlf.gz").as_uri(), "format": "xliff"},
                        {
                            "url": (served / "test.tgz").as_uri(),
                            "target_url": (served / "test.tgz").as_uri(),
                            "member": "sgm/newstest2020-ende-src.en.sgm",
                            "target_member": "sgm/newstest2020-ende-ref.de.sgm",
                            "format": "sgm",
                            "split": "test",
                        },
                    ],
                }
            },
        },
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    run_snakemake(
        workdir, "results/data/wmt/en-de/test.tsv", "results/data/wmt/report.json", "results/corpus/wmt/aligned.tsv",
        configs=[config],
    )
    aligned = pd.read_csv(workdir / "results/corpus/wmt/aligned.tsv", sep="\t", dtype=str, keep_default_na=False)
    def pairs_of(name: str) -> list[list[str]]:  # ids are <downloaded file's name>:<line>, the name hash-prefixed
        return aligned.loc[aligned["id"].str.contains(f"-{name}:", regex=False), ["id", "en", "de"]].values.tolist()

    assert [row[1:] for row in pairs_of("WikiMatrix.v1.de-en.langid.tsv.gz")] == [["The wiki says this.", "Das Wiki sagt dies."]]
    assert [(row[0].rsplit(":", 1)[1], *row[1:]) for row in pairs_of("RAPID_2019.de-en.xlf.gz")] == [
        ("3", "The Commission announces.", "Die Kommission teilt mit.")
    ]
    test = pd.read_csv(workdir / "results/data/wmt/en-de/test.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert {"A test sentence.", "Another one."} <= set(test["src"])
    report = json.loads((workdir / "results/data/wmt/report.json").read_text())
    assert report["dropped_overlapping_fixed_splits"] == 1
    assert len(list((workdir / "resources/downloads/wmt").glob("*-test.tgz"))) == 1


WMT20_PRESETS = {
    "wmt20_en_de": (["wmt20_en_de"], {
        "europarl-v10.de-en.tsv.gz", "en-de.txt.gz", "training-parallel-commoncrawl.tgz",
        "news-commentary-v15.de-en.tsv.gz", "wikititles-v2.de-en.tsv.gz", "RAPID_2019.de-en.xlf.gz",
        "WikiMatrix.v1.de-en.langid.tsv.gz", "test.tgz",
    }, [("en", "de"), ("de", "en")]),
    "wmt20_pl_en": (["wmt20_en_de", "wmt20_pl_en"], {
        "europarl-v10.pl-en.tsv.gz", "en-pl.txt.gz", "wikititles-v2.pl-en.tsv.gz", "rapid2019.en-pl.tmx.zip",
        "WikiMatrix.v1.en-pl.langid.tsv.gz", "dev.tgz", "test.tgz",
    }, [("pl", "en"), ("en", "pl")]),
}


@pytest.mark.parametrize("corpus", sorted(WMT20_PRESETS))
def test_the_wmt20_presets_plan_the_papers_study(tmp_path, corpus):
    """A dry run of a paper-scale preset with the cluster settings (nothing is downloaded): one download job per
    file of the pair's WMT20 list and its dev/test archives, the core roles in both directions, 10 CM models, no
    variant."""
    presets, files, directions = WMT20_PRESETS[corpus]
    configs = [ROOT / "configs" / f"{name}.yaml" for name in presets] + [ROOT / "configs" / "gpu_cluster.yaml"]
    planned = run_snakemake(tmp_path, "--dry-run", configs=configs).stdout
    assert set(re.findall(rf"wildcards: corpus={corpus}, filename=[0-9a-f]{{8}}-(\S+)", planned)) == files
    trained = set(re.findall(rf"^rule train_model:\n(?:    .*\n)*?    wildcards: corpus={corpus}, src=(\w+), tgt=(\w+), "
                             r"seed=1, role=(\w+)", planned, flags=re.MULTILINE))
    for src, tgt in directions:
        assert {"teacher", "baseline", "student"} <= {role for s, t, role in trained if (s, t) == (src, tgt)}
    assert "cm09" in planned and "cm10" not in planned  # the paper's 10 CM models
    variants = ("word_kd", "self_evolution", "seqkd_beam5", "student_more_epochs", "seq_inter", "adaptive_seqkd")
    assert not [v for v in variants if f"role={v}" in planned]
