from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from annotation.checks.judge import (
    JUDGE_SYSTEM_PROMPT,
    JudgeClient,
    JudgeConfig,
    JudgeError,
    JudgeVerdict,
    TokenCounter,
    load_python_evaluator,
    render_rubric,
    run_python_evaluator,
    validate_rubric,
)
from tests.fakes.openai_server import MODELS_PATH, FakeOpenAI, fake_openai_server

RUBRIC = "Is this answer polite?\n\nQuestion: {prompt}\nAnswer: {response}"
GOOD = '{"score": 0.8, "label": "pass", "rationale": "Polite and on topic."}'


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as fake:
        yield fake


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def make_client(
    server: FakeOpenAI, sleeps: SleepRecorder | None = None, **overrides: Any
) -> JudgeClient:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "model": "judge-model",
        "api_key": "sk-test",
        "timeout_seconds": 5.0,
        "backoff_seconds": 0.5,
        "input_cost_per_1k": 0.5,
        "output_cost_per_1k": 1.5,
    }
    settings.update(overrides)
    return JudgeClient(
        JudgeConfig(**settings),
        sleep=sleeps if sleeps is not None else SleepRecorder(),
        rng=random.Random(7),
    )


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_it_parses_a_good_answer_with_tokens_and_cost(server: FakeOpenAI) -> None:
    server.enqueue(GOOD, prompt_tokens=1200, completion_tokens=400)
    client = make_client(server)

    verdict = client.evaluate(rubric=RUBRIC, response="Thank you!", prompt="Say thanks")

    assert verdict.score == pytest.approx(0.8)
    assert verdict.label == "pass"
    assert verdict.rationale == "Polite and on topic."
    assert (verdict.prompt_tokens, verdict.completion_tokens) == (1200, 400)
    assert verdict.cost == pytest.approx(1.2 * 0.5 + 0.4 * 1.5)
    assert verdict.latency_ms > 0


def test_it_sends_system_instruction_rendered_rubric_and_json_mode(server: FakeOpenAI) -> None:
    server.enqueue(GOOD)
    make_client(server, temperature=0.0).evaluate(
        rubric=RUBRIC, response="Thank you!", prompt="Say thanks"
    )

    (body,) = server.chat_requests
    assert body["model"] == "judge-model"
    assert body["temperature"] == 0.0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    assert "JSON" in system["content"]
    assert user == {
        "role": "user",
        "content": "Is this answer polite?\n\nQuestion: Say thanks\nAnswer: Thank you!",
    }
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


def test_it_accepts_json_inside_a_code_fence(server: FakeOpenAI) -> None:
    server.enqueue(f"Here is my verdict:\n```json\n{GOOD}\n```\n")
    verdict = make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert (verdict.score, verdict.label) == (0.8, "pass")


def test_it_accepts_json_wrapped_in_a_sentence(server: FakeOpenAI) -> None:
    server.enqueue(f"Sure. {GOOD} Hope that helps.")
    verdict = make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert verdict.rationale == "Polite and on topic."


def test_it_accepts_integer_scores_and_a_missing_rationale(server: FakeOpenAI) -> None:
    server.enqueue('{"score": 1, "label": "pass"}')
    verdict = make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert verdict.score == 1.0
    assert isinstance(verdict.score, float)
    assert verdict.rationale == ""


def test_it_counts_tokens_and_cost_across_calls(server: FakeOpenAI) -> None:
    server.enqueue(GOOD, prompt_tokens=100, completion_tokens=10)
    server.enqueue(GOOD, prompt_tokens=200, completion_tokens=20)
    counter = TokenCounter()
    client = JudgeClient(
        JudgeConfig(
            base_url=server.base_url,
            model="m",
            api_key="k",
            input_cost_per_1k=1.0,
            output_cost_per_1k=2.0,
        ),
        counter=counter,
    )

    client.evaluate(rubric=RUBRIC, response="a")
    client.evaluate(rubric=RUBRIC, response="b")

    usage = counter.snapshot()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (300, 30, 2)
    assert usage.total_tokens == 330
    assert usage.cost == pytest.approx(0.3 + 0.06)
    assert counter.reset() == usage
    assert counter.calls == 0


