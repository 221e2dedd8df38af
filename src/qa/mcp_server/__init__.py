"""`qa mcp`: a Model Context Protocol server over the index (a front end, like the CLI
and the TUI). Named `mcp_server`, not `mcp`, so it cannot shadow the SDK's package."""
