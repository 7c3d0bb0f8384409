"""memkd.resources: memory and time limits linear in a job's data, larger on each retry."""

import json
import re
from pathlib import Path

import pytest

from memkd.resources import MIB, RULES, RUNTIME_CAP, data_mb, job_data_mb, rule_resource, scaled


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
    "quality_estimate_shard": (4000, 30), "score_references_shard": (4000, 30), "teacher_baseline_kl_shard": (4000, 30),
    "score_cm_references_shard": (4000, 30), "memorization_examples": (4000, 60), "exmem_shard": (4000, 60), "translate": (4000, 60), "seq_inter_data": (4000, 120),
    "seq_inter_data_shard": (4000, 120),
    "teacher_baseline_kl": (4000, 30), "adaptive_selection": (4000, 15), "seqkd_data": (1000, 5),
    "adaptive_seqkd_data": (1000, 5), "subgroups_table": (2000, 10), "extract_corpus": (4000, 30),
    "split_corpus": (4000, 20), "direction_view": (1000, 5), "study_subset": (2000, 10), "cm_design": (1000, 5),
    "qe_training_pairs": (2000, 10), "counterfactual_memorization": (2000, 5), "memorization_predictor": (2000, 10),
    "memorization_tables": (2000, 10), "quality_estimates_table": (2000, 10), "counterfactual_table": (2000, 10),
    "variants_table": (2000, 10), "adaptive_seqkd_table": (2000, 10), "plot_memorization_map": (1000, 5),
    "plot_predictor_roc": (1000, 5), "study_summary": (1000, 5),
}


def test_every_entry_but_the_sharded_join_and_the_token_store_had_a_fixed_value():
    # memorization_examples' former fixed 60 minutes were its ExMem decode's, which sharding moves to exmem_shard;
    # tokenize_pairs is newer than the fixed values
    assert set(FIXED) == set(RULES) - {"memorization_examples_sharded", "tokenize_pairs"}


def test_tokenizing_holds_a_chunk_and_takes_seconds_per_hundred_mib():
    at_40m = 40_000_000 * 190 / MIB  # ~190 bytes of TSV a pair
    assert rule_resource("tokenize_pairs", "mem_mb", 0) == 1000
    assert rule_resource("tokenize_pairs", "mem_mb", at_40m) <= 2000  # a chunk at a time: not the table's size
    assert rule_resource("tokenize_pairs", "runtime", at_40m) >= 40_000_000 / 20_000 / 60  # 20k pairs/s


def test_the_sharded_join_asks_for_minutes_not_the_exmem_decodes_day():
    at_2m = 1226.2  # MiB of memorization_examples' inputs on the 2M-pair rehearsal, where it took 258 s
    assert 20 * 258 / 60 <= rule_resource("memorization_examples_sharded", "runtime", at_2m) <= 120
    assert rule_resource("memorization_examples", "runtime", at_2m) == RUNTIME_CAP  # it would decode there


def test_the_streamed_examples_join_asks_for_its_measured_slope_not_the_tables_size():
    """memorization_examples reads its tables a chunk at a time (memkd.examples): 437 / 575 MB at 112 / 1,173 MiB
    of inputs (bench/results/job_memory.md); at 20x the 2M pairs' inputs it asks for the measured line with a
    quarter more, not for the whole tables' 1.2 KB a pair (about 48 GB at 40M pairs)."""
    slope = (575 - 437) / (1173 - 112)
    at_40m = 20 * 1173
    asked = rule_resource("memorization_examples_sharded", "mem_mb", at_40m)
    assert 1.25 * (575 + slope * (at_40m - 1173)) <= asked <= 10_000


def test_the_streamed_table_jobs_ask_for_their_measured_slope():
    """cm_design keeps 16-byte digests and integer arrays per pair, study_subset a hash and a position per kept pair,
    direction_view one chunk (bench/results/job_memory.md, peaks at 200k and 2M pairs): at 20x the 2M pairs each
    asks for its measured line with a quarter more, a fraction of what holding the table took."""
    for rule, (low_mib, low_mb), (high_mib, high_mb), held in [
        ("cm_design", (43, 259), (456, 621), 1908), ("study_subset", (45, 374), (470, 421), 860),
        ("direction_view", (45, 236), (470, 268), 872),
    ]:
        slope = (high_mb - low_mb) / (high_mib - low_mib)
        asked = rule_resource(rule, "mem_mb", 20 * high_mib)
        assert 1.25 * (high_mb + slope * 19 * high_mib) <= asked <= 20 * held, rule


