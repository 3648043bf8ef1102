"""The operator's language model, through the `llm` library: found by its model id (the `llm_model`
setting; plugins such as llm-ollama or llm-gguf add models), asked one prompt at a time, and held
to the prompt's limits while it answers.

The model runs on a thread of its own and the caller waits for it with the time limit: a model
that hangs (a network call, a local model that is slow to load) ends the wait with a 504 while its
thread stops at its next piece of answer. Its team's slot stays taken until that thread has
really finished, so a hanging model cannot pile up work beyond the team's bound. The answer is
read as it streams and the model is stopped at `max_chars` (a plugin that cannot stream hands its
answer over in one piece, which is then cut).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airsequel.core.errors import CoreError, NotConfigured, TimedOut, UpstreamFailed
from airsequel.core.running_counts import RunningCounts

log = logging.getLogger("airsequel.prompts")

HOW_TO_CONFIGURE = (
    "AI prompts need a language model: set AIRSEQUEL_LLM_MODEL to an `llm` model id (for example"
    " gpt-4o-mini with AIRSEQUEL_LLM_KEY_ENV=OPENAI_API_KEY, or a local model of a plugin such as"
    " llm-ollama), see the README's AI prompts section"
)


@dataclass(frozen=True)
class ModelLimits:
    timeout_seconds: float
    max_chars: int


@dataclass(frozen=True)
class ModelAnswer:
    text: str
    model: str
    cut: bool  # stopped at max_chars
    seconds: float


def resolve_model(model_id: str | None, key_env: str | None) -> Any:
    """The `llm` model of `model_id`, with its key from the environment variable `key_env` (when
    set). NotConfigured without a model id, or for an id no installed plugin knows."""
    if not model_id:
        raise NotConfigured(HOW_TO_CONFIGURE)
    import llm  # imported here: loading its plugins takes a moment, and only prompts need them

    try:
        model = llm.get_model(model_id)
    except llm.UnknownModelError:
        raise NotConfigured(
            f"The language model {model_id!r} (AIRSEQUEL_LLM_MODEL) is unknown to the llm library:"
            " install the plugin that provides it (llm install ...) or name another"
        ) from None
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise NotConfigured(f"The environment variable {key_env} (AIRSEQUEL_LLM_KEY_ENV) holds no key")
        model.key = key
    return model


SERVER_LIMIT = 32  # prompts one server process has running at once, all teams together


class TeamSlots:
    """How many prompts each team has running in this process; TooManyRequests beyond `limit`, or
    beyond SERVER_LIMIT for all teams together (each running prompt holds a thread while it waits)."""

    def __init__(self) -> None:
        self._counts = RunningCounts()

    def take(self, team: str, limit: int) -> None:
        self._counts.take(
            team,
            per_key=limit,
            total=SERVER_LIMIT,
            key_full=f"The team {team!r} has {limit} AI prompt(s) running, its limit: retry when one has finished",
            all_full=f"The server has {SERVER_LIMIT} AI prompts running, its limit: retry when one has finished",
            retry_after=5,
        )

    def give_back(self, team: str) -> None:
        self._counts.give_back(team)

    def running(self, team: str) -> int:
        return self._counts.running(team)


def _options(model: Any, max_chars: int) -> dict[str, Any]:
    """max_tokens for models that take it (about four characters a token), nothing otherwise."""
    fields = getattr(getattr(model, "Options", None), "model_fields", {})
    return {"max_tokens": max(16, max_chars // 4)} if "max_tokens" in fields else {}


def _pieces(model: Any, prompt: str, system: str, max_chars: int) -> Iterator[str]:
    response = model.prompt(prompt, system=system, stream=True, **_options(model, max_chars))
    yield from response


def ask(
    model: Any, prompt: str, system: str, limits: ModelLimits, *, slots: TeamSlots, team: str, team_limit: int
) -> ModelAnswer:
    """The model's answer to `prompt` under `system`, at most `limits.max_chars` long, within
    `limits.timeout_seconds` (TimedOut after). A failure of the model is UpstreamFailed."""
    slots.take(team, team_limit)
    started = time.monotonic()
    deadline = started + limits.timeout_seconds
    parts: list[str] = []
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def run() -> None:
        try:
            size = 0
            for piece in _pieces(model, prompt, system, limits.max_chars):
                if stop.is_set() or time.monotonic() > deadline:
                    outcome["late"] = True
                    return
                piece = str(piece)
                if size + len(piece) > limits.max_chars:
                    parts.append(piece[: limits.max_chars - size])
                    outcome["cut"] = True
                    return  # leaving the loop closes the stream: the model stops
                parts.append(piece)
                size += len(piece)
        except Exception as error:  # noqa: BLE001 - whatever a plugin raises is the model's failure
            outcome["error"] = error
        finally:
            slots.give_back(team)

    worker = threading.Thread(target=run, name=f"llm-{team}", daemon=True)
    try:
        worker.start()
    except BaseException:
        slots.give_back(team)
        raise
    worker.join(limits.timeout_seconds)
    if worker.is_alive() or outcome.get("late"):
        stop.set()
        raise TimedOut(f"The language model did not answer within {limits.timeout_seconds:g} s (llm_timeout_seconds)")
    error = outcome.get("error")
    if error is not None:
        if isinstance(error, CoreError):
            raise error
        log.warning("The language model %s failed: %s", getattr(model, "model_id", "?"), error)
        raise UpstreamFailed(f"The language model failed: {type(error).__name__}: {error}"[:500])
    return ModelAnswer(
        "".join(parts), str(getattr(model, "model_id", "?")), bool(outcome.get("cut")), time.monotonic() - started
    )
