# SHIM: moved to caviar.analysis.report; removed at merge.
from caviar.analysis.report import ReportInfo, build_report, default_output, figures, render

__all__ = ["ReportInfo", "build_report", "default_output", "figures", "render"]