@pytest.mark.parametrize("rule", sorted(FIXED))
def test_the_default_study_asks_for_about_the_former_fixed_values(rule):
    default = 3 * 41_703 / MIB  # 200 training pairs with probe and test: the largest input of the default's jobs
    memory, minutes = FIXED[rule]
    assert memory <= rule_resource(rule, "mem_mb", default) <= memory * 1.01
    models = 10 if rule.startswith("score_cm_references") else 1  # the default's M
    assert minutes <= rule_resource(rule, "runtime", default, models=models) <= minutes + 5


def test_paper_scale_asks_for_more_and_runtime_stays_under_the_cap():
    two_million = 2_000_000 * 190 / MIB  # pairs of ~190 bytes
    forty_million = 20 * two_million
    # the rehearsal's 0.66 MB per MiB from 1M to 2M pairs with a quarter more, and within a common node's memory
    assert 4000 + 1.25 * 0.66 * forty_million <= rule_resource("train_model", "mem_mb", forty_million) <= 64_000
    assert rule_resource("translate_model", "runtime", two_million) > 600
    assert rule_resource("train_model", "runtime", 100 * two_million, attempt=3) == RUNTIME_CAP
    assert rule_resource("score_cm_references", "runtime", 100, models=10) == 60 + 10 * 100


def sized_rules() -> dict[str, set[str]]:
    """rule -> the RULES entries its `resources:` name through input_sized, read from workflow/rules/*.smk (rules
    indented under an if too)."""
    sized = {}
    for path in sorted((Path(__file__).resolve().parents[2] / "workflow" / "rules").glob("*.smk")):
        for match in re.finditer(r"^\s*(?:rule|checkpoint) (\w+):\n(.*?)(?=^\s*(?:rule|checkpoint) \w+:|\Z)",
                                 path.read_text(), re.M | re.S):
            # input_sized("entry", ...), and its entry "entry_sharded" too when called with sharded=
            names = set()
            for name, rest in re.findall(r'input_sized\(\s*"(\w+)"([^)]*)\)', match.group(2)):
                names |= {name, f"{name}_sharded"} if "sharded=" in rest else {name}
            if names:
                sized[match.group(1)] = names
    return sized


def test_every_sized_rule_uses_its_own_entry_and_every_entry_a_rule():
    sized = sized_rules()
    # per-model rules whose work grows with the corpus (not the table and plot rules, not the test set's evaluate)
    assert {"translate", "seqkd_data", "seq_inter_data", "adaptive_selection", "adaptive_seqkd_data",
            "teacher_baseline_kl", "translate_model", "translate_shard", "train_model"} <= set(sized)
    for rule, names in sized.items():
        # a typo would only fail when a job is ready
        assert names <= {rule, f"{rule}_sharded"} and rule in names, f"rule {rule}'s resources follow {names}"
    assert set().union(*sized.values()) == set(RULES)
    assert sized["memorization_examples"] == {"memorization_examples", "memorization_examples_sharded"}


# input MiB and sampled peak MB of the rehearsal's jobs at 200k / 1M / 2M pairs on the current code (a5692b4; at 2M
# the larger of two runs' peaks; bench/rehearsal.py --fit-memory, bench/results/rehearsal_cpu.md)
REHEARSAL = {
    "train_model": [(48.2, 550), (246.3, 596), (514.6, 774)],
    "tokenize_pairs": [(48.2, 340), (246.3, 383), (514.6, 394)],
    "extract_corpus": [(42.0, 294), (215.3, 298), (440.4, 354)],
    "split_corpus": [(42.0, 303), (217.2, 486), (444.2, 800)],
    "direction_view": [(41.9, 212), (215.7, 249), (441.7, 257)],
    "study_subset": [(41.9, 234), (215.7, 269), (441.7, 261)],
    "cm_design": [(41.9, 231), (215.7, 292), (441.7, 483)],
    "qe_training_pairs": [(84.3, 277), (431.5, 403), (883.3, 663)],
    "seqkd_data": [(50.7, 242), (259.6, 267), (542.3, 272)],
    "counterfactual_memorization": [(12.2, 178), (61.2, 196), (126.4, 202)],
    "memorization_predictor": [(83.8, 299), (429.0, 381), (882.7, 606)],
    "memorization_examples_sharded": [(116.7, 356), (597.8, 411), (1226.2, 496)],
    "memorization_tables": [(45.7, 191), (234.2, 201), (493.7, 288)],
    "quality_estimates_table": [(61.3, 172), (306.7, 230), (617.5, 270)],
    "counterfactual_table": [(25.5, 196), (127.5, 212), (256.9, 217)],
    "subgroups_table": [(116.7, 778), (597.8, 1026), (1234.1, 1315)],
    "plot_memorization_map": [(24.3, 203), (122.4, 386), (245.8, 679)],
    "study_summary": [(24.3, 104), (122.4, 232), (245.8, 343)],
    # one shard of 100k pairs at every size: no slope, only what a shard asks
    "translate_shard": [(23.0, 311)], "quality_estimate_shard": [(28.0, 488)], "exmem_shard": [(55.7, 523)],
    "score_references_shard": [(23.0, 483)], "score_cm_references_shard": [(23.0, 483)],
    "teacher_baseline_kl_shard": [(23.0, 832)],
}


