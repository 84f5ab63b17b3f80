"""End-to-end tests: the real default agent image (claude-code) against the GitLab simulator and
the LLM stand-in, through Mate's webhook, routing, runner and tool service (issue #10)."""
