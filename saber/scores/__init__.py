"""Scores: what the scored steps printed, and the results database they land in."""

# --- results store and reports (studies and trials in Optuna's storage, step scores in saber_scores)
from saber.scores._lease import Lease, LeaseHolder, StudyBusy, drop_lease, lease_holders
from saber.scores._plots import PlotFiles, write_plots
from saber.scores._report import (PLAIN_SWEEP, StudyReport, StudyRow, TrialRow, report_csv, report_json,
                                  report_json_text, unscored)
from saber.scores._store import ResultsStore, Score, open_storage, results_url

__all__ = [
    "PLAIN_SWEEP",
    "Lease",
    "LeaseHolder",
    "StudyBusy",
    "drop_lease",
    "lease_holders",
    "PlotFiles",
    "ResultsStore",
    "Score",
    "StudyReport",
    "StudyRow",
    "TrialRow",
    "open_storage",
    "report_csv",
    "report_json",
    "report_json_text",
    "results_url",
    "unscored",
    "write_plots",
]
# --- end results store

# --- score matching (a step's score_format against its tool's output lines)
from saber.scores._match import ScoreFormat, ScoreMatch, check_score_format, match_score

__all__ += ["ScoreFormat", "ScoreMatch", "check_score_format", "match_score"]
# --- end score matching
