"""The config: its model and validation, schedules, the JSON Schema, and other table-list sources.

Pure: loaders take text or parsed values; reading SSM goes through the ``ExportApi`` port.
"""
