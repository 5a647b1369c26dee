"""Server-rendered pages for residents, staff and the public.

Views here stay thin: they read the form, call the same services as the JSON API and render
a template. Nothing here queries or commits by itself.
"""

from civicpulse.web.pages.common import install_pages

__all__ = ["install_pages"]
