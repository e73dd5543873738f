"""Signature checks against the test vectors the senders publish in their documentation."""

from __future__ import annotations

import pytest

from app.triggers.signing import Scheme, SignatureError, verify
from tests import webhook_senders as senders

# docs.github.com, "Validating webhook deliveries", "Testing the webhook payload validation"
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# api.slack.com, "Verifying requests from Slack", the worked example
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect"
    b"&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
    b"%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_githubs_published_vector_verifies() -> None:
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    verify(Scheme("github", GITHUB_SECRET), headers, GITHUB_BODY, now=0)
    assert senders.github(GITHUB_SECRET, GITHUB_BODY)["X-Hub-Signature-256"] == GITHUB_SIGNATURE


def test_slacks_published_vector_verifies_at_its_time_and_not_ten_minutes_later() -> None:
    headers = {
        "x-slack-request-timestamp": str(SLACK_TIMESTAMP),
        "x-slack-signature": SLACK_SIGNATURE,
    }
    verify(Scheme("slack", SLACK_SECRET), headers, SLACK_BODY, now=SLACK_TIMESTAMP + 10)
    assert senders.slack(SLACK_SECRET, SLACK_BODY, SLACK_TIMESTAMP)["X-Slack-Signature"] == (
        SLACK_SIGNATURE
    )
    with pytest.raises(SignatureError, match="5 minutes"):
        verify(Scheme("slack", SLACK_SECRET), headers, SLACK_BODY, now=SLACK_TIMESTAMP + 600)


def test_stripe_accepts_any_matching_v1_among_several() -> None:
    # During a secret roll Stripe signs with both secrets: one v1 per secret.
    body = b'{"id":"evt_1"}'
    old = senders.stripe("whsec_old", body, 1_700_000_000)["Stripe-Signature"]
    new = senders.stripe("whsec_new", body, 1_700_000_000)["Stripe-Signature"]
    both = old + "," + new.split(",")[1]
    verify(Scheme("stripe", "whsec_new"), {"stripe-signature": both}, body, now=1_700_000_001)
    with pytest.raises(SignatureError):
        verify(Scheme("stripe", "whsec_other"), {"stripe-signature": both}, body, 1_700_000_001)


@pytest.mark.parametrize(
    "header",
    ["t=abc,v1=00", "v1=00", "t=1700000000", "garbage", "t=1700000000,v1=zz"],
)
def test_malformed_stripe_headers_are_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(Scheme("stripe", "s"), {"stripe-signature": header}, b"{}", now=1_700_000_000)


def test_shopify_and_generic_signatures_that_are_not_their_encoding_are_refused() -> None:
    with pytest.raises(SignatureError, match="base64"):
        verify(Scheme("shopify", "s"), {"x-shopify-hmac-sha256": "%%%"}, b"{}", now=0)
    scheme = Scheme("hmac", "s", header="X-Sig", prefix="sha256=")
    with pytest.raises(SignatureError, match="prefix"):
        verify(scheme, {"x-sig": "md5=00"}, b"{}", now=0)
    with pytest.raises(SignatureError, match="hex"):
        verify(scheme, {"x-sig": "sha256=not-hex"}, b"{}", now=0)
    good = senders.generic("s", b"{}", "X-Sig")["X-Sig"]
    verify(scheme, {"x-sig": "sha256=" + good.upper()}, b"{}", now=0)
