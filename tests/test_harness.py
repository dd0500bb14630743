"""The local harness itself: what it deploys of a template in the forms template.yaml may take."""

from pathlib import Path

import boto3

from local.resources import deploy
from local.template import Template

LOOPS = Path(__file__).resolve().parent / "templates" / "for_each.yaml"


def test_a_loop_in_the_template_is_expanded_as_sam_does() -> None:
    template = Template(LOOPS)
    assert set(template.of_type("AWS::SQS::Queue")) == {"CopiesQueue", "FailuresQueue"}
    functions = template.functions()
    assert set(functions) == {"sessionFunction", "roomFunction"}
    assert functions["roomFunction"].code_dir.name == "room"


def test_the_resources_a_loop_makes_are_deployed_and_wired(aws: None) -> None:
    deployment = deploy(Template(LOOPS), {"Greeting": "hello"})
    queues = boto3.client("sqs").list_queues()["QueueUrls"]
    assert deployment.physical("CopiesQueue") in queues
    assert deployment.physical("FailuresQueue") in queues
    environment = deployment.environment("roomFunction")
    assert environment == {"GREETING": "hello", "QUEUE_URL": deployment.physical("CopiesQueue")}
    triggers = {(trigger.function, trigger.queue) for trigger in deployment.sqs_triggers()}
    assert triggers == {("sessionFunction", "FailuresQueue"), ("roomFunction", "FailuresQueue")}


def test_a_number_given_as_text_decides_a_condition_as_cloudformation_does(aws: None) -> None:
    # cloud-radar compares a Number as given; CloudFormation reads "7" as the number 7.
    parameters = {
        "OpenTokApiKey": "47000000",
        "OpenTokApiSecret": "s",
        "ArchiveExpirationDays": "7",
    }
    deployment = deploy(Template(), parameters)
    bucket = deployment.rendered["Resources"]["ArchiveBucket"]["Properties"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["DeleteOldRecordings"]["Status"] == "Enabled"
    assert rules["DeleteOldRecordings"]["ExpirationInDays"] == 7
    assert rules["MoveOldRecordingsToInfrequentAccess"]["Status"] == "Disabled"


def test_a_variable_declared_empty_reaches_the_function_empty(aws: None) -> None:
    # cloud-radar's default AWS::NoValue is "", which would drop the variable altogether.
    deployment = deploy(Template(), {"OpenTokApiKey": "47000000", "OpenTokApiSecret": "s"})
    assert deployment.environment("SessionFunction")["AWS_ENDPOINT_URL"] == ""
