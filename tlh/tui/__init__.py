"""The clinician's terminal dashboard (issue: dashboard). Reaches the server only via tlh.client."""
