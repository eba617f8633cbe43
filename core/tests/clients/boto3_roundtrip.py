"""A third-party S3 client against Agora's embedded endpoint: boto3 (as the
AWS CLI uses it) must see exactly the keys, tags and ETags it wrote.
Endpoint, bucket and keys come from the environment; prints one JSON report."""
import json
import os

import boto3
from botocore.config import Config

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["ENDPOINT"],
    aws_access_key_id=os.environ["ACCESS_KEY"],
    aws_secret_access_key=os.environ["SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
)
bucket = os.environ["BUCKET"]
keys = ["plain.txt", "with space.txt", "plus+sign.txt", "percent%41.txt", "ünï/cødé.txt", "a&b=c?.txt", "dir/nested/x.bin"]
for key in keys:
    s3.put_object(Bucket=bucket, Key=key, Body=b"x", Tagging="split=train&note=a%20b")

listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
folders = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
paginated = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
    paginated += [o["Key"] for o in page.get("Contents", [])]
tags = s3.get_object_tagging(Bucket=bucket, Key="plus+sign.txt")["TagSet"]

upload = s3.create_multipart_upload(Bucket=bucket, Key="mp+1.bin")
part = s3.upload_part(Bucket=bucket, Key="mp+1.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"y" * 10)
uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
s3.complete_multipart_upload(
    Bucket=bucket, Key="mp+1.bin", UploadId=upload["UploadId"],
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
)
try:
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"z", IfNoneMatch="*")
    conditional = "overwritten"
except s3.exceptions.ClientError as error:
    conditional = error.response["Error"]["Code"]

s3.put_object(Bucket=bucket, Key="data/ranged.bin", Body=bytes(range(256)))
ranged = s3.get_object(Bucket=bucket, Key="data/ranged.bin", Range="bytes=10-19")["Body"].read()
s3.copy_object(Bucket=bucket, Key="copies/plus+sign copy.txt", CopySource={"Bucket": bucket, "Key": "plus+sign.txt"})
copied_tags = s3.get_object_tagging(Bucket=bucket, Key="copies/plus+sign copy.txt")["TagSet"]
deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a&b=c?.txt"}, {"Key": "percent%41.txt"}]})
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "ünï/cødé.txt"}, ExpiresIn=300)
import urllib.request
presigned_body = urllib.request.urlopen(url).read().decode()
try:
    s3.head_object(Bucket=bucket, Key="a&b=c?.txt")
    after_delete = "still there"
except s3.exceptions.ClientError as error:
    after_delete = error.response["Error"]["Code"]

print(json.dumps({
    "ranged": list(ranged),
    "copied_tags": sorted((t["Key"], t["Value"]) for t in copied_tags),
    "deleted": sorted(d["Key"] for d in deleted.get("Deleted", [])),
    "after_delete": after_delete,
    "presigned_body": presigned_body,
    "wrote": sorted(keys),
    "listed": sorted(listed),
    "paginated": sorted(paginated),
    "folders": sorted(p["Prefix"] for p in folders.get("CommonPrefixes", [])),
    "top_level": sorted(o["Key"] for o in folders.get("Contents", [])),
    "tags": sorted((t["Key"], t["Value"]) for t in tags),
    "uploads_in_progress": uploads,
    "multipart_etag": s3.head_object(Bucket=bucket, Key="mp+1.bin")["ETag"],
    "conditional": conditional,
}))