def test_it_treats_missing_usage_as_zero_tokens(server: FakeOpenAI) -> None:
    server.enqueue(GOOD, include_usage=False)
    verdict = make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert (verdict.prompt_tokens, verdict.completion_tokens, verdict.cost) == (0, 0, 0.0)


def test_it_keeps_token_counter_totals_consistent_across_threads() -> None:
    counter = TokenCounter()

    def work() -> None:
        for _ in range(1000):
            counter.add(prompt_tokens=2, completion_tokens=1, cost=0.001)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    usage = counter.snapshot()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (16000, 8000, 8000)
    assert usage.cost == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("The answer is polite, I'd give it 0.8.", "not JSON"),
        ('{"label": "pass", "rationale": "fine"}', "no score"),
        ('{"score": 1.7, "label": "pass", "rationale": "fine"}', "outside [0, 1]"),
        ('{"score": -0.1, "label": "fail", "rationale": "bad"}', "outside [0, 1]"),
        ('{"score": "high", "label": "pass", "rationale": "fine"}', "must be a number"),
        ('{"score": true, "label": "pass", "rationale": "fine"}', "must be a number"),
        ('{"score": NaN, "label": "pass", "rationale": "fine"}', "must be a number"),
        ('{"score": 1' + "0" * 400 + ', "label": "pass"}', "must be a number"),
        ('{"score": 0.5, "rationale": "fine"}', "label"),
        ('{"score": 0.5, "label": 3, "rationale": "fine"}', "label"),
        ('{"score": 0.5, "label": "ok", "rationale": ["a"]}', "rationale"),
        ('[0.5, "pass"]', "not an object"),
    ],
)
def test_it_rejects_malformed_answers(server: FakeOpenAI, content: str, fragment: str) -> None:
    server.enqueue(content)
    with pytest.raises(JudgeError) as caught:
        make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert caught.value.code == "evaluator_error"
    assert fragment in str(caught.value)
    assert len(server.chat_requests) == 1


def test_it_truncates_echoed_model_output(server: FakeOpenAI) -> None:
    server.enqueue("x" * 5000)
    with pytest.raises(JudgeError) as caught:
        make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert caught.value.code == "evaluator_error"
    assert "x" * 200 in str(caught.value)
    assert "x" * 201 not in str(caught.value)


def test_it_rejects_empty_content(server: FakeOpenAI) -> None:
    server.enqueue("", finish_reason="content_filter")
    with pytest.raises(JudgeError) as caught:
        make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert caught.value.code == "evaluator_error"
    assert "content_filter" in str(caught.value)


def test_it_rejects_a_reply_that_is_not_a_chat_completion(server: FakeOpenAI) -> None:
    server.enqueue_raw(b"<html>proxy login</html>", content_type="text/html")
    with pytest.raises(JudgeError) as caught:
        make_client(server).evaluate(rubric=RUBRIC, response="hi")
    assert caught.value.code == "evaluator_error"
    assert "proxy login" in str(caught.value)


def test_it_still_counts_tokens_of_an_unusable_answer(server: FakeOpenAI) -> None:
    server.enqueue("not json", prompt_tokens=50, completion_tokens=5)
    client = make_client(server)
    with pytest.raises(JudgeError):
        client.evaluate(rubric=RUBRIC, response="hi")
    assert (client.counter.prompt_tokens, client.counter.calls) == (50, 1)


