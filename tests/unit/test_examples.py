"""memkd.examples: the per-pair memorization table streamed a chunk at a time equals the table computed in one
chunk, flag by flag as defined, and a bad input is named before anything is written."""

import numpy as np
import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.examples import COLUMNS, Counts, Inputs, example_chunks
from memkd.io import write_tsv_atomic

SETTINGS = {
    "exmem": {"min_tokens": 4, "max_ratio": 1.3, "max_prefix_fraction": 0.75},
    "oscillation": {"min_count": 2, "min_excess": 1, "max_source_tokens": 50},
    "natural": {"min_sources": 2, "qe_threshold": 0.5},
}
OSCILLATING = "the cat the cat the cat the cat the cat"


def study(tmp_path, rng_seed: int = 3, n: int = 23):
    """A hand-built study of n pairs: repeated outputs for distinct sources (NatHal), exact copies of the reference
    and of the teacher, an oscillating output, repeated (source, output) pairs and blanks."""
    rng = np.random.default_rng(rng_seed)
    ids = [f"p{i}" for i in range(n)]
    sources = [f"source {rng.integers(8)} words here" for _ in range(n)]
    references = [f"reference {i}" for i in range(n)]
    teacher = [f"teacher {i}" if i % 3 else references[i] for i in range(n)]
    outputs = []
    for i in range(n):
        kind = i % 6
        outputs.append([references[i], teacher[i], "same output", " same output ", OSCILLATING, ""][kind])
    quality = [round(float(q), 3) for q in rng.uniform(0, 1, n)]
    write_tsv_atomic(tmp_path / "pairs.tsv", pd.DataFrame({"id": ids, "src": sources, "tgt": references}))
    (tmp_path / "hyp.txt").write_text("".join(o + "\n" for o in outputs))
    (tmp_path / "teacher.txt").write_text("".join(t + "\n" for t in teacher))
    write_tsv_atomic(tmp_path / "teacher.tsv", pd.DataFrame({"id": ids, "src": sources, "tgt": teacher}))
    write_tsv_atomic(tmp_path / "quality.tsv", pd.DataFrame({"id": ids, "qe": quality, "qe_method": "dual_xent"}))
    write_tsv_atomic(tmp_path / "exmem.tsv", pd.DataFrame({
        "id": ids, "exmem_candidate": [int(i % 6 == 0) for i in range(n)],
        "exmem_teacher_candidate": [int(i % 6 == 1) for i in range(n)],
        "exmem_prefix_tokens": [str(2 + i % 4) if i % 6 in (0, 1) and i % 4 else "" for i in range(n)]}))
    return dict(ids=ids, sources=sources, references=references, teacher=teacher, outputs=outputs, quality=quality)


def inputs(tmp_path, teacher="teacher.txt", **changes) -> Inputs:
    paths = dict(pairs=tmp_path / "pairs.tsv", hypotheses=tmp_path / "hyp.txt",
                 teacher_hypotheses=tmp_path / teacher, output_quality=tmp_path / "quality.tsv",
                 exmem=tmp_path / "exmem.tsv")
    paths.update(changes)
    return Inputs(**{key: None if value is None else str(value) for key, value in paths.items()})


def table(tmp_path, chunk_rows: int, is_teacher=False, teacher="teacher.txt") -> tuple[pd.DataFrame, Counts]:
    counts = Counts()
    chunks = list(example_chunks(inputs(tmp_path, teacher), is_teacher, SETTINGS, "en", "es", None, {}, counts,
                                 chunk_rows=chunk_rows))
    return pd.concat(chunks, ignore_index=True), counts


@pytest.mark.parametrize("is_teacher", [False, True])
@pytest.mark.parametrize("teacher", ["teacher.txt", "teacher.tsv"])
def test_streamed_in_chunks_equals_one_chunk(tmp_path, is_teacher, teacher):
    study(tmp_path)
    whole, whole_counts = table(tmp_path, 10_000, is_teacher, teacher)
    for rows in (1, 2, 5, 7):
        streamed, counts = table(tmp_path, rows, is_teacher, teacher)
        pd.testing.assert_frame_equal(streamed, whole)
        assert counts == whole_counts
    assert list(whole.columns) == COLUMNS and len(whole) == 23


def test_flags_follow_their_definitions(tmp_path):
    s = study(tmp_path)
    frame, counts = table(tmp_path, 4)
    stripped = [o.strip() for o in s["outputs"]]
    sources_of = {}
    for source, output in zip(s["sources"], stripped):
        sources_of.setdefault(output, set()).add(source.strip())
    shared = [len(sources_of[o]) >= 2 for o in stripped]
    natural = [sh and q < 0.5 for sh, q in zip(shared, s["quality"])]
    seen, units = set(), []
    for source, output in zip(s["sources"], stripped):
        units.append(bool(output) and (source.strip(), output) not in seen)
        seen.add((source.strip(), output))
    assert frame["exact_match"].tolist() == [int(o == r) for o, r in zip(stripped, s["references"])]
    assert frame["exact_match_teacher"].tolist() == [int(o == t) for o, t in zip(stripped, s["teacher"])]
    assert frame["nat_hal_candidate"].tolist() == [int(x) for x in shared]
    assert frame["nat_hal"].tolist() == [int(x) for x in natural] and any(natural)
    assert frame["nat_hal_unit"].tolist() == [int(x) for x in units]
    assert frame["osc_hal"].tolist()[4] == 1 and frame["osc_hal"].tolist()[0] in ("", 0)
    assert counts.nat_hal == sum(natural) and counts.nat_hal_units == sum(units)
    assert counts.nat_hal_counted == sum(n and u for n, u in zip(natural, units))
    assert counts.nat_hal_unique_outputs == len({o for o, n in zip(stripped, natural) if n})
    assert counts.replication == frame["exact_match"].sum() and counts.pairs == 23
    assert counts.qe_method == "dual_xent"
    # ExMem: a candidate with a memorized prefix
    assert frame["exmem"].tolist() == [int(c == 1 and p != "") for c, p in
                                      zip(frame["exmem_candidate"], frame["exmem_prefix_tokens"])]


def test_a_translation_with_a_line_too_few_is_named_before_a_row_is_made(tmp_path):
    study(tmp_path)
    lines = (tmp_path / "hyp.txt").read_text().splitlines(keepends=True)
    (tmp_path / "hyp.txt").write_text("".join(lines[:-1]))
    chunks = example_chunks(inputs(tmp_path), False, SETTINGS, "en", "es", None, {}, Counts(), chunk_rows=5)
    with pytest.raises(InputError, match=r"hyp.txt: 22 lines for 23 study pairs"):
        next(chunks)


def test_a_teacher_translation_with_a_line_too_many_is_named(tmp_path):
    study(tmp_path)
    with open(tmp_path / "teacher.txt", "a") as handle:
        handle.write("one more\n")
    with pytest.raises(InputError, match=r"teacher.txt: 24 lines for 23 study pairs"):
        table(tmp_path, 5)


@pytest.mark.parametrize("what", ["quality.tsv", "exmem.tsv", "teacher.tsv"])
def test_a_table_that_does_not_follow_the_pairs_is_named(tmp_path, what):
    study(tmp_path)
    frame = pd.read_csv(tmp_path / what, sep="\t", dtype=str, keep_default_na=False)
    frame.iloc[:-1].to_csv(tmp_path / what, sep="\t", index=False)  # the last row missing
    with pytest.raises(InputError, match=what):
        table(tmp_path, 5, teacher="teacher.tsv")
