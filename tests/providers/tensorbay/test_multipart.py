"""The hand-built S3 form body: fields first, the file last, parsable by a real multipart parser."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from labelsync.providers.tensorbay.client import multipart_form


def test_form_fields_then_file_round_trip_through_a_parser() -> None:
    fields = {"policy": "eyJ4Ijox", "x-amz-signature": "abc", "key": "ds/0123", "Content-Type": ""}
    content_type, body = multipart_form(fields, b"\x00\x01binary\r\n--not-a-boundary")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    names = [p.get_param("name", header="content-disposition") for p in parts]
    assert names == ["policy", "x-amz-signature", "key", "Content-Type", "file"]
    assert [p.get_payload(decode=True) for p in parts[:4]] == [b"eyJ4Ijox", b"abc", b"ds/0123", b""]
    assert parts[-1].get_payload(decode=True) == b"\x00\x01binary\r\n--not-a-boundary"
    assert parts[-1].get_param("filename", header="content-disposition") == ""


def test_each_body_gets_its_own_boundary() -> None:
    assert multipart_form({}, b"x")[0] != multipart_form({}, b"x")[0]
