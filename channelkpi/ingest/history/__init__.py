"""History ingestion: a deal history file (or dated snapshots) -> :class:`~channelkpi.history.History`.

One module per source kind, then one pipeline:

* :mod:`.rows`: files whose rows are states (Salesforce ``OpportunityHistory``, a history table,
  a snapshot), read by the loader's own steps, each row stamped with its instant;
* :mod:`.salesforce`: ``OpportunityHistory`` and ``OpportunityFieldHistory``;
* :mod:`.hubspot`: HubSpot's ``Date entered "<stage> (<pipeline>)"`` columns;
* :mod:`.snapshots`: exports of the same report taken on different days;
* :mod:`.build`: states -> intervals, the current export, the ledger;
* :mod:`.load`: :func:`load_history`, which picks the kind.
"""

from .load import load_history

__all__ = ["load_history"]
