"""The hand-built S3 form body: fields first, the file last, parsable by a real multipart parser."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from labelsync.providers.tensorbay.form import FormEncoder, multipart_form


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


def _same_but_boundary(got: tuple[str, bytes], want: tuple[str, bytes], boundary: str) -> bool:
    theirs = want[0].split("boundary=", 1)[1]
    return got == (want[0].replace(theirs, boundary), want[1].replace(theirs.encode(), boundary.encode()))


def test_the_form_encoder_builds_the_bodies_multipart_form_builds() -> None:
    fields = {"policy": "eyJ4Ijox", "x-amz-signature": "abc", "success_action_status": "200"}
    encoder = FormEncoder(fields)
    for key, data in [("ds/0123", b"\x00\x01binary\r\n--not-a-boundary"), ("ds/4567", b""), ("ds/89ab", bytes(range(256)) * 64)]:
        assert _same_but_boundary(encoder.encode(key, data), multipart_form({**fields, "key": key, "Content-Type": ""}, data), encoder.boundary)


def test_a_file_holding_the_encoders_boundary_gets_a_body_of_its_own() -> None:
    fields = {"policy": "p"}
    encoder = FormEncoder(fields)
    data = b"before\r\n--" + encoder.boundary.encode() + b"--\r\nafter"
    content_type, body = encoder.encode("ds/0123", data)
    assert encoder.boundary not in content_type
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert list(message.iter_parts())[-1].get_payload(decode=True) == data


def test_policy_fields_that_name_the_key_keep_multipart_forms_field_order() -> None:
    fields = {"key": "placeholder", "policy": "p"}
    content_type, body = FormEncoder(fields).encode("ds/0123", b"x")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = list(message.iter_parts())
    assert [p.get_param("name", header="content-disposition") for p in parts] == ["key", "policy", "Content-Type", "file"]
    assert parts[0].get_payload(decode=True) == b"ds/0123"
