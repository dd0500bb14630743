"""The local harness itself: what it deploys of a template in the forms template.yaml may take."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from local.aws.functions import FunctionError
from local.aws.resources import deploy
from local.aws.template import Template
from local.opentok import OpenTokEmulator
from local.tools.harness import Harness, moto
from tests.support.waiting import eventually

LOOPS = Path(__file__).resolve().parent / "templates" / "for_each.yaml"
TWO_FUNCTIONS = Path(__file__).resolve().parent / "templates" / "two_functions.yaml"


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


def test_each_function_has_its_own_environment_as_in_lambda(
    aws: None, emulator: OpenTokEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONLY_IN_THE_TESTS", "x")  # this process's variables are not theirs
    names = {"names": ["SHARED", "FIRST_ONLY", "SECOND_ONLY", "ONLY_IN_THE_TESTS"]}
    with Harness(template=Template(TWO_FUNCTIONS), emulator=emulator, mock=False) as harness:
        first = harness.invoke("FirstFunction", names)
        second = harness.invoke("SecondFunction", names)
        first_again = harness.invoke("FirstFunction", names)

    assert first["variables"] == {
        "SHARED": "both",
        "FIRST_ONLY": "first",
        "SECOND_ONLY": None,
        "ONLY_IN_THE_TESTS": None,
    }
    assert second["variables"] == {
        "SHARED": "both",
        "FIRST_ONLY": None,
        "SECOND_ONLY": "second",
        "ONLY_IN_THE_TESTS": None,
    }
    # Warm between events, in a process of its own, with module state of its own.
    assert (first_again["process"], first_again["events"]) == (first["process"], 2)
    assert second["process"] not in (first["process"], os.getpid())
    assert second["events"] == 1


def test_overlapping_events_get_environments_of_their_own(
    aws: None, emulator: OpenTokEmulator
) -> None:
    with Harness(template=Template(TWO_FUNCTIONS), emulator=emulator, mock=False) as harness:
        gate = threading.Barrier(3)

        def invoke() -> dict:
            gate.wait(timeout=10)
            return harness.invoke("FirstFunction", {"names": [], "sleep": 0.5})

        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: invoke(), range(3)))
        after = harness.invoke("FirstFunction", {"names": []})

    assert len({answer["process"] for answer in answers}) == 3
    assert {answer["events"] for answer in answers} == {1}
    assert after["process"] in {answer["process"] for answer in answers}  # one is reused


def test_a_function_past_its_timeout_is_stopped_and_the_next_event_gets_a_new_one(
    aws: None, emulator: OpenTokEmulator
) -> None:
    with Harness(template=Template(TWO_FUNCTIONS), emulator=emulator, mock=False) as harness:
        harness.functions.timeout_margin = 0.5  # Lambda's own stop, at the timeout, is exact
        before = harness.invoke("SecondFunction", {"names": []})
        with pytest.raises(FunctionError, match="timed out after 1 seconds"):
            harness.invoke("SecondFunction", {"names": [], "sleep": 30})
        after = harness.invoke("SecondFunction", {"names": []})

    assert after["process"] != before["process"]
    assert after["events"] == 1
    # Stopped, not left running: the kill lands, and the forker reaps it, in a moment of its own.
    eventually(lambda: not _running(before["process"]))


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its exit status is left


def test_a_restart_during_an_event_lets_it_finish_and_retires_its_environment(
    aws: None, emulator: OpenTokEmulator
) -> None:
    with Harness(template=Template(TWO_FUNCTIONS), emulator=emulator, mock=False) as harness:
        harness.invoke("FirstFunction", {"names": []})  # one environment, warm and idle
        idle = harness.functions._idle["FirstFunction"]
        with ThreadPoolExecutor(1) as pool:
            slow = {"names": ["FIRST_ONLY"], "sleep": 1}
            running = pool.submit(harness.invoke, "FirstFunction", slow)
            eventually(lambda: not idle)  # the event has its environment
            harness.configure_functions(FIRST_ONLY="changed")
            during = running.result(timeout=20)
        after = harness.invoke("FirstFunction", {"names": ["FIRST_ONLY"]})

    assert during["variables"] == {"FIRST_ONLY": "first"}  # it finished where it began
    assert after["process"] != during["process"]
    assert after["variables"] == {"FIRST_ONLY": "changed"}


def test_a_function_whose_code_is_missing_fails_loudly_not_as_a_dead_worker(
    aws: None, emulator: OpenTokEmulator, tmp_path: Path
) -> None:
    moved = tmp_path / "two_functions.yaml"
    written = TWO_FUNCTIONS.read_text()
    moved.write_text(written.replace("tests/local_world/templates/probe/", "tests/no/such/code/"))
    missing = r"FirstFunction: no code at .*tests/no/such/code"
    with (
        Harness(template=Template(moved), emulator=emulator, mock=False) as harness,
        pytest.raises(FileNotFoundError, match=missing),
    ):
        harness.invoke("FirstFunction", {"names": []})


def test_a_reader_never_sees_half_an_item_that_another_request_is_writing(aws: None) -> None:
    # DynamoDB applies an UpdateItem to an item at once; moto stores a new item's key first and
    # its attributes after. A stop that read the archive while its start was writing it found
    # a record without a session (the page's Stop answered 500). Without the harness's guard
    # two readers see half an item within the first few writes.
    dynamodb = boto3.client("dynamodb", endpoint_url=moto().url)
    dynamodb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    fields = {f"field{n}": {"S": "x"} for n in range(60)}
    expression = "SET " + ", ".join(f"{name} = :{name}" for name in fields)
    values = {f":{name}": value for name, value in fields.items()}
    writing = ["0"]  # a key from the start: an empty one is refused, and ended the reader
    written = threading.Event()
    halves: list[int] = []

    def read() -> None:
        reader = boto3.client("dynamodb", endpoint_url=moto().url)
        while not written.is_set():
            key = {"pk": {"S": writing[0]}}
            item = reader.get_item(TableName="items", Key=key).get("Item")
            if item is not None and len(item) != len(fields) + 1:
                halves.append(len(item))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for n in range(15):
            writing[0] = str(n)
            dynamodb.update_item(
                TableName="items",
                Key={"pk": {"S": str(n)}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )
    finally:
        written.set()
        for reader in readers:
            reader.join()
    assert halves == []
