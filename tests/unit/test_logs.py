"""No secret reaches a log line, whatever the code logged."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from worker.process import logs
from worker.process.logs import SecretMask, formatter, secret_source
from worker.process.runtime import build_runtime
from worker.process.settings import Settings


def logger_writing_to(stream: io.StringIO, *, as_json: bool) -> logging.Logger:
    logger = logging.getLogger(f"test-logs-{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretMask(["s3cr3t-key", "tok-123456"]))
    if as_json:
        handler.setFormatter(formatter(as_json=True))
    logger.addHandler(handler)
    return logger


def test_secrets_in_messages_and_arguments_are_masked():
    # given
    stream = io.StringIO()
    log = logger_writing_to(stream, as_json=False)
    # when
    log.warning("signing with %s for token tok-123456", "s3cr3t-key")
    # then
    assert stream.getvalue().strip() == "signing with ******** for token ********"


def test_secrets_in_tracebacks_are_masked_and_json_lines_parse():
    # given
    stream = io.StringIO()
    log = logger_writing_to(stream, as_json=True)
    # when
    try:
        raise RuntimeError("bad key s3cr3t-key")
    except RuntimeError:
        log.exception("provider call failed")
    # then
    line = json.loads(stream.getvalue())
    assert line["event"] == "provider call failed"
    assert "s3cr3t-key" not in stream.getvalue()
    assert "bad key ********" in line["exception"]


@pytest.fixture
def root_logger_kept():
    """The admin server's configuration sets the root logger up; put it back afterwards."""
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


def test_the_admin_servers_log_handlers_mask_secrets(root_logger_kept):
    # given
    import logging.config

    from worker.process.logs import uvicorn_config

    config = uvicorn_config(["tok-123456"], as_json=False)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    # when
    logging.getLogger("uvicorn.error").error("refused token tok-123456")
    # then
    assert "tok-123456" not in stream.getvalue()
    assert "refused token ********" in stream.getvalue()


