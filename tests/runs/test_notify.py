"""Notifications when `saber run` ends: the messages (saber's JSON and Slack's), who is told, and
run_sweep on the in-memory backend telling a receiver on 127.0.0.1 how a study or sweep ended."""

from __future__ import annotations

from pathlib import Path

import pytest
from saber_testing import DATA, yaml_writer
from webhook_receiver import webhook_receiver

from saber.backends.testing import FakeBackend, FakeResult
from saber.cli import main
from saber.errors import InputError
from saber.runs import RunSpec, run_sweep
from saber.runs._notify import EVENT, Ending, body_for, command_line_urls, merge_urls, message, study_link

TOOL = DATA / "cwl" / "quadratic.cwl"


def quadratic(plan: dict, inputs: dict) -> FakeResult:
    x = float(inputs["x"])
    if x > float(inputs.get("fail_above", 2.0)):
        return FakeResult(state="failed", error="x above fail_above")
    return FakeResult(scores={"quadratic": 1 - (x - 0.6) ** 2})


@pytest.fixture(autouse=True)
def results_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SABER_DB", f"sqlite:///{tmp_path / 'results.db'}")


ENDING = Ending(name="tune1", kind="study", state="finished", workflow="blob_count", dag_id="saber_blob_count",
                done=29, failed=1, planned=30, best={"number": 12, "params": {"sigma": 1.2}, "score": 0.93},
                wall_s=3725.4)


def test_a_finished_study_says_its_best_trial_and_score(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        sweep = yaml_writer(tmp_path, "sweep.yml")(f"""
            x: [0.2, 0.6, 0.9]
            sampler: {{method: random, max_iterations: 3, notify: "{receiver.url}"}}
        """)
        summary = run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="tune",
                                    ui="http://airflow.example:8080/"), backend=FakeBackend(quadratic))
    [got] = receiver.messages
    assert got == {
        "event": EVENT, "name": "tune", "kind": "study", "state": "finished", "workflow": "quadratic",
        "dag_id": summary.dag_id, "trials": {"done": 3, "failed": 0, "planned": 3},
        "best": {"number": got["best"]["number"], "params": {"x": 0.6}, "score": 1.0},
        "wall_s": got["wall_s"], "url": "http://airflow.example:8080/saber/studies/tune", "error": None}
    assert got["best"]["number"] == summary.study["best"]["number"] and got["wall_s"] > 0


def test_a_plain_sweep_has_no_score_and_counts_its_failed_points(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a, b, c]\n")

    def echo(plan: dict, inputs: dict) -> FakeResult:
        return FakeResult(state="failed", error="no") if inputs["message"] == "b" else FakeResult(
            outputs={"text": inputs["message"]})

    with webhook_receiver() as receiver:
        summary = run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out",
                                    sweep_id="plain", notify=(receiver.url,)), backend=FakeBackend(echo))
    assert not summary.ok
    [got] = receiver.messages
    assert (got["kind"], got["state"], got["trials"], got["best"], got["url"]) == (
        "sweep", "finished", {"done": 2, "failed": 1, "planned": 3}, None, None)


def test_an_interrupted_study_says_how_far_it_got_and_the_interrupt_goes_on(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6, 0.9]\nsampler: {method: random, max_iterations: 3, "
                                               "batch_size: 1}\n")
    with webhook_receiver() as receiver:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="stop",
                              notify=(receiver.url,)), backend=FakeBackend(quadratic, interrupt_after=1))
    [got] = receiver.messages
    assert (got["name"], got["kind"], got["state"], got["error"]) == (
        "stop", "study", "interrupted", "stopped by Ctrl-C (SIGINT)")
    # the first round's trial ended; the stopped one is neither done nor failed (a resume runs it)
    assert got["trials"] == {"done": 1, "failed": 0, "planned": 3}
    assert got["best"]["number"] == 0 and got["best"]["score"] == pytest.approx(
        1 - (got["best"]["params"]["x"] - 0.6) ** 2)


def test_an_interrupted_plain_sweep_counts_the_points_that_ended(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a, b, c]\nsampler: {method: batch-grid, batch_size: 1}\n")
    echo = FakeBackend(lambda plan, inputs: FakeResult(outputs={"text": inputs["message"]}), interrupt_after=1)
    with webhook_receiver() as receiver:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out",
                              sweep_id="cut", notify=(receiver.url,)), backend=echo)
    [got] = receiver.messages
    assert (got["kind"], got["state"], got["trials"], got["best"]) == (
        "sweep", "interrupted", {"done": 1, "failed": 0, "planned": 3}, None)


