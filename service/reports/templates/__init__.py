"""The consolidated report's templates: the DOCX (built by make_template.py) and the HTML page."""
