"""Rows pooled over seeds (memkd.tables): mean +- sd of the per-seed values and a two-level bootstrap interval, on
hand-made per-pair flags whose rates are known."""

import math

import numpy as np
import pandas as pd
import pytest

from memkd.stats import hierarchical_rate_ci
from memkd.tables import (
    POOLED,
    SeedComparisons,
    mean_sd_columns,
    paired_changes,
    pooled_changes,
    pooled_rate_interval,
    pooled_rate_row,
)

STATS = {"bootstrap_resamples": 400, "confidence": 0.95, "seed": 7}


def flags(n: int, ones: list[int]) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[ones] = True
    return out


def test_mean_sd_columns_leave_undefined_values_out():
    rows = [{"a": 1.0, "b": None}, {"a": 3.0, "b": 4.0}, {"a": float("nan"), "b": 6.0}]
    assert mean_sd_columns(rows, ["a", "b"]) == {"a": 2.0, "a_sd": round(math.sqrt(2), 4), "b": 5.0,
                                                  "b_sd": round(math.sqrt(2), 4)}
    assert mean_sd_columns([{"a": 1.0}], ["a"]) == {"a": 1.0, "a_sd": None}  # one seed: no sd
    assert mean_sd_columns([{"a": None}], ["a"], sd=False) == {"a": None}


def test_a_pooled_rate_row_keeps_the_model_and_pools_each_rate():
    # three seeds of 100 pairs: 2, 4 and 6 exact matches; ExMem 1/2, 1/4, 3/6 of the filtered matches
    matches = [flags(100, list(range(m))) for m in (2, 4, 6)]
    candidates = matches
    memorized = [flags(100, [0]), flags(100, [0]), flags(100, [0, 1, 2])]
    rows = [{"corpus": "bible", "direction": "en-es", "seed": s, "role": "student", "against": "corpus",
             "pairs": 100, "replication": m, "replication_pct": float(m), "exmem_pct": 100.0 * e / m,
             "decoding": f"decode:greedy seed {s}", "interval": "per seed"}
            for s, m, e in ((1, 2, 1), (2, 4, 1), (3, 6, 3))]
    parts = [{"replication_pct": (m, np.ones(100, dtype=bool)), "exmem_pct": (e & c, c)}
             for m, e, c in zip(matches, memorized, candidates)]
    row = pooled_rate_row(rows, parts, ["corpus", "direction", "role", "against"], ["pairs", "replication"], STATS,
                          paired=True)
    assert row["seed"] == POOLED and row["seeds"] == 3 and row["role"] == "student" and row["against"] == "corpus"
    assert row["pairs"] == 100 and row["replication"] == 4.0
    assert row["replication_pct"] == 4.0 and row["replication_pct_sd"] == 2.0
    assert row["exmem_pct"] == round((50 + 25 + 50) / 3, 4)
    assert row["exmem_pct_sd"] == round(float(np.std([50, 25, 50], ddof=1)), 4)
    assert 0 <= row["replication_ci_low"] < 4.0 < row["replication_ci_high"] <= 100
    assert 0 <= row["exmem_ci_low"] < 5 / 12 * 100 < row["exmem_ci_high"] <= 100  # the pooled ExMem rate
    assert row["decoding"] == "decode:greedy seed 1 | decode:greedy seed 2 | decode:greedy seed 3"
    assert row["interval"].startswith("two-level percentile bootstrap")


def test_the_pooled_rate_interval_is_the_two_level_bootstrap_of_the_rate():
    numerators = [flags(50, list(range(k))) for k in (5, 10, 15)]
    denominators = [np.ones(50, dtype=bool)] * 3
    low, high = pooled_rate_interval(numerators, denominators, STATS, paired=True)
    _, expected_low, expected_high = hierarchical_rate_ci(numerators, denominators, 400, 7, 0.95, same_pairs=True)
    assert (low, high) == (round(expected_low, 4), round(expected_high, 4))
    assert low < 20.0 < high  # the pooled rate: 30 of 150 pairs
    # a seed-to-seed spread widens it: the same 30 matches spread evenly over the seeds give a narrower interval
    even = pooled_rate_interval([flags(50, list(range(10)))] * 3, denominators, STATS, paired=True)
    assert even[1] - even[0] < high - low
    assert pooled_rate_interval([np.zeros(5, dtype=bool)] * 2, [np.zeros(5, dtype=bool)] * 2, STATS, True) == \
        (None, None)


