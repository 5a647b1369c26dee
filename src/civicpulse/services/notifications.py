"""The words of every notification, in the resident's language, queued through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from civicpulse.services.outbox import enqueue_mail

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "received": {
        "en": (
            "We received your report ({code})",
            "Thank you. Your report is registered with tracking code {code}.\n"
            "Follow it at {url}",
        ),
        "zh": ("您的诉求已受理（{code}）", "感谢您的反映。查询码：{code}。\n查看进度：{url}"),
    },
    "reply": {
        "en": ("Update on your report ({code})", "{message}\n\nFollow your report at {url}"),
        "zh": ("您的诉求有新回复（{code}）", "{message}\n\n查看进度：{url}"),
    },
    "resolved": {
        "en": (
            "Was it really fixed? ({code})",
            "The department says your report is resolved:\n\n{message}\n\n"
            "Please tell us whether it was really fixed and rate the service at {url}",
        ),
        "zh": (
            "问题真的解决了吗？（{code}）",
            "承办部门答复已办结：\n\n{message}\n\n请到 {url} 确认是否真正解决并评价。",
        ),
    },
    "rejected": {
        "en": (
            "Your report is outside the city's remit ({code})",
            "{message}\n\nIf you disagree you can contest this decision at {url}",
        ),
        "zh": ("您的诉求不属于受理范围（{code}）", "{message}\n\n如有异议，可在 {url} 申诉。"),
    },
    "merged": {
        "en": (
            "Your report joined an existing case ({code})",
            "Others reported the same problem. Follow the shared case at {url}",
        ),
        "zh": ("您的诉求已并入同类案件（{code}）", "已有其他居民反映同一问题，请在 {url} 跟进。"),
    },
    "reopened": {
        "en": ("Your report is reopened ({code})", "You said it was not fixed; it is reopened."),
        "zh": ("您的诉求已重新办理（{code}）", "您反馈问题未解决，案件已重新办理。"),
    },
}


def notify_resident(
    session: Session,
    *,
    kind: str,
    email: str | None,
    language: str | None,
    tracking_code: str,
    base_url: str,
    case_id: int,
    now: datetime,
    message: str = "",
) -> None:
    """Queue a mail to a resident who left an address; silently nothing otherwise."""
    if not email:
        return
    lang = "zh" if language == "zh" else "en"
    subject, body = TEMPLATES[kind][lang]
    url = f"{base_url.rstrip('/')}/track/{tracking_code}"
    fill = {"code": tracking_code, "url": url, "message": message}
    enqueue_mail(
        session,
        recipient=email,
        subject=subject.format(**fill),
        body=body.format(**fill),
        case_id=case_id,
        now=now,
    )


def notify_department(
    session: Session,
    *,
    email: str | None,
    subject: str,
    body: str,
    case_id: int,
    now: datetime,
) -> None:
    """Queue a mail to a department's shared inbox, when it has one."""
    if email:
        enqueue_mail(session, recipient=email, subject=subject, body=body, case_id=case_id, now=now)