def test_a_study_that_raised_is_failed_with_its_reason(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6]\nsampler: {method: random, max_iterations: 2}\n")

    def broken(plan: dict, inputs: dict) -> FakeResult:
        raise RuntimeError("the backend fell over")

    with webhook_receiver() as receiver:
        with pytest.raises(RuntimeError):
            run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="broken",
                              notify=(receiver.url,)), backend=FakeBackend(broken))
    [got] = receiver.messages
    assert (got["state"], got["error"]) == ("failed", "RuntimeError: the backend fell over")


def test_nothing_is_sent_for_a_run_refused_before_it_started(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("nosuch: [1]\n")
    with webhook_receiver() as receiver:
        with pytest.raises(InputError):
            run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", notify=(receiver.url,)),
                      backend=FakeBackend(quadratic))
    assert receiver.messages == []


def test_one_point_without_a_sweep_file_is_a_run() -> None:
    end = Ending(name="r", kind="run", state="finished", workflow="w", dag_id="d", done=1, failed=0, planned=1,
                 best=None, wall_s=1.0)
    assert message(end, None)["kind"] == "run"


def test_slack_webhooks_get_slacks_format() -> None:
    url = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
    end = Ending(**{**ENDING.__dict__, "name": "a<b>&c", "error": None})
    body = body_for(url, end, "https://airflow.example/")
    assert set(body) == {"text", "blocks"}
    assert body["text"] == ("saber study a&lt;b&gt;&amp;c finished: 29 done, 1 failed of 30 planned; best #12 score 0.93 "
                            '{"sigma": 1.2} (1 h 02 min)')
    [section] = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    assert text.startswith("*saber study `a&lt;b&gt;&amp;c` finished*\n")
    assert "<https://airflow.example/saber/studies/a%3Cb%3E%26c|open the study in the Airflow UI>" in text
    assert "\"event\"" not in str(body) and len(text) <= 3000
    # any other host gets saber's own message
    assert body_for("https://example.com/hooks/slack", ENDING, None)["event"] == EVENT


def test_the_study_link_drops_the_ui_urls_credentials_and_query() -> None:
    assert study_link("https://admin:pw@airflow.example:8443/base/?x=1", "s 1") == \
        "https://airflow.example:8443/base/saber/studies/s%201"
    assert study_link(None, "s") is None and study_link("", "s") is None


def test_urls_from_every_source_are_merged_once() -> None:
    assert merge_urls(["http://a/x", "http://b/y"], "http://b/y, http://c/z\n http://a/x", ("http://d/w?a=1,2",)) == [
        "http://a/x", "http://b/y", "http://c/z", "http://d/w?a=1,2"]
    assert command_line_urls(None, "  ") == ()
    assert command_line_urls(["http://a/x"], "http://a/x,http://c/z") == ("http://a/x", "http://c/z")


@pytest.mark.parametrize("given, env, field", [
    (["ftp://host/x"], None, "--notify"),
    (None, "http://ok/x, hooks.slack.com/services/x", "$SABER_NOTIFY"),
])
def test_a_bad_command_line_url_is_one_sentence(given, env, field) -> None:
    with pytest.raises(InputError, match=r"must be an http\(s\) URL") as info:
        command_line_urls(given, env)
    assert info.value.where.field == field


def test_saber_run_refuses_a_bad_notify_url_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", str(TOOL), "--notify", "ftp://files.example.com/hook"]) == 2
    shown = " ".join(capsys.readouterr().err.split())
    assert "field '--notify': --notify must be an http(s) URL, got scheme 'ftp'" in shown


def test_sigterm_is_an_interruption_that_names_its_signal() -> None:
    import signal

    from saber.cli._run import Stopped
    from saber.runs._notify import Watch

    sent: list = []
    watch = Watch(name="s", urls=lambda: ["http://a.example/x"], ui=None, sweep_file=True, send=sent.extend)
    watch.ready({"name": "w", "dag_id": "d"}, 4, None)
    watch.stopped(Stopped(signal.SIGTERM))
    [(url, body)] = sent
    assert (body["state"], body["error"], body["kind"], body["trials"]) == (
        "interrupted", "stopped by SIGTERM", "sweep", {"done": 0, "failed": 0, "planned": 4})
