"""The quickstart: the whole STEVE-1 recipe end to end, small, on the embedded world (`steve1 quickstart`).

Stages in `stages.py`, the resumable runner in `runner.py`, clip auto-labelling in `labels.py`, sizes in
`settings.py`, the closing report in `report.py`, the command in `run.py`.
"""
