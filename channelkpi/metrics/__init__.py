"""KPI computation: a row-level aggregation stage and a pandas finishing stage."""
