"""Rule lm_data: the LM track's tokenizer, pre-training blocks, fine-tuning and held-out examples from one side of
an aligned corpus."""

import logging

import numpy as np

from memkd.errors import InputError
from memkd.io import atomic_path, read_tsv, write_json_atomic, write_tsv_atomic
from memkd.lm import data
from memkd.rulerun import run
from memkd.tokenizer import load, train_sentencepiece


def examples_of(streams, length, n, seed, duplicates=None):
    unique = data.count_windows([w for s in streams for w in data.windows(s, length)])
    chosen = data.sample_examples(unique, n, seed)
    planted = (data.planted_copies(len(chosen), duplicates["fraction"], duplicates["copies"], seed) if duplicates
               else np.ones(len(chosen), dtype=int))
    return chosen.assign(copies=chosen["natural_copies"] * planted, planted=planted > 1)


def main():
    lm = snakemake.params.settings
    settings = lm["data"]
    length = lm["prefix_tokens"] + lm["suffix_tokens"]
    verses = read_tsv(snakemake.input.aligned)
    language = settings["language"]
    if language not in verses.columns:
        raise InputError(f"{snakemake.input.aligned} has no column {language!r} (config lm.data.language); "
                         f"columns: {', '.join(verses.columns)}")
    verses = verses[["id", language]].rename(columns={language: "text"})
    verses = verses[verses["text"].astype(str).str.strip() != ""]
    chapters = data.chapter_texts(verses)
    chapters["part"] = [data.part_of(c, settings["split_permille"], settings["split_salt"]) for c in chapters.chapter]
    parts = {p: chapters[chapters.part == p] for p in data.PARTS}
    for part, frame in parts.items():
        if frame.empty:
            raise InputError(f"no chapter falls into the {part} part; change config lm.data.split_permille")

    # the tokenizer sees the pre-training part only: fine-tuning text stays unseen until fine-tuning
    pretrain_verses = verses[verses["id"].map(data.chapter_of).isin(set(parts["pretrain"].chapter))]
    train_sentencepiece(pretrain_verses["text"].astype(str).tolist(), snakemake.output.spm, lm["tokenizer"],
                        snakemake.params.seed)
    processor = load(snakemake.output.spm)
    streams = {p: [processor.encode(t) for t in f.text] for p, f in parts.items()}

    finetune = examples_of(streams["finetune"], length, settings["finetune_examples"], snakemake.params.seed,
                           settings["duplicates"])
    heldout = examples_of(streams["heldout"], length, settings["heldout_examples"], snakemake.params.seed + 7)
    if len(finetune) < settings["min_examples"] or len(heldout) < settings["min_examples"]:
        raise InputError(f"{len(finetune)} fine-tuning and {len(heldout)} held-out examples of {length} tokens, "
                         f"fewer than lm.data.min_examples = {settings['min_examples']}: raise "
                         f"lm.data.split_permille or lower lm.prefix_tokens / lm.suffix_tokens")
    blocks = data.blocks(streams["pretrain"], length, processor.eos_id())
    if settings["max_pretrain_blocks"]:
        keep = np.random.default_rng(snakemake.params.seed).permutation(len(blocks))[:settings["max_pretrain_blocks"]]
        blocks = blocks[np.sort(keep)]
    with atomic_path(snakemake.output.pretrain) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, blocks)
    write_tsv_atomic(snakemake.output.finetune, data.example_table(finetune, "ft", processor.decode))
    write_tsv_atomic(snakemake.output.heldout, data.example_table(heldout, "ho", processor.decode))
    stats = {
        "chapters": {p: int(len(f)) for p, f in parts.items()},
        "tokens": {p: int(sum(map(len, s))) for p, s in streams.items()},
        "pretrain_blocks": int(len(blocks)), "example_tokens": length,
        "finetune_examples": int(len(finetune)), "finetune_rows": int(finetune["copies"].sum()),
        "finetune_natural_duplicates": int((finetune["natural_copies"] > 1).sum()),
        "finetune_planted": int(finetune["planted"].sum()), "heldout_examples": int(len(heldout)),
        "vocab_size": processor.vocab_size(),
    }
    logging.info("LM data: %s", stats)
    write_json_atomic(snakemake.output.stats, stats)


run(main, snakemake.log[0])
