"""The workflow editor: its page and regions (`page`), step changes (`steps`), card changes and
a paths step's branches (`structure`), runs (`run`), the
whole-workflow test (`test_run`), a step's last runs (`step_runs`), the webhook panel
(`webhook`), the approval page's preview (`approval_preview`), the settings' "When a run
fails" section (`on_failure`, `failure_section`), and what they share: the view model
(`view`), side panels (`panels`), forms generated from config models (`forms`) and the data
picker (`picker`)."""

from __future__ import annotations

from app.web.editor import (  # noqa: F401  (routes register on bp)
    approval_preview,
    autosave,
    on_failure,
    page,
    publish,
    run,
    step_runs,
    steps,
    structure,
    test_run,
    webhook,
)
