"""Open311 GeoReport v2, a channel like the web form and the JSON API: the server's wire
formats and parameter checks, and a client that pulls another endpoint's requests.

Nothing here touches a table. Reads come from ``services.open311_requests``; a posted
request becomes a voice through ``services.voices.start_submission``; a posted update runs
the staff pages' own case commands in one transaction (``services.open311_updates``); the
pull client stores through intake and ``services.open311_pull``.
"""
