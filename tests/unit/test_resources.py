"""memkd.resources: memory and time limits linear in a job's data, larger on each retry."""

import pytest

from memkd.resources import MIB, RULES, RUNTIME_CAP, data_mb, rule_resource, scaled


def test_data_mb_counts_the_existing_data_files_only(tmp_path):
    (tmp_path / "pairs.tsv").write_bytes(b"x" * MIB)
    (tmp_path / "hyp.txt").write_bytes(b"y" * (MIB // 2))
    (tmp_path / "spm.model").write_bytes(b"z" * MIB)  # a tokenizer: not data
    (tmp_path / "model").mkdir()  # a model directory
    (tmp_path / "model" / "weights.bin").write_bytes(b"w" * MIB)  # inside a directory input: not counted
    paths = [tmp_path / name for name in ("pairs.tsv", "hyp.txt", "spm.model", "model", "missing.tsv")]
    assert data_mb(paths) == pytest.approx(1.5)
    assert data_mb([str(tmp_path / "missing.tsv")]) == 0  # a dry run before the inputs exist
    assert data_mb([]) == 0


def test_scaled_is_the_base_for_a_small_input_and_grows_linearly():
    small = 37_671 / MIB  # the default study's 200 training pairs (en-es)
    assert scaled(4000, 20, small) == 4001
    assert scaled(120, 5, small) == 121
    grow = [scaled(4000, 20, mb) - 4000 for mb in (100, 200, 400)]
    assert grow == [2000, 4000, 8000]


def test_a_retry_asks_for_more_up_to_the_cap():
    assert [scaled(4000, 20, 50, attempt) for attempt in (1, 2, 3)] == [5000, 10000, 15000]
    assert [scaled(120, 5, 200, attempt, cap=1440) for attempt in (1, 2)] == [1120, 1440]


@pytest.mark.parametrize("arguments", [(-1, 0, 0, 1), (0, -1, 0, 1), (0, 0, -1, 1), (1, 1, 1, 0)])
def test_scaled_refuses_nonsense(arguments):
    with pytest.raises(ValueError):
        scaled(*arguments)


# the rules' fixed values before they followed the input
FIXED = {
    "train_model": (4000, 120), "translate_model": (4000, 60), "translate_shard": (4000, 60),
    "score_references": (4000, 30), "score_cm_references": (4000, 60), "quality_estimate": (4000, 30),
    "memorization_examples": (4000, 60),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_default_study_asks_for_about_the_former_fixed_values(rule):
    default = 3 * 41_703 / MIB  # 200 training pairs with probe and test: the largest input of the default's jobs
    memory, minutes = FIXED[rule]
    assert memory <= rule_resource(rule, "mem_mb", default) <= memory * 1.01
    models = 10 if rule == "score_cm_references" else 1  # the default's M
    assert minutes <= rule_resource(rule, "runtime", default, models=models) <= minutes + 5


def test_paper_scale_asks_for_more_and_runtime_stays_under_the_cap():
    two_million = 2_000_000 * 190 / MIB  # pairs of ~190 bytes
    assert rule_resource("train_model", "mem_mb", two_million) > 10_000
    assert rule_resource("translate_model", "runtime", two_million) > 600
    assert rule_resource("train_model", "runtime", 100 * two_million, attempt=3) == RUNTIME_CAP
    assert rule_resource("score_cm_references", "runtime", 100, models=10) == 60 + 10 * 100
