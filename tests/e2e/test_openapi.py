"""openapi.yaml and the platform agree: the document is valid, the event fixtures' bodies match its
request schemas, and a property-based fuzzer finds no 5xx and no response outside the document."""

import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml
from openapi_spec_validator import validate

from conftest import ROOT, token

DOCUMENT = yaml.safe_load(open(os.path.join(ROOT, "openapi.yaml")))


def operation(route_key):
    method, path = route_key.split(" ", 1)
    return DOCUMENT["paths"][path][method.lower()]


def schema(ref_holder):
    """A schema of the document, with its `$ref`s resolvable against the whole document."""
    return {**DOCUMENT, **ref_holder}


def test_the_document_is_valid_openapi_3_1():
    validate(DOCUMENT)


def test_every_fixture_body_matches_its_request_schema():
    checked = 0
    for path in glob.glob(os.path.join(ROOT, "events", "*.json")):
        event = json.load(open(path))
        if "routeKey" not in event or not event.get("body"):
            continue
        body_schema = operation(event["routeKey"])["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.validate(json.loads(event["body"]), schema(body_schema), cls=jsonschema.Draft202012Validator)
        checked += 1
    assert checked == 5


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(platform):
    admin = token("fuzz-admin", scope="orders orders:admin", ttl=3600)
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "st"), "run", os.path.join(ROOT, "openapi.yaml"),
            "--url", platform["api"],
            "--header", f"Authorization: Bearer {admin}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_schema_conformance,response_headers_conformance",
            "--max-examples", os.environ.get("FUZZ_EXAMPLES", "25"),
            "--phases", "examples,coverage,fuzzing",
            "--seed", "26112026",
            "--request-timeout", "10",
        ],
        capture_output=True, text=True, timeout=900,
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
