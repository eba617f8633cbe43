"""S3 behaviour as AWS documents it, checked through boto3 against Agora's
embedded endpoint: ListObjects v1, UploadPartCopy, partNumber reads, date
preconditions, copy rules, error documents, presigned-URL limits, default
headers, bucket sub-resources, ranges and multipart listings.
Endpoint, bucket and keys come from the environment. Prints one JSON report:
{"passed": [names], "failed": [{"check", "got", "expected"}]}."""
import datetime
import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
bucket = os.environ["BUCKET"]
s3 = boto3.client(
    "s3",
    endpoint_url=ENDPOINT,
    aws_access_key_id=os.environ["ACCESS_KEY"],
    aws_secret_access_key=os.environ["SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
)
passed, failed = [], []


def check(name, got, expected):
    if got == expected:
        passed.append(name)
    else:
        failed.append({"check": name, "got": repr(got), "expected": repr(expected)})


def error_of(call):
    """The S3 error code (and the whole error response) a call ends with."""
    try:
        call()
        return "no error", {}
    except s3.exceptions.ClientError as error:
        return error.response["Error"]["Code"], error.response


def fetch(url, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# ListObjects (v1): markers, NextMarker with a delimiter, pagination.
for key in ["v1/a/1", "v1/a/2", "v1/b", "v1/c/1", "v1/d"]:
    s3.put_object(Bucket=bucket, Key=key, Body=b"v1")
seen = []
for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix="v1/", Delimiter="/", PaginationConfig={"PageSize": 2}):
    seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
check("list_objects v1 pages with a delimiter list each key and prefix once", sorted(seen), ["v1/a/", "v1/b", "v1/c/", "v1/d"])
flat = []
for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix="v1/", PaginationConfig={"PageSize": 2}):
    flat += [o["Key"] for o in page.get("Contents", [])]
check("list_objects v1 pages without a delimiter", flat, ["v1/a/1", "v1/a/2", "v1/b", "v1/c/1", "v1/d"])
after = s3.list_objects(Bucket=bucket, Prefix="v1/", Marker="v1/a/2")
check("list_objects v1 Marker", [o["Key"] for o in after["Contents"]], ["v1/b", "v1/c/1", "v1/d"])

# UploadPartCopy, as boto3's managed copy does for large objects.
source = bytes(range(256)) * 4096 * 6  # 6 MiB
s3.put_object(Bucket=bucket, Key="src/big.bin", Body=source)
upload = s3.create_multipart_upload(Bucket=bucket, Key="dst/big.bin")
first = s3.upload_part_copy(Bucket=bucket, Key="dst/big.bin", UploadId=upload["UploadId"], PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src/big.bin"}, CopySourceRange="bytes=0-5242879")
second = s3.upload_part_copy(Bucket=bucket, Key="dst/big.bin", UploadId=upload["UploadId"], PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "src/big.bin"}, CopySourceRange=f"bytes=5242880-{len(source) - 1}")
s3.complete_multipart_upload(Bucket=bucket, Key="dst/big.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": [
    {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
    {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
]})
check("upload_part_copy assembles the source's bytes", s3.get_object(Bucket=bucket, Key="dst/big.bin")["Body"].read() == source, True)
s3.copy({"Bucket": bucket, "Key": "src/big.bin"}, bucket, "dst/managed.bin",
        Config=boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
check("boto3's managed multipart copy", s3.get_object(Bucket=bucket, Key="dst/managed.bin")["Body"].read() == source, True)
code, _ = error_of(lambda: s3.upload_part_copy(Bucket=bucket, Key="dst/x", UploadId=upload["UploadId"], PartNumber=1,
                                                 CopySource={"Bucket": bucket, "Key": "src/big.bin"}))
check("upload_part_copy to a completed upload", code, "NoSuchUpload")

# partNumber on GET and HEAD.
part2 = s3.get_object(Bucket=bucket, Key="dst/big.bin", PartNumber=2)
check("GET partNumber=2 returns that part", part2["Body"].read() == source[5242880:], True)
check("GET partNumber answers 206", part2["ResponseMetadata"]["HTTPStatusCode"], 206)
check("GET partNumber sends the parts count", part2.get("PartsCount"), 2)
head1 = s3.head_object(Bucket=bucket, Key="dst/big.bin", PartNumber=1)
check("HEAD partNumber=1 gives the part's length", head1["ContentLength"], 5242880)
check("HEAD without partNumber sends no parts count", "PartsCount" in s3.head_object(Bucket=bucket, Key="dst/big.bin"), False)
code, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="dst/big.bin", PartNumber=3))
check("a part number past the last part", code, "InvalidPartNumber")

