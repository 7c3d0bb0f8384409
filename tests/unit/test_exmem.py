"""memkd.exmem: ExMem candidates and memorized prefixes with a decoder that translates by a lookup table, and the
shard property rule exmem_shard relies on: the flags of the pairs in shards are the flags of all pairs at once."""

import pytest

from memkd.exmem import EXMEM_COLUMNS, exmem_flags, exmem_table
from memkd.shards import shard_ranges

SETTINGS = {"min_tokens": 4, "max_ratio": 1.3, "max_prefix_fraction": 0.75}
DECODING = {"max_tokens": 4000, "max_len_a": 1.5, "max_len_b": 10, "memorization_max_len": 64}


class LookupDecoder:
    """Translates a source by `table`, else to "otra cosa"; counts the sentences it was asked for."""

    max_positions = 128

    def __init__(self, table: dict[str, str]):
        self.table, self.asked = table, []

    def translate(self, sources, beam=1, n_best=1, max_tokens=4000, max_len_a=1.5, max_len_b=10):
        self.asked += sources
        return [[self.table.get(s, "otra cosa")] for s in sources], 0.0


SOURCES = [
    "and the word was with god and the word was god",  # memorized from 3 of 11 words (3/11 <= 0.75)
    "in the beginning god created the heavens and the earth",  # a candidate whose prefixes all differ
    "jesus wept",  # an exact match too short to be a candidate
    "the lord is my shepherd and I shall not want",  # not an exact match
]
REFERENCES = [
    "y el verbo era con dios y el verbo era dios",
    "en el principio creó dios los cielos y la tierra",
    "jesús lloró",
    "el señor es mi pastor y nada me faltará",
]


def test_candidates_and_the_shortest_memorized_prefix():
    outputs = [REFERENCES[0], REFERENCES[1], REFERENCES[2], "el señor es mi pastor"]
    decoder = LookupDecoder({"and the word": REFERENCES[0], "and the word was": REFERENCES[0]})
    exact = [o == r for o, r in zip(outputs, REFERENCES)]
    candidate, candidate_teacher, prefix = exmem_flags(decoder, SOURCES, REFERENCES, outputs, None, exact, None,
                                                       "en", "es", SETTINGS, DECODING)
    assert candidate == [True, True, False, False]
    assert candidate_teacher == [None] * 4  # the teacher itself: no teacher outputs
    assert prefix == [3, None, None, None]
    # only the candidates' prefixes (1..n-2 words) were decoded
    assert len(decoder.asked) == (11 - 2) + (10 - 2)


def test_shards_give_the_flags_of_all_pairs_at_once():
    sources, references = SOURCES * 5, REFERENCES * 5
    outputs = [r if i % 3 else "otra cosa" for i, r in enumerate(references)]
    teacher = [r if i % 2 else "x" for i, r in enumerate(references)]
    table = {"and the word": references[0]}
    exact = [o == r for o, r in zip(outputs, references)]
    exact_teacher = [o == t for o, t in zip(outputs, teacher)]
    whole = exmem_flags(LookupDecoder(table), sources, references, outputs, teacher, exact, exact_teacher, "en", "es",
                        SETTINGS, DECODING)
    assert any(whole[0]) and any(p is not None for p in whole[2])
    for per_shard in (1, 3, 7):
        parts = [exmem_flags(LookupDecoder(table), sources[a:b], references[a:b], outputs[a:b], teacher[a:b],
                             exact[a:b], exact_teacher[a:b], "en", "es", SETTINGS, DECODING)
                 for a, b in shard_ranges(len(sources), per_shard)]
        assert tuple([value for part in parts for value in part[k]] for k in range(3)) == whole


def test_the_shard_table_writes_flags_as_the_examples_table_does():
    table = exmem_table(["a", "b"], [True, False], [None, None], [3, None])
    assert list(table.columns) == ["id", *EXMEM_COLUMNS]
    assert table.to_dict("records") == [
        {"id": "a", "exmem_candidate": 1, "exmem_teacher_candidate": "", "exmem_prefix_tokens": 3},
        {"id": "b", "exmem_candidate": 0, "exmem_teacher_candidate": "", "exmem_prefix_tokens": ""},
    ]


@pytest.mark.parametrize("missing", ["min_tokens", "max_prefix_fraction"])
def test_settings_are_required(missing):
    settings = {k: v for k, v in SETTINGS.items() if k != missing}
    with pytest.raises(KeyError):
        exmem_flags(LookupDecoder({}), SOURCES, REFERENCES, REFERENCES, None, [True] * 4, None, "en", "es", settings,
                    DECODING)
