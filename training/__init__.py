"""Training and publishing of the ride-duration model.

MLflow 3 sends usage telemetry unless told not to; a training run of this project talks only to the data
and tracking endpoints it was given. Set MLFLOW_DISABLE_TELEMETRY=false to opt back in.
"""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
