"""fer4d.report: cross-validated metrics, figures and the report stage.

Stage function: ``build_report(inputs: ReportInputs, out_dir)``.
"""

from fer4d.report.build import ReportInputs, build_report

__all__ = ["ReportInputs", "build_report"]
