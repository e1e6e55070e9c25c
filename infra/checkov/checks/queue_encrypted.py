"""Every SQS queue encrypted at rest: by SSE-SQS or a KMS key (checkov's own CKV_AWS_27 knows only
KMS keys, so it is skipped in favour of this)."""

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class QueueEncryptedAtRest(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Ensure the SQS queue is encrypted at rest (SSE-SQS or KMS)",
            id="CKV_PLATFORM_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SQS::Queue"],
        )

    def scan_resource_conf(self, conf):
        properties = conf.get("Properties") or {}
        if properties.get("KmsMasterKeyId") or properties.get("SqsManagedSseEnabled") in (True, "true"):
            return CheckResult.PASSED
        return CheckResult.FAILED


check = QueueEncryptedAtRest()
