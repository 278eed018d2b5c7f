"""Python helpers for the stacks: provisioning on emulators, SAM translation, image contents, capacity.

The CloudFormation templates live in `infra/templates/` and the Lambda functions CodeDeploy runs in
`infra/functions/` (each a zip function's CodeUri); this package's modules are the helpers only.
"""
