"""LLM-as-judge over any OpenAI-compatible chat-completions endpoint, plus Python evaluators.

Nothing here imports Django: the caller builds a `JudgeConfig` from wherever its settings live.
Every failure surfaces as a `JudgeError` whose `code` says what kind of failure it was, so the
caller can decide between "mark the check as errored" and "try again later".
"""

from __future__ import annotations

import importlib
import json
import math
import random
import re
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, cast

if TYPE_CHECKING:
    # The OpenAI SDK (and the pydantic models it brings) loads with the first client, in the
    # worker that runs a judge or in the request that probes one, not in every web process.
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = [
    "EVALUATOR_AUTH",
    "EVALUATOR_ERROR",
    "EVALUATOR_UNAVAILABLE",
    "JUDGE_SYSTEM_PROMPT",
    "RUBRIC_PLACEHOLDERS",
    "JudgeClient",
    "JudgeConfig",
    "JudgeError",
    "JudgeErrorCode",
    "JudgeVerdict",
    "PythonEvaluator",
    "TokenCounter",
    "TokenUsage",
    "load_python_evaluator",
    "parse_verdict_payload",
    "render_rubric",
    "retry_delay",
    "run_python_evaluator",
    "validate_rubric",
]

JudgeErrorCode = Literal["evaluator_error", "evaluator_unavailable", "evaluator_auth"]
EVALUATOR_ERROR: Final = "evaluator_error"
EVALUATOR_UNAVAILABLE: Final = "evaluator_unavailable"
EVALUATOR_AUTH: Final = "evaluator_auth"

RUBRIC_PLACEHOLDERS: Final = frozenset({"response", "prompt", "context"})
REQUIRED_PLACEHOLDER: Final = "response"

JUDGE_SYSTEM_PROMPT: Final = (
    "You are a strict evaluator of text produced by another AI system. Apply the rubric in "
    "the user's message to the response it contains. Answer with ONLY a JSON object of the "
    'form {"score": <number from 0 to 1>, "label": <short string>, "rationale": <string>} '
    "and nothing else: no prose before or after it and no code fences. A score of 1 means the "
    "response fully meets the rubric and 0 means it does not meet it at all."
)

ECHO_LIMIT: Final = 200
MAX_BACKOFF_SECONDS: Final = 10.0
MAX_RETRY_AFTER_SECONDS: Final = 30.0
JITTER_FRACTION: Final = 0.1
PING_TIMEOUT_SECONDS: Final = 5.0
RETRYABLE_STATUSES: Final = frozenset({408, 429})
AUTH_STATUSES: Final = frozenset({401, 403})

