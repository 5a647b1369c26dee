"""The privacy gate: the one way a text residents or staff wrote reaches anyone outside staff.

Case titles (a voice's title, else the first line of what the resident said) and the
messages of public timeline entries (staff replies, resolutions, rejections and transfer
reasons, residents' verdict comments and contest reasons, unmerge reasons) are shown on
``/cases``, ``/cases/{id}``, ``/track/...``, the tracking API and Open311. Every one of those
reads goes through :func:`shown`, and the public search looks only at the stored public
form, so every surface shows the same text and none can find what it does not show. Staff
views read the originals, unchanged.

**Which redaction.** The deep one (``redact(text, deep=True)``): the rules plus the Chinese
name tagger, because the rules alone miss names without a cue word. The tagger costs
7-10 ms for 200 characters (``bench/bench_redaction.py --speed``), too much for intake
(300 voices/s on two cores would need more than two cores for the tagger alone) and for
a page of 50 titles per request. So the public form is **stored**: ``cases.public_title``
and ``case_events.public_message``, NULL meaning "not checked yet".

**When it is computed.**

* At write time, when it is cheap: the tagger only runs on text with Chinese characters,
  so for any other text the rules alone *are* the deep result (about 0.1 ms). New case rows
  carry it (:func:`checked_now`, used by ``case_rows``), so an English title is public and
  searchable the moment its voice is committed.
* At write time for timeline messages: a staff reply, resolution, rejection or transfer
  reason and a resident's verdict comment or contest reason are written one at a time by a
  person, so their builders (``services/cases.py``, ``services/verdicts.py``) compute the
  public form before the transaction, and the resident sees the answer at once.
* Otherwise (titles of Chinese voices, which arrive at intake speed) by the background
  pass (``services/redaction_pass.py``), in the job loop: a
  short, frequent tick on the embedded default (the in-process loop runs it every couple of
  seconds, finding pending rows through partial indexes), and every worker pass in
  production. It is incremental (only NULL rows) and idempotent (it writes only where the
  column is still NULL).
* At read time, a text not checked yet is still shown when it is cheap to check
  (no Chinese characters): the same function, the same answer as the stored one would be.

A text whose public form is neither stored nor cheap is **never shown**: :func:`shown` gives
``None`` and the pages say "being checked for personal data" in the reader's language, the
API gives ``null``, Open311 gives :data:`PENDING`.
"""

from __future__ import annotations

import re

from civicpulse.understanding.redaction import redact

#: what Open311 (which has no reader's language) shows for a text still being checked;
#: the pages say it through their catalogues, in the reader's language
PENDING = "(being checked for personal data)"

# The redactor runs its tagger exactly when the text holds one of these characters
# (understanding/redaction/core.py); without any, ``deep=True`` adds nothing.
_TAGGED = re.compile(r"[\u4e00-\u9fff]")


def public_form(text: str) -> str:
    """The text with every kind of personal data replaced, the name tagger included.

    The one redaction of the gate; slow on Chinese text, so call it off the request path."""
    return redact(text, deep=True).text


def checked_now(text: str) -> str | None:
    """The public form when it costs only the rules (no Chinese characters), else ``None``
    (the background pass will compute it)."""
    if _TAGGED.search(text):
        return None
    return public_form(text)


def shown(stored: str | None, original: str | None) -> str | None:
    """What the public may see of ``original``, given its stored public form.

    ``None`` for no text at all, and for a text not checked yet whose check needs the
    tagger: the caller shows a placeholder, never the original."""
    if original is None or original == "":
        return original
    if stored is not None:
        return stored
    return checked_now(original)
