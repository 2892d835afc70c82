"""BM25 over analysed terms, in memory, with a confidence that means the same for any query.

BM25's raw score orders the documents for one question, but its scale depends on the size of
the collection (rarer terms weigh more in a larger one). The confidence divides it by the
weight of the rarest possible term (one only this document has) and squashes the quotient e
to 0..1 as e / (1 + e): about 0.5 for one rare term matched once, more for several or for
terms in the title. Common words add little, so a question the articles only touch with
"note" or "app" stays low however well it ranks. The share of the question's weight that a
document holds was measured too: it lets one-word questions through and holds back long
messages full of greetings and context (bench/kb_search.py).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Scored:
    doc: int
    score: float
    confidence: float


class Bm25Index:
    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = K1, b: float = B):
        self.k1, self.b = k1, b
        self.size = len(documents)
        self._lengths = [len(terms) for terms in documents]
        self._average = sum(self._lengths) / self.size if self.size else 1.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc, terms in enumerate(documents):
            for term, count in Counter(terms).items():
                postings[term].append((doc, count))
        self._postings = dict(postings)
        self._unknown = self._idf(0)

    def _idf(self, frequency: int) -> float:
        return idf(self.size, frequency)

    def idf(self, term: str) -> float:
        return self._idf(len(self._postings.get(term, ())))

    def search(self, terms: Iterable[str], limit: int) -> list[Scored]:
        query = set(terms)
        if not query or not self.size:
            return []
        scores: dict[int, float] = defaultdict(float)
        for term in query:
            postings = self._postings.get(term, [])
            idf = self._idf(len(postings))
            for doc, count in postings:
                norm = self.k1 * (1 - self.b + self.b * self._lengths[doc] / self._average)
                scores[doc] += idf * count * (self.k1 + 1) / (count + norm)
        best = heapq.nsmallest(limit, scores, key=lambda d: (-scores[d], d))
        return [Scored(d, scores[d], squash(scores[d] / self._unknown)) for d in best]


def idf(size: int, frequency: int) -> float:
    """BM25's weight of a term found in `frequency` of `size` documents."""
    return math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))


def squash(e: float) -> float:
    """A score over the rarest term's weight, as a confidence from 0 to 1."""
    return e / (1 + e)
