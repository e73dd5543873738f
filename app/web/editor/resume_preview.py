"""What a `wait_for_call` step's resume URL will look like, for its panel: the URL each run
gets when it reaches the step (app.engine.resume_urls: the public URL, `/resume/`, a token
naming the run and the step, signed), a curl call that resumes it, and how earlier steps read
it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.engine.resume_urls import DEFAULT_PUBLIC_URL
from app.extensions import container
from app.web.blueprint import bp

TOKEN_SHAPE = "<run>-<step>-<signature>"
EXAMPLE_BODY = {"approved": True, "note": "Looks good"}


@dataclass(frozen=True)
class ResumePreview:
    url: str  # the shape of the URL: the token is made per run
    curl: str  # a call that resumes the run, with a JSON body
    template: str  # what an earlier step writes to send it
    public: bool  # STEPLINE_PUBLIC_URL is set: the URL is reachable from outside


def resume_url_shape(key: str) -> str:
    """What step `key`'s resume URL looks like (each run's token differs)."""
    public_url = container().settings.public_url
    return f"{(public_url or DEFAULT_PUBLIC_URL).rstrip('/')}/resume/{TOKEN_SHAPE}"


@bp.app_template_global("resume_preview")
def resume_preview(key: str) -> ResumePreview:
    """The preview of step `key`'s resume URL."""
    public_url = container().settings.public_url
    url = resume_url_shape(key)
    body = json.dumps(EXAMPLE_BODY)
    curl = f"curl -X POST '{url}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
    return ResumePreview(url, curl, f"{{{{ steps.{key}.resume_url }}}}", public_url is not None)
