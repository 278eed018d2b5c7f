"""--prefix names what infra/templates/resources.yaml creates, for the same Prefix."""

from infra.provision import load_template, resolved_resources
from tools.resource_names import ResourceNames


def test_names_follow_the_infra_template():
    resources = resolved_resources(load_template(), "team-a", "123456789012", "eu-west-1")
    created = {properties.get("Name") or properties.get("QueueName") for _, properties in resources.values()}

    names = ResourceNames.from_prefix("team-a")

    assert {names.rides_stream, names.predictions_stream, names.dead_letter_queue, names.on_failure_queue} <= created
    assert names == ResourceNames("team-a-rides", "team-a-predictions", "team-a-dead-letters", "team-a-on-failure")
