import json

import pytest
import torch

from editmind.editors.eval.records import RecordConfig, RecordsError, build_records, load_knowedit_records


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run ~50x faster on one thread when the CPU is shared (intra-op threads
    spin against other processes); restored afterwards for the real-model tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _case(case_id, subjects, targets, olds, relation="P36"):
    """An MQuAKE-shaped case whose i-th rewrite is 'The capital of <subject i> is'."""
    rewrites = [
        {"prompt": "The capital of {} is", "relation_id": relation, "subject": s,
         "target_new": {"str": t, "id": "Q1"}, "target_true": {"str": o, "id": "Q2"},
         "question": f"What is the capital of {s}?"}
        for s, t, o in zip(subjects, targets, olds)
    ]
    return {
        "case_id": case_id,
        "requested_rewrite": rewrites,
        "questions": [f"What is the capital of the place of {subjects[0]}?"],
        "answer": olds[-1], "answer_alias": [],
        "new_answer": targets[-1], "new_answer_alias": ["New " + targets[-1]],
        "single_hops": [{"question": f"What is the capital of {s}?", "cloze": f"The capital of {s} is",
                         "answer": o, "answer_alias": ["Old " + o]} for s, o in zip(subjects, olds)],
        "new_single_hops": [{"question": f"What is the capital of {s}?", "cloze": f"The capital of {s} is",
                             "answer": t, "answer_alias": ["Alias " + t]} for s, t in zip(subjects, targets)],
        "orig": {"triples_labeled": [[s, "capital", o] for s, o in zip(subjects, olds)]},
    }


CASES = [
    _case(1, ["France", "Spain"], ["Rome", "Oslo"], ["Paris", "Madrid"]),
    _case(2, ["Italy", "Spain"], ["Lyon", "Bern"], ["Rome", "Madrid"]),
    _case(3, ["Peru", "Chile"], ["Lima2", "Quito"], ["Lima", "Santiago"]),
    _case(4, ["Japan", "Kenya"], ["Tokyo2", "Accra"], ["Tokyo", "Nairobi"]),
]


def test_requests_and_probes_follow_the_rewrites():
    records = build_records(CASES, n=None, config=RecordConfig(locality_per_case=2))
    assert [r.case_id for r in records] == ["1", "2", "3", "4"]
    first = records[0].edits[0]
    assert first.request.subject == "France" and first.request.prompt == "The capital of {} is"
    assert (first.request.target_new, first.request.target_true) == ("Rome", "Paris")
    assert first.reliability.prompt == "The capital of France is"
    assert first.reliability.answers == ("Rome", "Alias Rome")
    # the rewrite's question and the matching single-hop question are the same string: once
    assert [p.prompt for p in first.generalization] == ["Question: What is the capital of France?\nAnswer:"]
    assert first.generalization[0].kind == "question"
    assert first.generalization[0].question == "What is the capital of France?"  # bare, for the chat metric
    assert records[0].portability[0].question == "What is the capital of the place of France?"
    assert [p.answers for p in records[0].portability] == [("Oslo", "New Oslo")]


def test_locality_avoids_every_edited_subject_and_prefers_unselected_cases():
    records = build_records(CASES, n=4, config=RecordConfig(locality_per_case=2))  # cases 1-2 selected
    assert len(records) == 2
    edited = {"France", "Spain", "Italy"}
    for record in records:
        assert len(record.locality) == 2
        for probe in record.locality:
            assert probe.subject not in edited
            assert not any(s in probe.prompt for s in edited)
            # expected output is the unedited fact (the teacher-forcing continuation)
            assert probe.subject in {"Peru", "Chile", "Japan", "Kenya"}
    # the two records get different locality prompts
    assert {p.prompt for p in records[0].locality}.isdisjoint({p.prompt for p in records[1].locality})


def test_n_cuts_the_last_case_and_drops_its_portability():
    records = build_records(CASES, n=3)
    assert [len(r.edits) for r in records] == [2, 1]
    assert records[0].complete and records[0].portability
    assert not records[1].complete and records[1].portability == ()


def test_cloze_template_paraphrase_is_added_when_it_differs(tmp_path):
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(CASES))
    (tmp_path / "cloze_templates.json").write_text(json.dumps({"P36": "[X] has its capital in the city of __"}))
    record = load_knowedit_records(data, n=1)[0]
    prompts = [p.prompt for p in record.edits[0].generalization]
    assert prompts[-1] == "France has its capital in the city of"
    assert record.edits[0].generalization[-1].kind == "cloze"


def test_other_wordings_of_the_question_are_kept_apart_when_the_data_has_them(tmp_path):
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(CASES))
    (tmp_path / "edit_paraphrases.json").write_text(json.dumps([
        {"edit": "The capital of France is Rome", "questions": [
            "What is the capital of France?", "Which city is the capital of France?", "Where does the government sit?"]},
        {"edit": "The capital of Spain is Madrid", "questions": ["Which city is the capital of Spain?"]},  # another target
    ]))
    france, spain = load_knowedit_records(data, n=2)[0].edits
    # the case's own question stays a generalization probe; a wording without the subject is dropped
    assert [p.question for p in france.paraphrased] == ["Which city is the capital of France?"]
    assert france.paraphrased[0].prompt == "Question: Which city is the capital of France?\nAnswer:"
    assert france.paraphrased[0].answers == france.generalization[0].answers
    assert [p.question for p in france.generalization] == ["What is the capital of France?"]
    assert spain.paraphrased == ()
    off = load_knowedit_records(data, n=1, config=RecordConfig(question_paraphrases=False))[0].edits[0]
    assert off.paraphrased == ()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ("[]", "non-empty JSON list"),
        ('[{"questions": []}]', "no 'requested_rewrite'"),
        ('[{"requested_rewrite": [{"prompt": "no slot", "subject": "X", "target_new": "Y"}]}]', "has no '{}'"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "data.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RecordsError, match=message) as info:
        load_knowedit_records(path, n=2)
    assert "\n" not in str(info.value)


def test_n_must_be_positive():
    with pytest.raises(RecordsError, match="at least 1"):
        build_records(CASES, n=0)


def test_real_dev_file_builds(shared_data):
    records = load_knowedit_records(shared_data / "mquake" / "mquake_hard_dev.json", n=10)
    assert sum(len(r.edits) for r in records) == 10
    assert all(r.locality for r in records)
    edited = {e.request.subject for r in records for e in r.edits}
    assert all(p.subject not in edited for r in records for p in r.locality)


def test_start_case_reads_a_held_out_slice_and_rejects_one_past_the_end(tmp_path):
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(CASES))
    records = load_knowedit_records(data, n=1, start_case=1)
    assert [r.case_id for r in records] == [str(CASES[1]["case_id"])]
    assert records[0].edits[0].request.subject == CASES[1]["requested_rewrite"][0]["subject"]
    with pytest.raises(RecordsError, match="start case 7 is outside the 4 cases"):
        load_knowedit_records(data, n=1, start_case=len(CASES) + 3)
