"""English-Spanish Bible verse pairs from Debian's SWORD modules, cleaned and aligned by verse.

English: World English Bible (engWEB2015eb, default) or King James Version (engKJV2006eb).
Spanish: Reina-Valera 1909 (spaRV1909eb). All three are public domain.

Clean-up follows the pitfalls found in the real modules: Strong's tags, footnotes (whose removal can
glue two words), section headings, speaker labels, the glossary WEB appends to Rev 22:21, and the
all-capital first words of each chapter in RV1909. Misaligned verses (versification shifts) are
flagged, not dropped: they are part of the corpus' real noise and a subgroup of the study.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pandas as pd

ENGLISH_MODULES = {"web": "engWEB2015eb", "kjv": "engKJV2006eb"}
SPANISH_MODULE = "spaRV1909eb"
# KJV and RV1909 both carry hand-made Strong's tags in KJV versification: they anchor the alignment check.
ANCHOR_MODULE = "engKJV2006eb"

HEBREW_LETTER_NAMES = set(
    """ALEPH BETH GIMEL DALETH HE VAV VAU ZAYIN ZAIN HETH CHETH TETH YODH JOD KAPH KAPF CAPH LAMEDH
    LAMED MEM NUN SAMEKH SAMECH AYIN AIN PE TZADHE TZADDI QOPH KOPH RESH SIN SHIN SCHIN TAV TAU""".split()
)
_NOTE_MARK = "\x00"  # where a footnote was removed


def strongs_numbers(raw: str) -> set[str]:
    """Strong's numbers (H430, G2316, ...) tagged in an entry, footnotes excluded."""
    raw = re.sub(r"<note\b.*?</note>", " ", raw, flags=re.S)
    numbers = set()
    for attr in re.findall(r'lemma="([^"]*)"', raw):
        numbers.update(letter + digits for letter, digits in re.findall(r"([HG])0*(\d+)", attr))
    return numbers


def _keep_title(match: re.Match) -> str:
    """Canonical titles (psalm superscriptions, Ps 119 letters) are text; section headings are not."""
    attrs, body = match.group(1), match.group(2)
    return f" {body} " if 'canonical="true"' in attrs or "<foreign>" in body else " "


