"""The dashboard's modal dialogs: ask for a line of text, pick one of a few, confirm.

Each is keyboard-first (Enter confirms, Esc cancels) with clickable buttons, and shows
server strings literally (``rich.text.Text``, never markup).
"""
