"""A tiny random-weight causal LM with an in-process tokenizer, for tests and smoke runs.

Nothing is downloaded: the tokenizer is a byte-level BPE trained on a few sentences and the
model is a 2-layer Llama built from a config. The folder it writes has the same layout as
``models/base/`` (config, safetensors, tokenizer, ChatML chat template), so every stage can
run on it exactly as on the real base model.
"""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS = [
    '{"status":"success","suggestions":[{"domain":"beanhaven.com","confidence":0.91}]}',
    '{"status":"blocked","message":"Request contains inappropriate content","suggestions":[]}',
    "Business: organic coffee shop in Portland. TLDs: .com, .io, .co, .org, .net, .ai",
    "Hyphens: allowed. Digits: not allowed. Puns: preferred. Suggestions: 5",
    "abcdefghijklmnopqrstuvwxyz 0123456789 -.,:;{}[]\"'",
]


def make_tiny_tokenizer():  # -> PreTrainedTokenizerFast
    """A byte-level BPE tokenizer (vocab ~400) with ChatML special tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHATML
    return fast


def make_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a random-weight 2-layer Llama and its tokenizer to ``out_dir``; return the path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    tok = make_tiny_tokenizer()
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
