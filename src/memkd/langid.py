"""Offline language identification for the ExMem filter: py3langid, whose model ships inside the wheel.

Identification uses the model's full language set (not just the corpus' two languages), so that a
verse left untranslated or a target in the wrong language is caught.
"""

from __future__ import annotations

from functools import lru_cache

LANGUAGE_ID_MODEL = "py3langid==0.4.0 (langid.py model, 97 languages)"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_DIR / MODEL_FILE, norm_probs=False)


def identify(texts: list[str]) -> list[str]:
    """ISO 639-1 code per text (deterministic)."""
    identifier = _identifier()
    return [identifier.classify(text)[0] for text in texts]


def languages_match(sources: list[str], targets: list[str], source_language: str, target_language: str) -> list[bool]:
    """Per pair: the source is identified as source_language and the target as target_language."""
    return [
        s == source_language and t == target_language for s, t in zip(identify(sources), identify(targets))
    ]
