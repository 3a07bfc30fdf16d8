"""Typed params for the ``base`` and ``train`` stages: ``models``, ``base``, ``train``, ``lora``,
``iterations`` sections of params.yaml.

An iteration names its data version and may override any ``train`` or ``lora`` key; the merged
values are validated again so an override is as strict as the section itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from domainllm.params import ParamsError, Strict, load_yaml, validate_section

PosInt = Annotated[int, Field(ge=1)]


class BaseParams(Strict):
    """``base``: how prepared models are saved."""

    save_dtype: Literal["bfloat16", "float32"] = "bfloat16"


class TrainParams(Strict):
    """``train``: optimisation, evaluation and hardware settings."""

    learning_rate: Annotated[float, Field(gt=0, le=1)] = 2e-4
    epochs: Annotated[float, Field(gt=0)] = 1.0
    max_steps: Annotated[int, Field(ge=0)] = 0  # 0 = run `epochs` over the data
    batch_size: PosInt = 8
    grad_accum: PosInt = 1
    max_seq_length: Annotated[int, Field(ge=32)] = 512
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.05
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    seed: int = 42
    eval_steps: PosInt = 20
    eval_rows: Annotated[int, Field(ge=0)] = 64  # val rows used for eval; 0 = all
    train_rows: Annotated[int, Field(ge=0)] = 0  # 0 = all train rows
    # Share of refusal ("blocked") rows in the training set, reached by repeating them; 0 keeps
    # the data's natural share (~12%), which a short run learns as a prior, not as a decision.
    blocked_share: Annotated[float, Field(ge=0, lt=1)] = 0.0
    # Extra loss on the answer's status token (blocked vs success), as a multiple of the mean
    # answer loss: teaches the refusal decision itself, not only its base rate; 0 = plain SFT.
    decision_weight: Annotated[float, Field(ge=0)] = 0.0
    # Space the refusals evenly through the training order (sequential sampler) so every batch
    # holds the same share of them; false = random batches.
    spread_refusals: bool = False
    # Val rows (half unsafe) on which the trained model's own refusal is read after training,
    # one forward pass each (domainllm/refusal.py); 0 = skip.
    probe_rows: Annotated[int, Field(ge=0)] = 32
    patience: Annotated[int, Field(ge=0)] = 2  # evals without improvement; 0 = no early stop
    quantization: Literal["none", "4bit", "8bit"] = "none"
    dtype: Literal["auto", "bf16", "fp32"] = "auto"
    threads: Annotated[int, Field(ge=0)] = 0  # torch threads on CPU; 0 = torch default
    logging_steps: PosInt = 5
    # Recomputing activations saves memory a 0.5B LoRA run does not need, and costs ~1/3 more
    # time per step (TRL turns it on by default).
    gradient_checkpointing: bool = False
    # Batches packed into one row without padding (attention kept per row by position_ids);
    # on random batches ~1/4 of a padded batch's tokens are padding.
    padding_free: bool = True

    @model_validator(mode="after")
    def _steps(self) -> TrainParams:
        if self.max_steps and self.max_steps < self.eval_steps:
            raise ValueError(f"eval_steps ({self.eval_steps}) must be <= max_steps")
        return self


class LoraParams(Strict):
    """``lora``: the adapter (a top-level section so ``dvc exp run -S lora.r=16`` works)."""

    r: PosInt = 8
    alpha: PosInt = 16
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.05
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    # Adapt only the last N decoder layers (0 = all): backward then stops at the lowest adapted
    # layer, which makes a CPU step much cheaper.
    layers: Annotated[int, Field(ge=0)] = 0


class Iteration(Strict):
    """One entry of ``iterations``: the synth data version, where training starts, overrides."""

    data: Annotated[str, Field(pattern=r"^v[0-9]+$")]
    # `base`: a fresh adapter on the base model; an iteration's name: continue its adapter.
    init: str = "base"
    train: dict[str, Any] = Field(default_factory=dict)
    lora: dict[str, Any] = Field(default_factory=dict)


class RunParams(Strict):
    """Everything one training run uses, after applying the iteration's overrides."""

    iteration: str
    data: str
    init: str
    train: TrainParams
    lora: LoraParams


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    sec = data.get(name)
    if sec is None:
        raise ParamsError(f"params.yaml: missing section '{name}'")
    if not isinstance(sec, dict):
        raise ParamsError(f"params.yaml: '{name}' must be a mapping")
    return sec


def run_params(data: dict[str, Any], iteration: str) -> RunParams:
    """Validate ``train``, ``lora`` and ``iterations.<iteration>`` and merge the overrides."""
    iters = _section(data, "iterations")
    if iteration not in iters:
        raise ParamsError(
            f"params.yaml: no iteration '{iteration}' under 'iterations' (have: {', '.join(iters)})"
        )
    it = validate_section(iters[iteration], f"iterations.{iteration}", Iteration)
    validate_section(data.get("train"), "train", TrainParams)
    validate_section(data.get("lora"), "lora", LoraParams)
    train = validate_section(
        {**_section(data, "train"), **it.train}, f"iterations.{iteration}.train", TrainParams
    )
    lora = validate_section(
        {**_section(data, "lora"), **it.lora}, f"iterations.{iteration}.lora", LoraParams
    )
    check_init(iters, iteration)
    return RunParams(iteration=iteration, data=it.data, init=it.init, train=train, lora=lora)


def check_init(iters: dict[str, Any], iteration: str) -> None:
    """``iterations.<it>.init`` is ``base`` or another iteration, and the chain has no cycle."""
    seen = [iteration]
    while (init := (iters[seen[-1]] or {}).get("init", "base")) != "base":
        if init not in iters:
            raise ParamsError(
                f"params.yaml: iterations.{seen[-1]}.init: '{init}' is neither 'base' nor an "
                f"iteration (have: {', '.join(iters)})"
            )
        if init in seen:
            raise ParamsError(
                f"params.yaml: iterations.{seen[-1]}.init: cycle {' -> '.join([*seen, init])}; "
                "one iteration must start from 'base'"
            )
        seen.append(init)


def load_run_params(iteration: str, path: str = "params.yaml") -> RunParams:
    """``run_params`` on a params file."""
    return run_params(load_yaml(path), iteration)


def load_model_name(key: str, path: str = "params.yaml") -> str:
    """``models.<key>``: the catalogue name of a prepared model."""
    models = _section(load_yaml(path), "models")
    name = models.get(key)
    if not isinstance(name, str) or not name.strip():
        raise ParamsError(f"params.yaml: 'models.{key}' must be a catalogue name or hf:<folder>")
    return name.strip()
