"""The settings model, the README's "Configuration" table and `.env.example` agree.

The model (app/settings.py) is the source: each field names its environment variable and
carries the README's text as its description. A field added without documenting it, or a
variable documented that no field reads, fails here with the lines to paste.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.config import variables
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# Read by other programs than the app: docker-compose.yml (and its RabbitMQ override),
# gunicorn.conf.py, Dramatiq.
OTHER_PROGRAMS = re.compile(
    r"^(POSTGRES_PASSWORD|RABBITMQ_PASSWORD|WEB_PORT|GUNICORN_\w+|DRAMATIQ_\w+|dramatiq_\w+)$"
)
ROW = re.compile(r"^\| `([A-Za-z_]+)` \| (.*?) \| (.*) \|$")
ASSIGNMENT = re.compile(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", re.M)


def _readme_rows() -> dict[str, str]:
    """Variable → meaning, from the table under "## Configuration"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = (ROW.match(line) for line in section.splitlines())
    return {row[1]: row[3] for row in rows if row}


def _description(variable: str) -> str:
    return str(Settings.model_fields[variables()[variable]].description)


def test_the_readme_table_documents_exactly_the_models_variables() -> None:
    documented = {name for name in _readme_rows() if not OTHER_PROGRAMS.match(name)}

    missing = sorted(set(variables()) - documented)
    unknown = sorted(documented - set(variables()))

    rows = "\n".join(f"| `{name}` | ? | {_description(name)} |" for name in missing)
    assert not missing, f"README.md Configuration lacks rows for:\n{rows}"
    assert not unknown, f"README.md documents variables no setting reads: {unknown}"


def test_each_readme_meaning_is_its_fields_description() -> None:
    rows = _readme_rows()
    for variable in variables():
        assert rows[variable] == _description(variable), (
            f"README.md's text for {variable} and the description of Settings."
            f"{variables()[variable]} differ"
        )


def test_env_example_lists_exactly_the_models_variables() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = {name for name in ASSIGNMENT.findall(text) if not OTHER_PROGRAMS.match(name)}

    missing = sorted(set(variables()) - listed)
    unknown = sorted(listed - set(variables()))

    lines = "\n".join(f"# {_description(name)}\n{name}=" for name in missing)
    assert not missing, f".env.example lacks:\n{lines}"
    assert not unknown, f".env.example lists variables no setting reads: {unknown}"
