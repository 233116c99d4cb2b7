"""The scripted conversation of issue 6 on the real default model, step by step, with each
step's latency written to benchmarks/results/agent_conversation.json.

User A asks where the Eiffel Tower is (Paris), corrects it to Rome, asks again (Rome, from
memory), asks a two-hop question that depends on the correction (multi-hop path); user B
still gets Paris; after a restart A still gets Rome; "remember this permanently" journals a
parameter edit, after which the model itself (memory off) says Rome while an unrelated
answer is unchanged; undo restores Paris and the exact weights.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import pytest

from editmind.agent import AgentConfig, EditingAgent, RouterConfig

pytestmark = pytest.mark.slow

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "agent_conversation.json"
QUESTION = "Where is the Eiffel Tower?"
UNRELATED = "What is the capital of France?"


class Steps:
    """Times each step and keeps what the agent said, for the JSON report."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, action):
        started = time.perf_counter()
        reply = action()
        seconds = time.perf_counter() - started
        text = reply.text if hasattr(reply, "text") else (json.dumps(reply, default=str) if isinstance(reply, dict) else "")
        self.rows.append({"step": name, "seconds": round(seconds, 3), "said": text[:300]})
        return reply

    def write(self, status: str) -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({
            "benchmark": "agent_conversation", "status": status, "model": "SmolLM2-135M-Instruct (default)",
            "machine": f"{platform.machine()} {platform.system()}, CPU", "steps": self.rows,
            "total_seconds": round(sum(r["seconds"] for r in self.rows), 3),
        }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _stats_in_test_home(test_home) -> dict:
    """Share the key statistics cache with the other default-model tests (computed once)."""
    from editmind.editors.parametric.stats import StatsConfig

    return {"stats": StatsConfig(home=str(test_home), show_progress=False)}


def test_scripted_conversation(restorable_default_model, tmp_path, test_home):
    model = restorable_default_model
    config = AgentConfig(max_new_tokens=24, router=RouterConfig(method_overrides=_stats_in_test_home(test_home)))
    steps = Steps()
    base_fingerprint = model.fingerprint()
    a = EditingAgent(model=model, home=tmp_path, user_id="alice", config=config)
    try:
        unrelated_before = steps.run("unrelated question, memory off (baseline)",
                                     lambda: a.ask(UNRELATED, use_memory=False)).text
        first = steps.run("A asks", lambda: a.chat(QUESTION))
        assert "Paris" in first.text and first.turn_type == "question"

        fix = steps.run("A corrects: no, it's Rome", lambda: a.chat("No, it's Rome."))
        assert fix.turn_type == "correction"
        correction = fix.trace["correction"]
        assert (correction["subject"], correction["target_new"], correction["target_true"]) == ("Eiffel Tower", "Rome", "Paris")

        again = steps.run("A asks again (memory)", lambda: a.chat(QUESTION))
        assert "Rome" in again.text and again.trace["memory_used"] and fix.actions[0]["fact_id"] in again.trace["facts_used"]

        steps.run("A states a second fact", lambda: a.chat("The mayor of Rome is Roberto Gualtieri."))
        two_hop = steps.run("A asks a two-hop question",
                            lambda: a.chat("Who is the mayor of the city where the Eiffel Tower is located?"))
        hops = two_hop.trace["retrieval"]["hops"]
        assert "Gualtieri" in two_hop.text and two_hop.trace["multi_hop"]
        assert [h["answer"] for h in hops][:2] == ["Rome", "Roberto Gualtieri"]

        a.set_user("bob")
        other = steps.run("B asks", lambda: a.chat(QUESTION))
        assert "Paris" in other.text and "Rome" not in other.text and not other.trace["memory_used"]
    finally:
        a.close()

    a = steps.run("restart (new agent, same home)",
                  lambda: EditingAgent(model=model, home=tmp_path, user_id="alice", config=config))
    try:
        after_restart = steps.run("A asks after restart", lambda: a.chat(QUESTION))
        assert "Rome" in after_restart.text

        try:
            import editmind.editors.journal  # noqa: F401
        except ImportError:
            steps.write("partial: editmind.editors.journal is not available, parameter-edit steps not run")
            pytest.skip("the edit journal (issue 4a) is not available yet: parameter-edit steps not run")

        lasting = steps.run("A: remember this permanently (batched edit)", lambda: a.chat("Remember this permanently."))
        [weights] = [x for x in lasting.actions if x["action"] == "weights"]
        assert weights["edit_ids"], lasting.text
        edit_id = weights["edit_ids"][0]
        assert [e["id"] for e in a.edits()] == [edit_id]

        itself = steps.run("model itself, memory off", lambda: a.ask(QUESTION, use_memory=False))
        assert "Rome" in itself.text
        unrelated_after = steps.run("unrelated question, memory off", lambda: a.ask(UNRELATED, use_memory=False)).text
        assert unrelated_after == unrelated_before

        steps.run("undo the edit", lambda: a.undo(edit_id))
        restored = steps.run("model itself after undo", lambda: a.ask(QUESTION, use_memory=False))
        assert "Paris" in restored.text and "Rome" not in restored.text
        assert model.fingerprint() == base_fingerprint  # bitwise
        steps.write("complete")
    finally:
        a.close()
