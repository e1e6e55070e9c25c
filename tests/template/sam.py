"""template.yaml as CloudFormation will receive it: expanded by the SAM translator, offline."""

import copy
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


def transformed(source=None, **parameters):
    """(the template as written, the whole template after the transform) for these parameter
    values; template.yaml unless another source is given (the transform consumes it)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    source = source or read()
    source["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"  # as `sam package` leaves it
    return source, transform(copy.deepcopy(source), {**REQUIRED, **parameters}, NoManagedPolicies())


def expand(source=None, **parameters):
    """(the template as written, its Resources after the transform), as `transformed`."""
    source, template = transformed(source, **parameters)
    return source, template["Resources"]


if __name__ == "__main__":
    # usage: sam.py OUT.json — the expanded template as CloudFormation receives it: the IAM gate
    # (local/iam) judges by it, cfn-lint and the dependency graph check it.
    import json
    import sys

    _, template = transformed()
    with open(sys.argv[1], "w") as out:
        json.dump(template, out)
