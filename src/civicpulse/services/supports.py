"""A resident's "me too": the one write path for supports, from the case page, the resident's
status page and the JSON API.

Who supports is a keyed hash (``domain/resident_keys.py``) of the first thing that names
them: their e-mail address, else their phone number, else the device token the page keeps in
a cookie (or an app's install id), else the account calling (an integration's key). A unique
constraint on (case, supporter) makes "me too" twice count once, however it is sent, and a
support from a device that already supported the case without naming anyone else is the same
resident's (first without an e-mail, then with one to hear the outcome: the address is kept
with the first support); and the
concern ranking counts one support per resident per concern, and none from a resident who
wrote in themselves. The device token and the client's network address are also kept,
hashed, so that a flood of supports from one device or one address is discounted in the
ranking (``insight/concern_ranking.py``).

Supporting a case that was merged supports the case it was merged into: that is where the
problem is being handled. A supporter may ask to be told the outcome like the reporter; the
contact they give for it is kept apart (``supporter_contacts``) and never reaches a public
view.

Rate limiting belongs to the caller, which knows the client: the web layer checks the
``support`` bucket of ``infra/rate_limits.py`` (``CIVICPULSE_SUPPORT_RATE_LIMIT_PER_MINUTE``)
before calling :func:`support_case`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicpulse.domain import limits
from civicpulse.domain.errors import NotFound, ValidationFailed
from civicpulse.domain.resident_keys import (
    normalise_email,
    normalise_phone,
    resident_key,
    valid_device_token,
)
from civicpulse.domain.workflow import CaseStatus
from civicpulse.services.read_models import SupportResult
from civicpulse.services.resident_identity import identity_secret
from civicpulse.storage.audit_log import append_audit
from civicpulse.storage.tables import Case, CaseSupport, SupporterContact, VoiceOrigin

if TYPE_CHECKING:
    from civicpulse.infra.context import Context

SUPPORT_CHANNELS = ("web", "api", "open311", "hotline")
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Supporter:
    """Whoever says "me too", as the caller knows them; at least one of ``email``,
    ``phone``, ``device`` or ``account`` must be given."""

    email: str | None = None
    phone: str | None = None
    #: the random token the page keeps in a cookie, or an app's install id
    device: str | None = None
    #: who is calling when nothing else names the resident (an integration's key name)
    account: str | None = None
    #: the client's network address, for the flood guard only (stored hashed)
    network: str | None = None
    #: tell them what became of the case (needs ``email``)
    notify: bool = False
    language: str | None = None


def check_supporter(s: Supporter) -> None:
    """Refuse what cannot name a supporter, before anything is written."""
    limits.check_length("email", s.email, limits.EMAIL)
    limits.check_length("phone", s.phone, limits.PHONE)
    limits.check_length("account", s.account, limits.NAME)
    if s.email is not None and ("@" not in s.email or not normalise_email(s.email)):
        raise ValidationFailed("email is not an e-mail address")
    if s.phone is not None and len(normalise_phone(s.phone)) < 5:
        raise ValidationFailed("phone is not a phone number")
    if s.device is not None and not valid_device_token(s.device):
        raise ValidationFailed("device must be 16 to 128 letters, digits, '-' or '_'")
    if not (s.email or s.phone or s.device or s.account):
        raise ValidationFailed("say who supports: an e-mail address, a phone number or a device")
    if s.notify and not s.email:
        raise ValidationFailed("give an e-mail address to be told what becomes of the case")
    if s.language is not None and s.language not in LANGUAGES:
        raise ValidationFailed(f"language must be one of {', '.join(LANGUAGES)}")


def supporter_identity(secret: bytes, s: Supporter) -> tuple[str, str]:
    """(what names the supporter, their key): the e-mail address first, then the phone, the
    device and the account; the same rule as the residents a concern counts."""
    if s.email:
        return "email", resident_key(secret, "email", normalise_email(s.email))
    if s.phone:
        return "phone", resident_key(secret, "phone", normalise_phone(s.phone))
    if s.device:
        return "device", resident_key(secret, "device", s.device)
    assert s.account
    return "account", resident_key(secret, "account", s.account)


def counting_case(session: Session, case_id: int) -> Case:
    """The case a support for ``case_id`` counts for: itself, or where it was merged."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    seen = {case.id}
    while case.status == CaseStatus.MERGED.value and case.merged_into_id is not None:
        target = session.get(Case, case.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        case = target
    return case


def support_case(
    ctx: Context, case_id: int, supporter: Supporter, *, channel: str = "web"
) -> SupportResult:
    """Count ``supporter``'s "me too" on a case, once; audited like every change."""
    check_supporter(supporter)
    if channel not in SUPPORT_CHANNELS:
        raise ValidationFailed(f"channel must be one of {', '.join(SUPPORT_CHANNELS)}")
    secret = identity_secret(ctx)
    identity, key = supporter_identity(secret, supporter)
    device = resident_key(secret, "device", supporter.device) if supporter.device else None
    network = resident_key(secret, "network", supporter.network) if supporter.network else None
    now = ctx.now()
    with ctx.db.transaction() as session:
        case = counting_case(session, case_id)
        exists = _earlier_support(session, case.id, key, identity, device)
        counted = False
        told = False
        if exists is not None and exists.identity == "device" and identity != "device":
            _name_by_contact(session, exists, key, identity)
        if exists is not None and supporter.notify:
            told = _ask_to_be_told(session, exists.id, supporter)
        if exists is None:
            try:
                with session.begin_nested():
                    row = CaseSupport(case_id=case.id, supporter_key=key, identity=identity,
                                      device_key=device, network_key=network, channel=channel,
                                      created_at=now)
                    session.add(row)
                    session.flush()
                    if supporter.notify:
                        session.add(SupporterContact(
                            support_id=row.id, email=supporter.email, phone=supporter.phone,
                            language=supporter.language,
                        ))
                counted = True
            except IntegrityError:  # the same resident, at the same moment, elsewhere
                counted = False
        if counted or told:
            append_audit(
                session,
                actor=f"resident:{identity}",
                action="case.supported" if counted else "case.support_notify",
                subject=f"case:{case.id}",
                data={"case_id": case.id, "asked_for": case_id, "channel": channel,
                      "identity": identity, "notify": supporter.notify},
                at=now,
            )
        supports = session.scalar(
            select(func.count()).select_from(CaseSupport).where(CaseSupport.case_id == case.id)
        )
        return SupportResult(case_id=case.id, counted=counted, supports=int(supports or 0))


def _earlier_support(
    session: Session, case_id: int, key: str, identity: str, device: str | None
) -> CaseSupport | None:
    """This resident's support of the case already given, if any: the same key, or the same
    device where one of the two named nobody but the device (one browser pressing first
    without, then with an e-mail address, or the other way round). Two supports from one
    device that name different contacts are two residents at a shared computer: both count,
    and the ranking's flood guard discounts a device behind many."""
    same = CaseSupport.supporter_key == key
    if device is not None:
        by_device = CaseSupport.device_key == device
        if identity != "device":
            by_device = and_(by_device, CaseSupport.identity == "device")
        same = or_(same, by_device)
    return session.scalars(
        select(CaseSupport).where(CaseSupport.case_id == case_id, same)
        .order_by(CaseSupport.id).limit(1)
    ).first()


def _name_by_contact(session: Session, support: CaseSupport, key: str, identity: str) -> None:
    """A support first given by device alone now names the resident by the contact they
    gave, so the ranking knows them if they also wrote in (unless that key already has a
    support of its own on the case)."""
    taken = session.scalar(select(CaseSupport.id).where(
        CaseSupport.case_id == support.case_id, CaseSupport.supporter_key == key))
    if taken is None:
        support.supporter_key, support.identity = key, identity
        session.flush()


def _ask_to_be_told(session: Session, support_id: int, supporter: Supporter) -> bool:
    """A resident who had said "me too" and now gives an e-mail address to hear the outcome:
    keep it with their support (not a second support); False if one was kept already."""
    if session.get(SupporterContact, support_id) is not None:
        return False
    session.add(SupporterContact(support_id=support_id, email=supporter.email,
                                 phone=supporter.phone, language=supporter.language))
    session.flush()
    return True


def case_supports(ctx: Context, case_id: int) -> SupportResult:
    """How many residents said "me too" on a case (counted where it was merged into, if it
    was); for the case page and the resident's status page."""
    with ctx.db.reader() as session:
        counted_on = counting_case(session, case_id).id  # read before the session ends
        supports = session.scalar(
            select(func.count()).select_from(CaseSupport).where(CaseSupport.case_id == counted_on)
        )
    return SupportResult(case_id=counted_on, counted=False, supports=int(supports or 0))


def imported_supports(session: Session, voice_ids: list[int]) -> int:
    """Supports the systems these voices were imported from had counted for them."""
    if not voice_ids:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(VoiceOrigin.supports), 0)).where(
            VoiceOrigin.voice_id.in_(voice_ids)
        )
    )
    return int(total or 0)
