"""Saves moto's state to a file, and loads it back into a fresh moto.

Covers what the platform keeps there: SQS queues (attributes, redrive policy, waiting messages) and
S3 buckets (objects). DynamoDB's tables need no snapshot: dynoxide keeps them in its SQLite file.
Run against AWS_ENDPOINT_URL.

usage: snapshot.py save|load FILE
"""

import base64
import json
import os
import sys

import boto3

endpoint = os.environ["AWS_ENDPOINT_URL"]
session = boto3.session.Session(region_name=os.environ.get("AWS_REGION", "us-east-1"))
sqs = session.client("sqs", endpoint_url=endpoint)
s3 = session.client("s3", endpoint_url=endpoint)

QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds")


def save():
    queues = []
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
            if not batch:
                break
            messages.extend(m["Body"] for m in batch)
        redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
        kept = {k: v for k, v in attributes.items() if k in QUEUE_ATTRIBUTES}
        queues.append({"name": url.rsplit("/", 1)[1], "attributes": kept, "redrive": redrive, "messages": messages})

    buckets = []
    for bucket in s3.list_buckets().get("Buckets", []):
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                obj = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])
                body = base64.b64encode(obj["Body"].read()).decode()
                objects.append({"key": entry["Key"], "contentType": obj.get("ContentType"), "body": body})
        buckets.append({"name": bucket["Name"], "objects": objects})
    return {"queues": queues, "buckets": buckets}


def load(state):
    # Dead-letter queues first: a redrive policy names its target by ARN.
    for queue in sorted(state["queues"], key=lambda q: q["redrive"] is not None):
        attributes = dict(queue["attributes"])
        if queue["redrive"]:
            attributes["RedrivePolicy"] = json.dumps(queue["redrive"])
        url = sqs.create_queue(QueueName=queue["name"], Attributes=attributes)["QueueUrl"]
        for body in queue["messages"]:
            sqs.send_message(QueueUrl=url, MessageBody=body)

    for bucket in state["buckets"]:
        s3.create_bucket(Bucket=bucket["name"])
        for obj in bucket["objects"]:
            extra = {"ContentType": obj["contentType"]} if obj.get("contentType") else {}
            s3.put_object(Bucket=bucket["name"], Key=obj["key"], Body=base64.b64decode(obj["body"]), **extra)


if __name__ == "__main__":
    command, path = sys.argv[1], sys.argv[2]
    if command == "save":
        state = save()
        with open(path + ".tmp", "w") as f:
            json.dump(state, f)
        os.replace(path + ".tmp", path)
        messages = sum(len(q["messages"]) for q in state["queues"])
        objects = sum(len(b["objects"]) for b in state["buckets"])
        print(f"saved {messages} queued messages and {objects} objects to {path}")
    elif command == "load":
        with open(path) as f:
            load(json.load(f))
        print(f"restored the emulator from {path}")
    else:
        sys.exit(__doc__)
