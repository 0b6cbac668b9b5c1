"""Keep the offline model from saying again what it already said in this debate.

A small model readily copies its previous reply, which sits right there in its prompt. This
logits processor forbids, while it generates, every run of `n` tokens that appeared in an earlier
bot reply, except runs that also appear in what it is meant to reuse (the system prompt with the
thesis, the user's message, the started answer): restating its side is fine, copying itself is not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

NGRAM = 5


def ngrams(tokens: Sequence[int], n: int) -> Iterable[tuple[int, ...]]:
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class NoRepeatProcessor:
    """Callable as llama-cpp-python's `logits_processor`: (input_ids, scores) -> scores."""

    def __init__(
        self,
        earlier: Iterable[Sequence[int]],
        allowed: Iterable[Sequence[int]],
        n: int = NGRAM,
    ) -> None:
        self.n = n
        keep = {gram for tokens in allowed for gram in ngrams(tokens, n)}
        banned: defaultdict[tuple[int, ...], set[int]] = defaultdict(set)
        for tokens in earlier:
            for gram in ngrams(tokens, n):
                if gram not in keep:
                    banned[gram[:-1]].add(gram[-1])
        self._next_banned = {start: sorted(ends) for start, ends in banned.items()}
        self.blocked = 0  # how many times it stepped in (for logs and tests)

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        if not self._next_banned or len(input_ids) < self.n - 1:
            return scores
        start = tuple(int(t) for t in input_ids[len(input_ids) - (self.n - 1) :])
        ends = self._next_banned.get(start)
        if ends:
            scores[ends] = -np.inf
            self.blocked += 1
        return scores
