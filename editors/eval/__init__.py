"""Evaluation of edits: KnowEdit-style records from MQuAKE data, the KnowEdit metrics in
both conventions (teacher-forced and exact match), and the runner that tabulates methods.

    from editmind.editors.eval import knowedit
    records = knowedit.load_knowedit_records(path, n=20)
    table = knowedit.evaluate_methods(model, ["rome", "ft-m"], records, sequential=False)
    print(table.format())
"""

from editmind.editors.eval.metrics import reliability
from editmind.editors.eval.records import KnowEditRecord, Probe, RecordConfig, load_knowedit_records

__all__ = ["KnowEditRecord", "Probe", "RecordConfig", "load_knowedit_records", "reliability"]