def examples(n: int, exact: list[int]) -> pd.DataFrame:
    """An examples table as the memorization rules write it (text cells), with `exact` replicated pairs."""
    match = flags(n, exact).astype(int).astype(str)
    return pd.DataFrame({
        "id": [f"p{i}" for i in range(n)], "exact_match": match, "exact_match_teacher": "0",
        "exmem_candidate": match, "exmem": match, "osc_hal": "0", "nat_hal": "0", "nat_hal_unit": "1",
    })


def test_pooled_changes_give_mean_and_sd_of_the_seeds_and_the_pooled_change_with_its_interval():
    students = [examples(100, list(range(k))) for k in (6, 8, 10)]
    baselines = [examples(100, list(range(k))) for k in (4, 4, 5)]
    per_seed = [paired_changes(s, b, STATS, "dual_xent") for s, b in zip(students, baselines)]
    rows = {r["metric"]: r for r in pooled_changes(students, baselines, per_seed, STATS, "dual_xent")}
    replication = rows["replication"]
    changes = [50.0, 100.0, 100.0]  # 6 vs 4, 8 vs 4, 10 vs 5
    assert [next(r for r in seed if r["metric"] == "replication")["relative_change_pct"] for seed in per_seed] \
        == changes
    assert replication["relative_change_pct"] == pytest.approx(np.mean(changes), abs=1e-4)
    assert replication["relative_change_pct_sd"] == pytest.approx(np.std(changes, ddof=1), abs=1e-4)
    assert replication["model_pct"] == 8.0 and replication["reference_pct"] == pytest.approx(13 / 3, abs=1e-4)
    assert replication["pooled_change_pct"] == pytest.approx(100 * (24 - 13) / 13, abs=0.01)  # pooled rates
    assert replication["ci_low"] < replication["pooled_change_pct"] < replication["ci_high"]
    assert replication["seed"] == POOLED and replication["seeds"] == 3
    # a metric no model shows: rates 0, the change undefined in every seed and pooled
    oscillation = rows["osc_hal_train"]
    assert oscillation["model_pct"] == 0.0 and oscillation["relative_change_pct"] is None
    assert oscillation["pooled_change_pct"] is None


def test_seed_comparisons_give_each_seeds_changes_and_pool_the_keys_with_two_or_more_seeds():
    # what the variants and Adaptive-SeqKD tables share: a key pooled over its three seeds, a key of one seed not
    students = [examples(100, list(range(k))) for k in (6, 8, 10)]
    baselines = [examples(100, list(range(k))) for k in (4, 4, 5)]
    by_seed = SeedComparisons(STATS)
    per_seed = [by_seed.add(("en-es", "student"), s, b, "dual_xent", {"seed": k})
                for k, (s, b) in enumerate(zip(students, baselines), start=1)]
    same = lambda a, b: pd.DataFrame(a).equals(pd.DataFrame(b))  # NaN (an undefined change) equals NaN here
    assert same(per_seed[1], paired_changes(students[1], baselines[1], STATS, "dual_xent"))
    by_seed.add(("en-es", "one seed only"), students[0], baselines[0], "dual_xent", {"seed": 1})
    by_seed.add(("de-en", "student"), baselines[0], students[0], "dual_xent", {"seed": 1})
    by_seed.add(("de-en", "student"), baselines[1], students[1], "dual_xent", {"seed": 2})
    pooled = list(by_seed.pooled())
    assert [key for key, _, _ in pooled] == [("en-es", "student"), ("de-en", "student")]  # first-added order
    key, abouts, rows = pooled[0]
    assert abouts == [{"seed": 1}, {"seed": 2}, {"seed": 3}]
    assert same(rows, pooled_changes(students, baselines, per_seed, STATS, "dual_xent"))
    replication = next(r for r in pooled[1][2] if r["metric"] == "replication")
    assert replication["seeds"] == 2 and replication["pooled_change_pct"] == pytest.approx(100 * (8 - 14) / 14, abs=0.01)


