"""Documents made for people from the services' read models: the leader's brief (HTML and
PDF) and the chart and map geometry the pages and the brief draw as SVG.

Below the adapters (the CLI, the staff page and the weekly mail all use it) and above the
services, whose read models it renders; it reads no table itself.
"""
