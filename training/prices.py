"""What sending a prompt to a model costs: the prices file and the rows it prices.

Sending a prompt to a model costs ``(prompt tokens + per-call input tokens) × input price +
output tokens × output price``, prompt tokens being estimated from the text (~4 characters a
token), the rest from the prices file (USD per 1M tokens; see
``training/data/prices_routellm.toml``), which may also rank models per task (``policy``).
Model names match exactly or by the part after the last ``/`` (``base_name``, ``resolve``).
Prices read a row's text, source and label (``QualityRow``, from ``training.quality``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router.errors import ConfigError, InvalidRequest
from router.tokens import estimate_tokens
from training.quality import QualityRow

DEFAULT_ROUTE = "default"
TYPICAL_PROMPT_TOKENS = 100  # only to rank models by price when no data is at hand

Price = Annotated[float, Field(ge=0)]
Tokens = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelPrice(_Strict):
    """USD per 1M tokens; optional per-call token assumptions for this model."""

    input: Price
    output: Price
    input_tokens: Tokens | None = None  # per call, on top of the prompt (system prompt, template)
    output_tokens: Tokens | None = None  # typical answer length of this model


class TokenDefaults(_Strict):
    input_tokens: Tokens = 0
    output_tokens: Tokens = 250


def base_name(model: str) -> str:
    return model.rsplit("/", 1)[-1]


def resolve(name: str, known: Sequence[str]) -> str | None:
    """``name`` itself if known, else the one known name with the same part after the last
    ``/`` (``mistralai/Mixtral-8x7B-Instruct-v0.1`` ↔ ``Mixtral-8x7B-Instruct-v0.1``)."""
    if name in known:
        return name
    same = [k for k in known if base_name(k) == base_name(name)]
    return same[0] if len(same) == 1 else None


class Prices(_Strict):
    """The prices file. ``output_tokens`` maps a row's ``source`` (or ``label``) to its typical
    output tokens; ``policy`` maps a task (and ``default``) to a ranked list of models."""

    models: Annotated[dict[str, ModelPrice], Field(min_length=1)]
    defaults: TokenDefaults = TokenDefaults()
    output_tokens: dict[str, Tokens] = Field(default_factory=dict)
    policy: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _policy_models_priced(self) -> Prices:
        for task, names in self.policy.items():
            unknown = [n for n in names if resolve(n, list(self.models)) is None]
            if unknown:
                raise ValueError(f"policy.{task}: unpriced model(s) {unknown}")
        return self

    def price(self, model: str) -> ModelPrice:
        """Raises: InvalidRequest: the model has no price."""
        name = resolve(model, list(self.models))
        if name is None:
            raise InvalidRequest(f"no price for model {model!r}", param="prices")
        return self.models[name]

    def call_cost(self, model: str, row: QualityRow) -> float:
        """USD for sending ``row`` to ``model``."""
        p = self.price(model)
        extra = self.defaults.input_tokens if p.input_tokens is None else p.input_tokens
        tokens_in = estimate_tokens(row.text) + extra
        return (tokens_in * p.input + self.output_for(p, row) * p.output) / 1e6

    def output_for(self, price: ModelPrice, row: QualityRow) -> int:
        if price.output_tokens is not None:
            return price.output_tokens
        for key in (row.source, row.label):
            if key is not None and key in self.output_tokens:
                return self.output_tokens[key]
        return self.defaults.output_tokens

    def preference(self, task: str, models: Sequence[str]) -> list[str]:
        """``task``'s ranked list (else ``default``'s) restricted to ``models``; cheapest
        first when neither names any of them."""
        for key in (task, DEFAULT_ROUTE):
            ranked = [resolve(n, models) for n in self.policy.get(key, [])]
            kept = list(dict.fromkeys(m for m in ranked if m is not None))
            if kept:
                return kept
        return sorted(models, key=self.typical_cost)

    def typical_cost(self, model: str) -> float:
        """USD for a typical call (a prompt of TYPICAL_PROMPT_TOKENS): ranks models by price."""
        return self.call_cost(model, QualityRow("x" * 4 * TYPICAL_PROMPT_TOKENS, {}))


def load_prices(path: Path) -> Prices:
    """Raises: ConfigError: the file is missing, is not TOML, or does not validate."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError("file not found", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from exc
    try:
        return Prices.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(str(err["msg"]).removeprefix("Value error, "), path, key) from exc