def test_each_relative_change_names_the_interval_it_has():
    student, baseline = examples(100, list(range(8))), examples(100, list(range(4)))
    stats = {"bootstrap_resamples": 200, "confidence": 0.95, "seed": 1}
    labels = {row["metric"]: row["interval"] for row in paired_changes(student, baseline, stats, "dual_xent")}
    # two rates over the same pairs: closed-form Bonett-Price; each model's own denominator (ExMem): the bootstrap
    assert labels["replication"] == "Bonett-Price hybrid Wilson score (paired rates), 95%"
    assert labels["exmem"].startswith("paired percentile bootstrap over pairs, 200 resamples")


def test_example_flags_are_read_without_the_texts_and_mean_the_same(tmp_path, monkeypatch):
    """read_example_flags keeps the id (as 64-bit hashes) and every flag column but drops the outputs, ExMem
    prefixes and output QE; read in chunks of 2 rows (not a multiple of 8), its flags in bits give the same `flags`
    and `defined` arrays as the strings, empty cells included, and equal ids give equal hashes, other ids other
    hashes."""
    import memkd.io
    from memkd.io import read_tsv, write_tsv_atomic
    from memkd.tables import FlagColumn, defined, flags, read_example_flags

    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 2)
    table = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "output": ["x y", "", "z", "w", "v"],
                          "exact_match": ["1", "0", "1", "0", "0"], "exmem_prefix_tokens": ["3", "", "", "5", ""],
                          "osc_hal": ["", "1", "0", "", "0"], "output_qe": ["0.5", "-1", "0.25", "0", "1"]})
    path = tmp_path / "examples.tsv"
    write_tsv_atomic(path, table)
    read = read_example_flags(str(path))
    assert list(read.columns) == ["id", "exact_match", "osc_hal"]
    assert isinstance(read["osc_hal"], FlagColumn) and read["id"].dtype == np.uint64 and len(read) == 5
    assert read["exact_match"].present is None and read["osc_hal"].present is not None  # no empty cell: no mask
    whole = read_tsv(path)
    for column in ("exact_match", "osc_hal"):
        assert flags(read[column]).tolist() == flags(whole[column]).tolist()
        assert defined(read[column]).tolist() == defined(whole[column]).tolist()
    assert flags(read["osc_hal"]).tolist() == [False, True, False, False, False]
    assert defined(read["osc_hal"]).tolist() == [False, True, True, False, True]
    swapped = tmp_path / "swapped.tsv"
    write_tsv_atomic(swapped, table.assign(id=["a", "b", "d", "c", "e"]))
    again = read_example_flags(str(swapped))
    assert read["id"].tolist() != again["id"].tolist()
    assert (read["id"] == again["id"]).tolist() == [True, True, False, False, True]
    assert len(np.unique(read["id"])) == 5



def test_tables_of_the_same_pairs_share_one_id_array(tmp_path):
    """With known_ids, a second model's table over the same pairs holds the first one's id array (a job reads one
    direction's models, which all cover the same pairs); other pairs get their own array, and same_ids tells them
    apart."""
    from memkd.io import write_tsv_atomic
    from memkd.tables import flags, read_example_flags, same_ids

    paths = {}
    for name, ids, match in (("teacher", "abcd", "1010"), ("student", "abcd", "0110"), ("other", "abdc", "0000")):
        paths[name] = tmp_path / f"{name}.tsv"
        write_tsv_atomic(paths[name], pd.DataFrame({"id": list(ids), "exact_match": list(match)}))
    known: list = []
    teacher, student, other = (read_example_flags(str(paths[name]), known) for name in ("teacher", "student", "other"))
    assert np.shares_memory(teacher["id"], student["id"])
    assert not np.shares_memory(teacher["id"], other["id"]) and len(known) == 2
    assert same_ids(teacher, student) and not same_ids(teacher, other)
    assert flags(student["exact_match"]).tolist() == [False, True, True, False]


