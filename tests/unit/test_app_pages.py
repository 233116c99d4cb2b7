"""The Streamlit app's pages in process (streamlit.testing AppTest) on a tiny random llama
saved as a HF directory, with the hashing embedder: chat with its trace, memory table,
delete, user isolation, the edits journal and undo, the Evaluate page's result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parents[2] / "apps" / "streamlit_app.py"
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def home(tmp_path, tiny_dir, monkeypatch) -> Path:
    """A fresh state directory; the app reads its settings from the environment, as `editmind app` passes them."""
    root = tmp_path / "home"
    monkeypatch.setenv("EDITMIND_MODEL", str(tiny_dir))
    monkeypatch.setenv("EDITMIND_HOME", str(root))
    monkeypatch.setenv("EDITMIND_EMBEDDER", "hash")
    monkeypatch.setenv("EDITMIND_APP_MAX_NEW_TOKENS", "4")
    monkeypatch.delenv("EDITMIND_RESULTS_DIR", raising=False)
    return root


def start() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


def go(app: AppTest, page: str) -> AppTest:
    app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


def say(app: AppTest, text: str) -> AppTest:
    app.chat_input[0].set_value(text).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return app


def table(app: AppTest, index: int = 0):
    return app.dataframe[index].value


def memory_status(home: Path, fact_id: str) -> str:
    from editmind.memory import FactMemory, HashEmbedder

    with FactMemory(home=home, embedder=HashEmbedder(64)) as memory:
        return memory.get(fact_id).status


def test_chat_reply_appears_with_a_why_expander(home):
    app = say(start(), "Where is the Eiffel Tower?")
    roles = [m.name for m in app.chat_message]
    assert roles == ["user", "assistant"]
    assert [e.label for e in app.expander] == ["why"]
    why = app.expander[0]
    assert any("route" in m.value for m in why.markdown)  # the trace as a person reads it
    assert app.session_state["history"]["default"][-1]["trace"]["route"]["action"] == "answer"


def test_personal_fact_shows_on_the_memory_page_and_delete_removes_it(home):
    app = say(start(), "My sister lives in Lyon.")
    assert any("stored in your memory" in s.value for s in app.success)
    go(app, "Memory")
    facts = table(app)
    assert list(facts["text"]) == ["My sister lives in Lyon."] and list(facts["status"]) == ["active"]
    assert {"text", "subject", "relation", "object", "status", "created"} <= set(facts.columns)
    app.text_input(key="memory-search").set_value("sister").run()
    assert "My sister lives in Lyon." in list(table(app, 1)["text"])
    app.button(key="memory-delete").click().run()
    assert not app.error and any("Deleted: My sister lives in Lyon." in s.value for s in app.success)
    assert any("No facts in default's memory" in i.value for i in app.info)  # the table lists active/superseded only
    [label] = app.selectbox(key="memory-history-choice").options
    assert "deleted" in label and "Lyon" not in label  # its text is erased; its history remains
    assert [e for e in table(app)["event"]] == ["ADD", "DELETE"]


def test_switching_user_hides_the_other_users_facts(home):
    app = say(start(), "My dog is called Rex.")
    app.sidebar.text_input(key="user").set_value("bob").run()
    assert [m.name for m in app.chat_message] == []  # bob's chat history is his own
    go(app, "Memory")
    assert any("No facts in bob's memory" in i.value for i in app.info)
    app.sidebar.text_input(key="user").set_value("default").run()
    assert list(table(app)["text"]) == ["My dog is called Rex."]


def test_edits_page_shows_an_empty_journal(home):
    app = go(start(), "Edits")
    assert any("No edits in the journal" in i.value for i in app.info)


def test_undo_with_forget_deletes_the_facts_that_edit_wrote(home, tiny_dir, capsys):
    """An edit made with `editmind edit` in the same home, and a fact of this user that it
    holds: Undo (checkbox on) removes both, so the old answer comes back."""
    from editmind.apps.cli import main
    from editmind.memory import FactMemory, HashEmbedder

    assert main(["--model", str(tiny_dir), "--home", str(home), "edit", "--method", "ft-m", "--prompt",
                 "The {} is located in", "--subject", "Eiffel Tower", "--target", "Rome", "--json"]) == 0
    edit_id = json.loads(capsys.readouterr().out)["id"]
    with FactMemory(home=home, embedder=HashEmbedder(64)) as memory:
        fact = memory.add("The Eiffel Tower is located in Rome.", user_id="default", subject="Eiffel Tower",
                          relation="The {} is located in", object="Rome", source="correction",
                          metadata={"scope": "world", "weights": "edited", "edit_id": edit_id}).fact
    app = go(start(), "Edits")
    assert list(table(app)["id"]) == [edit_id]
    assert app.checkbox(key=f"forget-{edit_id}").value is True
    app.button(key=f"undo-{edit_id}").click().run()
    assert not app.error and any(f"Undone edit {edit_id}" in s.value and "Deleted 1 fact" in s.value for s in app.success)
    assert any("No edits in the journal" in i.value for i in app.info)
    go(app, "Memory")
    assert any("No facts in default's memory" in i.value for i in app.info)
    assert memory_status(home, fact.id) == "deleted"


def test_evaluate_page_loads_a_result_file_as_table_and_chart(home):
    app = go(start(), "Evaluate")
    choice = app.selectbox(key="result-file")
    assert "knowedit_quality.json" in choice.options
    choice.set_value("knowedit_quality.json").run()
    assert not app.error
    metrics = table(app)
    expected = json.loads((RESULTS / "knowedit_quality.json").read_text())["columns"]
    assert set(metrics.index) == set(expected) and metrics.loc["rome", "edit_success_tf"] == expected["rome"]["edit_success_tf"]
    assert app.get("vega_lite_chart"), "no bar chart"


def test_evaluate_page_reads_mquake_runs_and_files_without_methods(home, tmp_path, monkeypatch):
    results = tmp_path / "results"
    results.mkdir()
    (results / "a_mquake.json").write_text(json.dumps({"runs": [
        {"summary": {"method": "hopwalk", "setting": "case", "multi_hop_accuracy": 0.5, "hop_accuracy": 0.25}},
        {"summary": {"method": "mello", "setting": "case", "multi_hop_accuracy": 0.1, "hop_accuracy": None}}]}))
    (results / "b_plain.json").write_text(json.dumps({"benchmark": "model", "tokens_per_second": 11.2}))
    monkeypatch.setenv("EDITMIND_RESULTS_DIR", str(results))
    app = go(start(), "Evaluate")
    assert list(table(app).index) == ["hopwalk [case]", "mello [case]"]
    app.selectbox(key="result-file").set_value("b_plain.json").run()
    assert not app.error and any("no per-method metrics" in c.value for c in app.caption)
    assert "11.2" in list(table(app)["value"])


def test_safety_page_offers_detox_and_an_sdk_error_is_one_line(home):
    app = go(start(), "Safety")
    assert app.button(key="detox").label == "Detox"  # the SDK's detox workflow, run from the page
    app.button(key="sanitize").click().run()  # nothing to forget: a warning, nothing runs
    assert any("at least one question" in w.value for w in app.warning)
    go(app, "Edits")
    app.text_input(key="export-dir").set_value(str(home)).run()  # not empty: the journal refuses
    app.button(key="export").click().run()
    assert not app.exception and len(app.error) == 1 and "not an empty directory" in app.error[0].value


def test_make_it_lasting_is_offered_after_a_memory_correction_and_reports_the_outcome(home):
    """A random model may fail the edit's own check: either way the page says what happened."""
    app = say(start(), "The Louvre is located in Lyon.")
    assert any("stored in your memory: The Louvre is located in Lyon." in s.value for s in app.success)
    [button] = [b for b in app.button if b.label == "Make it lasting"]
    button.click().run()
    assert not app.exception and not app.error
    last = app.session_state["history"]["default"][-1]
    assert last["text"].startswith("Making it permanent: The Louvre is located in Lyon.")
    notes = [s.value for s in app.chat_message[-1].success] + [w.value for w in app.chat_message[-1].warning]
    assert any(n.startswith(("written into the model", "could not apply")) for n in notes), notes
    assert not [b for b in app.button if b.label == "Make it lasting"]  # offered once, under the correction


