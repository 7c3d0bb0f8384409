"""Read verses from a SWORD Bible module with pysword (pure Python, any interpreter).

Debian's python3-sword binding only works with the system interpreter, so we read the module files
from an unpacked package tree instead.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pysword.modules import SwordModules

from memkd.errors import InputError

# SWORD module name -> Debian package that ships it.
DEBIAN_PACKAGES = {
    "engWEB2015eb": "sword-text-web",
    "engKJV2006eb": "sword-text-kjv",
    "spaRV1909eb": "sword-text-sparv",
}


def sword_root(package_root: str | Path) -> Path:
    """The SWORD data folder (holding mods.d/) inside an unpacked Debian package."""
    return Path(package_root) / "usr" / "share" / "sword"


def read_module(root: str | Path, module: str) -> dict[str, str]:
    """{OSIS ref like 'Gen.1.1': raw OSIS entry} for every non-empty verse, in canonical order."""
    root = Path(root)
    package = DEBIAN_PACKAGES.get(module, "the package that provides it")
    if not (root / "mods.d").is_dir():
        raise InputError(f"SWORD module {module}: no mods.d/ folder under {root} (is {package} unpacked there?)")
    modules = SwordModules(str(root))
    found = modules.parse_modules()
    if module not in found:
        raise InputError(f"SWORD module {module} not found under {root}; found {sorted(found)} (needs {package})")
    bible = modules.get_bible_from_module(module)
    # pysword decompresses a whole book block per verse; caching the block makes a full read ~100x faster.
    bible._decompressed_text = functools.lru_cache(maxsize=8)(bible._decompressed_text)
    verses: dict[str, str] = {}
    books = bible.get_structure().get_books()
    for testament in ("ot", "nt"):
        for book in books.get(testament, []):
            refs = [
                f"{book.osis_name}.{chapter}.{verse}"
                for chapter in range(1, book.num_chapters + 1)
                for verse in range(1, book.chapter_lengths[chapter - 1] + 1)
            ]
            texts = list(bible.get_iter(books=[book.osis_name], clean=False))
            if len(texts) != len(refs):
                raise InputError(f"SWORD module {module}: book {book.osis_name} has {len(texts)} entries, expected {len(refs)}")
            verses.update((ref, text) for ref, text in zip(refs, texts) if text.strip())
    if not verses:
        raise InputError(f"SWORD module {module} under {root} has no verses")
    return verses
