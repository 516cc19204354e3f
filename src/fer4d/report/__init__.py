"""fer4d.report: stage ``report`` — cross-validated metrics, figures and a summary.

Stage function: ``fer4d.report.build.build_report(inputs: ReportInputs, out_dir)``; the file
names it writes are ``fer4d.report.files.REPORT_FILES``. Nothing is imported here, so the
workflow reads the file names without loading the plotting code.
"""
