"""memkd.shards: the row ranges of shards, the streaming reads that take a shard's rows, and the gather that puts
the shards' outputs back together as one unsharded job writes them."""

import json

import pandas as pd
import pytest

from memkd.errors import InputError
from memkd.io import read_tsv, write_tsv_atomic
from memkd.shards import (
    count_rows,
    gather_tables,
    gather_text,
    gather_timing,
    line_starts,
    make_plan,
    read_line_range,
    read_plan,
    read_row_range,
    read_shard_rows,
    sentences_per_shard,
    shard_ranges,
    write_plan,
)


@pytest.mark.parametrize("sentences, per_shard, expected", [
    (10, None, [(0, 10)]),
    (10, 0, [(0, 10)]),
    (10, 10, [(0, 10)]),
    (10, 25, [(0, 10)]),
    (10, 3, [(0, 3), (3, 6), (6, 9), (9, 10)]),
    (9, 3, [(0, 3), (3, 6), (6, 9)]),
    (1, 1, [(0, 1)]),
    (0, 4, [(0, 0)]),
])
def test_shard_ranges(sentences, per_shard, expected):
    assert shard_ranges(sentences, per_shard) == expected


@pytest.mark.parametrize("sentences", range(0, 40))
@pytest.mark.parametrize("per_shard", [1, 2, 5, 7, 64])
def test_shards_cover_every_row_once_in_order(sentences, per_shard):
    ranges = shard_ranges(sentences, per_shard)
    rows = [row for start, stop in ranges for row in range(start, stop)]
    assert rows == list(range(sentences))
    assert all(0 < stop - start <= per_shard for start, stop in ranges) or sentences == 0
    assert len(ranges) == max(1, -(-sentences // per_shard))


def test_negative_sizes_are_refused():
    with pytest.raises(ValueError):
        shard_ranges(-1, 3)
    with pytest.raises(ValueError):
        shard_ranges(3, -1)


def test_only_fixed_limit_splits_are_sharded():
    assert sentences_per_shard("study_train", 100) == 100
    assert sentences_per_shard("probe", 100) == 100
    assert sentences_per_shard("test", 100) is None  # a * longest source of the batch + b: one shard
    assert sentences_per_shard("study_train", None) is None
    assert sentences_per_shard("study_train", 0) is None


def test_plan_round_trip_and_a_plan_with_a_gap_is_refused(tmp_path):
    path = tmp_path / "plan.json"
    assert write_plan(path, 7, 3) == {"sentences": 7, "sentences_per_shard": 3, "shards": [[0, 3], [3, 6], [6, 7]]}
    assert read_plan(path)["shards"] == [[0, 3], [3, 6], [6, 7]]
    broken = make_plan(7, 3)
    broken["shards"][1] = [4, 6]
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError, match="do not cover"):
        read_plan(path)


@pytest.fixture
def table(tmp_path, monkeypatch):
    """A workflow TSV with texts that a careless reader would mangle: NA-like words, quotes, '#', empty cells."""
    sources = [f"source {i}" for i in range(23)]
    sources[2], sources[5], sources[8], sources[11], sources[13] = "NA", "", '"quoted" text', "# not a comment", "null"
    path = tmp_path / "pairs.tsv"
    write_tsv_atomic(path, pd.DataFrame({"id": [str(i) for i in range(23)], "src": sources, "tgt": sources}))
    monkeypatch.setattr("memkd.shards.CHUNK_ROWS", 4)  # shards that start and end inside and across chunks
    return path


def read_rows(path, start, stop):
    return read_row_range(path, start, stop, ["src"])["src"].tolist()


def test_streaming_reads_equal_read_tsv(table):
    whole = read_tsv(table, columns=["src"])["src"].tolist()
    assert count_rows(table) == len(whole) == 23
    for per_shard in (1, 3, 4, 5, 23, 50):
        parts = [read_rows(table, start, stop) for start, stop in shard_ranges(23, per_shard)]
        assert [row for part in parts for row in part] == whole
    assert read_rows(table, 5, 9) == whole[5:9] == ["", "source 6", "source 7", '"quoted" text']
    assert read_rows(table, 0, 0) == []
    with pytest.raises(InputError, match="the table has 23"):
        read_rows(table, 20, 24)
    with pytest.raises(InputError):
        count_rows(table, column="missing")


def test_a_row_range_of_several_columns_is_read_tsv_sliced(table):
    whole = read_tsv(table, columns=["id", "src", "tgt"])
    for start, stop in [(0, 23), (3, 9), (4, 8), (22, 23), (7, 7)]:
        rows = read_row_range(table, start, stop, ["tgt", "id"])
        assert rows.equals(whole[["tgt", "id"]].iloc[start:stop].reset_index(drop=True))
    with pytest.raises(InputError, match="the table has 23"):
        read_row_range(table, 20, 24, ["id"])


def test_gather_text_is_the_concatenation_and_checks_line_counts(tmp_path):
    lines = [f"hypothesis {i} ü\n" for i in range(10)] + ["\n", "last\n"]
    plan = make_plan(len(lines), 5)
    parts = []
    for i, (start, stop) in enumerate(plan["shards"]):
        parts.append(tmp_path / f"{i}.txt")
        parts[-1].write_text("".join(lines[start:stop]), encoding="utf-8")
    out = tmp_path / "out" / "study_train.greedy.txt"
    gather_text(parts, out, plan)
    assert out.read_bytes() == "".join(lines).encode()
    assert [p.name for p in out.parent.iterdir()] == [out.name], "no temporary file may stay behind"

    parts[1].write_text("".join(lines[5:9]))  # a shard one line short
    with pytest.raises(InputError, match="1.txt: 4 lines, expected 5"):
        gather_text(parts, out, plan)
    with pytest.raises(InputError, match="2 shard files for a plan of 3"):
        gather_text(parts[:2], out, plan)
    assert out.read_bytes() == "".join(lines).encode(), "a failed gather leaves the earlier file as it was"


def test_read_line_range_equals_a_slice_of_read_lines(tmp_path):
    from memkd.io import read_lines

    path = tmp_path / "hypotheses.txt"
    path.write_text("".join(f"line {i} é\n" for i in range(7)) + "\nlast\n", encoding="utf-8")
    whole = read_lines(path)
    for start, stop in [(0, 9), (0, 3), (3, 6), (6, 9), (8, 9), (4, 4)]:
        assert read_line_range(path, start, stop) == whole[start:stop]
    with pytest.raises(InputError, match="lines 8..10 asked for, the file has 9"):
        read_line_range(path, 7, 10)
    path.write_bytes(b"good\nbad \xff\n")
    with pytest.raises(InputError, match="line 2: not valid UTF-8"):
        read_line_range(path, 0, 2)


def test_gather_tables_keeps_one_header_and_every_row_in_order(table, tmp_path):
    whole = read_tsv(table)
    plan = make_plan(len(whole), 5)
    parts = []
    for i, (start, stop) in enumerate(plan["shards"]):
        parts.append(tmp_path / "shards" / f"{i}.tsv")
        write_tsv_atomic(parts[-1], whole.iloc[start:stop])
    out = tmp_path / "out" / "study_train.tsv"
    gather_tables(parts, out, plan)
    assert out.read_bytes() == table.read_bytes()
    pd.testing.assert_frame_equal(read_tsv(out), whole)

    write_tsv_atomic(parts[2], whole.iloc[10:14])  # a shard one row short
    with pytest.raises(InputError, match="2.tsv: 4 rows, expected 5"):
        gather_tables(parts, out, plan)
    write_tsv_atomic(parts[2], whole.iloc[10:15].rename(columns={"tgt": "text"}))
    with pytest.raises(InputError, match="header"):
        gather_tables(parts, out, plan)
    with pytest.raises(InputError, match="4 shard files for a plan of 5"):
        gather_tables(parts[:4], out, plan)
    assert out.read_bytes() == table.read_bytes(), "a failed gather leaves the earlier file as it was"


def test_gather_timing_sums_and_keeps_the_fields_of_one_job():
    signature = "decode:greedy|nbest:1|maxlen:256|lenpen:1.0|engine:ctranslate2-4"
    shards = [
        {"sentences": 64, "seconds": 1.25, "sentences_per_s": 51.2, "threads": 1, "device": "cpu",
         "decoding": signature, "shard": 0, "rows": [0, 64]},
        {"sentences": 36, "seconds": 0.75, "sentences_per_s": 48.0, "threads": 1, "device": "cpu",
         "decoding": signature, "shard": 1, "rows": [64, 100]},
    ]
    assert gather_timing(shards) == {"sentences": 100, "seconds": 2.0, "sentences_per_s": 50.0, "threads": 1,
                                     "device": "cpu", "decoding": signature, "shards": 2}
    other = dict(shards[1], decoding=signature.replace("greedy", "beam5"))
    with pytest.raises(InputError, match="disagree on decoding"):
        gather_timing([shards[0], other])
    mixed = gather_timing([shards[0], dict(shards[1], device="cuda")])
    assert mixed["device"] == "cpu,cuda"


def test_timing_record_is_what_translate_writes_and_the_shard_adds_its_rows():
    import ast
    from pathlib import Path
    from types import SimpleNamespace

    from memkd.shards import timing_record

    signature = "decode:greedy|nbest:1|maxlen:256|lenpen:1.0|engine:ctranslate2-4"
    record = timing_record(100, 2.00049, 4, "cpu", signature)
    assert record == {"sentences": 100, "seconds": 2.0, "sentences_per_s": 49.99, "threads": 4, "device": "cpu",
                      "decoding": signature}
    shard = timing_record(36, 0.75, 1, "cuda", signature, shard=1, rows=[64, 100])
    assert list(shard) == [*record, "shard", "rows"] and shard["sentences_per_s"] == 48.0 and shard["rows"] == [64, 100]
    assert timing_record(0, 0.0, 1, "cpu", signature)["sentences_per_s"] is None  # no time measured: no rate
    # scripts/translate.py keeps its own record (an edit of it would rerun every finished translation and all after
    # them): its fields, evaluated on the same run, are timing_record's, in the same order (json.dumps keeps it)
    scripts = Path(__file__).resolve().parents[2] / "scripts"
    call = next(node for node in ast.walk(ast.parse((scripts / "translate.py").read_text()))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "write_json_atomic")
    run = {"len": len, "round": round, "sources": ["a"] * 100, "seconds": 2.00049,
           "snakemake": SimpleNamespace(threads=4),
           "decoder": SimpleNamespace(device="cpu", signature=lambda *settings: signature),
           "beam": 1, "max_len_a": 0, "max_len_b": 256}
    written = {ast.literal_eval(key): eval(compile(ast.Expression(value), "translate.py", "eval"), run)
               for key, value in zip(call.args[1].keys, call.args[1].values)}
    assert list(written.items()) == list(record.items())
    assert "timing_record(" in (scripts / "translate_shard.py").read_text()


def test_gathered_kbest_shards_need_at_least_one_row_per_source(tmp_path):
    """per_row "some": a shard may have several lines per row of its range (a k-best list), never fewer than its
    rows; "one" keeps the exact count."""
    plan = make_plan(3, 2)  # shards of rows 0-1 and 2
    first, second = tmp_path / "0.tsv", tmp_path / "1.tsv"
    first.write_text("id\trank\thypothesis\na\t1\tx\na\t2\ty\nb\t1\tz\nb\t2\tw\n")
    second.write_text("id\trank\thypothesis\nc\t1\tv\n")
    gather_tables([first, second], tmp_path / "kbest.tsv", plan, per_row="some")
    assert (tmp_path / "kbest.tsv").read_text().count("\n") == 6
    with pytest.raises(InputError, match="4 rows, expected 2"):
        gather_tables([first, second], tmp_path / "pairs.tsv", plan)
    second.write_text("id\trank\thypothesis\n")
    with pytest.raises(InputError, match="0 rows, expected at least 1"):
        gather_tables([first, second], tmp_path / "kbest.tsv", plan, per_row="some")


def test_a_plan_made_from_its_table_seeks_to_each_shard(table):
    whole = read_tsv(table, columns=["id", "src", "tgt"])
    for per_shard in (1, 4, 5, 23, 50):
        plan = make_plan(23, per_shard, table)
        assert plan["table_bytes"] == table.stat().st_size and len(plan["offsets"]) == len(plan["shards"])
        data = table.read_bytes()
        for shard, ((start, stop), offset) in enumerate(zip(plan["shards"], plan["offsets"])):
            assert data[offset:].split(b"\t", 1)[0] == str(start).encode(), "the offset is where the row's id starts"
            rows = read_shard_rows(table, plan, shard, ["tgt", "id"])
            assert rows.equals(whole[["tgt", "id"]].iloc[start:stop].reset_index(drop=True))


def test_a_shard_of_another_table_is_scanned_not_sought(table, tmp_path):
    plan = make_plan(23, 5, table)
    longer = tmp_path / "longer.tsv"
    whole = read_tsv(table)
    write_tsv_atomic(longer, whole.assign(src=whole["src"] + " and more"))
    rows = read_shard_rows(longer, plan, 2, ["src"])  # a different size: the offsets do not apply
    assert rows["src"].tolist() == (whole["src"] + " and more").iloc[10:15].tolist()
    same_size = tmp_path / "same_size.tsv"
    same_size.write_bytes(b"x" + table.read_bytes()[:-1])  # every line one byte later: the offset lands mid-line
    with pytest.raises(InputError, match="does not start a line"):
        read_shard_rows(same_size, plan, 1, ["src"])
    with pytest.raises(InputError, match="missing column"):
        read_shard_rows(table, plan, 1, ["nope"])


def test_a_table_whose_lines_are_not_its_rows_gets_no_offsets(tmp_path):
    path = tmp_path / "blank.tsv"
    path.write_text("src\na\n\nb\n")  # the parser skips the empty line: 2 rows on 3 lines
    assert count_rows(path) == 2
    plan = make_plan(2, 1, path)
    assert "offsets" not in plan
    assert read_shard_rows(path, plan, 1, ["src"])["src"].tolist() == ["b"]


@pytest.mark.parametrize("text", [b"", b"a", b"a\n", b"a\nbb\n", b"a\nbb", b"\n\n", b"one\n\ntwo\n"])
def test_line_starts_against_splitlines(tmp_path, monkeypatch, text):
    path = tmp_path / "lines.txt"
    path.write_bytes(text)
    lines = text.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    expected, offset = [], 0
    for line in lines:
        expected.append(offset)
        offset += len(line) + 1
    for block in (1, 2, 3, 1 << 24):  # blocks that cut lines and newline pairs
        monkeypatch.setattr("memkd.shards._BLOCK_BYTES", block)
        wanted = list(range(len(lines) + 2))
        starts, count, empty = line_starts(path, wanted)
        assert count == len(lines)
        assert starts == expected + [len(text)] * (len(wanted) - len(expected))
        assert empty == (b"" in lines)
        for line in range(len(lines) + 2):  # stopping at the line asked for finds the same offset
            assert line_starts(path, [line], whole=False)[0] == [starts[line]]
