"""template.yaml as CloudFormation will receive it: expanded by the SAM translator, offline."""

import os
from pathlib import Path

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
# The parameters without a default, as a deployment would give them.
REQUIRED = {"JwtIssuer": "https://issuer.example.com/", "JwtAudience": "platform"}


class NoManagedPolicies:
    def load(self):
        return {}


def read():
    """template.yaml as written."""
    return yaml_parse((ROOT / "template.yaml").read_text())


def expand(source=None, **parameters):
    """(the template as written, its Resources after the transform) for these parameter values;
    template.yaml unless another source is given (the transform consumes it)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    source = source or read()
    source["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"  # as `sam package` leaves it
    return source, transform(source, {**REQUIRED, **parameters}, NoManagedPolicies())["Resources"]


if __name__ == "__main__":
    # usage: sam.py OUT.json — the expanded template, for the IAM gate (local/iam) to judge by.
    import json
    import sys

    source, resources = expand()
    with open(sys.argv[1], "w") as out:
        json.dump({"Parameters": source["Parameters"], "Resources": resources}, out)