_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\r?\n?(.*?)```", re.DOTALL | re.IGNORECASE)


class JudgeError(Exception):
    """A judge or evaluator call failed; `code` is one of the `EVALUATOR_*` constants."""

    def __init__(
        self,
        code: JudgeErrorCode,
        message: str,
        *,
        status_code: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code: JudgeErrorCode = code
        self.message = message
        self.status_code = status_code
        # A 429, a 5xx, a timeout or a refused connection: worth trying again later, after
        # `retry_after` seconds when the endpoint said so.
        self.transient = transient
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"JudgeError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout_seconds: float = 20.0
    max_retries: int = 3
    backoff_seconds: float = 0.5
    temperature: float = 0.0
    input_cost_per_1k: float = 0.0
    output_cost_per_1k: float = 0.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model.strip():
            raise ValueError("model must not be empty")
        if not self.timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be positive, got {self.timeout_seconds}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be zero or more, got {self.max_retries}")
        if self.backoff_seconds < 0:
            raise ValueError(f"backoff_seconds must be zero or more, got {self.backoff_seconds}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2, got {self.temperature}")
        if self.input_cost_per_1k < 0 or self.output_cost_per_1k < 0:
            raise ValueError("token prices must be zero or more")


@dataclass(frozen=True)
class JudgeVerdict:
    score: float
    label: str
    rationale: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if not _is_number(self.score) or not 0.0 <= float(self.score) <= 1.0:
            raise ValueError(f"score must be a finite number between 0 and 1, got {self.score!r}")
        object.__setattr__(self, "score", float(self.score))
        if self.prompt_tokens < 0 or self.completion_tokens < 0:
            raise ValueError("token counts must be zero or more")


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class TokenCounter:
    """Running totals of judge usage, safe to share between threads and clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = TokenUsage()

    def add(self, *, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        with self._lock:
            usage = self._usage
            self._usage = TokenUsage(
                prompt_tokens=usage.prompt_tokens + prompt_tokens,
                completion_tokens=usage.completion_tokens + completion_tokens,
                cost=usage.cost + cost,
                calls=usage.calls + 1,
            )

    def snapshot(self) -> TokenUsage:
        with self._lock:
            return self._usage

    def reset(self) -> TokenUsage:
        """Zero the totals and return what they were, so a caller can flush them somewhere."""
        with self._lock:
            usage, self._usage = self._usage, TokenUsage()
            return usage

    @property
    def prompt_tokens(self) -> int:
        return self.snapshot().prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.snapshot().completion_tokens

    @property
    def cost(self) -> float:
        return self.snapshot().cost

    @property
    def calls(self) -> int:
        return self.snapshot().calls


def _parse_rubric(rubric: str) -> list[tuple[str, str | None]]:
    try:
        parts = list(string.Formatter().parse(rubric))
    except ValueError as exc:
        raise ValueError(
            f"rubric has malformed braces ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    pieces: list[tuple[str, str | None]] = []
    for literal, name, format_spec, conversion in parts:
        if name is None:
            pieces.append((literal, None))
            continue
        if name == "":
            raise ValueError(
                "rubric has an empty placeholder {}; use one of "
                + ", ".join(f"{{{p}}}" for p in sorted(RUBRIC_PLACEHOLDERS))
            )
        if name not in RUBRIC_PLACEHOLDERS:
            raise ValueError(
                f"rubric uses unknown placeholder {{{name}}}; allowed placeholders are "
                + ", ".join(f"{{{p}}}" for p in sorted(RUBRIC_PLACEHOLDERS))
            )
        if format_spec or conversion:
            raise ValueError(
                f"rubric placeholder {{{name}}} must not carry a conversion or format spec"
            )
        pieces.append((literal, name))
    if not any(name == REQUIRED_PLACEHOLDER for _, name in pieces):
        raise ValueError("rubric must contain the {response} placeholder")
    return pieces


def validate_rubric(rubric: str) -> None:
    """Raise ValueError saying what is wrong unless `rubric` is a usable template."""
    _parse_rubric(rubric)


def render_rubric(rubric: str, *, response: str, prompt: str = "", context: str = "") -> str:
    """Substitute the values into the template; the values themselves are never parsed."""
    values = {"response": response, "prompt": prompt, "context": context}
    return "".join(
        literal + (values[name] if name else "") for literal, name in _parse_rubric(rubric)
    )


def _truncate(text: str, limit: int = ECHO_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _decode_json_object(content: str) -> Mapping[str, Any]:
    text = content.strip()
    candidates = [text]
    fenced = _FENCE.search(text)
    if fenced:
        candidates.append(fenced.group(1).strip())
    # Chatty models sometimes wrap the object in a sentence despite being told not to.
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict):
            raise JudgeError(
                EVALUATOR_ERROR,
                f"judge answered with JSON that is not an object: {_truncate(content)!r}",
            )
        return data
    raise JudgeError(EVALUATOR_ERROR, f"judge answer is not JSON: {_truncate(content)!r}")


def parse_verdict_payload(data: object, *, source: str = "judge") -> tuple[float, str, str]:
    """Check a decoded verdict mapping and return (score, label, rationale).

    `label` must be a non-empty string; `rationale` may be missing (treated as empty), but
    when present it must be a string.
    """
    if not isinstance(data, Mapping):
        raise JudgeError(
            EVALUATOR_ERROR,
            f"{source} returned {type(data).__name__}, expected a mapping with score, label "
            "and rationale",
        )
    echo = _truncate(repr(dict(data)))
    if "score" not in data:
        raise JudgeError(EVALUATOR_ERROR, f"{source} answer has no score: {echo}")
    score = data["score"]
    if not _is_number(score):
        raise JudgeError(
            EVALUATOR_ERROR,
            f"{source} score must be a number, got {type(score).__name__} {_truncate(repr(score))}",
        )
    if not 0.0 <= float(score) <= 1.0:
        raise JudgeError(EVALUATOR_ERROR, f"{source} score {score!r} is outside [0, 1]")
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        raise JudgeError(EVALUATOR_ERROR, f"{source} label must be a non-empty string, got {echo}")
    rationale = data.get("rationale", "")
    if rationale is None:
        rationale = ""
    if not isinstance(rationale, str):
        raise JudgeError(
            EVALUATOR_ERROR,
            f"{source} rationale must be a string, got {type(rationale).__name__}",
        )
    return float(score), label.strip(), rationale


def retry_delay(
    attempt: int,
    retry_after: float | None,
    *,
    backoff_seconds: float,
    max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Seconds before try `attempt + 1`: the endpoint's Retry-After (capped), else exponential
    backoff (capped), plus up to 10% jitter so retries of many batches do not arrive together."""
    if retry_after is not None:
        base = min(retry_after, max_retry_after)
    else:
        base = min(backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    jitter = rng.uniform(0.0, JITTER_FRACTION) if rng else random.uniform(0.0, JITTER_FRACTION)
    return base + base * jitter


def _token_count(value: object) -> int:
    # Compatible servers differ: usage may be absent, null, or carry odd types.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _status_error_detail(exc: openai.APIStatusError) -> str:
    return _truncate(str(exc.message))


def _connection_error_detail(exc: openai.APIConnectionError) -> str:
    cause = exc.__cause__
    return f"{exc.message} ({cause})" if cause else str(exc.message)


class JudgeClient:
    """Asks a chat model to grade a response against a rubric and returns a JudgeVerdict."""

    def __init__(
        self,
        config: JudgeConfig,
        *,
        counter: TokenCounter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        max_retry_after_seconds: float = MAX_RETRY_AFTER_SECONDS,
    ) -> None:
        self.config = config
        self.counter = counter if counter is not None else TokenCounter()
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._max_retry_after = max_retry_after_seconds
        import openai

        # A local server without auth still needs a non-empty key for the SDK to start.
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "unused",
            timeout=config.timeout_seconds,
            max_retries=0,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JudgeClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def build_messages(
        self, *, rubric: str, response: str, prompt: str = "", context: str = ""
    ) -> list[ChatCompletionMessageParam]:
        rendered = render_rubric(rubric, response=response, prompt=prompt, context=context)
        return [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": rendered},
        ]

    def evaluate(
        self, *, rubric: str, response: str, prompt: str = "", context: str = ""
    ) -> JudgeVerdict:
        """Grade `response`; `latency_ms` is that of the attempt that answered, not retries."""
        messages = self.build_messages(
            rubric=rubric, response=response, prompt=prompt, context=context
        )
        completion, latency_ms = self._create_with_retries(messages)
        usage = getattr(completion, "usage", None)
        prompt_tokens = _token_count(getattr(usage, "prompt_tokens", None))
        completion_tokens = _token_count(getattr(usage, "completion_tokens", None))
        cost = self.cost_of(prompt_tokens, completion_tokens)
        # Tokens are billed even when the answer turns out unusable, so count before parsing.
        self.counter.add(
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost=cost
        )
        content = self._content_of(completion)
        score, label, rationale = parse_verdict_payload(_decode_json_object(content))
        return JudgeVerdict(
            score=score,
            label=label,
            rationale=rationale,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            latency_ms=latency_ms,
        )

    def cost_of(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.config.input_cost_per_1k
            + completion_tokens * self.config.output_cost_per_1k
        ) / 1000.0

    def check_reachable(self, *, timeout_seconds: float = PING_TIMEOUT_SECONDS) -> None:
        """Fail fast unless the endpoint answers; 404 counts as reachable (no /models route)."""
        timeout = min(timeout_seconds, self.config.timeout_seconds)
        where = f"{self.config.base_url.rstrip('/')}/models"
        import openai

        try:
            raw = self._client.models.with_raw_response.list(timeout=timeout)
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 404 or status == 429:
                return
            if status in AUTH_STATUSES:
                raise JudgeError(
                    EVALUATOR_AUTH,
                    f"evaluator at {where} rejected the credentials (HTTP {status}): "
                    f"{_status_error_detail(exc)}",
                    status_code=status,
                ) from exc
            raise JudgeError(
                EVALUATOR_UNAVAILABLE,
                f"evaluator at {where} answered HTTP {status}: {_status_error_detail(exc)}",
                status_code=status,
            ) from exc
        except openai.APITimeoutError as exc:
            raise JudgeError(
                EVALUATOR_UNAVAILABLE, f"evaluator at {where} did not answer within {timeout}s"
            ) from exc
        except openai.APIConnectionError as exc:
            raise JudgeError(
                EVALUATOR_UNAVAILABLE,
                f"cannot connect to evaluator at {where}: {_connection_error_detail(exc)}",
            ) from exc
        except openai.OpenAIError as exc:
            raise JudgeError(
                EVALUATOR_UNAVAILABLE, f"evaluator at {where} failed: {_truncate(str(exc))}"
            ) from exc
        try:
            body = json.loads(raw.text)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise JudgeError(
                EVALUATOR_UNAVAILABLE,
                f"{where} did not answer like an OpenAI-compatible API (is base_url right?): "
                f"{_truncate(raw.text)!r}",
            )

    ping = check_reachable

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        return retry_delay(
            attempt,
            retry_after,
            backoff_seconds=self.config.backoff_seconds,
            max_retry_after=self._max_retry_after,
            rng=self._rng,
        )

    def _create_with_retries(
        self, messages: list[ChatCompletionMessageParam]
    ) -> tuple[ChatCompletion, float]:
        import openai
        from openai.types.chat import ChatCompletion

        attempts = self.config.max_retries + 1
        last_problem = ""
        last_status: int | None = None
        retry_after: float | None = None
        for attempt in range(1, attempts + 1):
            retry_after = None
            started = time.perf_counter()
            try:
                completion = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    temperature=self.config.temperature,
                    response_format={"type": "json_object"},
                )
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in AUTH_STATUSES:
                    raise JudgeError(
                        EVALUATOR_AUTH,
                        f"evaluator rejected the credentials (HTTP {status}): "
                        f"{_status_error_detail(exc)}",
                        status_code=status,
                    ) from exc
                if status not in RETRYABLE_STATUSES and status < 500:
                    raise JudgeError(
                        EVALUATOR_ERROR,
                        f"evaluator rejected the request (HTTP {status}): "
                        f"{_status_error_detail(exc)}",
                        status_code=status,
                    ) from exc
                last_problem = f"HTTP {status}: {_status_error_detail(exc)}"
                last_status = status
                retry_after = _parse_retry_after(exc.response.headers.get("retry-after"))
            except openai.APITimeoutError:
                last_problem = f"no answer within {self.config.timeout_seconds}s"
                last_status = None
            except openai.APIConnectionError as exc:
                last_problem = f"connection failed: {_connection_error_detail(exc)}"
                last_status = None
            except openai.OpenAIError as exc:
                raise JudgeError(
                    EVALUATOR_ERROR, f"evaluator call failed: {_truncate(str(exc))}"
                ) from exc
            else:
                latency_ms = (time.perf_counter() - started) * 1000.0
                if not isinstance(completion, ChatCompletion):
                    # The SDK hands back the raw text when a 200 reply is not JSON.
                    raise JudgeError(
                        EVALUATOR_ERROR,
                        "evaluator replied with something other than a chat completion: "
                        f"{_truncate(str(completion))!r}",
                    )
                return completion, latency_ms
            if attempt < attempts:
                self._sleep(self._retry_delay(attempt, retry_after))
        raise JudgeError(
            EVALUATOR_UNAVAILABLE,
            f"evaluator unavailable after {attempts} attempt(s); last problem: {last_problem}",
            status_code=last_status,
            transient=True,
            retry_after=retry_after,
        )

    @staticmethod
    def _content_of(completion: ChatCompletion) -> str:
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise JudgeError(EVALUATOR_ERROR, "judge reply has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        if isinstance(content, str) and content.strip():
            return content
        refusal = getattr(message, "refusal", None)
        detail = f"; refusal: {_truncate(str(refusal))!r}" if refusal else ""
        raise JudgeError(
            EVALUATOR_ERROR,
            "judge reply has no text content "
            f"(finish_reason={getattr(choice, 'finish_reason', None)!r}){detail}",
        )


PythonEvaluator = Callable[[str, str], Mapping[str, Any]]

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def load_python_evaluator(dotted_path: str) -> PythonEvaluator:
    """Import `package.module:attr` or `package.module.attr`; the callable takes (prompt, response).

    This imports and so runs arbitrary code: call it only with a target from the operator's
    EVALUATORS setting, never with anything a request or a stored check supplied.
    """
    path = dotted_path.strip()
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if (
        not module_name
        or not attr_path
        or not _DOTTED.match(module_name)
        or not _DOTTED.match(attr_path)
    ):
        raise ValueError(
            f"evaluator path {dotted_path!r} must look like 'package.module:function' or "
            "'package.module.function'"
        )
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"cannot import module {module_name!r} for evaluator {dotted_path!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(
                f"evaluator {dotted_path!r}: {module_name!r} has no attribute {attr_path!r}"
            ) from None
    if not callable(target):
        raise ValueError(f"evaluator {dotted_path!r} is a {type(target).__name__}, not a callable")
    return cast(PythonEvaluator, target)


def run_python_evaluator(fn: PythonEvaluator, *, prompt: str, response: str) -> JudgeVerdict:
    """Call `fn(prompt, response)` and check its mapping like a judge answer."""
    started = time.perf_counter()
    try:
        result = fn(prompt, response)
    except Exception as exc:
        raise JudgeError(
            EVALUATOR_ERROR,
            f"python evaluator raised {type(exc).__name__}: {_truncate(str(exc))}",
        ) from exc
    latency_ms = (time.perf_counter() - started) * 1000.0
    score, label, rationale = parse_verdict_payload(result, source="python evaluator")
    return JudgeVerdict(score=score, label=label, rationale=rationale, latency_ms=latency_ms)
