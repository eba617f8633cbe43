"""The S3 command-line clients people point at a store, against Agora's
embedded endpoint: the AWS CLI (v1, path-style), rclone (provider Other) and
s3cmd (SigV4, path-style). Each uploads small and multipart files, lists,
copies, tags, downloads and deletes; what landed is checked through boto3.
Endpoint, bucket, keys and the aws executable come from the environment.
Prints one JSON report: {"passed": [names], "failed": [{"check", "got", "expected"}]}."""
import hashlib
import json
import os
import subprocess
import tempfile

import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
HOST = ENDPOINT.split("//", 1)[1].rstrip("/")
bucket = os.environ["BUCKET"]
ACCESS, SECRET = os.environ["ACCESS_KEY"], os.environ["SECRET_KEY"]
s3 = boto3.client(
    "s3",
    endpoint_url=ENDPOINT,
    aws_access_key_id=ACCESS,
    aws_secret_access_key=SECRET,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
)
passed, failed = [], []
work = tempfile.mkdtemp(prefix="agora-cli-")


last_output = ""


def check(name, got, expected):
    """Records a check; a failure carries the end of the client's output."""
    if got == expected:
        passed.append(name)
    else:
        failed.append({"check": name, "got": repr(got), "expected": repr(expected), "output": last_output[-2000:]})


def run(args, env=None, without=()):
    """Runs a client with `env` added and the variables `without` removed;
    returns (exit code, stdout + stderr)."""
    global last_output
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in without}
    done = subprocess.run(args, capture_output=True, text=True, env=environment, timeout=300)
    last_output = done.stdout + done.stderr
    return done.returncode, last_output


def stored(key):
    """The bytes stored under key, or None."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.ClientError:
        return None


def read(path):
    """A downloaded file's bytes, or None when the client wrote none."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(name, data):
    path = os.path.join(work, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


small = b"a small file\n" * 10
big = hashlib.sha256(b"seed").digest() * (21 * 1024 * 1024 // 32)  # 21 MiB: multipart for every client below
small_path, big_path = write("small.txt", small), write("big.bin", big)

# --- AWS CLI ---------------------------------------------------------------
config = write("aws-config", b"[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
aws_env = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_CONFIG_FILE": config,
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "none")}


def aws(*args):
    return run([os.environ["AWS_CLI"], "--endpoint-url", ENDPOINT, *args], aws_env)


code, out = aws("s3", "cp", small_path, f"s3://{bucket}/cli/small.txt")
check("aws s3 cp uploads a small file", (code, stored("cli/small.txt")), (0, small))
code, out = aws("s3", "cp", big_path, f"s3://{bucket}/cli/big.bin")
head = s3.head_object(Bucket=bucket, Key="cli/big.bin")
check("aws s3 cp uploads 21 MiB in parts", (code, head["ContentLength"], head["ETag"].strip('"').endswith("-3")), (0, len(big), True))
code, out = aws("s3", "cp", f"s3://{bucket}/cli/big.bin", f"s3://{bucket}/cli/big-copy.bin")
check("aws s3 cp copies inside the store (UploadPartCopy)", (code, stored("cli/big-copy.bin") == big), (0, True))
code, out = aws("s3", "ls", f"s3://{bucket}/cli/")
check("aws s3 ls lists the three objects", (code, sorted(line.split()[-1] for line in out.splitlines() if line.strip())),
      (0, ["big-copy.bin", "big.bin", "small.txt"]))
sync_dir = os.path.dirname(write("sync/one.txt", b"one"))
write("sync/sub/two.txt", b"two")
code, out = aws("s3", "sync", sync_dir, f"s3://{bucket}/cli/sync/")
check("aws s3 sync uploads a tree", (code, stored("cli/sync/one.txt"), stored("cli/sync/sub/two.txt")), (0, b"one", b"two"))
code, out = aws("s3", "sync", sync_dir, f"s3://{bucket}/cli/sync/")
check("aws s3 sync again uploads nothing", (code, out.strip()), (0, ""))
code, out = aws("s3api", "put-object-tagging", "--bucket", bucket, "--key", "cli/small.txt",
                "--tagging", "TagSet=[{Key=split,Value=train}]")
tags = s3.get_object_tagging(Bucket=bucket, Key="cli/small.txt")["TagSet"]
check("aws s3api put-object-tagging sets the tags", (code, tags), (0, [{"Key": "split", "Value": "train"}]))
code, out = aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "cli/small.txt")
check("aws s3api get-object-tagging reads them", (code, json.loads(out or "{}").get("TagSet")), (0, [{"Key": "split", "Value": "train"}]))
download = os.path.join(work, "downloaded.bin")
code, out = aws("s3", "cp", f"s3://{bucket}/cli/big.bin", download)
check("aws s3 cp downloads the multipart file intact", (code, read(download) == big), (0, True))
code, out = aws("s3", "rm", "--recursive", f"s3://{bucket}/cli/sync/")
check("aws s3 rm --recursive deletes the tree", (code, stored("cli/sync/one.txt"), stored("cli/sync/sub/two.txt")), (0, None, None))

