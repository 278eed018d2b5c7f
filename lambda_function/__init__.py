"""ride-scorer: streaming ride-duration scoring on AWS Lambda, plus batch and HTTP modes on the same core."""
