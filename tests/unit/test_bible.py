from memkd.corpora.bible import (
    case_lexicon,
    fix_dropcap,
    misalignment_flags,
    osis_to_text,
    strongs_numbers,
    strongs_overlap,
)


def test_osis_to_text_strips_tags_and_keeps_words_apart_where_a_note_was():
    raw = (
        '<w lemma="strong:H0430">God</w><note placement="foot">The Hebrew word is Elohim.</note>'
        '<w lemma="strong:H1254">created</w> the <transChange type="added">earth</transChange> .'
    )
    assert osis_to_text(raw) == "God created the earth."


def test_osis_to_text_drops_headings_and_speakers_keeps_canonical_titles():
    raw = (
        '<title type="section">A heading</title><title canonical="true">A Psalm by David.</title>'
        "<speaker>Beloved</speaker> Text &amp; more"
    )
    assert osis_to_text(raw) == "A Psalm by David. Text & more"


def test_osis_to_text_cuts_the_glossary_appended_to_the_last_verse():
    raw = 'Amen.<div eID="x" type="book"/><div type="glossary">Abba: Father</div>'
    assert osis_to_text(raw) == "Amen."


def test_strongs_numbers_ignore_notes_and_leading_zeros():
    raw = '<w lemma="strong:H0430 strong:G2316">x</w><note><w lemma="strong:H9999">y</w></note>'
    assert strongs_numbers(raw) == {"H430", "G2316"}


def test_strongs_overlap():
    assert strongs_overlap({"H1", "H2"}, {"H2"}) == 1.0
    assert strongs_overlap(set(), {"H2"}) == -1.0


def test_fix_dropcap_recases_the_chapter_initial_run():
    lexicon = case_lexicon(["y dijo que Achab vino", "el principio de todo", "y vino Achab"])
    assert fix_dropcap("EN el principio", lexicon) == "En el principio"
    assert fix_dropcap("Y ACHAB dió", lexicon) == "Y Achab dió"  # after a one-letter word
    assert fix_dropcap("ALEPH. Bienaventurados", lexicon, skip_letter_names=True) == "ALEPH. Bienaventurados"
    assert fix_dropcap("nothing to fix", lexicon) == "nothing to fix"


def test_misalignment_flags_detects_a_shifted_verse():
    order = ["Gen.1.1", "Gen.1.2", "Gen.1.3", "Exod.1.1"]
    position = {r: i for i, r in enumerate(order)}
    anchor = {"Gen.1.1": {"H1", "H2"}, "Gen.1.2": {"H3", "H4"}, "Gen.1.3": {"H5"}, "Exod.1.1": {"H6"}}
    spanish = {"Gen.1.1": {"H1", "H2"}, "Gen.1.2": {"H5"}, "Gen.1.3": {"H5"}, "Exod.1.1": {"H5"}}
    assert misalignment_flags("Gen.1.1", order, position, anchor, spanish) == []
    assert misalignment_flags("Gen.1.2", order, position, anchor, spanish) == ["shift", "lowoverlap"]
    # a better match in another book is not a shift
    assert misalignment_flags("Exod.1.1", order, position, anchor, spanish) == ["lowoverlap"]
