//! Experiment reports: the text report (byte-compatible with Iter8 v0.13) and the HTML report.
