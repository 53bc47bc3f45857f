"""Loaded by schemathesis (SCHEMATHESIS_HOOKS): how to send a tus PATCH body, which its built-in
serializers do not know (application/offset+octet-stream is raw bytes)."""

import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):  # type: ignore[no-untyped-def]
    return {"data": serialize_binary(value)}