@pytest.mark.parametrize("rule", sorted(REHEARSAL))
def test_the_rehearsals_jobs_ask_for_a_quarter_more_than_they_used_and_their_line_at_40m(rule):
    """Every job of the rehearsal asks for at least 1.25x its peak at every size (the sampled peaks are lower bounds);
    a rule measured at three sizes, at 20x its 2M input (about 40M pairs), for 1.25x its peak extended along the line
    through the 1M and 2M points (a chunked job's memory levels off: the small sizes would overstate its slope)."""
    points = REHEARSAL[rule]
    for mib, peak in points:
        assert rule_resource(rule, "mem_mb", mib) >= 1.25 * peak, (rule, mib)
    if len(points) == 3:
        (mib_1m, peak_1m), (mib_2m, peak_2m) = points[1:]
        slope = max(0.0, (peak_2m - peak_1m) / (mib_2m - mib_1m))
        assert rule_resource(rule, "mem_mb", 20 * mib_2m) >= 1.25 * (peak_2m + slope * 19 * mib_2m), rule


def test_whole_table_rules_ask_a_fraction_of_a_held_table_at_40m():
    """The requests that the held tables of an earlier rehearsal (5638cfb) needed, 1.3-9 MB per MiB, would be 50-100
    GB at 40M pairs; the current code's lines ask for a few GB, under a common node's memory."""
    for rule, points in REHEARSAL.items():
        if len(points) == 3:
            assert rule_resource(rule, "mem_mb", 20 * points[-1][0]) <= 20_000, rule


# whole-table rules sized by the rehearsal's measurements (a few MB per MiB at most), not by per-pair footprints
WHOLE_TABLE = {"split_corpus", "qe_training_pairs",
               "memorization_predictor", "memorization_tables",
               "quality_estimates_table", "variants_table", "adaptive_seqkd_table",
               "plot_memorization_map", "plot_predictor_roc", "study_summary", "train_model", "subgroups_table"}
# rules that read their tables a chunk at a time: sized by the measured line, a fraction of a MB per MiB
STREAMED = {"cm_design", "memorization_examples_sharded", "direction_view", "study_subset", "extract_corpus",
            "seqkd_data", "counterfactual_table", "counterfactual_memorization"}


def test_a_million_pairs_ask_for_more_than_the_former_fixed_values():
    million = 1_000_000 * 190 / MIB  # ~181 MiB of pairs
    for rule, (memory, minutes) in FIXED.items():
        assert rule_resource(rule, "runtime", million) > minutes, rule
        if rule not in WHOLE_TABLE | STREAMED:
            assert rule_resource(rule, "mem_mb", million) >= memory + 1800, rule
    assert rule_resource("seqkd_data", "mem_mb", million) == 1019  # ceil(1000 + 0.1 x 181.198)
    assert rule_resource("seq_inter_data", "runtime", million) == RUNTIME_CAP  # 120 + 10 x 181 min: past a day


def test_a_shard_job_is_sized_by_its_rows_share(tmp_path):
    """A shard job reads whole-split files but only its rows: its data MB is their share of the plan's sentences (the
    last, shorter shard less), so that at paper scale a shard does not ask for the whole split's memory and time."""
    from memkd.shards import shard_ranges

    pairs = tmp_path / "study_train.tsv"
    pairs.write_bytes(b"x" * (10 * MIB))
    plan = tmp_path / "study_train.json"
    plan.write_text(json.dumps({"sentences": 1000, "sentences_per_shard": 400, "shards": shard_ranges(1000, 400)}))
    assert job_data_mb([pairs]) == pytest.approx(10)
    assert job_data_mb([pairs], plan, 0) == pytest.approx(4)
    assert job_data_mb([pairs], plan, 2) == pytest.approx(2)  # rows 800-999
    assert job_data_mb([pairs], tmp_path / "not_yet.json", 0) == pytest.approx(10), "a dry run's plan may not exist"
    assert rule_resource("quality_estimate_shard", "mem_mb", job_data_mb([pairs], plan, 2)) == 4000 + 10 * 2
