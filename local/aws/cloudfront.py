"""CloudFront in front of the site: the headers its response headers policy adds to every answer.

The policy is the one the distribution's default cache behavior names, rendered
(`Deployment.response_headers_policy`); its SecurityHeadersConfig and CustomHeadersConfig become
headers as CloudFront writes them (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/
aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html). A part this stand-in
does not write (CORS, removed headers, Server-Timing, X-XSS-Protection) is refused, never dropped.
"""

from typing import Any

WRITTEN = {"Name", "Comment", "SecurityHeadersConfig", "CustomHeadersConfig"}
SECURITY_HEADERS = {
    "ContentSecurityPolicy",
    "ContentTypeOptions",
    "FrameOptions",
    "ReferrerPolicy",
    "StrictTransportSecurity",
}


def site_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The headers, by lower-case name, that a ResponseHeadersPolicyConfig adds."""
    security = policy.get("SecurityHeadersConfig", {})
    if set(policy) - WRITTEN or set(security) - SECURITY_HEADERS:
        raise ValueError(f"a response headers policy the local site cannot serve: {policy}")
    headers = {}
    if "ContentSecurityPolicy" in security:
        csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        headers["content-security-policy"] = csp
    if "ContentTypeOptions" in security:
        headers["x-content-type-options"] = "nosniff"  # the one value it has
    if "FrameOptions" in security:
        headers["x-frame-options"] = security["FrameOptions"]["FrameOption"]
    if "ReferrerPolicy" in security:
        headers["referrer-policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "StrictTransportSecurity" in security:
        hsts = security["StrictTransportSecurity"]
        directives = [f"max-age={hsts['AccessControlMaxAgeSec']}"]
        directives += ["includeSubDomains"] if hsts.get("IncludeSubdomains") else []
        directives += ["preload"] if hsts.get("Preload") else []
        headers["strict-transport-security"] = "; ".join(directives)
    for custom in policy.get("CustomHeadersConfig", {}).get("Items", []):
        headers[custom["Header"].lower()] = custom["Value"]
    return headers
