"""Bad input stops the real workflow with a message naming the key, file and line, or package,
and leaves no output that looks complete."""

import pytest

from .conftest import ROOT, run_snakemake, write_config

pytestmark = pytest.mark.integration


def _tsv_config(tmp_path, content: bytes, **extra):
    data = tmp_path / "pairs.tsv"
    data.write_bytes(content)
    return write_config(
        tmp_path / "mine.yaml",
        {
            "corpus": "mine",
            "directions": ["en-es"],
            "corpora": {"mine": {"kind": "tsv", "languages": ["en", "es"], "path": str(data), **extra}},
            # 40 pairs leave the held-out splits nearly empty; these tests run the data stage only
            "preprocess": {"min_split_pairs": {"test": 0, "probe": 0}},
        },
    )


GOOD = b"".join(b"p%d\tThe man number %d went home.\tEl hombre numero %d fue a casa.\n" % (i, i, i) for i in range(40))


@pytest.mark.parametrize(
    "content,message",
    [
        (GOOD + b"p40\tonly a source\n", "pairs.tsv, line 41: expected 3 tab-separated fields (id, source, target), found 2"),
        (GOOD + b"p40\tNi\xf1o\tNi\xf1o\n", "pairs.tsv, line 41: not valid UTF-8"),
        (b"", "pairs.tsv: file is empty"),
    ],
)
def test_bad_tsv_stops_the_run_naming_file_and_line(tmp_path, content, message):
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = _tsv_config(tmp_path, content)
    before = (tmp_path / "pairs.tsv").read_bytes()
    done = run_snakemake(workdir, "results/data/mine/report.json", configs=[config], check=False)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert not (workdir / "results" / "corpus" / "mine" / "aligned.tsv").exists()
    assert (tmp_path / "pairs.tsv").read_bytes() == before, "raw input must never be modified"


def test_undecodable_lines_can_be_skipped_and_are_counted(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = _tsv_config(tmp_path, GOOD + b"p40\tNi\xf1o\tNi\xf1o\n", on_undecodable="skip")
    run_snakemake(workdir, "results/data/mine/report.json", configs=[config])
    import json

    report = json.loads((workdir / "results" / "data" / "mine" / "report.json").read_text())
    assert report["dropped"]["undecodable"] == 1 and report["input_pairs"] == 40


def test_missing_sword_module_names_module_and_package(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    empty = tmp_path / "sword"
    (empty / "mods.d").mkdir(parents=True)
    roots = {m: str(empty) for m in ("engWEB2015eb", "spaRV1909eb", "engKJV2006eb")}
    config = write_config(tmp_path / "c.yaml", {"corpora": {"bible": {"kind": "bible", "languages": ["en", "es"], "sword_roots": roots}}})
    done = run_snakemake(workdir, "results/corpus/bible/aligned.tsv", configs=[config], check=False)
    assert done.returncode != 0
    assert "SWORD module engWEB2015eb not found" in done.stdout + done.stderr
    assert "sword-text-web" in done.stdout + done.stderr
    assert not (workdir / "results" / "corpus" / "bible" / "aligned.tsv").exists()


@pytest.mark.parametrize(
    "override,named",
    [
        ({"tokenizer": {"vocab_size": "many"}}, "vocab_size"),
        ({"preprocess": {"max_wrods": 3}}, "max_wrods"),
        ({"corpus": "nope"}, "config key corpus: 'nope'"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, override, named):
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = run_snakemake(workdir, "--dry-run", configs=[write_config(tmp_path / "c.yaml", override)], check=False)
    assert done.returncode != 0
    assert named in done.stdout + done.stderr
    assert not (workdir / "results").exists()


def test_missing_key_stops_before_any_job(tmp_path):
    """Without the embedded default underneath, a config lacking a required key is refused."""
    import subprocess

    import yaml

    from .conftest import SNAKEMAKE

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    del config["tokenizer"]["vocab_size"]
    path = write_config(tmp_path / "partial.yaml", config)
    done = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(path), "-n"],
        capture_output=True, text=True,
    )
    assert done.returncode != 0 and "vocab_size" in done.stdout + done.stderr
