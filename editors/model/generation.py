"""Greedy generation: raw completion and chat-template-aware answers, streamed or whole.

Greedy decoding everywhere: edits are judged by what the model says, and a sampled answer
would make every metric and test depend on the seed.
"""

from __future__ import annotations

import threading
from typing import Iterator, Sequence

import torch

Message = dict[str, str]
FALLBACK_TEMPLATE_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def as_messages(conversation: str | Sequence[Message], system: str | None = None) -> list[Message]:
    messages = [{"role": "user", "content": conversation}] if isinstance(conversation, str) else list(conversation)
    if system is not None and not (messages and messages[0].get("role") == "system"):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def render_chat(tokenizer, messages: Sequence[Message]) -> str:
    """The model's own chat template, or a plain "User:/Assistant:" transcript if it has none."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    lines = [f"{FALLBACK_TEMPLATE_ROLES.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


def _generate_kwargs(model, tokenizer, text: str, max_new_tokens: int, add_special_tokens: bool) -> dict:
    encoded = tokenizer(text, return_tensors="pt", add_special_tokens=add_special_tokens)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return {
        "input_ids": encoded["input_ids"].to(device),
        "attention_mask": encoded["attention_mask"].to(device),
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        "pad_token_id": pad,
        "eos_token_id": tokenizer.eos_token_id,
    }


def _chat_text(tokenizer, conversation: str | Sequence[Message], system: str | None) -> tuple[str, bool]:
    """The rendered chat and whether the tokenizer should still add its special tokens
    (a real chat template already contains them)."""
    return render_chat(tokenizer, as_messages(conversation, system)), not getattr(tokenizer, "chat_template", None)


@torch.no_grad()
def generate_text(model, tokenizer, text: str, max_new_tokens: int, add_special_tokens: bool = True) -> str:
    kwargs = _generate_kwargs(model, tokenizer, text, max_new_tokens, add_special_tokens)
    output = model.generate(**kwargs)
    return tokenizer.decode(output[0, kwargs["input_ids"].shape[1]:], skip_special_tokens=True)


def complete(model, tokenizer, prompt: str, max_new_tokens: int = 32) -> str:
    """Greedy continuation of a raw prompt (no chat template)."""
    return generate_text(model, tokenizer, prompt, max_new_tokens)


def stream_text(model, tokenizer, text: str, max_new_tokens: int, add_special_tokens: bool = True) -> Iterator[str]:
    """Yield decoded text pieces as greedy generation produces them."""
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = _generate_kwargs(model, tokenizer, text, max_new_tokens, add_special_tokens)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with torch.no_grad():
                model.generate(**kwargs, streamer=streamer)
        except BaseException as exc:  # surfaced in the caller's thread below
            errors.append(exc)
            streamer.end()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    for piece in streamer:
        if piece:
            yield piece
    worker.join()
    if errors:
        raise errors[0]


def stream_chat(
    model, tokenizer, conversation: str | Sequence[Message], max_new_tokens: int = 128, system: str | None = None
) -> Iterator[str]:
    text, add_special = _chat_text(tokenizer, conversation, system)
    return stream_text(model, tokenizer, text, max_new_tokens, add_special)


def chat(model, tokenizer, conversation: str | Sequence[Message], max_new_tokens: int = 128, system: str | None = None) -> str:
    text, add_special = _chat_text(tokenizer, conversation, system)
    return generate_text(model, tokenizer, text, max_new_tokens, add_special).strip()
