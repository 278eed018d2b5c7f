"""Kept for old command paths only: the local tools are now `ride_scorer.tools.local`."""
