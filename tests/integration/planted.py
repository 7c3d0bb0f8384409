"""A user corpus with planted duplicates: ordinary Bible verse pairs plus random-syllable pairs that occur once,
5 times and 20 times. Random syllables cannot be translated, only memorized, so a model's replication and
counterfactual memorization of them should rise with the number of copies it trained on.

Usage (to try it by hand): python tests/integration/planted.py ALIGNED_TSV OUT_TSV
"""

from __future__ import annotations

import random
import sys

import pandas as pd

from memkd.preprocess import hash_bucket, normalise_text, split_key

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
REPEATS = (1, 5, 20)


def random_sentence(rng: random.Random, words: int) -> str:
    text = " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(words))
    return text.capitalize() + "."


def lands_in_train(text: str, salt: str, held_out_permille: int) -> bool:
    """Whether the split (memkd.preprocess: a salted hash of the pair's group) puts this source in train."""
    return hash_bucket(split_key(normalise_text(text)), salt) >= held_out_permille


def planted_corpus(
    aligned: pd.DataFrame, ordinary: int, per_repeat: int, salt: str, held_out_permille: int, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows id/en/es, planted pairs with their repeat count). Ordinary pairs are the shortest Bible verses
    (a deterministic sample); planted pairs are drawn until each lands in the training split."""
    rng = random.Random(seed)
    verses = aligned[aligned.en.str.split().str.len().between(4, 12)].sample(ordinary, random_state=seed)
    rows = [(f"verse-{i}", en, es) for i, (en, es) in enumerate(zip(verses.en, verses.es))]
    planted = []
    for repeat in REPEATS:
        while sum(1 for p in planted if p[2] == repeat) < per_repeat:
            source, target = random_sentence(rng, rng.randint(4, 7)), random_sentence(rng, rng.randint(4, 7))
            if lands_in_train(source, salt, held_out_permille):
                planted.append((source, target, repeat))
    for k, (source, target, repeat) in enumerate(planted):
        rows += [(f"planted{repeat}x-{k}-{copy}", source, target) for copy in range(repeat)]
    rows = [rows[i] for i in random.Random(seed + 1).sample(range(len(rows)), len(rows))]  # shuffled, as in a real file
    return pd.DataFrame(rows, columns=["id", "en", "es"]), pd.DataFrame(planted, columns=["src", "tgt", "repeats"])


def write_user_tsv(frame: pd.DataFrame, path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in frame.itertuples(index=False):
            handle.write(f"{row.id}\t{row.en}\t{row.es}\n")


if __name__ == "__main__":
    aligned = pd.read_csv(sys.argv[1], sep="\t", dtype=str, keep_default_na=False)
    corpus, planted = planted_corpus(aligned, ordinary=300, per_repeat=6, salt="split-v1", held_out_permille=200)
    write_user_tsv(corpus, sys.argv[2])
    print(f"{len(corpus)} rows; planted: {planted.groupby('repeats').size().to_dict()}")
