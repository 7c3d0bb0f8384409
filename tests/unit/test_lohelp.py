import pytest

from memkd.corpora.lohelp import page_segments, read_lohelp
from memkd.errors import InputError


def _page(root, lang_dir, relative, body):
    path = root / "usr" / "share" / "libreoffice" / "help" / lang_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


def test_page_segments_keep_nested_text_and_skip_other_ids():
    html = (
        '<h1 id="hd_id1">Insert <span class="x">Table</span></h1>'
        '<p id="par_id2">Choose <b>Format</b>&nbsp;- Cells.<br/>Next line</p>'
        '<p id="other">not a help id</p><script>var x;</script>'
    )
    assert page_segments(html) == {"hd_id1": "Insert Table", "par_id2": "Choose Format - Cells. Next line"}


def test_read_lohelp_aligns_by_page_and_id_and_flags_duplicates(tmp_path):
    en, de = tmp_path / "en", tmp_path / "de"
    _page(en, "en-US", "text/a.html", '<p id="par_id1">Open a file.</p><p id="par_id2">Save</p><p id="par_id9">only English</p>')
    _page(de, "de", "text/a.html", '<p id="par_id2">Speichern</p><p id="par_id1">Datei öffnen.</p>')
    _page(en, "en-US", "text/b.html", '<p id="par_id5">Save</p><p id="par_id6">URL</p>')
    _page(de, "de", "text/b.html", '<p id="par_id5">Speichern</p><p id="par_id6">URL</p>')
    _page(en, "en-US", "text/c.html", '<p id="par_id7">No German page</p>')
    frame = read_lohelp(en, de, "de")
    assert list(frame.columns) == ["id", "en", "de", "flags"]
    rows = {r.id: (r.en, r.de, r.flags) for r in frame.itertuples()}
    assert rows == {
        "text/a.html#par_id1": ("Open a file.", "Datei öffnen.", "-"),
        "text/a.html#par_id2": ("Save", "Speichern", "dup_pair"),
        "text/b.html#par_id6": ("URL", "URL", "identical"),
    }


def test_missing_help_pages_name_the_package(tmp_path):
    (tmp_path / "de" / "usr" / "share" / "libreoffice" / "help" / "de").mkdir(parents=True)
    _page(tmp_path / "en", "en-US", "text/a.html", '<p id="par_id1">x</p>')
    with pytest.raises(InputError, match="libreoffice-help-de"):
        read_lohelp(tmp_path / "en", tmp_path / "de", "de")
    with pytest.raises(InputError, match="libreoffice-help-en-us"):
        read_lohelp(tmp_path / "nothing", tmp_path / "de", "de")
