"""S3 mode: the emulator's blockstore is a real S3 endpoint (moto's server in tests), as lakeFS on S3.

Physical addresses are ``s3://<bucket>/<key>`` and presigned URLs are boto3's, pointing at the S3 endpoint itself,
so clients move bytes directly to and from S3 the way they do against a lakeFS backed by S3 or MinIO.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import boto3
from botocore.config import Config

from perago.testing.lakefs.presign import EXPIRY_S


class S3BlobStore:
    """Blobs as S3 objects in one bucket (created if missing)."""

    def __init__(
        self, endpoint: str, bucket: str, access_key_id: str = "testing", secret_access_key: str = "testing"
    ) -> None:
        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self._uploads: dict[str, str] = {}  # upload id -> key (S3 needs both to complete or abort)
        self._lock = threading.Lock()
        existing = {b["Name"] for b in self.client.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            self.client.create_bucket(Bucket=bucket)

    def new_address(self, namespace: str) -> str:
        return f"s3://{self.bucket}/data/{uuid.uuid4().hex}"

    def _key(self, address: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not address.startswith(prefix):
            raise KeyError(address)
        return address[len(prefix) :]

    def put(self, address: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(address), Body=data)

    def get(self, address: str) -> bytes:
        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(address))["Body"].read()
        except self.client.exceptions.NoSuchKey as exc:
            raise KeyError(address) from exc
        return data

    def presign(self, address: str, upload: bool, now: float) -> tuple[str, int]:
        operation = "put_object" if upload else "get_object"
        url: str = self.client.generate_presigned_url(
            operation, Params={"Bucket": self.bucket, "Key": self._key(address)}, ExpiresIn=EXPIRY_S
        )
        return url, int(now) + EXPIRY_S

    # -- multipart: clients PUT parts to S3's own presigned part URLs ------------------------------------------------
    def create_upload(self, address: str) -> str:
        upload_id: str = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(address))["UploadId"]
        with self._lock:
            self._uploads[upload_id] = self._key(address)
        return upload_id

    def presign_part(self, address: str, upload_id: str, number: int) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(address), "UploadId": upload_id, "PartNumber": number}
        url: str = self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=EXPIRY_S)
        return url

    def put_part(self, upload_id: str, number: int, data: bytes) -> str:
        with self._lock:
            key = self._uploads[upload_id]
        etag: str = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
        return etag.strip('"')

    def complete_upload(self, upload_id: str, address: str, parts: list[tuple[int, str]]) -> tuple[str, int]:
        listed = [{"PartNumber": n, "ETag": f'"{etag.strip(chr(34))}"'} for n, etag in parts]
        answer = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self._key(address), UploadId=upload_id, MultipartUpload={"Parts": listed}
        )
        with self._lock:
            self._uploads.pop(upload_id, None)
        size = int(self.client.head_object(Bucket=self.bucket, Key=self._key(address))["ContentLength"])
        return str(answer["ETag"]).strip('"'), size

    def abort_upload(self, upload_id: str) -> None:
        with self._lock:
            key = self._uploads.pop(upload_id, None)
        if key is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
