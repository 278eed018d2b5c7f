"""Lambda functions that CodeDeploy runs during a rollout (zip functions on the python3.12 runtime, whose
boto3 is all they import); each folder is one function's CodeUri in template.yaml."""
