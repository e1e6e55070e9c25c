"""What the template tests share: the CDK app's synthesized template."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from sam import ROOT


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    # scripts/test hands over the synth it made for the IAM gate (CDK_OUT), from the same sources.
    out = os.environ.get("CDK_OUT")
    if out is None:
        out = tmp_path_factory.mktemp("cdk.out")
        subprocess.run([str(ROOT / "scripts" / "cdk-synth"), str(out)], check=True)
    return json.loads((Path(out) / "OrdersPlatform.template.json").read_text())