# If-Modified-Since / If-Unmodified-Since on GET, HEAD and copy sources.
s3.put_object(Bucket=bucket, Key="dated.txt", Body=b"dated")
modified = s3.head_object(Bucket=bucket, Key="dated.txt")["LastModified"]
later, earlier = modified + datetime.timedelta(hours=1), modified - datetime.timedelta(hours=1)
code, response = error_of(lambda: s3.get_object(Bucket=bucket, Key="dated.txt", IfModifiedSince=later))
check("GET If-Modified-Since after the change: 304", code, "304")
check("a 304 carries the ETag", response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("etag", "").strip('"') != "", True)
check("a 304 carries Last-Modified", "last-modified" in response.get("ResponseMetadata", {}).get("HTTPHeaders", {}), True)
check("GET If-Modified-Since before the change: 200",
      s3.get_object(Bucket=bucket, Key="dated.txt", IfModifiedSince=earlier)["ResponseMetadata"]["HTTPStatusCode"], 200)
code, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="dated.txt", IfUnmodifiedSince=earlier))
check("HEAD If-Unmodified-Since before the change: 412", code, "412")
code, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="dated copy.txt", CopySource={"Bucket": bucket, "Key": "dated.txt"},
                                          CopySourceIfUnmodifiedSince=earlier))
check("copy-source If-Unmodified-Since", code, "PreconditionFailed")
code, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="dated copy.txt", CopySource={"Bucket": bucket, "Key": "dated.txt"},
                                          CopySourceIfModifiedSince=later))
check("copy-source If-Modified-Since", code, "PreconditionFailed")

# CopyObject rules.
code, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="dated.txt", CopySource={"Bucket": bucket, "Key": "dated.txt"}))
check("copy onto itself without REPLACE", code, "InvalidRequest")
s3.copy_object(Bucket=bucket, Key="dated.txt", CopySource={"Bucket": bucket, "Key": "dated.txt"},
               MetadataDirective="REPLACE", ContentType="text/plain", Metadata={"owner": "ann"})
head = s3.head_object(Bucket=bucket, Key="dated.txt")
check("copy onto itself with REPLACE changes the metadata", (head["ContentType"], head["Metadata"]), ("text/plain", {"owner": "ann"}))
code, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="other.txt", CopySource={"Bucket": bucket, "Key": "dated.txt"},
                                          MetadataDirective="MERGE"))
check("an unknown metadata directive", code, "InvalidArgument")

# Error documents and request ids.
code, response = error_of(lambda: s3.get_object(Bucket=bucket, Key="no/such/key"))
check("a missing key", code, "NoSuchKey")
check("errors carry a Message", bool(response["Error"].get("Message")), True)
check("errors carry the Resource", response["Error"].get("Resource"), f"/{bucket}/no/such/key")
check("errors carry a RequestId", bool(response["Error"].get("RequestId") or response.get("ResponseMetadata", {}).get("RequestId")), True)
check("responses carry x-amz-request-id", bool(s3.head_object(Bucket=bucket, Key="dated.txt")["ResponseMetadata"].get("RequestId")), True)

# Presigned URLs live at most 7 days.
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dated.txt"}, ExpiresIn=604801)
status, _, body = fetch(url)
check("X-Amz-Expires above 604800 is refused", (status, b"AuthorizationQueryParametersError" in body), (400, True))
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dated.txt"}, ExpiresIn=604800)
check("X-Amz-Expires of exactly 7 days works", fetch(url)[0], 200)

