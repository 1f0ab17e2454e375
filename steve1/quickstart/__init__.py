"""The quickstart: the whole STEVE-1 recipe end to end, small, on the embedded world (`steve1 quickstart`).

Stages in `stages.py`, the resumable runner in `runner.py`, sizes in `settings.py` (clip captions come
from `steve1.data.captions`), the closing report in `report.py`, the command in `run.py`.
"""
