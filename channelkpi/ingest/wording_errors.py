"""The fixed sentences of the errors a load raises about its arguments, a mapping file, a value
it cannot read and a detection it cannot settle, as templates
:func:`channelkpi.ingest.wording.said` recognises.

An error is made with ``TEMPLATE.format(...)`` where the load raises it, and stays English data;
:mod:`channelkpi.ingest.wording` says it in the viewer's language where it is shown.
"""

from __future__ import annotations

from ..i18n import N_  # noqa: F401  (templates are marked with N_)

__all__ = ["SENTENCES"]

#: Every template of this module, in the order of ``__all__``.
SENTENCES = tuple(globals()[name] for name in __all__[1:])