# Default headers.
plain = s3.get_object(Bucket=bucket, Key="v1/b")
check("the default content type", plain["ContentType"], "binary/octet-stream")
check("no x-amz-tagging-count without tags", "TagCount" in plain, False)
s3.put_object(Bucket=bucket, Key="tagged.txt", Body=b"t", Tagging="a=1&b=2")
check("x-amz-tagging-count with tags", s3.get_object(Bucket=bucket, Key="tagged.txt").get("TagCount"), 2)
expires = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
s3.put_object(Bucket=bucket, Key="expiring.txt", Body=b"e", Expires=expires)
check("Expires is stored and returned", s3.head_object(Bucket=bucket, Key="expiring.txt").get("ExpiresString"), "Wed, 02 Jan 2030 03:04:05 GMT")

# Bucket sub-resources answered as AWS does when nothing is configured.
versioning = s3.get_bucket_versioning(Bucket=bucket)
check("GetBucketVersioning of a bucket never versioned", "Status" in versioning, False)
code, _ = error_of(lambda: s3.get_bucket_cors(Bucket=bucket))
check("GetBucketCors without a configuration", code, "NoSuchCORSConfiguration")

# Ranges: malformed is the whole object, unsatisfiable is 416 with bytes */N.
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v1/b"}, ExpiresIn=300)
status, _, body = fetch(url, headers={"Range": "bytes=abc"})
check("a malformed Range serves the whole object", (status, body), (200, b"v1"))
status, headers, _ = fetch(url, headers={"Range": "bytes=100-200"})
check("an unsatisfiable Range", (status, headers.get("Content-Range")), (416, "bytes */2"))

# CompleteMultipartUpload without parts; multipart listings with a delimiter.
upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu/a/1")
code, _ = error_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key="mpu/a/1", UploadId=upload["UploadId"], MultipartUpload={"Parts": []}))
check("Complete with no parts", code, "MalformedXML")
s3.create_multipart_upload(Bucket=bucket, Key="mpu/a/2")
s3.create_multipart_upload(Bucket=bucket, Key="mpu/b")
listing = s3.list_multipart_uploads(Bucket=bucket, Prefix="mpu/", Delimiter="/")
check("ListMultipartUploads rolls keys up by the delimiter",
      ([u["Key"] for u in listing.get("Uploads", [])], [p["Prefix"] for p in listing.get("CommonPrefixes", [])]), (["mpu/b"], ["mpu/a/"]))
after_marker = s3.list_multipart_uploads(Bucket=bucket, Prefix="mpu/", KeyMarker="mpu/a/1")
check("ListMultipartUploads key-marker excludes that key", [u["Key"] for u in after_marker.get("Uploads", [])], ["mpu/a/2", "mpu/b"])
keys = []
for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix="mpu/", PaginationConfig={"PageSize": 1}):
    keys += [u["Key"] for u in page.get("Uploads", [])]
check("ListMultipartUploads pages", keys, ["mpu/a/1", "mpu/a/2", "mpu/b"])

# Additional checksums: boto3 sends a CRC32 with every PUT unless told not
# to, and checks what comes back with x-amz-checksum-mode: ENABLED.
import base64
import hashlib
import zlib


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32_b64(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


put = s3.put_object(Bucket=bucket, Key="ck/crc32", Body=b"checksum me", ChecksumAlgorithm="CRC32")
check("PutObject answers with the CRC32 it stored", put.get("ChecksumCRC32"), crc32_b64(b"checksum me"))
head = s3.head_object(Bucket=bucket, Key="ck/crc32", ChecksumMode="ENABLED")
check("HEAD with checksum mode returns the CRC32 and its type", (head.get("ChecksumCRC32"), head.get("ChecksumType")),
      (crc32_b64(b"checksum me"), "FULL_OBJECT"))
got = s3.get_object(Bucket=bucket, Key="ck/crc32", ChecksumMode="ENABLED")
check("GET with checksum mode returns the CRC32 (and boto3 checked the bytes)", (got.get("ChecksumCRC32"), got["Body"].read()),
      (crc32_b64(b"checksum me"), b"checksum me"))
ranged = s3.get_object(Bucket=bucket, Key="ck/crc32", ChecksumMode="ENABLED", Range="bytes=0-3")
check("a ranged GET carries no whole-object checksum", ranged.get("ChecksumCRC32"), None)
put = s3.put_object(Bucket=bucket, Key="ck/sha1", Body=b"sha one", ChecksumSHA1=b64(hashlib.sha1(b"sha one").digest()))
check("a declared SHA-1 that matches is stored", put.get("ChecksumSHA1"), b64(hashlib.sha1(b"sha one").digest()))
code, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="ck/bad", Body=b"these bytes", ChecksumSHA256=b64(hashlib.sha256(b"other").digest())))
check("a SHA-256 that does not match the bytes is BadDigest", code, "BadDigest")
code, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="ck/bad"))
check("the refused object was not stored", code, "404")

