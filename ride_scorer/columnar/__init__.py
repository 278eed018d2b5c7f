"""Rides in Arrow columns through the core, shared by the modes that read columnar files (the batch job and
the Spark backfill): one conversion from record batches to ride documents and one output layout, so a ride
gets the same columns, float and reason code in both. Also what else those two modes share: one way to name
a location (`locations`, on pyarrow.fs) and their command lines' one-line errors (`command_line`). pyarrow
only; no mode's I/O."""