def _table(path, rows):
    path.write_text("id\tqe\tflag\n" + "".join(f"{i}\t{q}\t{f}\n" for i, q, f in rows), encoding="utf-8")
    return str(path)


def test_read_aligned_converts_each_column_chunk_by_chunk_across_chunk_boundaries(tmp_path, monkeypatch):
    import memkd.io
    from memkd.digests import text_keys
    from memkd.tables import flags, read_aligned

    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 2)  # 5 rows: chunks of 2, 2 and 1
    rows = [(f"p{i}", f"{i / 4:.2f}", "1" if i % 2 else "0") for i in range(5)]
    keys = text_keys([row[0] for row in rows])
    columns = read_aligned(_table(tmp_path / "t.tsv", rows), {"qe": lambda c: c.astype(float), "flag": flags}, keys)
    assert columns["qe"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert columns["flag"].dtype == bool and columns["flag"].tolist() == [False, True, False, True, False]


@pytest.mark.parametrize("change", ["two rows swapped", "one row short", "one row more"])
def test_read_aligned_stops_naming_the_file_when_its_ids_do_not_follow_the_pairs(tmp_path, monkeypatch, change):
    import memkd.io
    from memkd.digests import text_keys
    from memkd.errors import InputError
    from memkd.tables import read_aligned

    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 2)
    rows = [(f"p{i}", "0.5", "1") for i in range(5)]
    keys = text_keys([row[0] for row in rows])
    table = {"two rows swapped": rows[:3] + [rows[4], rows[3]], "one row short": rows[:4],
             "one row more": rows + [("p5", "0.5", "1")]}[change]
    path = _table(tmp_path / "t.tsv", table)
    with pytest.raises(InputError, match=rf"t.tsv: its {len(table)} rows do not follow the study pairs \(5\) id by id"):
        read_aligned(path, {"qe": lambda c: c.astype(float)}, keys)


@pytest.mark.parametrize("rows", [0, 1, 7, 8, 9, 23])
def test_flag_bits_round_trip_at_any_length_and_chunking(tmp_path, monkeypatch, rows):
    """Bits packed chunk by chunk (chunks of 3 rows: never a byte's worth) give back every flag and every empty cell."""
    import memkd.io
    from memkd.io import write_tsv_atomic
    from memkd.tables import defined, flags, read_example_flags

    monkeypatch.setattr(memkd.io, "CHUNK_ROWS", 3)
    rng = np.random.default_rng(rows)
    cells = rng.choice(["1", "0", ""], size=rows)
    path = tmp_path / "examples.tsv"
    write_tsv_atomic(path, pd.DataFrame({"id": [f"p{i}" for i in range(rows)], "osc_hal": cells}))
    read = read_example_flags(str(path))
    assert len(read) == rows
    assert flags(read["osc_hal"]).tolist() == (cells == "1").tolist()
    assert defined(read["osc_hal"]).tolist() == (cells != "").tolist()


def test_by_direction_groups_positions_in_order_of_first_appearance():
    from memkd.tables import by_direction

    summaries = [{"direction": d} for d in ("es-en", "en-es", "es-en", "en-es", "de-en")]
    assert by_direction(summaries) == {"es-en": [0, 2], "en-es": [1, 3], "de-en": [4]}
    assert list(by_direction(summaries)) == ["es-en", "en-es", "de-en"]
    assert by_direction([]) == {}
