"""Oscillatory hallucinations: an output that repeats one bigram far more than its source does.

Tokenization follows BERT's basic tokenizer: lower case, accents stripped, punctuation split off.
"""

from __future__ import annotations

import unicodedata
from collections import Counter


def basic_tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    tokens, current = [], []
    for char in text:
        if char.isspace():
            tokens.extend(["".join(current)] if current else [])
            current = []
        elif unicodedata.category(char).startswith("P") or (char.isascii() and not char.isalnum()):
            tokens.extend(["".join(current)] if current else [])
            tokens.append(char)
            current = []
        else:
            current.append(char)
    tokens.extend(["".join(current)] if current else [])
    return tokens


def top_bigram_count(tokens: list[str]) -> int:
    counts = Counter(zip(tokens, tokens[1:]))
    return max(counts.values()) if counts else 0


def is_oscillatory(
    source: str, output: str, min_count: int = 10, min_excess: int = 4, max_source_tokens: int = 50
) -> bool | None:
    """True/False, or None when the pair is skipped: a side with fewer than 2 whitespace tokens (checked before
    tokenizing, as the paper's code does: "Amen." is skipped although it has two basic tokens), or a source of
    max_source_tokens basic tokens or more. Hallucinated: the output's most frequent bigram occurs more than
    min_count times and more than min_excess times more than the source's."""
    if len(source.split()) < 2 or len(output.split()) < 2:
        return None
    source_tokens, output_tokens = basic_tokens(source), basic_tokens(output)
    if len(source_tokens) >= max_source_tokens:
        return None
    top_output, top_source = top_bigram_count(output_tokens), top_bigram_count(source_tokens)
    return top_output > min_count and top_output - top_source > min_excess
