import torch

from editmind.editors.model.generation import render_chat


def _greedy_reference(model, prompt, steps):
    """Token-by-token argmax decoding without generate(), for comparison."""
    ids = model.tokenizer(prompt, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        for _ in range(steps):
            next_id = model.model(input_ids=ids).logits[0, -1].argmax()
            if int(next_id) == model.tokenizer.eos_token_id:
                break
            ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    return ids[0].tolist()


def test_complete_is_greedy(tiny):
    prompt = "The capital of France is"
    expected = _greedy_reference(tiny, prompt, 6)
    text = tiny.complete(prompt, max_new_tokens=6)
    prompt_len = len(tiny.tokenizer(prompt)["input_ids"])
    assert text == tiny.tokenizer.decode(expected[prompt_len:], skip_special_tokens=True)


def test_streamed_chat_equals_whole_chat(tiny):
    whole = tiny.chat("Where is the Eiffel Tower?", max_new_tokens=8)
    streamed = "".join(tiny.stream_chat("Where is the Eiffel Tower?", max_new_tokens=8)).strip()
    assert streamed == whole


def test_chat_uses_the_models_template(tiny):
    text = render_chat(tiny.tokenizer, [{"role": "user", "content": "hi"}])
    assert text == "<|user|>hi<|end|><|assistant|>"


def test_fallback_template_without_chat_template(tiny):
    class Bare:
        chat_template = None

    text = render_chat(Bare(), [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}])
    assert text == "System: s\nUser: q\nAssistant:"
