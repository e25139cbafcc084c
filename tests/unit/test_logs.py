"""No secret reaches a log line, whatever the code logged."""

from __future__ import annotations

import io
import json
import logging
import os

from worker.logs import JsonLines, SecretMask, secret_source
from worker.runtime import build_runtime
from worker.settings import Settings


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


def subscribers_file(path, tokens: list[str]):
    """A webhooks file with one subscriber per token, and a modification time of its own."""
    path.write_text("".join(
        f'[subscribers.s{n}]\nurl = "https://hooks.example.com/in?token={token}"\n'
        f'secret = "whsec-{n}-0123456789"\n'
        for n, token in enumerate(tokens)))
    stamp = path.stat().st_mtime_ns + 10**9 * (len(tokens) + 1)
    os.utime(path, ns=(stamp, stamp))
    return path


def masked_by(mask: SecretMask, text: str) -> str:
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, text,
                               None, None)
    mask.filter(record)
    return record.getMessage()


def test_webhook_secrets_join_the_mask_and_follow_the_subscribers_file(tmp_path):
    webhooks_file = subscribers_file(tmp_path / "webhooks.toml", ["first-token-111"])
    rt = build_runtime(Settings(webhooks_file=str(webhooks_file), admin_token="admin-tok-42"),
                       providers={})
    mask = SecretMask(secret_source(rt))
    line = '"POST /in?token={} HTTP/1.1" 204 0 whsec-0-0123456789 admin-tok-42'

    assert masked_by(mask, line.format("first-token-111")) == (
        '"POST /in?******** HTTP/1.1" 204 0 ******** ********')

    # A subscriber added while the worker runs is delivered to, so it is masked too.
    assert "added-token-222" in masked_by(mask, line.format("added-token-222"))
    subscribers_file(webhooks_file, ["first-token-111", "added-token-222"])
    assert "added-token-222" not in masked_by(mask, line.format("added-token-222"))

    # A file broken meanwhile stops no log call; what was known stays masked.
    webhooks_file.write_text("[subscribers.broken\n")
    os.utime(webhooks_file, ns=(1, 1))
    assert masked_by(mask, line.format("added-token-222")) == (
        '"POST /in?******** HTTP/1.1" 204 0 ******** ********')


def test_the_admin_servers_handlers_mask_webhook_url_tokens(tmp_path):
    import logging.config

    from worker.logs import uvicorn_config

    webhooks_file = subscribers_file(tmp_path / "webhooks.toml", ["abc123secret"])
    rt = build_runtime(Settings(webhooks_file=str(webhooks_file)), providers={})
    config = uvicorn_config(secret_source(rt), as_json=False)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    logging.getLogger("uvicorn.error").error("fetched https://hooks.example.com/in?%s",
                                             "token=abc123secret")
    assert "abc123secret" not in stream.getvalue()
    assert "fetched https://hooks.example.com/in?********" in stream.getvalue()