def subscribers_file(path, tokens: list[str]):
    """A webhooks file with one subscriber per token, and a modification time of its own."""
    path.write_text("".join(
        f'[subscribers.s{n}]\nurl = "https://hooks.example.com/in?token={token}"\n'
        f'secret = "whsec_{n}{"0123456789" * 3}A"\n'
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
    # given
    webhooks_file = subscribers_file(tmp_path / "webhooks.toml", ["first-token-111"])
    runtime = build_runtime(Settings(webhooks_file=str(webhooks_file), admin_token="admin-tok-42"),
                            providers={})
    mask = SecretMask(secret_source(runtime))
    line = ('"POST /in?token={} HTTP/1.1" 204 0 whsec_0012345678901234567890123456789A '
            'admin-tok-42')

    # when / then
    assert masked_by(mask, line.format("first-token-111")) == (
        '"POST /in?******** HTTP/1.1" 204 0 ******** ********')

    # A subscriber added while the worker runs is delivered to, so it is masked too.
    # given a token the mask does not know yet
    assert "added-token-222" in masked_by(mask, line.format("added-token-222"))
    # when it is added to the file
    subscribers_file(webhooks_file, ["first-token-111", "added-token-222"])
    # then
    assert "added-token-222" not in masked_by(mask, line.format("added-token-222"))

    # A file broken meanwhile stops no log call; what was known stays masked.
    # when the file is broken
    webhooks_file.write_text("[subscribers.broken\n")
    os.utime(webhooks_file, ns=(1, 1))
    # then
    assert masked_by(mask, line.format("added-token-222")) == (
        '"POST /in?******** HTTP/1.1" 204 0 ******** ********')


def test_the_admin_servers_handlers_mask_webhook_url_tokens(tmp_path, root_logger_kept):
    # given
    import logging.config

    from worker.process.logs import uvicorn_config

    webhooks_file = subscribers_file(tmp_path / "webhooks.toml", ["abc123secret"])
    runtime = build_runtime(Settings(webhooks_file=str(webhooks_file)), providers={})
    config = uvicorn_config(secret_source(runtime), as_json=False)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    # when
    logging.getLogger("uvicorn.error").error("fetched https://hooks.example.com/in?%s",
                                             "token=abc123secret")
    # then
    assert "abc123secret" not in stream.getvalue()
    assert "fetched https://hooks.example.com/in?********" in stream.getvalue()


@pytest.fixture
def engine_lines():
    """A handler on the `worker` logger set up by `install`, as Celery's signals set it up."""
    made = []

    def make(as_json: bool) -> io.StringIO:
        stream = io.StringIO()
        logger = logging.getLogger("worker")
        handler = logging.StreamHandler(stream)
        made.append((logger, handler, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logs.install(logger, ["s3cr3t-key", "tok-123456"], as_json=as_json)
        return stream

    yield make
    for logger, handler, level, propagate in reversed(made):
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def test_a_structlog_line_is_one_json_object_with_its_fields_and_no_secret(engine_lines):
    # given the JSON format and a configured secret
    stream = engine_lines(as_json=True)

    # when an engine line carries the secret in a field
    logs.get("worker.test").info("transfer checked", transfer_id=42, provider="acme",
                                 tx_id="tx-9", attempt=2, outcome="PENDING",
                                 detail="signed with s3cr3t-key")

    # then it is one JSON object, leading fields first, the secret masked
    text = stream.getvalue()
    assert text.count("\n") == 1 and "s3cr3t-key" not in text
    line = json.loads(text)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert (line["level"], line["logger"], line["event"]) == ("info", "worker.test",
                                                             "transfer checked")
    assert (line["transfer_id"], line["provider"], line["tx_id"], line["attempt"],
            line["outcome"]) == (42, "acme", "tx-9", 2, "PENDING")
    assert line["detail"] == "signed with ********"


def test_a_structlog_line_reads_as_key_value_in_a_terminal_with_no_secret(engine_lines):
    # given the console format
    stream = engine_lines(as_json=False)

    # when an engine line and a plain standard-library line carry secrets
    logs.get("worker.test").warning("transfer refused", transfer_id=7, tx_id="tx-1",
                                    note="tok-123456")
    logging.getLogger("worker.plain").warning("token %s refused", "tok-123456")

    # then both read as text, fields as key=value, secrets masked
    engine_line, plain_line = stream.getvalue().splitlines()
    assert "transfer refused" in engine_line and "[worker.test]" in engine_line
    assert "transfer_id=7 tx_id=tx-1 note=" in engine_line
    assert "tok-123456" not in stream.getvalue()
    assert "********" in engine_line
    assert "token ******** refused" in plain_line and "warning" in plain_line


def test_a_traceback_in_a_structlog_line_is_masked_in_both_formats(engine_lines):
    for as_json in (True, False):
        # given
        stream = engine_lines(as_json=as_json)
        # when
        try:
            raise RuntimeError("refused key s3cr3t-key")
        except RuntimeError:
            logs.get("worker.test").exception("provider call failed", transfer_id=3)
        # then
        assert "s3cr3t-key" not in stream.getvalue()
        assert "refused key ********" in stream.getvalue()


def test_lines_below_the_loggers_level_are_dropped(engine_lines):
    # given
    stream = engine_lines(as_json=True)
    # when
    logs.get("worker.test").debug("transfer claimed", transfer_id=1)
    # then
    assert stream.getvalue() == ""


def test_the_admin_servers_json_lines_include_the_applications_own(root_logger_kept):
    # given
    import logging.config

    from worker.process.logs import uvicorn_config

    config = uvicorn_config(["tok-123456"], as_json=True)
    stream = io.StringIO()
    config["handlers"]["lines"]["stream"] = stream
    logging.config.dictConfig(config)
    # when
    logs.get("worker.admin.actions").info("transfer resolved", transfer_id=5,
                                          by="admin:tok-123456")
    # then
    line = json.loads(stream.getvalue())
    assert (line["event"], line["transfer_id"], line["by"]) == ("transfer resolved", 5,
                                                                "admin:********")
