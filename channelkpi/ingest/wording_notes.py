"""The fixed sentences of the notes a load writes while it reads a file (title rows skipped, the
encoding used, columns renamed, ignored or recognised by meaning, tables joined, history read),
as templates :func:`channelkpi.ingest.wording.said` recognises.

A note is made with ``TEMPLATE.format(...)`` where the load writes it, and stays English data;
:mod:`channelkpi.ingest.wording` says it in the viewer's language where it is shown.
"""

from __future__ import annotations

from ..i18n import N_  # noqa: F401  (templates are marked with N_)

__all__ = ["SENTENCES"]

#: Every template of this module, in the order of ``__all__``.
SENTENCES = tuple(globals()[name] for name in __all__[1:])