def osis_to_text(raw: str) -> str:
    """One OSIS verse entry -> plain NFC text on one line."""
    # WEB appends its glossary to Rev 22:21 after the end-of-book milestone.
    text = re.split(
        r'<div\b[^>]*type="(?:book|glossary|introduction)"[^>]*eID=|'
        r'<div\b[^>]*eID="[^"]*"[^>]*type="book"|<div\b[^>]*type="glossary"',
        raw,
    )[0]
    text = re.sub(r"<note\b.*?</note>", _NOTE_MARK, text, flags=re.S)
    text = re.sub(r"<note\b[^>]*/>", "", text)
    text = re.sub(r"<title\b([^>]*)>(.*?)</title>", _keep_title, text, flags=re.S)
    text = re.sub(r"<speaker\b.*?</speaker>", " ", text, flags=re.S)  # "Beloved", "Lover": labels, not text
    text = re.sub(r"<(?:l|lg|lb|p|div|chapter|milestone)\b[^>]*/?>", " ", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    # A footnote between two letters separated two words: "God<note/>created" -> "God created".
    text = re.sub(r"(?<=\w)" + _NOTE_MARK + r"+(?=\w)", " ", text)
    text = text.replace(_NOTE_MARK, "").replace("\u00b6", " ")  # pilcrow: KJV paragraph mark
    text = re.sub(r"[ \t\r\n\u00a0]+", " ", text).strip()
    text = re.sub(r"^[\u0590-\u05ff]+\s+", "", text)  # KJV acrostic: drop the Hebrew letter glyph
    text = re.sub(r"\s+([,;:.?!])", r"\1", text)
    return unicodedata.normalize("NFC", text)


def _letters(token: str) -> str:
    return re.sub(r"[^\w]", "", token)


def case_lexicon(texts) -> tuple[set[str], set[str]]:
    """(proper names, words seen in lower case), learned from mid-sentence words of the module itself."""
    capitalised: dict[str, int] = {}
    lower: dict[str, int] = {}
    for text in texts:
        tokens = text.split(" ")
        for n, token in enumerate(tokens):
            core = _letters(token)
            if len(core) < 2 or core.isupper() or n == 0 or re.search(r"[.?!:;]$", tokens[n - 1]):
                continue
            counts = capitalised if core[0].isupper() else lower
            counts[core.lower()] = counts.get(core.lower(), 0) + 1
    return {w for w in capitalised if capitalised[w] > lower.get(w, 0)}, set(lower)


def _capitalise(word: str) -> str:
    match = re.search(r"[^\W\d_]", word)
    return word[: match.start()] + word[match.start()].upper() + word[match.start() + 1 :] if match else word


def fix_dropcap(text: str, lexicon: tuple[set[str], set[str]], skip_letter_names: bool = False) -> str:
    """Re-case RV1909's chapter-initial capitals: 'EN el principio' -> 'En el principio',
    'Y ACHAB dió' -> 'Y Achab dió'. Proper names stay capitalised, other words go lower case."""
    propers, lowers = lexicon
    words = text.split(" ")
    start = 0
    while start < len(words):
        core = _letters(words[start])
        if len(core) >= 2 and core.isupper() and not (skip_letter_names and core in HEBREW_LETTER_NAMES):
            break
        start += 1
    if start == len(words):
        return text
    end = start
    while end < len(words):
        core = _letters(words[end])
        if not (core and core.isupper() and not core.isdigit()):
            break
        end += 1
    after_one_letter_word = start > 0 and len(_letters(words[start - 1])) == 1
    for k in range(start, end):
        word = words[k].lower()
        core = _letters(word)
        if (k == start and not after_one_letter_word) or core in propers or core not in lowers:
            word = _capitalise(word)
        words[k] = word
    return " ".join(words)


def strongs_overlap(a: set[str], b: set[str]) -> float:
    """Share of the smaller tag set found in the other; -1 when a side has no tags."""
    if not a or not b:
        return -1.0
    return len(a & b) / min(len(a), len(b))


def misalignment_flags(
    ref: str,
    order: list[str],
    position: dict[str, int],
    anchor_tags: dict[str, set[str]],
    spanish_tags: dict[str, set[str]],
    shift_margin: float = 0.3,
    low_overlap: float = 0.3,
) -> list[str]:
    """'shift' when the Spanish verse's Strong's tags match a neighbouring KJV verse (offset -3..3, same
    book) clearly better than its own (a versification difference); 'lowoverlap' when its own match is poor."""
    own = strongs_overlap(anchor_tags.get(ref, set()), spanish_tags.get(ref, set()))
    best, best_offset = own, 0
    i, book = position[ref], ref.split(".")[0]
    for offset in (-3, -2, -1, 1, 2, 3):
        j = i + offset
        if 0 <= j < len(order) and order[j].split(".")[0] == book:
            score = strongs_overlap(anchor_tags.get(order[j], set()), spanish_tags.get(ref, set()))
            if score > best:
                best, best_offset = score, offset
    flags = []
    if best_offset != 0 and best - own >= shift_margin:
        flags.append("shift")
    if 0 <= own < low_overlap:
        flags.append("lowoverlap")
    return flags


def build_corpus(raw: dict[str, dict[str, str]], english: str = "web") -> tuple[pd.DataFrame, dict]:
    """Aligned (id, en, es, flags) verse pairs from raw OSIS entries keyed by module name.

    `raw` must hold the chosen English module, RV1909 and the KJV (the alignment anchor).
    """
    english_module = ENGLISH_MODULES[english]
    texts = {name: {ref: osis_to_text(entry) for ref, entry in verses.items()} for name, verses in raw.items()}
    texts = {name: {ref: t for ref, t in verses.items() if t} for name, verses in texts.items()}
    spanish = texts[SPANISH_MODULE]
    lexicon = case_lexicon(spanish.values())
    for ref in spanish:
        if ref.endswith(".1"):
            spanish[ref] = fix_dropcap(spanish[ref], lexicon, skip_letter_names=ref.startswith("Ps.119."))
    tags = {name: {ref: strongs_numbers(entry) for ref, entry in raw[name].items()} for name in (ANCHOR_MODULE, SPANISH_MODULE)}
    order = list(raw[ANCHOR_MODULE])  # canonical KJV order, 66 books
    position = {ref: i for i, ref in enumerate(order)}
    rows = []
    for ref in order:
        if ref in texts[english_module] and ref in spanish:
            flags = misalignment_flags(ref, order, position, tags[ANCHOR_MODULE], tags[SPANISH_MODULE])
            rows.append((ref, texts[english_module][ref], spanish[ref], ",".join(flags) or "-"))
    frame = pd.DataFrame(rows, columns=["id", "en", "es", "flags"])
    stats = {
        "english_module": english_module,
        "spanish_module": SPANISH_MODULE,
        "verses": {name: len(v) for name, v in texts.items()},
        "aligned_pairs": len(frame),
        "flagged": {flag: int(frame["flags"].str.contains(flag).sum()) for flag in ("shift", "lowoverlap")},
    }
    return frame, stats