# --- rclone -----------------------------------------------------------------
rclone_env = {
    "RCLONE_CONFIG_AGORA_TYPE": "s3",
    "RCLONE_CONFIG_AGORA_PROVIDER": "Other",
    "RCLONE_CONFIG_AGORA_ACCESS_KEY_ID": ACCESS,
    "RCLONE_CONFIG_AGORA_SECRET_ACCESS_KEY": SECRET,
    "RCLONE_CONFIG_AGORA_ENDPOINT": ENDPOINT,
    "RCLONE_CONFIG_AGORA_REGION": "us-east-1",
    "RCLONE_CONFIG_AGORA_FORCE_PATH_STYLE": "true",
    "RCLONE_CONFIG": write("rclone.conf", b""),  # every remote comes from the variables
}


def rclone(*args):
    # rclone 1.60's AWS SDK fails on an AWS_CA_BUNDLE ("unsupported
    # transport"), which some machines set for other tools; the endpoint is
    # plain HTTP anyway.
    return run(["rclone", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", *args], rclone_env, without=("AWS_CA_BUNDLE",))


tree = os.path.dirname(write("rtree/small.txt", small))
write("rtree/deep/big.bin", big)
code, out = rclone("copy", tree, f"agora:{bucket}/rclone")
check("rclone copy uploads a tree (the large file in parts)", (code, stored("rclone/small.txt"), stored("rclone/deep/big.bin") == big),
      (0, small, True))
code, out = rclone("check", tree, f"agora:{bucket}/rclone")
check("rclone check finds every file identical (sizes and MD5s)", code, 0)
code, out = rclone("lsf", "-R", f"agora:{bucket}/rclone")
check("rclone lsf lists the tree", (code, sorted(out.split())), (0, ["deep/", "deep/big.bin", "small.txt"]))
code, out = rclone("copyto", f"agora:{bucket}/rclone/deep/big.bin", os.path.join(work, "rclone-big.bin"))
check("rclone downloads the large file intact", (code, read(os.path.join(work, "rclone-big.bin")) == big), (0, True))
code, out = rclone("purge", f"agora:{bucket}/rclone")
check("rclone purge deletes the tree", (code, stored("rclone/small.txt"), stored("rclone/deep/big.bin")), (0, None, None))

# --- s3cmd ------------------------------------------------------------------
s3cfg = write("s3cfg", (
    "[default]\n"
    f"access_key = {ACCESS}\nsecret_key = {SECRET}\n"
    f"host_base = {HOST}\nhost_bucket = {HOST}\n"
    "bucket_location = us-east-1\nuse_https = False\nsignature_v2 = False\n"
).encode())


def s3cmd(*args):
    return run(["s3cmd", "-c", s3cfg, "--no-progress", *args])


code, out = s3cmd("put", small_path, f"s3://{bucket}/s3cmd/small.txt")
check("s3cmd put uploads a small file", (code, stored("s3cmd/small.txt")), (0, small))
code, out = s3cmd("put", "--multipart-chunk-size-mb=5", big_path, f"s3://{bucket}/s3cmd/big.bin")
head = s3.head_object(Bucket=bucket, Key="s3cmd/big.bin")
check("s3cmd put uploads 21 MiB in parts", (code, head["ContentLength"], head["ETag"].strip('"').endswith("-5")), (0, len(big), True))
code, out = s3cmd("ls", f"s3://{bucket}/s3cmd/")
check("s3cmd ls lists both", (code, sorted(line.split()[-1].rsplit("/", 1)[-1] for line in out.splitlines() if "s3://" in line)),
      (0, ["big.bin", "small.txt"]))
code, out = s3cmd("get", "--force", f"s3://{bucket}/s3cmd/big.bin", os.path.join(work, "s3cmd-big.bin"))
check("s3cmd get downloads the large file intact", (code, read(os.path.join(work, "s3cmd-big.bin")) == big), (0, True))
code, out = s3cmd("info", f"s3://{bucket}/s3cmd/small.txt")
check("s3cmd info shows the MD5", (code, hashlib.md5(small).hexdigest() in out), (0, True))
code, out = s3cmd("del", "--recursive", "--force", f"s3://{bucket}/s3cmd/")
check("s3cmd del --recursive deletes both", (code, stored("s3cmd/small.txt"), stored("s3cmd/big.bin")), (0, None, None))

print(json.dumps({"passed": passed, "failed": failed}))
