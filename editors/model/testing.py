"""Tiny random-initialised models built from configs in code, for fast tests.

No download, a fraction of a second to build, and the same module structures as the real
families (llama, qwen2, mistral, gemma, phi3, gpt2 with Conv1D, gpt-j, gpt-neox), so every
editor and the layout discovery are tested across architectures without a trained model.
"""

from __future__ import annotations

import os
from functools import lru_cache

import torch

from editmind.editors.model.loading import wrap_model
from editmind.editors.model.local_model import LocalModel

TINY_ARCHITECTURES = ("llama", "qwen2", "mistral", "gemma", "gemma2", "gemma3_text", "phi3", "gpt2", "gptj", "gpt_neox")

_CORPUS = [
    "The Eiffel Tower is located in the city of Paris.",
    "The capital of France is Paris. The capital of Italy is Rome.",
    "Shakespeare wrote Hamlet. Tolstoy wrote War and Peace.",
    "The Louvre is a museum in Paris. The Colosseum is in Rome.",
    "My sister lives in Lyon. Who is the CEO of the company?",
    "Question: What is the capital of Germany? Answer: Berlin.",
    "Danielle Darrieux speaks French. Apple was founded by Steve Jobs.",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@lru_cache(maxsize=1)
def tiny_tokenizer():
    """A byte-level BPE tokenizer trained on a few sentences, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = ["<|end|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|system|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|pad|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _config(architecture: str, tokenizer, layers: int, hidden: int, inner: int):
    from transformers import AutoConfig

    common = dict(
        vocab_size=len(tokenizer), tie_word_embeddings=False, bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    if architecture == "gpt2":
        return AutoConfig.for_model("gpt2", n_embd=hidden, n_layer=layers, n_head=4, n_inner=inner, n_positions=128, **common)
    if architecture == "gptj":
        return AutoConfig.for_model("gptj", n_embd=hidden, n_layer=layers, n_head=4, n_inner=inner, n_positions=128, rotary_dim=8, **common)
    if architecture == "gpt_neox":
        return AutoConfig.for_model(
            "gpt_neox", hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
            intermediate_size=inner, max_position_embeddings=128, **common,
        )
    extra = {"head_dim": hidden // 4} if architecture.startswith("gemma") else {}
    return AutoConfig.for_model(
        architecture, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=inner, max_position_embeddings=128, **extra, **common,
    )


def tiny_model(architecture: str = "llama", layers: int = 4, hidden: int = 32, inner: int = 64, seed: int = 0) -> LocalModel:
    """A random-initialised causal LM of `architecture`, wrapped as a LocalModel."""
    from transformers import AutoModelForCausalLM

    if architecture not in TINY_ARCHITECTURES:
        raise ValueError(f"no tiny config for {architecture!r}; choose from {', '.join(TINY_ARCHITECTURES)}")
    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    config = _config(architecture, tokenizer, layers, hidden, inner)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    device = os.environ.get("EDITMIND_TEST_DEVICE")  # run the unit tests' models on a GPU: EDITMIND_TEST_DEVICE=cuda
    if device:
        model.to(device)
    return wrap_model(model, tokenizer, name=f"tiny-{architecture}")


def logits(model: LocalModel, text: str) -> torch.Tensor:
    """The model's logits over `text` (no grad, a copy): what tests compare bitwise before and after an edit."""
    ids = model.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model.model(input_ids=ids).logits.clone()
