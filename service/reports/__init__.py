"""The lead office's consolidated report of a plan: data, DOCX, XLSX, CSV and HTML."""
