"""The bottom layer: what every other part of editmind may import and that imports none of them.

    apps -> agent -> (memory, editors) -> core

- `editmind.core.errors` — `EditmindError`, the base of every user-facing one-line failure;
- `editmind.core.paths` — where state lives (`resolve_home`, $EDITMIND_HOME) and where the
  shared evaluation data is (`shared_data_dir`, $EDITMIND_SHARED_DATA).

Nothing here imports torch, transformers or any other editmind package
(tests/test_import_direction.py checks it).
"""
