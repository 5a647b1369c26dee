"""The choice of a label's phrases from scored candidates, shared by topics and concerns.

Topic labels (``topics.py``) and concern labels (``concern_labels.py``) score their
candidates their own way and each says when two phrases are pieces of one; what they share is
the choice, so that both break ties and drop repeats alike: the best score first, the phrase
itself on a tie (the same label on every run), and never a phrase overlapping one already
chosen (a label names each thing once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def best_distinct(
    scored: Iterable[tuple[float, str]], top: int, overlaps: Callable[[str, str], bool]
) -> list[str]:
    """The ``top`` best-scored phrases, passing over any that overlaps one already chosen."""
    ranked = sorted(scored, key=lambda sp: (-sp[0], sp[1]))
    chosen: list[str] = []
    for _, phrase in ranked:
        if any(overlaps(phrase, other) for other in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == top:
            break
    return chosen