def test_evaluate_page_runs_a_small_mquake_sample(home):
    app = go(start(), "Evaluate")
    app.number_input(key="sample-n").set_value(1).run()
    app.button(key="sample-run").click().run()
    assert not app.exception and not app.error
    result = table(app, -1)
    assert list(result.index) == ["hopwalk @memory [case]"] and result.loc["hopwalk @memory [case]", "n_cases"] == 1


def test_editmind_app_forwards_the_global_options_and_runs_streamlit_headless(tmp_path, capsys):
    from editmind.apps.cli import build_parser, main
    from editmind.apps.commands.app import app_environment, app_path, streamlit_command

    args = build_parser().parse_args(["--model", "some/dir", "--home", str(tmp_path), "--device", "cpu", "app",
                                      "--headless", "--port", "8600"])
    env = app_environment(args)
    assert (env["EDITMIND_MODEL"], env["EDITMIND_HOME"], env["EDITMIND_DEVICE"]) == ("some/dir", str(tmp_path), "cpu")
    command = streamlit_command(args.port, args.address)
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(app_path()) and app_path() == APP
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.port"] == "8600" and flags["--server.address"] == "localhost"
    assert main(["app", "--port", "0"]) == 1  # refused before anything starts, in one line
    assert capsys.readouterr().err.strip() == "editmind: error: --port 0 is not a TCP port (1-65535)"


def test_evaluate_page_draws_the_sequential_editing_curve(home, tmp_path, monkeypatch):
    results = tmp_path / "results"
    results.mkdir()
    (results / "seq.json").write_text(json.dumps({"curves": {
        "rome": [{"edits": 100, "edit_success_tf": 60.0}, {"edits": 200, "edit_success_tf": 41.0}],
        "alphaedit": [{"edits": 100, "edit_success_tf": 77.3}, {"edits": 200, "edit_success_tf": 73.7}]}}))
    monkeypatch.setenv("EDITMIND_RESULTS_DIR", str(results))
    app = go(start(), "Evaluate")
    assert app.selectbox(key="curve-seq.json").value == "edit_success_tf"
    assert app.get("vega_lite_chart"), "no line chart"
    assert any("sequential stream" in c.value for c in app.caption)


def test_sequential_curves_are_read_from_the_benchmark_files():
    from editmind.apps.app_evaluate import sequential_curves

    data = json.loads((RESULTS / "knowedit_sequential_alphaedit_n500.json").read_text())
    curves = sequential_curves(data)
    assert "alphaedit" in curves and [p["edits"] for p in curves["alphaedit"]][:2] == [100.0, 200.0]
