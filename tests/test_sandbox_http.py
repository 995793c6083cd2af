"""The sandbox server's HTTP: one connection serves call after call, as AWS's endpoints do."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ddbexport.sandbox.server import free_port, serve

REGION = "eu-west-1"


def _signed(service: str) -> dict[str, str]:
    """Headers of a request signed for ``service`` (the sandbox routes by them, checks nothing)."""
    return {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=sandbox/20260101/{REGION}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        ),
        "Content-Type": "application/x-amz-json-1.0",
    }


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with serve(free_port()) as (url, _):
        yield url


def _connection(endpoint: str) -> http.client.HTTPConnection:
    host, port = endpoint.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _list_tables(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    headers = {**_signed("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    connection.request("POST", "/", body=b"{}", headers=headers)
    return connection.getresponse()


def test_one_connection_serves_request_after_request(endpoint: str) -> None:
    connection = _connection(endpoint)
    try:
        for _ in range(3):
            response = _list_tables(connection)
            assert response.status == 200
            assert json.loads(response.read()) == {"TableNames": []}
            assert response.getheader("Connection") != "close"
            assert not response.will_close
        local = connection.sock.getsockname()  # the same socket all along
        _list_tables(connection).read()
        assert connection.sock.getsockname() == local
    finally:
        connection.close()


def test_a_body_the_service_leaves_unread_does_not_spill_into_the_next_request(
    endpoint: str,
) -> None:
    connection = _connection(endpoint)
    try:
        # ListBuckets has no input: its body is never read by the service.
        connection.request("GET", "/", body=b"x" * 5000, headers=_signed("s3"))
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        response = _list_tables(connection)
        assert json.loads(response.read()) == {"TableNames": []}
    finally:
        connection.close()


def test_head_and_chunked_requests_are_answered(endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    s3.create_bucket(Bucket="http-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="http-bucket", Key="a.json", Body=b'{"a": 1}')
    head = s3.head_object(Bucket="http-bucket", Key="a.json")
    assert head["ContentLength"] == 8
    # The next call on the same pooled connection still gets its own answer.
    assert s3.get_object(Bucket="http-bucket", Key="a.json")["Body"].read() == b'{"a": 1}'
    # A chunked upload: werkzeug's own handling, which closes the connection after it.
    connection = _connection(endpoint)
    try:
        connection.putrequest("PUT", "/http-bucket/b.txt")
        for name, value in {**_signed("s3"), "Transfer-Encoding": "chunked"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(b"5\r\nhello\r\n0\r\n\r\n")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.will_close
    finally:
        connection.close()
    assert s3.get_object(Bucket="http-bucket", Key="b.txt")["Body"].read() == b"hello"


def test_a_connection_closed_mid_request_leaves_the_server_serving(endpoint: str) -> None:
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
    connection = _connection(endpoint)
    try:
        assert _list_tables(connection).status == 200
    finally:
        connection.close()


def _raw_exchange(endpoint: str, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection and read until the server has answered it."""
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(request)
        received = b""
        while b'{"TableNames"' not in received and b"</" not in received:
            chunk = raw.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def test_headers_are_read_as_http_client_reads_them(endpoint: str) -> None:
    """Expect: 100-continue is answered once; a folded header line still parses; metadata
    names with underscores keep their spelling."""
    body = b"{}"
    head = "".join(f"{name}: {value}\r\n" for name, value in _signed("dynamodb").items())
    request = (
        f"POST / HTTP/1.1\r\nHost: sandbox\r\n{head}"
        "X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
        "X-Folded: first\r\n second\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer = _raw_exchange(endpoint, request + body)
    assert answer.count(b"100 Continue") == 1
    assert b"HTTP/1.1 200" in answer
    assert answer.endswith(b'{"TableNames": []}')

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    s3.create_bucket(Bucket="meta-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="meta-bucket", Key="k", Body=b"x", Metadata={"my_key": "v", "b": "w"})
    assert s3.head_object(Bucket="meta-bucket", Key="k")["Metadata"] == {"my_key": "v", "b": "w"}


def test_too_many_headers_are_refused(endpoint: str) -> None:
    lines = "".join(f"X-H{index}: v\r\n" for index in range(150))
    answer = _raw_exchange(endpoint, f"GET / HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 431")


def test_errors_and_headers_are_moto_s_own(endpoint: str) -> None:
    """Served without Flask around moto's handlers, answers are as moto's server gives them:
    its errors, its CORS header, and the moto API beside the services."""
    common: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "sandbox",
        "aws_secret_access_key": "sandbox",
    }
    s3 = boto3.client("s3", **common)
    s3.create_bucket(Bucket="err-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="err-bucket", Key="nothing")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as no_table:
        boto3.client("dynamodb", **common).describe_table(TableName="nothing")
    assert no_table.value.response["Error"]["Code"] == "ResourceNotFoundException"
    listed = s3.list_buckets()["ResponseMetadata"]["HTTPHeaders"]
    assert listed["access-control-allow-origin"] == "*"
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=10) as answer:
        assert answer.status == 200
        assert b"<html" in answer.read().lower()


def test_a_handler_s_client_error_is_answered_400_as_moto_s_view_answers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto's view turns a botocore ClientError raised by a handler into a 400 with its message;
    served without Flask, the answer is the same (not a server error)."""
    from werkzeug.test import EnvironBuilder  # noqa: PLC0415

    from ddbexport.sandbox import keepalive  # noqa: PLC0415

    class Refusing:
        @staticmethod
        def callback(*_args: Any) -> Any:
            raise ClientError({"Error": {"Code": "Nope", "Message": "refused here"}}, "Op")

    monkeypatch.setattr(keepalive, "_view_for", lambda _app, _environ: Refusing())
    headers = {**_signed("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    environ = EnvironBuilder(method="POST", path="/", headers=headers).get_environ()
    answered: list[str] = []
    body = b"".join(
        keepalive._MotoWithoutFlask()(environ, lambda status, _headers: answered.append(status))
    )
    assert answered == ["400 BAD REQUEST"]
    assert body == b"refused here"
