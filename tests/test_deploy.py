"""What `make deploy` and `make configure-opentok` do once SAM has deployed the stack."""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests

from deploy import configure_opentok, host_link, publish_site
from local.template import Template
from tests.conftest import Stack
from tests.test_vonage_credentials import APPLICATION_ID, PRIVATE_KEY

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


class _StorageEndpoint:
    """An OpenTok that answers PUT .../archive/storage with a given status and body."""

    def __init__(self, status: int, body: bytes) -> None:
        self.requests: list[tuple[dict[str, str], dict]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                endpoint.requests.append((dict(self.headers), json.loads(self.rfile.read(length))))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("status", "body"), [(200, b""), (204, b""), (200, b'{"type":"s3"}')])
def test_configuring_accepts_any_success_answer_and_prints_no_secret(
    stack: Stack, status: int, body: bytes
) -> None:
    """Contract §7: what a success answers with is undocumented; an empty body is fine too."""
    opentok = _StorageEndpoint(status, body)
    try:
        applied = configure_opentok.configure(
            _configure_outputs(stack),
            fallback="none",
            sse="none",
            endpoint="https://storage.example.com",
            api_url=opentok.url,
        )
    finally:
        opentok.close()
    headers, sent = opentok.requests[0]
    uploader = json.loads(stack.deployment.secret_value("ArchiveUploaderSecret"))
    assert sent["config"]["secretKey"] == uploader["secretKey"]
    assert sent["config"]["endpoint"] == "https://storage.example.com"
    assert "X-OPENTOK-AUTH" in headers or "X-Opentok-Auth" in headers
    printed = "\n".join(configure_opentok.describe(applied))
    for shown in (stack.bucket, "https://storage.example.com", "none", uploader["accessKey"]):
        assert shown in printed
    assert uploader["secretKey"] not in printed


def test_a_refusal_stops_configuring_with_opentok_s_answer(stack: Stack) -> None:
    opentok = _StorageEndpoint(400, b'{"code":-1,"message":"bad endpoint"}')
    try:
        with pytest.raises(SystemExit, match="bad endpoint"):
            configure_opentok.configure(_configure_outputs(stack), api_url=opentok.url)
    finally:
        opentok.close()


def test_the_host_link_makes_its_holder_the_host_of_the_room(stack: Stack) -> None:
    outputs = {
        "HostKeySecretArn": stack.deployment.physical("HostKeySecret"),
        "SiteUrl": "https://site.example/",
    }
    links = host_link.links(outputs, room="standup")
    assert links["participant"] == "https://site.example/?room=standup"
    prefix = f"{links['participant']}#host="
    assert links["host"].startswith(prefix)
    key = links["host"][len(prefix) :]
    joined = stack.api.request("GET", "/room/standup", headers={"x-host-key": key})
    assert joined.json()["role"] == "moderator"
