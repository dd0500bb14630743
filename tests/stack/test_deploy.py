"""What `make deploy` and `make configure-opentok` do once SAM has deployed the stack."""

import json
import shutil
from pathlib import Path

import boto3
import pytest
import requests

from deploy import configure_opentok, host_link, publish_site
from local.aws.template import Template
from tests.support.credentials import APPLICATION_ID, PRIVATE_KEY
from tests.support.stack import Stack

USED_OUTPUTS = {
    "ApiUrl",
    "SiteUrl",
    "SiteBucketName",
    "SiteDistributionId",
    "ArchiveBucketName",
    "OpenTokSecretArn",
    "ArchiveUploaderSecretArn",
    "CallbackUrl",
}


def test_the_stack_outputs_what_the_deploy_steps_read() -> None:
    assert set(Template().document["Outputs"]) >= USED_OUTPUTS


def _site_outputs() -> dict[str, str]:
    boto3.client("s3").create_bucket(Bucket="site-bucket")
    distribution = boto3.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": "site-bucket.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
            },
        }
    )["Distribution"]
    return {
        "SiteBucketName": "site-bucket",
        "SiteDistributionId": distribution["Id"],
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
    }


def test_publishing_uploads_the_site_with_a_config_for_the_stack(aws: None) -> None:
    outputs = _site_outputs()
    uploaded = publish_site.publish(outputs)
    s3 = boto3.client("s3")
    for page in ("index.html", "view.html", "archives.html", "js/app.js", "css/style.css"):
        assert page in uploaded
    index = s3.get_object(Bucket="site-bucket", Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    assert index["CacheControl"] == "no-cache"
    style = s3.head_object(Bucket="site-bucket", Key="css/style.css")
    assert style["ContentType"] == "text/css; charset=utf-8"
    assert "max-age" in style["CacheControl"]
    config = s3.get_object(Bucket="site-bucket", Key="js/config.js")["Body"].read().decode()
    assert 'SAMPLE_SERVER_BASE_URL = "https://abc123.execute-api.us-east-1.amazonaws.com"' in config
    assert "static.opentok.com" in config
    invalidations = boto3.client("cloudfront").list_invalidations(
        DistributionId=outputs["SiteDistributionId"]
    )
    assert invalidations["InvalidationList"]["Quantity"] == 1


def test_publishing_pins_opentok_js_only_when_the_deploy_names_its_file(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENTOK_JS_URL", raising=False)
    monkeypatch.delenv("OPENTOK_JS_INTEGRITY", raising=False)
    outputs = _site_outputs()
    publish_site.publish(outputs)
    config = boto3.client("s3").get_object(Bucket="site-bucket", Key="js/config.js")
    floating = config["Body"].read().decode()
    assert f'OPENTOK_JS_URL = "{publish_site.OPENTOK_JS_URL}"' in floating
    assert 'OPENTOK_JS_INTEGRITY = ""' in floating  # the latest 2.x changes under its URL
    pinned_url = "https://static.opentok.com/pinned/opentok.min.js"
    monkeypatch.setenv("OPENTOK_JS_URL", pinned_url)
    monkeypatch.setenv("OPENTOK_JS_INTEGRITY", "sha384-" + "A" * 64)
    assert publish_site.publish(outputs) == ["js/config.js"]
    config = boto3.client("s3").get_object(Bucket="site-bucket", Key="js/config.js")
    pinned = config["Body"].read().decode()
    assert f'OPENTOK_JS_URL = "{pinned_url}"' in pinned
    assert f'OPENTOK_JS_INTEGRITY = "sha384-{"A" * 64}"' in pinned


def test_publishing_again_uploads_only_what_changed(aws: None, tmp_path: Path) -> None:
    outputs = _site_outputs()
    web = tmp_path / "web"
    shutil.copytree(publish_site.WEB, web)
    assert publish_site.publish(outputs, web=web)
    assert publish_site.publish(outputs, web=web) == []
    (web / "view.html").write_text((web / "view.html").read_text() + "<!-- changed -->\n")
    assert publish_site.publish(outputs, web=web) == ["view.html"]
    assert publish_site.publish({**outputs, "ApiUrl": "https://other.example"}, web=web) == [
        "js/config.js"
    ]


def _configure_outputs(stack: Stack) -> dict[str, str]:
    names = stack.deployment.names
    return {
        "OpenTokSecretArn": names["OpenTokSecret"],
        "ArchiveUploaderSecretArn": names["ArchiveUploaderSecret"],
        "ArchiveBucketName": stack.bucket,
    }


@pytest.mark.parametrize(
    "emulator",
    [{}, {"api_key": APPLICATION_ID, "api_secret": PRIVATE_KEY}],
    ids=["opentok credentials", "vonage application"],
    indirect=True,
)
def test_configuring_opentok_makes_it_upload_to_the_stack_bucket(stack: Stack) -> None:
    api_key = stack.opentok.api_key
    requests.delete(
        f"{stack.opentok.url}/v2/project/{api_key}/archive/storage",
        headers=stack.sdk().get_json_headers(),
        timeout=5,
    )
    configured = configure_opentok.configure(_configure_outputs(stack), api_url=stack.opentok.url)
    assert configured["config"]["bucket"] == stack.bucket
    assert configured["config"]["sse"] == "s3"
    assert configured["fallback"] == "opentok"
    assert configured["config"]["accessKey"] == stack.deployment.names["ArchiveUploaderKey"]
    assert "secretKey" not in configured["config"]
    target = stack.opentok.state.get_storage()
    assert (target["config"]["sse"], target["fallback"]) == ("s3", "opentok")
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"], prefix=api_key)
    assert stack.deliver_s3_events() == 1


def test_each_kind_of_credentials_has_its_own_api_base() -> None:
    """Contract §1: OpenTok keys talk to api.opentok.com, Vonage applications to Vonage's."""
    assert configure_opentok.default_api_url("0" * 40) == "https://api.opentok.com"
    assert configure_opentok.default_api_url(PRIVATE_KEY) == "https://video.api.vonage.com"


@pytest.mark.parametrize(("status", "body"), [(200, ""), (204, ""), (200, '{"type":"s3"}')])
def test_configuring_accepts_any_success_answer_and_prints_no_secret(
    stack: Stack, status: int, body: str
) -> None:
    """Contract §7: what a success answers with is unverified; an empty body is fine too."""
    stack.opentok.faults.answer("PUT", "/archive/storage$", status, body)
    applied = configure_opentok.configure(
        _configure_outputs(stack),
        fallback="none",
        sse="none",
        endpoint="https://storage.example.com",
        api_url=stack.opentok.url,
    )
    uploader = json.loads(stack.deployment.secret_value("ArchiveUploaderSecret"))
    target = stack.opentok.state.storage
    assert (target.bucket, target.endpoint) == (stack.bucket, "https://storage.example.com")
    assert target.secret_key == uploader["secretKey"]
    assert not stack.opentok.faults.waiting()  # OpenTok answered as the fault said
    printed = "\n".join(configure_opentok.describe(applied))
    for shown in (stack.bucket, "https://storage.example.com", "none", uploader["accessKey"]):
        assert shown in printed
    said = ", with nothing more to say" if not body else ', saying: {"type":"s3"}'
    assert f"OpenTok answered {status} " in printed and printed.endswith(said)
    assert uploader["secretKey"] not in printed


def test_a_refusal_stops_configuring_with_opentok_s_answer_in_plain_words(stack: Stack) -> None:
    with pytest.raises(SystemExit) as refused:
        configure_opentok.configure(
            _configure_outputs(stack), endpoint="storage.example.com", api_url=stack.opentok.url
        )
    said = str(refused.value)
    # Status and OpenTok's own message, not its JSON; and what the uploader key may do.
    assert said.startswith("OpenTok refused the storage settings: 400 Bad Request, saying: ")
    assert "endpoint" in said and '"code"' not in said
    assert f"s3:PutObject under s3://{stack.bucket}/{stack.opentok.api_key}/" in said
    assert stack.opentok.state.storage.endpoint is None  # the stack's target is as it was


def test_the_host_link_makes_its_holder_the_host_of_the_room(stack: Stack) -> None:
    outputs = {"HostKeySecretArn": stack.deployment.physical("HostKeySecret")}
    key = host_link.host_key(outputs)
    invite = stack.participant_name("standup")
    links = host_link.for_site("https://site.example/", key, "standup", invite)
    assert links["participant"] == f"https://site.example/?room={invite}"
    prefix = "https://site.example/?room=standup#host="
    assert links["host"].startswith(prefix)
    joined = stack.api.request(
        "GET", "/room/standup", headers={"x-host-key": links["host"][len(prefix) :]}
    )
    assert joined.json()["role"] == "moderator"
