"""The command tree. Each group lives in its own module and is registered here."""

from __future__ import annotations

import typer

from civicpulse.cli import (
    admin,
    audit_replies,
    brief,
    concerns,
    demo,
    exporting,
    formalism,
    importing,
    insight,
    model,
    open311,
    server,
    understanding,
)

app = typer.Typer(
    help="CivicPulse: hear residents, route their cases, let them judge the result.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
server.register(app)
admin.register(app)
importing.register(app)
demo.register(app)
exporting.register(app)
model.register(app)
open311.register(app)
understanding.register(app)
concerns.register(app)
insight.register(app)
brief.register(app)
formalism.register(app)
audit_replies.register(app)
