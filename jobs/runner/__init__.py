"""Running jobs in hardened containers (SPEC §6): the one hardening template (``hardening``),
image selection (``images``), the container environment (``env``, ``task``), Docker calls
(``containers``), dispatch (``launch``), supervision (``supervise``) and the reaper (``reaper``).
The state machine that drives them is ``jobs.services.lifecycle``."""
