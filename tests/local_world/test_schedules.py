"""The template's schedules run in the local stack as EventBridge runs them (issue 24, point 3:
make dev never ran the reconciler, so a lost S3 event was never repaired there)."""

import threading

import pytest

from local.aws.resources import Deployment
from local.aws.template import Schedule
from tests.support.stack import Stack, eventually

ARN = "arn:aws:lambda:us-east-1:123456789012:function:local-F"


def _deployment(rule: dict) -> Deployment:
    """A deployment of one function and one EventBridge rule that targets it, as rendered."""
    resources = {
        "F": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Every": {"Type": "AWS::Events::Rule", "Properties": rule},
    }
    names = {"F": "local-F", "F.Arn": ARN, "AWS::Region": "us-east-1"}
    return Deployment(template=None, rendered={"Resources": resources}, names=names)  # type: ignore[arg-type]


def test_the_reconcilers_schedule_is_read_from_the_template_at_its_rate(stack: Stack) -> None:
    assert stack.deployment.schedules() == [
        Schedule(
            "ReconcileArchivesFunction",
            "arn:aws:events:us-east-1:123456789012:rule/ReconcileArchivesFunctionEvery5Minutes",
            300.0,
        )
    ]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_a_rate_is_taken_as_eventbridge_writes_it(expression: str, seconds: float) -> None:
    rule = {"ScheduleExpression": expression, "Targets": [{"Arn": f"{ARN}:live", "Id": "T"}]}
    assert [s.seconds for s in _deployment(rule).schedules()] == [seconds]


@pytest.mark.parametrize(
    "expression", ["cron(0 12 * * ? *)", "rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)"]
)
def test_a_schedule_the_local_stack_cannot_run_is_refused(expression: str) -> None:
    rule = {"ScheduleExpression": expression, "Targets": [{"Arn": ARN, "Id": "T"}]}
    with pytest.raises(ValueError, match="rate"):
        _deployment(rule).schedules()


def test_a_disabled_rule_runs_nothing() -> None:
    rule = {"ScheduleExpression": "cron(0 12 * * ? *)", "State": "DISABLED", "Targets": []}
    assert _deployment(rule).schedules() == []


def test_the_scheduled_reconciler_repairs_a_lost_s3_event_by_itself(stack: Stack) -> None:
    archive = stack.recording_whose_s3_event_was_lost()
    stack.configure_functions(STUCK_AFTER_MINUTES="-1")  # as if its 15 minutes had passed
    stopped, errors = threading.Event(), []
    # Its rate, 5 minutes, made a tenth of a second here.
    threads = stack.run_schedules(stopped, lambda *failed: errors.append(failed), lambda _: 0.1)
    try:
        eventually(lambda: stack.get(f"/archive/{archive['id']}").json()["ready"])
    finally:
        stopped.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
