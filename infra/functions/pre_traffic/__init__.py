"""The PreTraffic hook: checks a new scorer version on real-shaped rides before any traffic reaches it."""
