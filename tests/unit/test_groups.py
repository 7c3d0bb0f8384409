import numpy as np

from memkd.groups import groups_from_codes


def naive_groups(*sides):
    """Union-find over the pairs, joining equal codes of each side: the plain definition."""
    n = len(sides[0])
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for codes in sides:
        first = {}
        for i, code in enumerate(codes):
            a, b = find(i), find(first.setdefault(code, i))
            parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def test_groups_join_pairs_through_any_coding_transitively():
    left = np.array([0, 1, 2, 2, 3])  # pairs 2 and 3 share a left code
    right = np.array([7, 7, 8, 9, 9])  # 0-1 and 3-4 share a right code
    assert groups_from_codes(left, right).tolist() == [0, 0, 2, 2, 2]


def test_groups_equal_the_union_find_definition_on_random_codes():
    rng = np.random.default_rng(0)
    for n, k in ((1, 1), (50, 40), (3000, 2500), (3000, 300)):
        sides = [rng.integers(k, size=n), rng.integers(k, size=n), rng.integers(10 * k, size=n)]
        assert groups_from_codes(*sides).tolist() == naive_groups(*sides)
    assert groups_from_codes(np.array([], dtype=int)).tolist() == []
