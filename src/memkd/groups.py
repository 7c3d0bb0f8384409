"""Groups of pairs linked by shared keys: pairs that share a code in any of several codings are one group
(transitively), found as connected components, so that millions of pairs need integer arrays, not dicts of texts."""

from __future__ import annotations

import numpy as np


def groups_from_codes(*sides: np.ndarray) -> np.ndarray:
    """Connected components over pairs: two pairs share a group when they have equal codes in one of `sides`
    (one code array per coding, e.g. the split keys of each side). Returns a group id per pair: the index of the
    group's first pair."""
    # scipy is imported here: memkd.preprocess imports this module, and the QE and scoring jobs that import
    # memkd.preprocess for other functions would pay scipy's 0.16 s at start-up (bench/fixed_cost.py)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sides[0])
    rows = np.arange(n)
    edges = []
    for codes in sides:
        # join every pair to the first pair with its code
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        edges.append(first[inverse.ravel()])
    graph = coo_matrix((np.ones(n * len(sides), dtype=np.int8), (np.tile(rows, len(sides)), np.concatenate(edges))),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first_pair = np.full(labels.max() + 1 if n else 0, n)
    np.minimum.at(first_pair, labels, rows)
    return first_pair[labels]
