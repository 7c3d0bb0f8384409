import pytest

from memkd.corpora.usertsv import read_user_tsv
from memkd.errors import InputError


def test_reads_ids_and_cleans_whitespace(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\t Hello   world \tHola mundo\n\nb\tBye\tAdiós\n")
    frame, report = read_user_tsv(path, ("en", "es"))
    assert list(frame.columns) == ["id", "en", "es", "flags"]
    assert frame.loc[0, "en"] == "Hello world" and frame.loc[1, "es"] == "Adiós"
    assert report == {"lines": 3, "blank": 1, "undecodable_skipped": 0}
    assert path.read_text().startswith("a\t Hello   world")  # input untouched


@pytest.mark.parametrize(
    "content,message",
    [
        (b"a\tHello\tHola\nb\tonly two\n", r"pairs\.tsv, line 2: expected 3 tab-separated fields .* found 2"),
        (b"a\tHello\tHola\textra\n", r"pairs\.tsv, line 1: expected 3 .* found 4"),
        (b"a\tHello\tHola\nb\tNi\xf1o\tNi\xf1o\n", r"pairs\.tsv, line 2: not valid UTF-8"),
        (b"", r"pairs\.tsv: file is empty"),
        (b"\n  \n", r"pairs\.tsv: file is empty"),
        (b"a\tx\ty\na\tz\tw\n", r"pairs\.tsv, line 2: id 'a' already used on line 1"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_user_tsv(path, ("en", "es"))


def test_undecodable_lines_can_be_skipped_and_counted(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"a\tHello\tHola\nb\tNi\xf1o\tNi\xf1o\n")
    frame, report = read_user_tsv(path, ("en", "es"), on_undecodable="skip")
    assert len(frame) == 1 and report["undecodable_skipped"] == 1


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.tsv: file not found"):
        read_user_tsv(tmp_path / "nope.tsv", ("en", "es"))
