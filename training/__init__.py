"""Training and publishing of the ride-duration model."""
