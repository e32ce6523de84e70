"""SMART authorization server of the sandbox EHR, built on authlib server components."""
