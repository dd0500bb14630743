"""What `make deploy` and `make configure-opentok` do once SAM has deployed the stack."""

import shutil
from pathlib import Path

import boto3
import requests

from deploy import configure_opentok, host_link, publish_site
from local.template import Template
from tests.conftest import API_KEY, Stack

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


def test_configuring_opentok_makes_it_upload_to_the_stack_bucket(stack: Stack) -> None:
    names = stack.deployment.names
    outputs = {
        "OpenTokSecretArn": names["OpenTokSecret"],
        "ArchiveUploaderSecretArn": names["ArchiveUploaderSecret"],
        "ArchiveBucketName": stack.bucket,
    }
    requests.delete(
        f"{stack.opentok.url}/v2/project/{API_KEY}/archive/storage",
        headers=stack.sdk().get_json_headers(),
        timeout=5,
    )
    configured = configure_opentok.configure(outputs, api_url=stack.opentok.url)
    assert configured["config"]["bucket"] == stack.bucket
    assert configured["fallback"] == "opentok"
    assert configured["config"]["accessKey"] == names["ArchiveUploaderKey"]
    archive = stack.record()
    stack.post(f"/archive/{archive['id']}/stop")
    stack.wait_until_uploaded(archive["id"])
    assert stack.deliver_s3_events() == 1


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
