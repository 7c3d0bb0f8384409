import hashlib
import unicodedata

import pytest

from memkd.corpora.lohelp import find_help_dir, page_segments, pair_flags, read_lohelp
from memkd.errors import InputError

HELP = ("usr", "share", "libreoffice", "help")


def _page(root, lang_dir, relative, body, encoding="utf-8"):
    """A help page where dpkg-deb -x puts it: <root>/usr/share/libreoffice/help/<lang dir>/..."""
    path = root.joinpath(*HELP, lang_dir, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"/><title>t</title></head>\n<body>{body}</body></html>\n'
    path.write_bytes(html.encode(encoding))
    return path


def _tree_digest(root):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())).hexdigest()


def test_page_segments_keep_nested_text_and_only_help_ids():
    html = (
        '<h1 id="hd_id1">Insert <span class="x">Table</span></h1>'
        '<p id="par_id2">Choose <b>Format</b>&nbsp;- <a href="#">Cells</a>.<br/>Next line</p>'
        '<p id="other">not a help id</p><script>var x = "<p id=par_id3>";</script>'
        '<div id="bm_id4"><p id="par_id5">inner</p> outer</div>'
        '<p id="tit_id6">  \u200bspaced\n\t text\u200e </p>'
        '<p id="par_id7"> </p>'
    )
    assert page_segments(html) == {
        "hd_id1": "Insert Table",
        "par_id2": "Choose Format - Cells. Next line",
        "par_id5": "inner",
        "bm_id4": "inner outer",
        "tit_id6": "spaced text",
    }


def test_page_segments_survive_unclosed_and_stray_tags_and_normalise():
    decomposed = unicodedata.normalize("NFD", "Größe")
    html = f'<p id="par_id1">A <b>bold</p></span><p id="par_id2">{decomposed}</p><p id="par_id1">later copy</p>'
    segments = page_segments(html)
    assert segments == {"par_id1": "A bold", "par_id2": "Größe"}  # the first occurrence of an id wins
    assert segments["par_id2"] == unicodedata.normalize("NFC", "Größe")


def test_pair_flags_mark_repeats_after_the_first_and_identical_sides():
    pairs = [("Save", "Speichern"), ("URL", "URL"), ("Save", "Speichern"), ("URL", "URL"), ("Save", "Sichern")]
    assert pair_flags(pairs) == ["-", "identical", "dup_pair", "dup_pair,identical", "-"]


def _two_language_tree(tmp_path):
    en, de = tmp_path / "en", tmp_path / "de"
    _page(
        en,
        "en-US",
        "text/swriter/a.html",
        '<p id="par_id1">Open a file.</p><p id="par_id2">Save</p><p id="par_id9">only English</p>'
        '<p id="par_id3">Save</p><p id="par_id8">empty in German</p>',
    )
    _page(
        de,
        "de",
        "text/swriter/a.html",
        '<p id="par_id2">Speichern</p><p id="par_id1">Datei öffnen.</p><p id="par_id3">Speichern</p>'
        '<p id="par_id8"></p>',
    )
    _page(en, "en-US", "text/shared/b.html", '<h2 id="hd_id5">Save</h2><p id="par_id6">URL</p><p id="par_id7">URL</p>')
    _page(
        de, "de", "text/shared/b.html", '<h2 id="hd_id5">Speichern</h2><p id="par_id6">URL</p><p id="par_id7">URL</p>'
    )
    _page(en, "en-US", "text/shared/c.html", '<p id="par_id7">No German page</p>')
    (de.joinpath(*HELP, "media", "icon-themes")).mkdir(parents=True)  # the real package ships media/ too
    return en, de


def test_read_lohelp_aligns_by_page_and_id_keeping_repeats(tmp_path):
    en, de = _two_language_tree(tmp_path)
    before = _tree_digest(tmp_path)
    frame = read_lohelp(en, de, "de")
    assert list(frame.columns) == ["id", "en", "de", "flags"]
    # pages in sorted path order, segments in English page order; repeats kept and flagged
    assert frame.values.tolist() == [
        ["text/shared/b.html#hd_id5", "Save", "Speichern", "-"],
        ["text/shared/b.html#par_id6", "URL", "URL", "identical"],
        ["text/shared/b.html#par_id7", "URL", "URL", "dup_pair,identical"],
        ["text/swriter/a.html#par_id1", "Open a file.", "Datei öffnen.", "-"],
        ["text/swriter/a.html#par_id2", "Save", "Speichern", "dup_pair"],
        ["text/swriter/a.html#par_id3", "Save", "Speichern", "dup_pair"],
    ]
    assert _tree_digest(tmp_path) == before  # inputs untouched


def test_other_language_folder_is_found_whatever_its_spelling(tmp_path):
    en, pt = tmp_path / "en", tmp_path / "pt"
    _page(en, "en-US", "text/a.html", '<p id="par_id1">Help</p>')
    _page(pt, "pt-BR", "text/a.html", '<p id="par_id1">Ajuda</p>')
    frame = read_lohelp(en, pt, "pt-br")
    assert list(frame.columns) == ["id", "en", "pt-br", "flags"] and frame.loc[0, "pt-br"] == "Ajuda"


def test_missing_help_pages_name_the_folder_and_the_package(tmp_path):
    en = tmp_path / "en"
    _page(en, "en-US", "text/a.html", '<p id="par_id1">x</p>')
    empty_de = tmp_path / "de"
    empty_de.joinpath(*HELP, "de").mkdir(parents=True)
    with pytest.raises(InputError, match=r"de/usr/share/libreoffice/help.*Debian package libreoffice-help-de\b"):
        read_lohelp(en, empty_de, "de")
    with pytest.raises(InputError, match=r"nothing/usr/share/libreoffice/help.*libreoffice-help-en-us"):
        read_lohelp(tmp_path / "nothing", empty_de, "de")
    # an English package without the en-US folder
    _page(tmp_path / "wrong", "de", "text/a.html", '<p id="par_id1">x</p>')
    with pytest.raises(InputError, match="libreoffice-help-en-us"):
        read_lohelp(tmp_path / "wrong", tmp_path / "wrong", "de")


def test_a_tree_with_several_languages_is_refused(tmp_path):
    root = tmp_path / "mixed"
    _page(root, "de", "text/a.html", '<p id="par_id1">x</p>')
    _page(root, "fr", "text/a.html", '<p id="par_id1">x</p>')
    with pytest.raises(InputError, match=r"several languages \(de, fr\).*libreoffice-help-de"):
        find_help_dir(root, "libreoffice-help-de")


def test_a_page_that_is_not_utf8_names_file_and_line(tmp_path):
    en, de = tmp_path / "en", tmp_path / "de"
    _page(en, "en-US", "text/a.html", '<p id="par_id1">Size</p>')
    _page(de, "de", "text/a.html", '<p id="par_id1">Größe</p>', encoding="latin-1")
    with pytest.raises(InputError, match=r"de/text/a\.html, line 3: not valid UTF-8"):
        read_lohelp(en, de, "de")
