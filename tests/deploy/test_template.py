"""template.yaml: valid, least privilege, and every function where the template says."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backend import download_links
from local.aws.gateway import HttpApi
from local.aws.resources import Deployment
from local.aws.template import ROOT, TEMPLATE_PATH, Template, _of_type


def test_cfn_lint_finds_nothing() -> None:
    linter = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(linter), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


SAM = ROOT / ".venv-sam" / "bin" / "sam"


def test_the_sam_cli_s_own_checks_find_nothing() -> None:
    """`sam validate --lint`, as a user runs it before `sam deploy` (the SAM CLI's own venv)."""
    if not SAM.exists():
        if os.environ.get("MAKELEVEL") or os.environ.get("CI"):
            pytest.fail(f"{SAM} is missing although make should have installed it (make sam-cli)")
        pytest.skip("the SAM CLI is not installed: `make sam-cli` installs it (`make test` does)")
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,  # samconfig.toml: language extensions on
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


@pytest.mark.parametrize(
    "parameters", [{}, {"AllowedOrigins": "https://app.example,https://admin.example"}]
)
def test_cfn_lint_finds_nothing_in_the_translated_cloudformation(
    tmp_path: Path, parameters: dict[str, str]
) -> None:
    """What aws-sam-translator makes of the template, as CloudFormation receives it: a template
    the translator would turn into something wrong fails here, not at deploy."""
    translated = tmp_path / "translated.json"
    given = {"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret", **parameters}
    values = {
        name: value.split(",") if name == "AllowedOrigins" else value
        for name, value in given.items()
    }
    translated.write_text(json.dumps(Template().translated(values)))
    linter = Path(sys.executable).parent / "cfn-lint"
    # W7001: the loops' Mappings are read by AWS::LanguageExtensions before SAM, so unused after.
    result = subprocess.run(
        [str(linter), "--ignore-checks", "W7001", "--", str(translated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# checkov pins boto3 to another version than tests/requirements.txt: `make checkov` gives it a
# venv of its own, and `make test` makes it first.
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


# The checks skipped for every resource, each under a comment giving its reason.
CHECKOV_CONFIG = ROOT / ".checkov.yaml"


def _checkov(cwd: Path, *options: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        # Under make (CI runs `make test`) a missing checkov is a broken setup, never a skip.
        if os.environ.get("MAKELEVEL") or os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing although make should have installed it")
        pytest.skip("checkov is not installed: `make checkov` installs it (`make test` does)")
    # checkov skips what Fn::ForEach makes (functions, queues, alarms): it reads the template
    # with its loops expanded, as the SAM CLI and CloudFormation deploy it.
    expanded = cwd / "template.expanded.json"
    expanded.write_text(json.dumps(Template().document))
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(expanded),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            # Offline: the check ids and results are the same without Prisma Cloud's metadata.
            "--skip-download",
            *options,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    # checkov exits 1 when a check fails; the report says which, anything else is a crash.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    return report


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _checkov(tmp_path_factory.mktemp("checkov"), "--config-file", str(CHECKOV_CONFIG))


@pytest.fixture(scope="module")
def checkov_report_without_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # checkov also reads a .checkov.yaml in its working directory: run it from an empty one.
    return _checkov(tmp_path_factory.mktemp("checkov"))


def test_checkov_finds_nothing_failed(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_checkov_checks_the_serverless_resources_too(checkov_report: dict[str, Any]) -> None:
    # checkov reads SAM's own types; a version that ignored them would pass them all unseen.
    checked = {
        check["resource"]
        for outcome in ("passed_checks", "failed_checks", "skipped_checks")
        for check in checkov_report["results"][outcome]
    }
    template = Template()
    serverless = {
        f"{resource['Type']}.{name}"
        for name, resource in template.resources.items()
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::HttpApi")
    }
    assert len(serverless) > len(template.of_type("AWS::Serverless::HttpApi"))
    assert serverless <= checked, serverless - checked


def _config_skips() -> dict[str, str]:
    """Each check id the config skips, with the comment line above it: its reason."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    return {
        line.strip().removeprefix("- "): lines[index - 1].strip()
        for index, line in enumerate(lines)
        if line.strip().startswith("- ")
    }


def test_every_checkov_skip_has_a_one_line_reason() -> None:
    assert _config_skips()
    for check_id, reason in _config_skips().items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), check_id
        assert reason.startswith("#") and reason.removeprefix("#").strip(), check_id


def test_every_checkov_skip_is_in_the_config(checkov_report: dict[str, Any]) -> None:
    # One place for the skips: none in a resource's Metadata or an inline comment.
    skipped = [
        f"{check['check_id']} {check['resource']}"
        for check in checkov_report["results"]["skipped_checks"]
    ]
    assert not skipped, skipped


def test_every_check_the_config_skips_still_fails_and_nothing_else_does_without_it(
    checkov_report_without_config: dict[str, Any],
) -> None:
    # The config's skips hide whole checks: each must still be needed, and none may hide a
    # failure of a check it does not name.
    failed = {
        check["check_id"] for check in checkov_report_without_config["results"]["failed_checks"]
    }
    assert failed == set(_config_skips())


def _function_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """A function's permissions: SAM takes one inline policy document or a list of them."""
    policies = resource["Properties"].get("Policies", [])
    # Only inline statements, which these tests can read: no managed policy, no SAM template.
    return [
        statement
        for policy in (policies if isinstance(policies, list) else [policies])
        for statement in policy["Statement"]
    ]


def _statements(template: Template) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template.of_type("AWS::Serverless::Function").values()
        for statement in _function_statements(resource)
    ]


def test_every_permission_names_its_actions_and_resources() -> None:
    for statement in _statements(Template()):
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in actions if isinstance(actions, list) else [actions]:
            assert "*" not in action, statement
        for resource in resources if isinstance(resources, list) else [resources]:
            assert resource != "*" and "'*'" not in str(resource), statement


def test_only_the_functions_that_presign_or_repair_may_read_recordings() -> None:
    template = Template()
    readers = {
        name
        for name, resource in template.of_type("AWS::Serverless::Function").items()
        if any(
            "s3:GetObject" in str(statement["Action"])
            for statement in _function_statements(resource)
        )
    }
    assert readers == {
        "GetArchiveFunction",
        "ViewArchiveFunction",
        "ReconcileArchivesFunction",
        "ExtractStreamsFunction",  # reads an individual archive's zip to split it
    }


def test_the_ready_function_does_not_depend_on_the_bucket_that_triggers_it() -> None:
    # The bucket's notification needs the function; a policy naming the bucket would loop.
    resource = Template().resources["MarkReadyFunction"]
    assert "ArchiveBucket" not in str(resource["Properties"].get("Policies"))


def test_the_ready_function_may_delete_in_the_bucket_it_names_by_name() -> None:
    # It deletes an upload that lands after its archive was deleted; naming the bucket by its
    # name (above) is right only while that name is the bucket's own.
    resources = Template().resources
    name, mapping = resources["ArchiveBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    named = [
        statement["Resource"]["Fn::Sub"]
        for statement in _function_statements(resources["MarkReadyFunction"])
        if str(statement["Action"]).startswith("s3:")
    ]
    assert named == [
        [f"arn:${{AWS::Partition}}:s3:::{name}/${{OpenTokApiKey}}/*", mapping],
        [f"arn:${{AWS::Partition}}:s3:::{name}", mapping],
    ]


def test_every_function_has_its_own_folder_with_an_app() -> None:
    for function in Template().functions().values():
        assert (function.code_dir / "app.py").is_file()
        assert function.code_dir.parent == ROOT / "functions"


def test_the_api_has_the_sample_routes() -> None:
    routes = {(route.method, route.path) for route in Template().routes()}
    assert routes == {
        ("GET", "/session"),
        ("GET", "/room/{name}"),
        ("POST", "/archive/start"),
        ("POST", "/archive/{archiveId}/stop"),
        ("PUT", "/archive/{archiveId}/layout"),
        ("POST", "/archive/{archiveId}/streams"),
        ("GET", "/archive/{archiveId}"),
        ("GET", "/archive"),
        ("GET", "/archive/{archiveId}/view"),
        ("POST", "/archive/callback"),
        ("DELETE", "/archive/{archiveId}"),
    }


def test_the_bucket_is_private_encrypted_versioned_and_kept() -> None:
    bucket = Template().resources["ArchiveBucket"]
    properties = bucket["Properties"]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_secret_reaches_functions_only_by_reference() -> None:
    template = Template()
    for function in template.functions().values():
        assert "OpenTokApiSecret" not in str(function.environment)


def test_traces_keep_no_answers_which_hold_tokens_and_links() -> None:
    # Tracing is on in AWS, and Powertools' tracer records each handler's answer unless told
    # not to: the room routes answer tokens, the reads presigned links.
    for function in Template().functions().values():
        assert function.environment.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false"


def test_every_function_that_hands_out_a_session_knows_who_may_record() -> None:
    functions = Template().functions()
    for name in ("SessionFunction", "RoomFunction", "StartArchiveFunction", "StopArchiveFunction"):
        assert functions[name].environment.get("ARCHIVE_CONTROL") == {"Ref": "ArchiveControl"}


def test_every_function_is_watched_by_the_error_and_throttle_alarms() -> None:
    # An alarm of each function's total (its FunctionName-only series) per metric: plain metric
    # alarms, the function's name the last field of its ARN.
    template = Template()
    for function in template.functions():
        for metric in ("Errors", "Throttles"):
            alarm = template.resources[f"{function}{metric}Alarm"]["Properties"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 0)
            (dimension,) = alarm["Dimensions"]
            assert dimension == {
                "Name": "FunctionName",
                "Value": {
                    "Fn::Select": [6, {"Fn::Split": [":", {"Fn::GetAtt": [function, "Arn"]}]}]
                },
            }
    arn = "arn:aws:lambda:us-east-1:123456789012:function:stack-RoomFunction-1A2B3C"
    assert arn.split(":")[6] == "stack-RoomFunction-1A2B3C"  # Lambda's ARN format


def test_no_alarm_query_uses_syntax_cloudwatch_does_not_document() -> None:
    # Metrics Insights documents WHERE with = and != joined by AND only (its page
    # cloudwatch-metrics-insights-querylanguage.html): an OR would fail the alarm's creation
    # and roll the first deploy back.
    for name, alarm in Template().of_type("AWS::CloudWatch::Alarm").items():
        for query in alarm["Properties"].get("Metrics", []):
            expression = json.dumps(query.get("Expression", ""))
            assert not re.search(r"\b(OR|IN|LIKE)\b", expression), name


def test_every_alarm_notifies_the_alarm_topic_that_an_address_may_subscribe_to() -> None:
    template = Template()
    alarms = template.of_type("AWS::CloudWatch::Alarm")
    assert set(alarms) >= {
        "SessionFunctionErrorsAlarm",
        "ExtractStreamsFunctionThrottlesAlarm",
        "FailedArchiveEventsAlarm",
        "Api5xxRateAlarm",
        "ArchivesStuckAlarm",
    }
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    subscription = template.resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "AlarmEmailGiven"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_ready_function_keeps_what_it_could_not_handle_in_a_queue_that_is_watched() -> None:
    template = Template()
    invoke = template.resources["MarkReadyFunction"]["Properties"]["EventInvokeConfig"]
    queue = invoke["DestinationConfig"]["OnFailure"]["Destination"]
    assert queue == {"Fn::GetAtt": ["FailedArchiveEvents", "Arn"]}
    watched = template.resources["FailedArchiveEventsAlarm"]["Properties"]["Dimensions"][0]
    assert watched["Value"] == {"Fn::GetAtt": ["FailedArchiveEvents", "QueueName"]}


def test_the_stuck_alarm_watches_the_metric_the_reconciler_emits() -> None:
    alarm = Template().resources["ArchivesStuckAlarm"]["Properties"]
    source = (ROOT / "functions" / "reconcile_archives" / "app.py").read_text()
    assert f'name="{alarm["MetricName"]}"' in source
    assert (
        alarm["Namespace"]
        == Template().document["Globals"]["Function"]["Environment"]["Variables"][
            "POWERTOOLS_METRICS_NAMESPACE"
        ]
    )


def test_the_dashboard_shows_recordings_readiness_errors_and_the_api() -> None:
    body = Template().resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    names = {"Start": "start", "Stop": "stop", "Ready": "ready", "HttpApi": "api"}
    rendered = re.sub(r"\$\{([\w:]+)\}", lambda found: names.get(found.group(1), "us-east-1"), body)
    widgets = json.loads(rendered)["widgets"]
    metrics = {
        line[1]
        for widget in widgets
        for line in widget["properties"]["metrics"]
        if len(line) > 1 and isinstance(line[1], str) and line[1] != "..."
    }
    assert metrics >= {
        "ArchiveStarted",
        "ArchiveStopped",
        "ArchiveReady",
        "SecondsFromStopToReady",
        "Errors",
        "5xx",
    }
    percentiles = json.dumps(widgets)
    assert '"p50"' in percentiles and '"p95"' in percentiles


def test_the_site_is_private_behind_cloudfront_and_its_url_reaches_the_api() -> None:
    template = Template()
    site = template.resources["SiteBucket"]["Properties"]
    assert all(site["PublicAccessBlockConfiguration"].values())
    origin = template.resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    assert origin["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "OriginAccessControlId" in origin["Origins"][0]
    view_env = template.functions()["ViewArchiveFunction"].environment["SITE_URL"]
    assert "SiteDistribution.DomainName" in json.dumps(view_env)
    (api,) = _of_type(template.translated()["Resources"], "AWS::ApiGatewayV2::Api").values()
    assert "SiteDistribution.DomainName" in json.dumps(api["Properties"]["Body"])


def test_the_api_stage_is_throttled() -> None:
    api = next(iter(Template().of_type("AWS::Serverless::HttpApi").values()))
    settings = api["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]


def test_the_openapi_description_has_exactly_the_template_routes() -> None:
    import yaml

    description = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    described = {
        (method.upper(), path)
        for path, operations in description["paths"].items()
        for method in operations
    }
    assert described == {(route.method, route.path) for route in Template().routes()}


def test_copies_that_keep_failing_wait_in_a_queue_that_is_watched() -> None:
    template = Template()
    queue = template.resources["RecordingCopies"]["Properties"]
    dead_letters = {"Fn::GetAtt": ["FailedRecordingCopies", "Arn"]}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == dead_letters
    # Lambda's advice for SQS: visible again after six times the function's timeout.
    assert (
        queue["VisibilityTimeout"]
        >= 6 * template.resources["CopyRecordingFunction"]["Properties"]["Timeout"]
    )
    watched = template.resources["FailedRecordingCopiesAlarm"]["Properties"]["Dimensions"][0]
    assert watched["Value"] == {"Fn::GetAtt": ["FailedRecordingCopies", "QueueName"]}


def test_the_at_risk_alarm_watches_the_metric_the_reconciler_emits() -> None:
    alarm = Template().resources["ArchivesAtRiskAlarm"]["Properties"]
    source = (ROOT / "functions" / "reconcile_archives" / "app.py").read_text()
    assert f'name="{alarm["MetricName"]}"' in source


def test_the_reconciler_may_query_only_the_index_of_unfinished_archives() -> None:
    resource = Template().resources["ReconcileArchivesFunction"]
    queries = [
        statement["Resource"]
        for statement in _function_statements(resource)
        if "dynamodb:Query" in str(statement["Action"])
    ]
    assert queries == [{"Fn::Sub": "${ArchiveTable.Arn}/index/UnfinishedArchives"}]


def test_splits_that_keep_failing_wait_in_a_queue_that_is_watched() -> None:
    template = Template()
    queue = template.resources["StreamExtractions"]["Properties"]
    dead_letters = {"Fn::GetAtt": ["FailedStreamExtractions", "Arn"]}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == dead_letters
    assert (
        queue["VisibilityTimeout"]
        >= 6 * template.resources["ExtractStreamsFunction"]["Properties"]["Timeout"]
    )
    watched = template.resources["FailedStreamExtractionsAlarm"]["Properties"]["Dimensions"][0]
    assert watched["Value"] == {"Fn::GetAtt": ["FailedStreamExtractions", "QueueName"]}


SITE_ORIGIN = "https://sitedistribution.cloudfront.example"  # the rendered SiteDistribution


def _deployed_api(**parameters: str) -> HttpApi:
    """The local gateway with the CORS of the API as aws-sam-translator writes it, rendered."""
    template = Template()
    given = {"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret", **parameters}
    cors = Deployment(template, template.render(given), names={}).cors()
    return HttpApi(template, functions=None, cors=cors)  # a preflight invokes no function


def _preflight(api: HttpApi, origin: str) -> dict[str, str]:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "authorization,x-host-key",
    }
    answer = api.request(
        "OPTIONS", "/archive/3fe4e1a2-1d2b-4b5a-9c3d-2e1f0a9b8c7d", headers=headers
    )
    assert answer.status == 204
    return answer.headers


@pytest.mark.parametrize(
    ("parameters", "allowed"),
    [
        ({}, SITE_ORIGIN),
        ({"AllowedOrigins": "https://app.example,https://admin.example"}, "https://admin.example"),
    ],
    ids=["the-site-of-the-stack", "allowed-origins-given"],
)
def test_cors_as_deployed_lets_the_allowed_origin_start_stop_and_delete(
    parameters: dict[str, str], allowed: str
) -> None:
    # Before the whole CorsConfiguration was under its !If, the translator kept only the origins.
    api = _deployed_api(**parameters)
    granted = _preflight(api, allowed)
    assert granted["access-control-allow-origin"] == allowed
    assert {"GET", "POST", "PUT", "DELETE"} <= set(
        granted["access-control-allow-methods"].split(",")
    )
    assert {"authorization", "x-host-key", "content-type"} <= set(
        granted["access-control-allow-headers"].split(",")
    )
    assert granted["access-control-max-age"] == "600"
    refused = _preflight(api, "https://elsewhere.example")
    assert not [name for name in refused if name.startswith("access-control-")]


def test_the_local_gateway_refuses_a_cors_configuration_it_cannot_read() -> None:
    # What the translator wrote when only AllowOrigins was conditional: never served as if read.
    unreadable = {"Fn::If": ["OriginsGiven", "https://app.example", [SITE_ORIGIN]]}
    with pytest.raises(ValueError, match="x-amazon-apigateway-cors"):
        HttpApi(Template(), functions=None, cors=unreadable)


def _site_headers_policy(template: Template) -> dict[str, Any]:
    """The response headers policy the site's default cache behavior names, as translated."""
    resources = template.translated()["Resources"]
    behavior = resources["SiteDistribution"]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"
    ]
    named = behavior["ResponseHeadersPolicyId"]["Ref"]
    assert resources[named]["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    return resources[named]["Properties"]["ResponseHeadersPolicyConfig"]


def _content_security_policy(region: str = "us-east-1") -> dict[str, list[str]]:
    """The site's CSP as CloudFront sends it for a deployment in the region, by directive."""
    rendered = Template().render(
        {"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret"}, region=region
    )
    policies = _of_type(rendered["Resources"], "AWS::CloudFront::ResponseHeadersPolicy")
    (policy,) = policies.values()
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    text = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return {name: sources for name, *sources in (part.split() for part in text.split(";"))}


def _allowed(sources: list[str], url: str) -> bool:
    """Whether a CSP source list lets the page load `url`: its scheme and host, a leading `*.`
    matching any subdomain (CSP Level 3's host-source)."""
    found = re.fullmatch(r"(\w+)://([^/:]+).*", url)
    assert found, url
    scheme, host = found.groups()
    for source in sources:
        source_scheme, _, source_host = source.partition("://")
        if source_scheme != scheme:
            continue
        if source_host == host or (source_host.startswith("*.") and host.endswith(source_host[1:])):
            return True
    return False


def test_every_answer_of_the_site_carries_the_security_headers_of_one_policy() -> None:
    security = _site_headers_policy(Template())["SecurityHeadersConfig"]
    # CloudFront's, not the origin's: the bucket sends none, and none may replace them.
    assert all(header["Override"] is True for header in security.values())
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert "ContentTypeOptions" in security  # X-Content-Type-Options: nosniff
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert "ContentSecurityPolicy" in security


def test_the_content_security_policy_runs_no_inline_script_and_is_framed_by_nobody() -> None:
    policy = _content_security_policy()
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "https:", "data:", "blob:"):
        assert unsafe not in policy["script-src"], unsafe
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_the_content_security_policy_lets_the_pages_reach_opentok_the_api_and_recordings() -> None:
    import boto3
    from botocore.config import Config

    from deploy.publish_site import OPENTOK_JS_URL

    for region in ("us-east-1", "eu-west-1"):
        policy = _content_security_policy(region)
        assert _allowed(policy["script-src"], OPENTOK_JS_URL)
        # OpenTok.js's servers (support.tokbox.com, article 115000210424): *.opentok.com and
        # *.tokbox.com, its API and its event stream.
        for server in (
            "https://api.opentok.com",
            "wss://rumor.tokbox.com",
            "https://hlg.tokbox.com",
        ):
            assert _allowed(policy["connect-src"], server), server
        # The ApiUrl output: the HTTP API of this stack's region.
        api = f"https://a1b2c3d4e5.execute-api.{region}.amazonaws.com/archive"
        assert _allowed(policy["connect-src"], api)
        assert not _allowed(
            policy["connect-src"], "https://a1b2c3d4e5.execute-api.xx-east-9.amazonaws.com"
        )
        # A link as backend/bucket.py presigns it, and the bucket's regional host, where S3 may
        # send a new bucket's requests.
        bucket = Template().render(
            {"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret"}, region=region
        )["Resources"]["ArchiveBucket"]["Properties"]["BucketName"]
        s3 = boto3.client(
            "s3",
            region_name=region,
            config=Config(signature_version="s3v4"),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        link = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "12345/id/archive.mp4"}, ExpiresIn=300
        )
        assert _allowed(policy["media-src"], link), link
        assert _allowed(policy["media-src"], f"https://{bucket}.s3.{region}.amazonaws.com/k")
        assert not _allowed(policy["media-src"], "https://elsewhere.s3.amazonaws.com/k")
        # OpenTok's own link to a recording it keeps, on the one host the view redirects to.
        opentok = f"https://{download_links.OPENTOK_ARCHIVE_HOST}/12345/id/archive.mp4?X=1"
        assert _allowed(policy["media-src"], opentok)
