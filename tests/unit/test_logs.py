"""No secret reaches a log line, whatever the code logged."""

from __future__ import annotations

import io
import json
import logging

from worker.logs import JsonLines, SecretMask


def logger_writing_to(stream: io.StringIO, *, as_json: bool) -> logging.Logger:
    logger = logging.getLogger(f"test-logs-{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretMask(["s3cr3t-key", "tok-123456"]))
    if as_json:
        handler.setFormatter(JsonLines())
    logger.addHandler(handler)
    return logger


def test_secrets_in_messages_and_arguments_are_masked():
    stream = io.StringIO()
    log = logger_writing_to(stream, as_json=False)
    log.warning("signing with %s for token tok-123456", "s3cr3t-key")
    assert stream.getvalue().strip() == "signing with ******** for token ********"


def test_secrets_in_tracebacks_are_masked_and_json_lines_parse():
    stream = io.StringIO()
    log = logger_writing_to(stream, as_json=True)
    try:
        raise RuntimeError("bad key s3cr3t-key")
    except RuntimeError:
        log.exception("provider call failed")
    line = json.loads(stream.getvalue())
    assert line["message"] == "provider call failed"
    assert "s3cr3t-key" not in stream.getvalue()
    assert "bad key ********" in line["error"]


def test_the_admin_servers_log_handlers_mask_secrets():
    import logging.config

    from worker.logs import uvicorn_config

    config = uvicorn_config(["tok-123456"], as_json=False)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    logging.getLogger("uvicorn.error").error("refused token tok-123456")
    assert "tok-123456" not in stream.getvalue()
    assert "refused token ********" in stream.getvalue()