def test_it_retries_after_429_honouring_retry_after(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    server.enqueue_status(429, retry_after=2)
    server.enqueue(GOOD)

    verdict = make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    assert verdict.label == "pass"
    assert len(server.chat_requests) == 2
    (delay,) = sleeps.calls
    assert 2.0 <= delay <= 2.2


def test_it_caps_a_long_retry_after(server: FakeOpenAI, sleeps: SleepRecorder) -> None:
    server.enqueue_status(429, retry_after=3600)
    server.enqueue(GOOD)

    make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    (delay,) = sleeps.calls
    assert 30.0 <= delay <= 33.0


def test_it_falls_back_to_backoff_when_retry_after_is_not_seconds(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    server.enqueue_status(429, retry_after="soon")
    server.enqueue(GOOD)

    make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    (delay,) = sleeps.calls
    assert 0.5 <= delay <= 0.55


def test_it_retries_500_twice_with_exponential_backoff(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    server.enqueue_status(500)
    server.enqueue_status(503)
    server.enqueue(GOOD)

    verdict = make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    assert verdict.score == pytest.approx(0.8)
    assert len(server.chat_requests) == 3
    first, second = sleeps.calls
    assert 0.5 <= first <= 0.55
    assert 1.0 <= second <= 1.1


def test_it_gives_up_as_unavailable_when_retries_are_exhausted(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    for _ in range(3):
        server.enqueue_status(502)

    with pytest.raises(JudgeError) as caught:
        make_client(server, sleeps, max_retries=2).evaluate(rubric=RUBRIC, response="hi")

    assert caught.value.code == "evaluator_unavailable"
    assert "3 attempt" in str(caught.value)
    assert "HTTP 502" in str(caught.value)
    assert len(server.chat_requests) == 3
    assert len(sleeps.calls) == 2


def test_it_retries_a_timeout_then_reports_unavailable(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    server.enqueue_delay(2.0)
    server.enqueue_delay(2.0)
    client = make_client(server, sleeps, timeout_seconds=0.2, max_retries=1)

    started = time.monotonic()
    with pytest.raises(JudgeError) as caught:
        client.evaluate(rubric=RUBRIC, response="hi")

    assert caught.value.code == "evaluator_unavailable"
    assert "0.2s" in str(caught.value)
    assert len(server.chat_requests) == 2
    assert len(sleeps.calls) == 1
    assert time.monotonic() - started < 1.5


def test_it_recovers_when_a_timeout_is_followed_by_an_answer(
    server: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    server.enqueue_delay(2.0)
    server.enqueue(GOOD)
    verdict = make_client(server, sleeps, timeout_seconds=0.2).evaluate(rubric=RUBRIC, response="x")
    assert verdict.label == "pass"
    assert len(sleeps.calls) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_it_reports_auth_failures_without_retrying(
    server: FakeOpenAI, sleeps: SleepRecorder, status: int
) -> None:
    server.enqueue_status(status)

    with pytest.raises(JudgeError) as caught:
        make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    assert caught.value.code == "evaluator_auth"
    assert caught.value.status_code == status
    assert len(server.chat_requests) == 1
    assert sleeps.calls == []


def test_it_does_not_retry_other_client_errors(server: FakeOpenAI, sleeps: SleepRecorder) -> None:
    server.enqueue_status(400, body={"error": {"message": "response_format is not supported"}})

    with pytest.raises(JudgeError) as caught:
        make_client(server, sleeps).evaluate(rubric=RUBRIC, response="hi")

    assert caught.value.code == "evaluator_error"
    assert "HTTP 400" in str(caught.value)
    assert "response_format is not supported" in str(caught.value)
    assert len(server.chat_requests) == 1
    assert sleeps.calls == []


def test_it_reports_a_refused_connection_as_unavailable(sleeps: SleepRecorder) -> None:
    client = JudgeClient(
        JudgeConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", api_key="k"),
        sleep=sleeps,
    )
    with pytest.raises(JudgeError) as caught:
        client.evaluate(rubric=RUBRIC, response="hi")
    assert caught.value.code == "evaluator_unavailable"
    assert "connection failed" in str(caught.value)
    assert len(sleeps.calls) == 3


def test_it_renders_braces_in_user_text_verbatim(server: FakeOpenAI) -> None:
    server.enqueue(GOOD)
    tricky = 'def f(): return {"a": {response}} {0} {} {{ }} }{'
    rubric = "Literal {{braces}} stay.\nContext: {context}\nResponse: {response}"

    make_client(server).evaluate(rubric=rubric, response=tricky, context="{prompt}")

    user = server.chat_requests[0]["messages"][1]["content"]
    assert user == f"Literal {{braces}} stay.\nContext: {{prompt}}\nResponse: {tricky}"


def test_it_renders_missing_optional_values_as_empty() -> None:
    assert render_rubric("P={prompt}|C={context}|R={response}", response="r") == "P=|C=|R=r"


@pytest.mark.parametrize(
    ("rubric", "fragment"),
    [
        ("Rate this answer.", "must contain the {response} placeholder"),
        ("Rate {answer}: {response}", "unknown placeholder {answer}"),
        ("Rate {response.upper}", "unknown placeholder {response.upper}"),
        ("Rate {response[0]}", "unknown placeholder"),
        ("Rate {0} {response}", "unknown placeholder {0}"),
        ("Rate {} {response}", "empty placeholder"),
        ("Rate {response!r}", "conversion or format spec"),
        ("Rate {response:>10}", "conversion or format spec"),
        ("Rate {response", "malformed braces"),
        ("Rate } {response}", "malformed braces"),
        ("Rate {{response}}", "must contain the {response} placeholder"),
    ],
)
def test_it_rejects_bad_rubrics(rubric: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        validate_rubric(rubric)
    assert fragment in str(caught.value)


def test_it_accepts_good_rubrics() -> None:
    validate_rubric("{response}")
    validate_rubric("Q: {prompt}\nDocs: {context}\nA: {response}\nAnswer as {{json}}.")


def test_it_validates_the_rubric_before_calling_the_judge(server: FakeOpenAI) -> None:
    with pytest.raises(ValueError):
        make_client(server).evaluate(rubric="no placeholder", response="hi")
    assert server.chat_requests == []


def test_it_finds_the_fake_server_reachable(server: FakeOpenAI) -> None:
    make_client(server).check_reachable()
    assert server.requests[-1].path == MODELS_PATH
    assert server.requests[-1].method == "GET"


def test_it_treats_a_missing_models_route_as_reachable(server: FakeOpenAI) -> None:
    server.enqueue_status(404, path=MODELS_PATH)
    make_client(server).ping()


def test_it_fails_fast_on_a_closed_port() -> None:
    config = JudgeConfig(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", api_key="k")
    started = time.monotonic()
    with pytest.raises(JudgeError) as caught:
        JudgeClient(config).check_reachable()
    assert caught.value.code == "evaluator_unavailable"
    assert "cannot connect" in str(caught.value)
    assert time.monotonic() - started < 2.0


def test_it_reports_bad_credentials_when_checking_reachability(server: FakeOpenAI) -> None:
    server.enqueue_status(401, path=MODELS_PATH)
    with pytest.raises(JudgeError) as caught:
        make_client(server).check_reachable()
    assert caught.value.code == "evaluator_auth"


def test_it_rejects_an_endpoint_that_is_not_an_openai_api(server: FakeOpenAI) -> None:
    server.enqueue_raw(b"<html>welcome</html>", content_type="text/html", path=MODELS_PATH)
    with pytest.raises(JudgeError) as caught:
        make_client(server).check_reachable()
    assert caught.value.code == "evaluator_unavailable"
    assert "OpenAI-compatible" in str(caught.value)


def test_it_keeps_the_api_key_out_of_the_config_repr() -> None:
    config = JudgeConfig(base_url="http://localhost/v1", model="m", api_key="sk-secret")
    assert "sk-secret" not in repr(config)


@pytest.mark.parametrize(
    "overrides",
    [
        {"base_url": "localhost:8000"},
        {"model": " "},
        {"timeout_seconds": 0},
        {"max_retries": -1},
        {"backoff_seconds": -1},
        {"temperature": 3},
        {"input_cost_per_1k": -0.1},
    ],
)
def test_it_rejects_invalid_configs(overrides: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"base_url": "http://localhost/v1", "model": "m", "api_key": "k"}
    settings.update(overrides)
    with pytest.raises(ValueError):
        JudgeConfig(**settings)


def test_it_refuses_to_build_a_verdict_with_an_out_of_range_score() -> None:
    with pytest.raises(ValueError):
        JudgeVerdict(score=1.5, label="x", rationale="")


@pytest.fixture
def evaluator_module() -> Iterator[str]:
    name = "feedbackloop_test_evaluators"
    module = types.ModuleType(name)

    def length_check(prompt: str, response: str) -> Mapping[str, Any]:
        return {"score": 1.0 if len(response) < 10 else 0.0, "label": "short", "rationale": prompt}

    class Grader:
        @staticmethod
        def grade(prompt: str, response: str) -> Mapping[str, Any]:
            return {"score": 0.5, "label": "meh"}

    module.length_check = length_check  # type: ignore[attr-defined]
    module.Grader = Grader  # type: ignore[attr-defined]
    module.not_callable = 42  # type: ignore[attr-defined]
    sys.modules[name] = module
    yield name
    del sys.modules[name]


def test_it_loads_and_runs_a_python_evaluator(evaluator_module: str) -> None:
    fn = load_python_evaluator(f"{evaluator_module}.length_check")

    verdict = run_python_evaluator(fn, prompt="be brief", response="ok")

    assert (verdict.score, verdict.label, verdict.rationale) == (1.0, "short", "be brief")
    assert (verdict.prompt_tokens, verdict.completion_tokens, verdict.cost) == (0, 0, 0.0)


def test_it_loads_colon_paths_with_nested_attributes(evaluator_module: str) -> None:
    fn = load_python_evaluator(f"{evaluator_module}:Grader.grade")
    assert run_python_evaluator(fn, prompt="", response="").label == "meh"


def test_it_loads_a_stdlib_callable_by_dotted_path() -> None:
    loaded: object = load_python_evaluator("json:loads")
    assert loaded is json.loads
    assert load_python_evaluator("os.path.join") is not None


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("no_such_module_for_judge_tests.fn", "cannot import module"),
        ("json.no_such_function", "has no attribute"),
        ("feedbackloop_test_evaluators.not_callable", "not a callable"),
        ("justaname", "must look like"),
        ("pkg.mod:", "must look like"),
        ("pkg..mod.fn", "must look like"),
        ("pkg.mod:fn()", "must look like"),
    ],
)
def test_it_rejects_bad_evaluator_paths(evaluator_module: str, path: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_python_evaluator(path)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        ({"score": 2, "label": "x", "rationale": ""}, "outside [0, 1]"),
        ({"score": "0.5", "label": "x", "rationale": ""}, "must be a number"),
        ({"label": "x", "rationale": ""}, "no score"),
        ({"score": 0.5, "label": "", "rationale": ""}, "label"),
        ({"score": 0.5, "label": "x", "rationale": 1}, "rationale"),
        ([("score", 1)], "expected a mapping"),
        (None, "expected a mapping"),
    ],
)
def test_it_rejects_bad_python_evaluator_results(result: object, fragment: str) -> None:
    with pytest.raises(JudgeError) as caught:
        run_python_evaluator(lambda prompt, response: result, prompt="p", response="r")  # type: ignore[arg-type, return-value]
    assert caught.value.code == "evaluator_error"
    assert fragment in str(caught.value)


def test_it_wraps_exceptions_raised_by_a_python_evaluator() -> None:
    def broken(prompt: str, response: str) -> Mapping[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(JudgeError) as caught:
        run_python_evaluator(broken, prompt="p", response="r")
    assert caught.value.code == "evaluator_error"
    assert "RuntimeError: boom" in str(caught.value)
