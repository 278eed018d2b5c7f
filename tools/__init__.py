"""Operator and local tools: producer, consumer, reconcile, readers, the local event source runner and the
emulators. They ship in no image, and no product module imports them."""
