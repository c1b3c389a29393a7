"""What the dashboard's keys do, by concept: each action is one ``TlhClient`` call.

``rooms`` (the waiting room), ``sessions`` (sessions and statuses) and ``outreach``
(links and consent) are collaborators the app composes, each given the client, the
state and a narrow ``Ui`` (toasts, dialogs, the selection, the call page); they never
see the app. ``keys`` binds them: the app's key bindings run them as its actions.
"""
