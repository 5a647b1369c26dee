"""Reply assessment: is an official reply an answer to what the resident wrote, or a form?

``assess_reply`` judges one reply against one message; a :class:`ReplyReference` holds what
the city's past replies say (word rarity, template phrases) and is built from them, never at
import. The modules, each a judgement: :mod:`.relevance`, :mod:`.boilerplate`,
:mod:`.commitments` (deflection and concreteness); :mod:`.text` and :mod:`.views` read the
texts once for all of them.
"""

from civicpulse.understanding.replies.assessment import (
    FLAGS,
    ReplyAssessment,
    assess_reply,
    assess_views,
)
from civicpulse.understanding.replies.findings import Finding
from civicpulse.understanding.replies.reference import ReplyReference
from civicpulse.understanding.replies.relevance import ANSWERS_AT, RelevanceWeights
from civicpulse.understanding.replies.views import read_message, read_reply

__all__ = [
    "ANSWERS_AT",
    "FLAGS",
    "Finding",
    "RelevanceWeights",
    "ReplyAssessment",
    "ReplyReference",
    "assess_reply",
    "assess_views",
    "read_message",
    "read_reply",
]