part_one, part_two = b"1" * (5 * 1024 * 1024), b"two"
upload = s3.create_multipart_upload(Bucket=bucket, Key="ck/multi", ChecksumAlgorithm="SHA256")
check("CreateMultipartUpload echoes the algorithm", upload.get("ChecksumAlgorithm"), "SHA256")
listed = []
for number, data in [(1, part_one), (2, part_two)]:
    answer = s3.upload_part(Bucket=bucket, Key="ck/multi", UploadId=upload["UploadId"], PartNumber=number, Body=data, ChecksumAlgorithm="SHA256")
    listed.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer.get("ChecksumSHA256")})
check("UploadPart answers with the part's SHA-256", listed[1]["ChecksumSHA256"], b64(hashlib.sha256(part_two).digest()))
parts = s3.list_parts(Bucket=bucket, Key="ck/multi", UploadId=upload["UploadId"])["Parts"]
check("ListParts lists each part's SHA-256", [p.get("ChecksumSHA256") for p in parts], [p["ChecksumSHA256"] for p in listed])
wrong = [dict(listed[0], ChecksumSHA256=b64(hashlib.sha256(b"no").digest())), listed[1]]
code, _ = error_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key="ck/multi", UploadId=upload["UploadId"], MultipartUpload={"Parts": wrong}))
check("a Complete listing a part's wrong checksum is InvalidPart", code, "InvalidPart")
done = s3.complete_multipart_upload(Bucket=bucket, Key="ck/multi", UploadId=upload["UploadId"], MultipartUpload={"Parts": listed})
composite = b64(hashlib.sha256(hashlib.sha256(part_one).digest() + hashlib.sha256(part_two).digest()).digest()) + "-2"
check("the multipart object's SHA-256 is composite: of the parts' checksums, -N", done.get("ChecksumSHA256"), composite)
head = s3.head_object(Bucket=bucket, Key="ck/multi", ChecksumMode="ENABLED")
check("HEAD returns the composite checksum and its type", (head.get("ChecksumSHA256"), head.get("ChecksumType")), (composite, "COMPOSITE"))
code, _ = error_of(lambda: s3.create_multipart_upload(Bucket=bucket, Key="ck/x", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT"))
check("a FULL_OBJECT SHA-256 upload is refused", code, "InvalidRequest")

# Virtual-hosted-style requests get a clear error and create nothing: a
# signed, empty PUT to {bucket}.localhost/file.txt.
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

host = ENDPOINT.split("//", 1)[1]
virtual = f"{bucket}.localhost:{host.rsplit(':', 1)[1]}"
request = AWSRequest(method="PUT", url=f"http://{host}/file.txt", data=b"", headers={"Host": virtual})
S3SigV4Auth(Credentials(os.environ["ACCESS_KEY"], os.environ["SECRET_KEY"]), "s3", "us-east-1").add_auth(request)
status, _, body = fetch(f"http://{host}/file.txt", method="PUT", headers=dict(request.headers.items()))
check("a virtual-hosted-style request is refused clearly", (status, b"path-style" in body), (400, True))
check("no bucket was created from the key", "file.txt" in [b["Name"] for b in s3.list_buckets()["Buckets"]], False)

print(json.dumps({"passed": passed, "failed": failed}))
