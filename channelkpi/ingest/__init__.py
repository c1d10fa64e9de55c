"""Ingestion: CRM export files -> the canonical deals table (see :func:`load_crm`).

One module per step of :func:`load_crm`, in order:

* read: :mod:`.reader` (files, encodings, the general CSV reader, Excel), :mod:`.arrow_reader`
  (the fast CSV reader), :mod:`.layout` (delimiter, header, footers), :mod:`.cells` (columns
  tidied on demand and read once per distinct value);
* detect: :mod:`.detect`, with the vendors' vocabularies in :mod:`.presets`; an export no
  preset knows is read by meaning (:mod:`.meaning`, from its headers with :mod:`.meaning_headers`
  and the words of :mod:`.vocabulary`, and its values with :mod:`.meaning_values`);
* map columns: :mod:`.mapping`;
* derive the outcome: :mod:`.outcome`;
* parse values: :mod:`.values` (with :mod:`.dates`, :mod:`.amounts`, :mod:`.money`,
  :mod:`.currencies`, :mod:`.text`; :mod:`.parse` gathers the public parsers);
* reconcile rows: :mod:`.reconcile` (with :mod:`.repeats` for line items and stage history);
* quality warnings: :mod:`.quality`.

Columns kept with ``keep=`` are named by :mod:`.keep`; partner and owner tables are read and
joined by :mod:`.dimensions`.

:mod:`.targets` reads targets files with the same reader and parsers.
"""

from .load import load_crm, read_crm
from .result import LEDGER_COLUMNS, LoadResult, SourceInfo
from .targets import read_targets

__all__ = ["LEDGER_COLUMNS", "LoadResult", "SourceInfo", "load_crm", "read_crm", "read_targets"]
