"""`make dev PARAMETER_OVERRIDES=...`: the SAM CLI's syntax, checked against template.yaml."""

from pathlib import Path

import pytest

from local.aws.template import Template
from local.tools.parameters import (
    ParameterError,
    check,
    describe,
    format_overrides,
    in_force,
    parse,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("ArchiveControl=open", {"ArchiveControl": "open"}),
        (
            "  ArchiveControl=open   ArchiveMode=always ",
            {"ArchiveControl": "open", "ArchiveMode": "always"},
        ),
        # The long form, as in `sam deploy`'s and the AWS CLI's help.
        (
            "ParameterKey=ArchiveControl,ParameterValue=open "
            "ParameterKey=AllowedOrigins,ParameterValue=http://a.example,http://b.example",
            {"ArchiveControl": "open", "AllowedOrigins": "http://a.example,http://b.example"},
        ),
        ('AlarmEmail="ops team@example.com"', {"AlarmEmail": "ops team@example.com"}),
        ("AlarmEmail='ops team@example.com'", {"AlarmEmail": "ops team@example.com"}),
        (r"AlarmEmail=ops\ team", {"AlarmEmail": "ops team"}),
        (r'AlarmEmail="say \"hi\""', {"AlarmEmail": 'say "hi"'}),
        ('ParameterKey=AlarmEmail,ParameterValue="a b"', {"AlarmEmail": "a b"}),
        ('AlarmEmail="" SiteUrl=', {"AlarmEmail": "", "SiteUrl": ""}),
        ("ArchiveMode=always ArchiveMode=manual", {"ArchiveMode": "manual"}),  # the last wins
    ],
)
def test_overrides_are_read_as_sam_reads_them(text: str, expected: dict[str, str]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["ArchiveControl", "ArchiveControl=open junk", 'A="open', 'A=b"c'])
def test_what_is_not_key_value_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ParameterError, match="cannot read"):
        parse(text)


def test_what_format_overrides_writes_parse_reads_back() -> None:
    parameters = {"A": "b", "C": "d e", "E": "", "F": 'say "x"', "G": "http://a,http://b"}
    assert parse(format_overrides(parameters)) == parameters


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Nope": "1"}, "Nope: template.yaml has no such parameter"),
        ({"ArchiveControll": "open"}, "did you mean ArchiveControl?"),
        ({"ArchiveControl": "closed"}, "ArchiveControl='closed' is refused: it must be one of"),
        ({"ContinueAfterLimit": "yes"}, "ContinueAfterLimit='yes' is refused: it must be one of"),
        ({"PresignedUrlTtlSeconds": "59"}, "PresignedUrlTtlSeconds='59' .* at least 60"),
        ({"PresignedUrlTtlSeconds": "3601"}, "at most 3600"),
        ({"PresignedUrlTtlSeconds": "soon"}, "must be a number"),
        ({"LogRetentionDays": "2"}, "LogRetentionDays='2' .* one of 1, 3, 5"),
        ({"SiteUrl": "http://elsewhere"}, "SiteUrl: make dev sets it itself"),
        ({"OpenTokApiSecret": "x"}, "OpenTokApiSecret: make dev sets it itself"),
    ],
)
def test_the_template_refuses_what_cloudformation_would(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        check(Template(), overrides)


def test_patterns_and_lengths_are_checked_as_cloudformation_does(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Parameters:\n"
        "  Code: {Type: String, AllowedPattern: '[a-z]+', MinLength: 2, MaxLength: 4}\n"
        "  Hidden: {Type: String, NoEcho: true, MinLength: 8}\n"
        "Resources: {}\n"
    )
    template = Template(path)
    check(template, {"Code": "abc"})
    with pytest.raises(ParameterError, match=r"Code='ab1' is refused: it must match \[a-z\]\+"):
        check(template, {"Code": "ab1"})  # the whole value, not a part of it
    with pytest.raises(ParameterError, match="at least 2 characters"):
        check(template, {"Code": "a"})
    with pytest.raises(ParameterError, match="at most 4 characters"):
        check(template, {"Code": "abcde"})
    with pytest.raises(ParameterError, match=r"Hidden=\*\*\*\* is refused") as refused:
        check(template, {"Hidden": "short"})
    assert "short" not in str(refused.value)  # NoEcho: the value is not repeated


def test_values_the_template_allows_pass() -> None:
    check(
        Template(),
        {
            "ArchiveControl": "open",
            "ArchiveMode": "always",
            "ContinueAfterLimit": "true",
            "PresignedUrlTtlSeconds": "3600",
            "LogRetentionDays": "7",
            "AllowedOrigins": "http://localhost:8000",
            "AlarmEmail": "",
        },
    )


def test_the_parameters_in_force_say_where_each_comes_from_and_mask_no_echo_ones() -> None:
    template = Template()
    own = {"OpenTokApiSecret": "s3cr3t-value", "SiteUrl": "http://127.0.0.1:3000"}
    listed = in_force(template, own, {"ArchiveControl": "open"})
    text = describe(listed)
    assert "s3cr3t-value" not in text
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert lines.keys() == template.document["Parameters"].keys()
    assert lines["OpenTokApiSecret"].split()[1:] == ["****", "(make", "dev)"]
    assert lines["ArchiveControl"].split()[1:] == ["open", "(PARAMETER_OVERRIDES)"]
    assert lines["ArchiveMode"].split()[1:] == ["manual"]
    assert lines["AlarmEmail"].split()[1:] == ['""']


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        # S3 moves nothing to Standard-IA younger than 30 days (lifecycle-transition-general-
        # considerations.html): a transition of 1-29 days would fail the bucket's creation.
        ({"ArchiveTransitionDays": "29"}, "ArchiveTransitionDays='29' is refused: it must be one"),
        ({"ArchiveTransitionDays": "1"}, "ArchiveTransitionDays='1' is refused"),
        # An expiration not after the move: S3 refuses the lifecycle configuration.
        (
            {"ArchiveTransitionDays": "30", "ArchiveExpirationDays": "30"},
            "ArchiveExpirationDays must be 0 (off) or more than ArchiveTransitionDays (30).",
        ),
        (
            {"ArchiveTransitionDays": "365", "ArchiveExpirationDays": "7"},
            "ArchiveExpirationDays must be 0 (off) or more than ArchiveTransitionDays (365).",
        ),
    ],
)
def test_lifecycle_settings_s3_would_refuse_are_refused_in_plain_words(
    overrides: dict[str, str], refusal: str
) -> None:
    with pytest.raises(ParameterError) as refused:
        check(Template(), overrides)
    assert refusal in str(refused.value)


def test_every_allowed_lifecycle_pair_is_taken_exactly_when_s3_would_take_it() -> None:
    template = Template()
    specs = template.document["Parameters"]
    for transition in specs["ArchiveTransitionDays"]["AllowedValues"]:
        for expiration in specs["ArchiveExpirationDays"]["AllowedValues"]:
            pair = {
                "ArchiveTransitionDays": str(transition),
                "ArchiveExpirationDays": str(expiration),
            }
            s3_takes_it = transition == 0 or expiration == 0 or expiration > transition
            assert (template.refusals(pair) == []) == s3_takes_it, pair


def test_a_stack_the_rules_refuse_is_never_rendered() -> None:
    parameters = {"OpenTokApiKey": "12345", "OpenTokApiSecret": "secret"}
    refused = {**parameters, "ArchiveTransitionDays": "90", "ArchiveExpirationDays": "60"}
    with pytest.raises(ValueError, match="more than ArchiveTransitionDays"):
        Template().render(refused)
